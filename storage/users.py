"""Residents and staff known to the bot: when they were seen and the language they chose."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database

__all__ = ["UserStore"]


class UserStore:
    """Reads and writes the `users` table; a person is (channel, user id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def touch(
        self, user_id: int, now: datetime | None = None, channel: str = DEFAULT_CHANNEL
    ) -> None:
        """Record that the user was seen now (creating their row on first contact)."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        await self._db.write(
            "INSERT INTO users (channel, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id) DO UPDATE SET last_seen = excluded.last_seen",
            (channel, user_id, stamp, stamp),
        )

    async def language(self, user_id: int, channel: str = DEFAULT_CHANNEL) -> str | None:
        """The language the user chose with /language, or None if they never chose."""
        row = await self._db.fetchone(
            "SELECT language FROM users WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return None if row is None or row["language"] is None else str(row["language"])

    async def set_language(
        self,
        user_id: int,
        language: str,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        """Remember the user's language choice."""
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        await self._db.write(
            "INSERT INTO users (channel, user_id, language, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id) DO UPDATE SET language = excluded.language,"
            " last_seen = excluded.last_seen",
            (channel, user_id, language, stamp, stamp),
        )

    @staticmethod
    async def forget_in(conn: aiosqlite.Connection, channel: str, user_id: int) -> bool:
        """Delete the person's row, inside the caller's transaction (see storage.privacy);
        True if there was one."""
        async with conn.execute(
            "DELETE FROM users WHERE channel = ? AND user_id = ?", (channel, user_id)
        ) as cursor:
            return cursor.rowcount > 0
