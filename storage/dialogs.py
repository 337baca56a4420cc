"""Dialogs in progress: the `dialogs` table (migration 0017)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from storage.db import Database

__all__ = ["DialogRow", "DialogStore"]


@dataclass(frozen=True, slots=True)
class DialogRow:
    """One dialog in progress."""

    channel: str
    chat_id: int
    user_id: int
    kind: str
    state: dict[str, Any]
    updated_at: datetime  # UTC


class DialogStore:
    """Reads and writes the `dialogs` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(
        self, channel: str, chat_id: int, user_id: int, kind: str, state: dict[str, Any],
        now: datetime | None = None,
    ) -> None:  # fmt: skip
        """Save the dialog's state (a new one, or over the old)."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
        await self._db.write(
            "INSERT INTO dialogs (channel, chat_id, user_id, kind, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id, user_id, kind)"
            " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (channel, chat_id, user_id, kind, json.dumps(state, ensure_ascii=False), stamp),
        )

    async def drop(self, channel: str, chat_id: int, user_id: int, kind: str) -> None:
        """Forget the dialog (finished, cancelled or abandoned)."""
        await self._db.write(
            "DELETE FROM dialogs WHERE channel = ? AND chat_id = ? AND user_id = ? AND kind = ?",
            (channel, chat_id, user_id, kind),
        )

    async def forget_person(self, channel: str, user_id: int) -> None:
        """Drop every dialog of a person."""
        await self._db.write(
            "DELETE FROM dialogs WHERE channel = ? AND user_id = ?", (channel, user_id)
        )

    @staticmethod
    async def forget_person_in(conn: aiosqlite.Connection, channel: str, user_id: int) -> None:
        """Drop every dialog of a person, inside the caller's transaction (storage.privacy)."""
        await conn.execute(
            "DELETE FROM dialogs WHERE channel = ? AND user_id = ?", (channel, user_id)
        )

    async def all(self) -> list[DialogRow]:
        """Every dialog in progress (read once at start)."""
        rows = await self._db.fetchall(
            "SELECT channel, chat_id, user_id, kind, state, updated_at FROM dialogs"
        )
        found = []
        for row in rows:
            found.append(
                DialogRow(
                    channel=str(row["channel"]),
                    chat_id=int(row["chat_id"]),
                    user_id=int(row["user_id"]),
                    kind=str(row["kind"]),
                    state=json.loads(str(row["state"])),
                    updated_at=datetime.fromisoformat(str(row["updated_at"])),
                )
            )
        return found
