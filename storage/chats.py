"""Whether the chats the bot sends to unasked can still be reached, and where groups moved."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from storage.articles import iso
from storage.db import Database

__all__ = ["ChatStore"]


class ChatStore:
    """Reads and writes `chats` and `chat_moves`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_active(
        self, chat_id: int, active: bool, reason: str | None = None, now: datetime | None = None
    ) -> bool:
        """Mark the chat reachable or not; True if that changed anything."""
        written = await self._db.write(
            "INSERT INTO chats (chat_id, active, reason, changed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET active = excluded.active,"
            " reason = excluded.reason, changed_at = excluded.changed_at"
            " WHERE chats.active != excluded.active OR chats.reason IS NOT excluded.reason",
            (chat_id, int(active), None if active else reason, iso(now or datetime.now(UTC))),
        )
        return written.rowcount > 0

    async def is_active(self, chat_id: int) -> bool:
        """Whether the chat can be sent to (a chat never heard of can)."""
        row = await self._db.fetchone("SELECT active FROM chats WHERE chat_id = ?", (chat_id,))
        return row is None or bool(row[0])

    async def inactive(self, chat_ids: Iterable[int]) -> set[int]:
        """Those of `chat_ids` known to be unreachable."""
        ids = list(chat_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                f"SELECT chat_id FROM chats WHERE active = 0"
                f" AND chat_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update(int(row[0]) for row in rows)
        return found

    async def reason(self, chat_id: int) -> str | None:
        """Why the chat is unreachable, or None if it is reachable."""
        row = await self._db.fetchone(
            "SELECT reason FROM chats WHERE chat_id = ? AND active = 0", (chat_id,)
        )
        return None if row is None else str(row[0] or "inactive")

    async def move(self, old_chat_id: int, new_chat_id: int, now: datetime | None = None) -> None:
        """A group became a supergroup: remember the new id, and carry the old one's state."""
        stamp = iso(now or datetime.now(UTC))
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_moves (old_chat_id, new_chat_id, moved_at) VALUES (?, ?, ?)"
                " ON CONFLICT (old_chat_id) DO UPDATE SET new_chat_id = excluded.new_chat_id,"
                " moved_at = excluded.moved_at",
                (old_chat_id, new_chat_id, stamp),
            )
            await conn.execute(
                "INSERT OR IGNORE INTO chats (chat_id, active, changed_at) VALUES (?, 1, ?)",
                (new_chat_id, stamp),
            )
            # The group's subscription follows it (its categories follow by ON UPDATE CASCADE).
            await conn.execute(
                "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )

    async def moved_to(self, chat_id: int) -> int | None:
        """The id a migrated group has now, if it moved."""
        row = await self._db.fetchone(
            "SELECT new_chat_id FROM chat_moves WHERE old_chat_id = ?", (chat_id,)
        )
        return None if row is None else int(row[0])

    async def forget(self, chat_id: int) -> None:
        """Delete what is known about the chat's reachability (the resident asked /forget)."""
        await self._db.write("DELETE FROM chats WHERE chat_id = ?", (chat_id,))
