"""Zalo webhook events already handled (migration 0019), so a repeated one is handled once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from storage.db import Database

__all__ = ["KEEP", "ZaloEventLog"]

KEEP = timedelta(days=3)  # Zalo repeats an event within minutes; a key older than this is dropped


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class ZaloEventLog:
    """Reads and writes the `zalo_events` table: a SHA-256 of each event's key, no Zalo id."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, key: str, now: datetime | None = None) -> bool:
        """Record the event `key`; True only the first time (one statement: two copies of an
        event arriving together cannot both be first)."""
        moment = now or datetime.now(UTC)
        written = await self._db.write(
            "INSERT INTO zalo_events (event_hash, received_at) VALUES (?, ?)"
            " ON CONFLICT (event_hash) DO NOTHING",
            (hashlib.sha256(key.encode()).hexdigest(), _stamp(moment)),
        )
        return written.rowcount == 1

    async def prune(self, now: datetime | None = None) -> int:
        """Forget the keys older than KEEP; returns how many."""
        cutoff = (now or datetime.now(UTC)) - KEEP
        written = await self._db.write(
            "DELETE FROM zalo_events WHERE received_at < ?", (_stamp(cutoff),)
        )
        return written.rowcount
