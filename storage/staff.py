"""The staff the owners added (the owners themselves are ADMIN_IDS, configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.db import Database

__all__ = ["StaffMember", "StaffStore"]


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A person who may use the staff commands, and who made them staff, when."""

    user_id: int
    name: str  # as Telegram gave it when they were added; "" when it was not known
    added_by: int
    added_at: datetime  # UTC


def _member(row: aiosqlite.Row) -> StaffMember:
    return StaffMember(
        user_id=int(row["user_id"]),
        name=str(row["name"]),
        added_by=int(row["added_by"]),
        added_at=datetime.fromisoformat(str(row["added_at"])),
    )


class StaffStore:
    """Reads and writes the `staff` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, user_id: int, name: str, added_by: int, now: datetime | None = None
    ) -> tuple[StaffMember, bool]:
        """Make `user_id` staff: their row, and whether it is new (False: they already were,
        and their row is left as it was)."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        async with self._db.transaction() as conn:
            async with conn.execute(
                "INSERT INTO staff (user_id, name, added_by, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, name, added_by, stamp),
            ) as cursor:
                new = cursor.rowcount > 0
            async with conn.execute(
                "SELECT user_id, name, added_by, added_at FROM staff WHERE user_id = ?",
                (user_id,),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _member(row), new

    async def remove(self, user_id: int) -> StaffMember | None:
        """Take `user_id` off the staff; what their row held, or None if they were not staff."""
        written = await self._db.write(
            "DELETE FROM staff WHERE user_id = ? RETURNING user_id, name, added_by, added_at",
            (user_id,),
        )
        return _member(written.rows[0]) if written.rows else None

    async def get(self, user_id: int) -> StaffMember | None:
        """The staff member with this Telegram id, or None."""
        row = await self._db.fetchone(
            "SELECT user_id, name, added_by, added_at FROM staff WHERE user_id = ?", (user_id,)
        )
        return None if row is None else _member(row)

    async def rename(self, user_id: int, name: str) -> None:
        """Keep the name Telegram gives now (people change their names)."""
        await self._db.write(
            "UPDATE staff SET name = ? WHERE user_id = ? AND name <> ?", (name, user_id, name)
        )

    async def members(self) -> list[StaffMember]:
        """Every staff member, the earliest added first."""
        rows = await self._db.fetchall(
            "SELECT user_id, name, added_by, added_at FROM staff ORDER BY added_at, user_id"
        )
        return [_member(row) for row in rows]
