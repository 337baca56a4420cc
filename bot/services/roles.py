"""Who may do what: owners (ADMIN_IDS), staff the owners added, residents; and the audit log."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from storage.audit import AuditLog
from storage.staff import StaffStore

__all__ = ["Roles"]


class Roles:
    """Roles by a person's id on their channel (a Telegram user id today)."""

    def __init__(self, settings: Settings, staff: StaffStore, audit: AuditLog) -> None:
        self._settings = settings
        self._staff = staff
        self._audit = audit

    def is_owner(self, user_id: int | None) -> bool:
        """Whether the person is one of the owners (ADMIN_IDS)."""
        return user_id is not None and user_id in self._settings.ADMIN_IDS

    async def is_staff(self, user_id: int | None) -> bool:
        """Whether the person may use the staff commands: an owner, or a staff member."""
        if user_id is None:
            return False
        return user_id in self._settings.ADMIN_IDS or await self._staff.get(user_id) is not None

    async def record(self, actor_id: int, action: str, /, **detail: Any) -> None:
        """Add a staff member's action to the audit log, under their id (staff are accountable)."""
        await self._audit.record(str(actor_id), action, detail)
