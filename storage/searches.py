"""Searches residents made, kept so their result pages can be turned with a button."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.timestamps import iso

__all__ = ["SearchStore"]


class SearchStore:
    """Reads and writes `searches` (a button holds 64 bytes, not a query: it holds the id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, query: str, fts: str, now: datetime, user_key: str | None = None) -> int:
        """Keep a search so its result pages can be turned; returns its id. `user_key` (the
        interaction log's key of whoever searched) lets /forget remove it."""
        written = await self._db.write(
            "INSERT INTO searches (query, fts, created_at, user_key) VALUES (?, ?, ?, ?)",
            (query, fts, iso(now), user_key),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def get(self, search_id: int) -> tuple[str, str] | None:
        """(query, fts) of a kept search."""
        row = await self._db.fetchone(
            "SELECT query, fts FROM searches WHERE search_id = ?", (search_id,)
        )
        return (str(row["query"]), str(row["fts"])) if row else None

    async def prune(self, before: datetime) -> int:
        """Forget searches older than `before`; returns how many."""
        written = await self._db.write("DELETE FROM searches WHERE created_at < ?", (iso(before),))
        return written.rowcount

    @staticmethod
    async def forget_in(conn: aiosqlite.Connection, user_key: str) -> None:
        """Delete the searches a person kept (what they typed may be their name or phone
        number), inside the caller's transaction (see storage.privacy)."""
        await conn.execute("DELETE FROM searches WHERE user_key = ?", (user_key,))
