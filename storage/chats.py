"""Whether the chats the bot sends to unasked can still be reached, and where groups moved."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database
from storage.subscriptions import SubscriptionStore
from storage.timestamps import iso

__all__ = ["ChatStore"]


class ChatStore:
    """Reads and writes `chats` and `chat_moves`; a chat is (channel, chat id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_active(
        self,
        chat_id: int,
        active: bool,
        reason: str | None = None,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> bool:
        """Mark the chat reachable or not; True if that changed anything."""
        written = await self._db.write(
            "INSERT INTO chats (channel, chat_id, active, reason, changed_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, chat_id) DO UPDATE SET active = excluded.active,"
            " reason = excluded.reason, changed_at = excluded.changed_at"
            " WHERE chats.active != excluded.active OR chats.reason IS NOT excluded.reason",
            (
                channel,
                chat_id,
                int(active),
                None if active else reason,
                iso(now or datetime.now(UTC)),
            ),
        )
        return written.rowcount > 0

    async def is_active(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> bool:
        """Whether the chat can be sent to (a chat never heard of can)."""
        row = await self._db.fetchone(
            "SELECT active FROM chats WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )
        return row is None or bool(row["active"])

    async def inactive(self, chat_ids: Iterable[int], channel: str = DEFAULT_CHANNEL) -> set[int]:
        """Those of `chat_ids` known to be unreachable."""
        ids = list(chat_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                f"SELECT chat_id FROM chats WHERE channel = ? AND active = 0"
                f" AND chat_id IN ({','.join('?' * len(chunk))})",
                (channel, *chunk),
            )
            found.update(int(row["chat_id"]) for row in rows)
        return found

    async def reason(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> str | None:
        """Why the chat is unreachable, or None if it is reachable."""
        row = await self._db.fetchone(
            "SELECT reason FROM chats WHERE channel = ? AND chat_id = ? AND active = 0",
            (channel, chat_id),
        )
        return None if row is None else str(row["reason"] or "inactive")

    async def move(
        self,
        old_chat_id: int,
        new_chat_id: int,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        """A group became a supergroup: remember the new id, and carry the old one's state."""
        stamp = iso(now or datetime.now(UTC))
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_moves (channel, old_chat_id, new_chat_id, moved_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel, old_chat_id) DO UPDATE"
                " SET new_chat_id = excluded.new_chat_id, moved_at = excluded.moved_at",
                (channel, old_chat_id, new_chat_id, stamp),
            )
            await conn.execute(
                "INSERT OR IGNORE INTO chats (channel, chat_id, active, changed_at)"
                " VALUES (?, ?, 1, ?)",
                (channel, new_chat_id, stamp),
            )
            # The group's subscription follows it, written by its own store.
            await SubscriptionStore.follow_move(conn, channel, old_chat_id, new_chat_id)

    async def moved_to(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> int | None:
        """The id a migrated group has now, if it moved."""
        row = await self._db.fetchone(
            "SELECT new_chat_id FROM chat_moves WHERE channel = ? AND old_chat_id = ?",
            (channel, chat_id),
        )
        return None if row is None else int(row["new_chat_id"])

    async def forget(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> None:
        """Delete what is known about the chat's reachability (the resident asked /forget)."""
        async with self._db.transaction() as conn:
            await self.forget_in(conn, channel, chat_id)

    @staticmethod
    async def forget_in(conn: aiosqlite.Connection, channel: str, chat_id: int) -> None:
        """`forget`, inside the caller's transaction on `conn` (see storage.privacy)."""
        await conn.execute(
            "DELETE FROM chats WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )
