"""The bot's one SQLite database: opening, pragmas, migrations and online backups."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from storage.migrate import Migration, apply_migrations, bundled_migrations

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SQLITE_MAX_INT",
    "SQLITE_MIN_INT",
    "Database",
    "Written",
    "backup_file",
    "fits_integer",
]

# How long a writer waits for another connection's lock before giving up (the CLI's backup or a
# second process may hold it briefly).
BUSY_TIMEOUT_MS = 5000

# What an INTEGER column holds. Python binds a larger int only to raise OverflowError, so a
# number from outside (button data, a typed id) is checked against these before any query.
SQLITE_MIN_INT, SQLITE_MAX_INT = -(2**63), 2**63 - 1


def fits_integer(value: object) -> bool:
    """True for an int (not a bool) SQLite can store in an INTEGER column."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and SQLITE_MIN_INT <= value <= SQLITE_MAX_INT
    )


@dataclass(frozen=True)
class Written:
    """What a write statement did: rows changed, the new row's id, rows it RETURNed."""

    rowcount: int
    lastrowid: int | None
    rows: list[aiosqlite.Row]


class Database:
    """An open connection to the database file, migrated to the latest schema."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # The connection is shared by every handler running at the same time. A write made while
        # another handler's transaction is open would join it (and vanish if it rolls back), and
        # a second BEGIN would fail: writes and transactions take turns through this lock.
        self._writing = asyncio.Lock()
        self._transaction_task: asyncio.Task[Any] | None = None  # whose transaction is open
        self._reader: sqlite3.Connection | None = None  # see quick_read

    @classmethod
    async def open(
        cls, path: Path | str, migrations: Sequence[Migration] | None = None
    ) -> Database:
        """Open (creating if needed) the database at `path` and apply pending migrations."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: statements autocommit; multi-statement changes use transaction().
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _configure(conn)
            await apply_migrations(conn, bundled_migrations() if migrations is None else migrations)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        """Close the connection; WAL content is checkpointed by SQLite on the last close."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body in one write transaction, rolled back if it raises.

        Only statements the body runs on the connection it is given belong to it; other
        handlers' writes wait (see `write`).
        """
        async with self._writing:
            await self.conn.execute("BEGIN IMMEDIATE")
            self._transaction_task = asyncio.current_task()
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()
            finally:
                self._transaction_task = None

    async def write(self, sql: str, parameters: Any = ()) -> Written:
        """One write statement, committed on its own, never inside another's transaction.

        Called from inside the caller's own transaction, it joins that transaction.
        """
        if self._transaction_task is not None and self._transaction_task is asyncio.current_task():
            return await self._run(sql, parameters)
        async with self._writing:
            return await self._run(sql, parameters)

    async def _run(self, sql: str, parameters: Any) -> Written:
        async with self.conn.execute(sql, parameters) as cursor:
            rows = list(await cursor.fetchall())
            return Written(cursor.rowcount, cursor.lastrowid, rows)

    async def fetchall(self, sql: str, parameters: Any = ()) -> list[aiosqlite.Row]:
        """All rows of a query, in one trip to the database thread (a cursor takes three)."""
        return list(await self.conn.execute_fetchall(sql, parameters))

    async def fetchone(self, sql: str, parameters: Any = ()) -> aiosqlite.Row | None:
        """The first row of a query, or None, in one trip to the database thread."""
        rows = await self.conn.execute_fetchall(sql, parameters)
        return next(iter(rows), None)

    async def quick_read(self, sql: str, parameters: Any = ()) -> list[aiosqlite.Row]:
        """All rows of a small indexed read, run at once on the event loop's own thread.

        For the reads every resident's tap makes (an article, a page of headlines): they take a
        few hundredths of a millisecond, less than the trip to aiosqlite's thread and back
        costs, and in WAL mode a reader never waits for a writer. A second, read-only
        connection does it; it sees what is committed, like any reader. If SQLite is ever busy
        (a rare WAL recovery), the read goes the usual way instead of blocking the loop.
        Only for queries bounded by an index and a LIMIT: anything long belongs in `fetchall`.
        """
        try:
            return self._read_connection().execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        return await self.fetchall(sql, parameters)

    def _read_connection(self) -> sqlite3.Connection:
        if self._reader is None:
            # Opened on first use, in the thread that reads (the event loop's).
            reader = sqlite3.connect(self.path, isolation_level=None)
            reader.execute("PRAGMA query_only = ON")
            reader.execute("PRAGMA busy_timeout = 0")  # busy: fall back, never block the loop
            self._reader = reader
        return self._reader

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self.conn.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def backup(self, target: Path | str) -> None:
        """Write a consistent copy of the database to `target`, even while others write to it."""
        await backup_file(self.path, target, source=self.conn)


async def backup_file(
    source_path: Path | str, target: Path | str, source: aiosqlite.Connection | None = None
) -> None:
    """Copy the database at `source_path` to `target` with SQLite's online backup API."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    own = source is None
    src = source or await aiosqlite.connect(Path(source_path), isolation_level=None)
    try:
        if own:
            await src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        async with aiosqlite.connect(partial, isolation_level=None) as dst:
            # pages=0 copies everything in one step, so the copy is one consistent snapshot.
            await src.backup(dst, pages=0)
            await dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        if own:
            await src.close()
    # Replace atomically so an interrupted backup never leaves a half-written file at `target`.
    os.replace(partial, target)


async def _configure(conn: aiosqlite.Connection) -> None:
    """Set the pragmas every connection needs."""
    async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    if row is None or str(row[0]).lower() != "wal":
        raise aiosqlite.OperationalError(f"could not switch the database to WAL mode: {row}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA synchronous = NORMAL")
