"""The commune's OA article broadcasts and their monthly quota (migration 0020)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from storage.db import Database
from storage.timestamps import iso

__all__ = ["ZaloBroadcast", "ZaloBroadcastStore"]

State = Literal["publishing", "published", "failed"]


@dataclass(frozen=True, slots=True)
class ZaloBroadcast:
    """An announcement published as an OA article broadcast, or being published."""

    broadcast_id: int
    month: str
    state: State
    article_id: str | None
    detail: str | None


class ZaloBroadcastStore:
    """Reads and writes `zalo_broadcasts`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def used(self, month: str) -> int:
        """Broadcasts counted against `month` ("2026-11"): published, or being published."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM zalo_broadcasts WHERE month = ? AND state != 'failed'",
            (month,),
        )
        return 0 if row is None else int(row["n"])

    async def reserve(
        self,
        broadcast_id: int,
        month: str,
        quota: int,
        created_by: int | None,
        now: datetime | None = None,
    ) -> bool:
        """Count the announcement against `month` if the quota has room and it was not
        published before (a failed attempt may be made again); one statement, so two staff
        members never both take the month's last broadcast. False if not."""
        written = await self._db.write(
            "INSERT INTO zalo_broadcasts (broadcast_id, month, created_by, created_at)"
            " SELECT ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM zalo_broadcasts"
            "  WHERE month = ? AND state != 'failed') < ?"
            " ON CONFLICT (broadcast_id) DO UPDATE SET month = excluded.month,"
            " state = 'publishing', detail = NULL, created_by = excluded.created_by,"
            " created_at = excluded.created_at WHERE zalo_broadcasts.state = 'failed'",
            (broadcast_id, month, created_by, iso(now or datetime.now(UTC)), month, quota),
        )
        return written.rowcount == 1

    async def published(self, broadcast_id: int, article_id: str) -> None:
        """Zalo took the article and its broadcast."""
        await self._db.write(
            "UPDATE zalo_broadcasts SET state = 'published', article_id = ?, detail = NULL"
            " WHERE broadcast_id = ?",
            (article_id, broadcast_id),
        )

    async def failed(self, broadcast_id: int, detail: str, article_id: str | None) -> None:
        """Zalo refused: the month's count is given back."""
        await self._db.write(
            "UPDATE zalo_broadcasts SET state = 'failed', detail = ?, article_id = ?"
            " WHERE broadcast_id = ?",
            (detail, article_id, broadcast_id),
        )

    async def get(self, broadcast_id: int) -> ZaloBroadcast | None:
        """The OA broadcast of an announcement, if one was attempted."""
        row = await self._db.fetchone(
            "SELECT broadcast_id, month, state, article_id, detail FROM zalo_broadcasts"
            " WHERE broadcast_id = ?",
            (broadcast_id,),
        )
        if row is None:
            return None
        return ZaloBroadcast(
            broadcast_id=int(row["broadcast_id"]),
            month=str(row["month"]),
            state=row["state"],
            article_id=row["article_id"],
            detail=row["detail"],
        )
