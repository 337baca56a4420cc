"""What a reporter is told of their case, held until their channel lets the bot write (migration
0025, `case_notices`).

On Zalo the OA may write to a resident only inside the interaction window after their last
message (ZALO.md). A notice of a change to their case (assigned, answered, closed, duplicate,
spam) is written here before it is tried, deleted once Zalo took it (`drop`), and otherwise
taken with the resident's next message (`take`: the rows go in the statement that reads them,
so two messages never show one notice twice). A crash between Zalo taking it and `drop` shows
it once more with their next message; nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.db import Database
from storage.timestamps import iso

__all__ = ["CaseNoticeStore", "HeldNotice"]


@dataclass(frozen=True, slots=True)
class HeldNotice:
    """A change the reporter has not been told of yet."""

    notice_id: int
    case_id: int
    kind: str
    other_case_id: int | None


class CaseNoticeStore:
    """The `case_notices` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold(
        self,
        channel: str,
        chat_id: int,
        case_id: int,
        kind: str,
        other_case_id: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Keep a notice for the reporter's chat; its id."""
        written = await self._db.write(
            "INSERT INTO case_notices (case_id, channel, chat_id, kind, other_case_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, channel, chat_id, kind, other_case_id, iso(now or datetime.now(UTC))),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def drop(self, notice_id: int) -> bool:
        """The notice was delivered: forget it. False if it was taken meanwhile."""
        written = await self._db.write("DELETE FROM case_notices WHERE notice_id = ?", (notice_id,))
        return written.rowcount == 1

    async def held(self, notice_id: int) -> bool:
        """Whether the notice still waits (not taken with a message, not delivered)."""
        row = await self._db.fetchone(
            "SELECT 1 FROM case_notices WHERE notice_id = ?", (notice_id,)
        )
        return row is not None

    async def take(self, channel: str, chat_id: int) -> list[HeldNotice]:
        """The notices waiting for this chat, oldest first, deleted as they are read."""
        written = await self._db.write(
            "DELETE FROM case_notices WHERE channel = ? AND chat_id = ?"
            " RETURNING notice_id, case_id, kind, other_case_id",
            (channel, chat_id),
        )
        notices = [
            HeldNotice(
                int(row["notice_id"]),
                int(row["case_id"]),
                str(row["kind"]),
                None if row["other_case_id"] is None else int(row["other_case_id"]),
            )
            for row in written.rows
        ]
        return sorted(notices, key=lambda notice: notice.notice_id)

    async def count(self, channel: str, chat_id: int) -> int:
        """How many notices wait for this chat."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM case_notices WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        return 0 if row is None else int(row["n"])

    @staticmethod
    async def forget_in(conn: aiosqlite.Connection, channel: str, chat_id: int) -> None:
        """Delete the person's waiting notices, inside the caller's transaction
        (storage.privacy)."""
        await conn.execute(
            "DELETE FROM case_notices WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )
