"""The audit log: what staff did, and every attempt at a staff command that was refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from storage.db import Database

__all__ = ["AuditEntry", "AuditLog"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    audit_id: int
    at: datetime  # UTC
    # A staff member's Telegram id as text; a refused resident's pseudonymous key (never their
    # id); None once that resident asked to be forgotten.
    actor: str | None
    action: str
    detail: dict[str, Any]


def _entry(row: aiosqlite.Row) -> AuditEntry:
    detail = json.loads(str(row["detail"]))
    return AuditEntry(
        audit_id=int(row["audit_id"]),
        at=datetime.fromisoformat(str(row["at"])),
        actor=None if row["actor"] is None else str(row["actor"]),
        action=str(row["action"]),
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )


class AuditLog:
    """Records and reads the `audit` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, actor: str | None, action: str, detail: dict[str, Any], now: datetime | None = None
    ) -> int:
        """Add an entry; returns its id. `detail` must be JSON-serialisable."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        written = await self._db.write(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (stamp, actor, action, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    @staticmethod
    async def record_in(
        conn: aiosqlite.Connection,
        actor: str | None,
        action: str,
        detail: dict[str, Any],
        now: datetime | None = None,
    ) -> None:
        """Add an entry inside the caller's transaction (a case's step and its record are
        written together: storage.cases)."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        await conn.execute(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (stamp, actor, action, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
        )

    @staticmethod
    async def unlink_actor_in(conn: aiosqlite.Connection, actor: str) -> None:
        """Entries naming `actor` (a resident's key) stay, nobody's: inside the caller's
        transaction (see storage.privacy). A resident's refused attempts at staff commands."""
        await conn.execute("UPDATE audit SET actor = NULL WHERE actor = ?", (actor,))

    async def recent(self, limit: int, action: str | None = None) -> list[AuditEntry]:
        """The last `limit` entries (of one action, if given), the newest first."""
        rows = await self._db.fetchall(
            "SELECT audit_id, at, actor, action, detail FROM audit"
            " WHERE ?1 IS NULL OR action = ?1 ORDER BY audit_id DESC LIMIT ?2",
            (action, limit),
        )
        return [_entry(row) for row in rows]
