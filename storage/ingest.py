"""Bookkeeping of the news reader: HTTP validators, runs and their failures, small state values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timestamps import iso, parse_iso

__all__ = ["HttpCache", "IngestLog", "RunSummary", "State", "Validators"]


@dataclass(frozen=True)
class Validators:
    """What the site said about a page, to ask next time "has it changed?"."""

    etag: str | None
    last_modified: str | None


class HttpCache:
    """ETag and Last-Modified per address."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, url: str) -> Validators | None:
        """The validators saved for `url`, if any."""
        async with self._db.conn.execute(
            "SELECT etag, last_modified FROM http_cache WHERE url = ?", (url,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else Validators(row["etag"], row["last_modified"])

    async def put(self, url: str, validators: Validators, now: datetime) -> None:
        """Save validators once the page's content is safely stored."""
        await self._db.write(
            "INSERT INTO http_cache (url, etag, last_modified, checked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
            " last_modified = excluded.last_modified, checked_at = excluded.checked_at",
            (url, validators.etag, validators.last_modified, iso(now)),
        )


@dataclass(frozen=True)
class RunSummary:
    """The outcome of one finished poll."""

    run_id: int
    ok: bool
    new: int
    updated: int
    unchanged: int
    failed: int
    error: str | None


class IngestLog:
    """One row per poll, and one per page that could not be read or understood."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self, now: datetime, backfill: bool) -> int:
        """Open a run; returns its id."""
        written = await self._db.write(
            "INSERT INTO ingest_runs (started_at, backfill) VALUES (?, ?)", (iso(now), backfill)
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def failure(self, run_id: int, url: str, reason: str) -> None:
        """Record a page that failed."""
        await self._db.write(
            "INSERT INTO ingest_failures (run_id, url, reason) VALUES (?, ?, ?)",
            (run_id, url, reason),
        )

    async def finish(self, summary: RunSummary, now: datetime) -> None:
        """Close a run with its counts."""
        await self._db.write(
            "UPDATE ingest_runs SET finished_at = ?, ok = ?, new = ?, updated = ?, unchanged = ?,"
            " failed = ?, error = ? WHERE run_id = ?",
            (iso(now), summary.ok, summary.new, summary.updated, summary.unchanged,
             summary.failed, summary.error, summary.run_id),
        )  # fmt: skip

    async def has_finished_run(self) -> bool:
        """True once a poll has read the site successfully (later polls are not backfills)."""
        async with self._db.conn.execute(
            "SELECT 1 FROM ingest_runs WHERE ok = 1 LIMIT 1"
        ) as cursor:
            return await cursor.fetchone() is not None

    async def last_success(self) -> datetime | None:
        """When the latest poll that read the site finished (None before the first)."""
        # Walks back from the newest run: the last good one is usually among the first seen.
        row = await self._db.fetchone(
            "SELECT finished_at FROM ingest_runs WHERE ok = 1 ORDER BY run_id DESC LIMIT 1"
        )
        finished = None if row is None else row["finished_at"]
        return None if finished is None else parse_iso(str(finished))

    async def failures(self, run_id: int) -> list[tuple[str, str]]:
        """(address, reason) of each page that failed in a run."""
        async with self._db.conn.execute(
            "SELECT url, reason FROM ingest_failures WHERE run_id = ? ORDER BY rowid", (run_id,)
        ) as cursor:
            return [(str(row["url"]), str(row["reason"])) async for row in cursor]

    async def failed_in_a_row(self) -> int:
        """How many of the latest finished runs could not read the site, counting back."""
        async with self._db.conn.execute(
            "SELECT ok FROM ingest_runs WHERE ok IS NOT NULL ORDER BY run_id DESC LIMIT 1000"
        ) as cursor:
            streak = 0
            async for row in cursor:
                if row["ok"]:
                    break
                streak += 1
        return streak


class State:
    """Small named values kept between runs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None."""
        async with self._db.conn.execute(
            "SELECT value FROM bot_state WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row["value"])

    async def set(self, key: str, value: str) -> None:
        """Set `key`."""
        await self._db.write(
            "INSERT INTO bot_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
