"""The Zalo Official Account's tokens (migration 0019): the single-use refresh token kept safe."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database

__all__ = ["StoredTokens", "TokenState", "ZaloTokenStore", "peek"]


@dataclass(frozen=True, slots=True)
class TokenState:
    """What the database holds: never log it (every field but the counts is a secret)."""

    refresh_token: str
    access_token: str | None
    access_expires_at: datetime | None  # UTC
    refreshes: int

    def __repr__(self) -> str:  # a stray log line or traceback must not show the tokens
        return f"TokenState(refreshes={self.refreshes}, expires={self.access_expires_at})"


def seed_hash(refresh_token: str) -> str:
    """How the database remembers which ZALO_REFRESH_TOKEN started its chain."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class ZaloTokenStore:
    """Reads and writes the `zalo_tokens` table (one row)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, seed: str) -> TokenState:
        """The tokens to use: the database's, unless `seed` (ZALO_REFRESH_TOKEN) is new.

        The first start writes the seed; afterwards the database's rotated token wins, until the
        operator puts a different refresh token in the setting (a new authorisation): then that
        one starts a new chain and the old access token is dropped.
        """
        digest = seed_hash(seed)
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT seed_hash, refresh_token, access_token, access_expires_at, refreshes"
                " FROM zalo_tokens WHERE id = 1"
            )
            row = next(iter(rows), None)
            if row is None or row["seed_hash"] != digest:
                await conn.execute(
                    "INSERT INTO zalo_tokens (id, seed_hash, refresh_token) VALUES (1, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET seed_hash = excluded.seed_hash,"
                    " refresh_token = excluded.refresh_token, access_token = NULL,"
                    " access_expires_at = NULL",
                    (digest, seed),
                )
                return TokenState(seed, None, None, int(row["refreshes"]) if row else 0)
        expires = row["access_expires_at"]
        return TokenState(
            refresh_token=str(row["refresh_token"]),
            access_token=row["access_token"],
            access_expires_at=datetime.fromisoformat(expires) if expires else None,
            refreshes=int(row["refreshes"]),
        )

    async def record_refresh(
        self,
        used: str,
        refresh_token: str,
        access_token: str,
        expires_at: datetime,
        now: datetime | None = None,
    ) -> bool:
        """Record a refresh that spent `used`: the new pair, in one statement.

        False if `used` is no longer the stored token (another process refreshed first): then
        nothing is written.
        """
        written = await self._db.write(
            "UPDATE zalo_tokens SET refresh_token = ?, access_token = ?, access_expires_at = ?,"
            " refreshed_at = ?, refreshes = refreshes + 1 WHERE id = 1 AND refresh_token = ?",
            (
                refresh_token,
                access_token,
                _stamp(expires_at),
                _stamp(now or datetime.now(UTC)),
                used,
            ),
        )
        return written.rowcount == 1


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """What `commune-bot doctor` may know of the stored tokens: the access token only to make
    one read-only call with it (never shown), the rest as facts."""

    seed_hash: str
    access_token: str | None
    access_expires_at: datetime | None  # UTC
    refreshed_at: datetime | None  # UTC
    refreshes: int

    def __repr__(self) -> str:  # never the token
        return f"StoredTokens(refreshes={self.refreshes}, expires={self.access_expires_at})"


def peek(database: Path) -> StoredTokens | None:
    """The `zalo_tokens` row of the database at `database`, read-only, touching nothing (for
    doctor, safe while the bot runs); None when there is none yet. sqlite3.Error if the
    database cannot be read."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute(
                "SELECT seed_hash, access_token, access_expires_at, refreshed_at, refreshes"
                " FROM zalo_tokens WHERE id = 1"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None  # a database from before Zalo (migration 0019 comes at start)
            raise
    finally:
        conn.close()
    if row is None:
        return None
    expires, refreshed = row["access_expires_at"], row["refreshed_at"]
    return StoredTokens(
        seed_hash=str(row["seed_hash"]),
        access_token=row["access_token"],
        access_expires_at=datetime.fromisoformat(expires) if expires else None,
        refreshed_at=datetime.fromisoformat(refreshed) if refreshed else None,
        refreshes=int(row["refreshes"]),
    )
