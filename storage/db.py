"""The bot's one SQLite database: opening, pragmas, migrations and online backups."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
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
    "BackupError",
    "Database",
    "DatabaseUnusable",
    "Written",
    "assignments",
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


def assignments(table: str, allowed: frozenset[str], names: Iterable[str]) -> str:
    """`name = ?, ...` for an UPDATE of `table`, each name checked against its allow-list.

    A column name is never taken from a caller unchecked: a name the table's store does not
    list is a programming error (TypeError, like an unexpected keyword), raised before any SQL
    is built.
    """
    chosen = list(names)
    unknown = sorted(set(chosen) - allowed)
    if unknown:
        raise TypeError(
            f"{table} has no updatable column {', '.join(map(repr, unknown))};"
            f" updatable: {', '.join(sorted(allowed))}"
        )
    return ", ".join(f"{name} = ?" for name in chosen)


class DatabaseUnusable(Exception):
    """The database file cannot be used (damaged, not SQLite, not writable); says what to do."""


class BackupError(Exception):
    """A backup cannot be written where it was asked for; says why and what to do."""


def _absolute(path: Path | str) -> Path:
    """`path` from the root, without resolving links (as an operator would read it)."""
    return Path(os.path.abspath(path))


def _not_a_folder(path: Path) -> Path:
    """`path`, or DatabaseUnusable if it names a folder."""
    if path.is_dir():
        raise DatabaseUnusable(
            f"DATABASE_PATH {_absolute(path)} is a folder: give the database a file name in it, "
            "such as commune-bot.sqlite3"
        )
    return path


def damaged(path: Path, detail: str) -> DatabaseUnusable:
    """One line saying the database file is damaged, and what to do."""
    return DatabaseUnusable(
        f"the database {_absolute(path)} is damaged or is not a SQLite database ({detail}): "
        "restore it from a backup (commune-bot backup makes them), or set DATABASE_PATH to the "
        "right file"
    )


def unusable(path: Path, error: BaseException) -> DatabaseUnusable:
    """One line naming the database file, what is wrong with it and what to do."""
    where = _absolute(path)
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return damaged(where, str(error))
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseUnusable(
            f"the database {where} is locked by another program ({error}): stop it, or wait and "
            "try again"
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM) or (
        isinstance(error, OSError)
    ):
        return DatabaseUnusable(
            f"cannot open the database {where} for writing ({error}): the user running the bot "
            f"needs to write both the file and its folder {where.parent}; check DATABASE_PATH"
        )
    return DatabaseUnusable(f"cannot use the database {where} ({error}): check DATABASE_PATH")


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
        path = _not_a_folder(Path(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnusable(
                f"cannot create the folder {_absolute(path.parent)} for the database "
                f"({exc.strerror or exc}): create it yourself, or set DATABASE_PATH to a "
                "writable place"
            ) from None
        try:
            conn = await _connect(path)
        except sqlite3.Error as exc:
            raise unusable(path, exc) from None
        try:
            await _configure(conn)
            await apply_migrations(conn, bundled_migrations() if migrations is None else migrations)
            await _check_writable(conn)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise unusable(path, exc) from None
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
            reader.row_factory = sqlite3.Row  # by name, like the main connection
            reader.execute("PRAGMA query_only = ON")
            reader.execute("PRAGMA busy_timeout = 0")  # busy: fall back, never block the loop
            self._reader = reader
        return self._reader

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        row = await self.fetchone("SELECT MAX(version) AS version FROM schema_migrations")
        return int(row["version"]) if row and row["version"] is not None else 0

    async def backup(self, target: Path | str) -> None:
        """Write a consistent copy of the database to `target`, even while others write to it."""
        await backup_file(self.path, target, source=self.conn)


def _database_files(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it, by every name SQLite may use."""
    real = Path(os.path.realpath(path))
    return [
        Path(f"{base}{suffix}")
        for base in (Path(os.path.abspath(path)), real)
        for suffix in ("", "-wal", "-shm", "-journal")
    ]


def _is_same_file(a: Path, b: Path) -> bool:
    """Whether two paths are one file: the same inode (hard links), or the same real path."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_backup_target(source_path: Path | str, target: Path | str) -> Path:
    """`target` as a path to write a backup to, or BackupError saying why it cannot be."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(
            f"{os.path.abspath(target)} is a folder: give the backup a file name in it, such as "
            f"{Path(os.path.abspath(target)) / 'backup.sqlite3'}"
        )
    partial = target.with_name(target.name + ".partial")
    for own in _database_files(Path(source_path)):
        if _is_same_file(target, own) or _is_same_file(partial, own):
            raise BackupError(
                f"the backup target {_absolute(target)} is the live database's own file {own} "
                "(by this or another name): a backup there would destroy it; choose another file"
            )
    return target


async def backup_file(
    source_path: Path | str, target: Path | str, source: aiosqlite.Connection | None = None
) -> None:
    """Copy the database at `source_path` to `target` with SQLite's online backup API.

    Refuses (BackupError) a target that is the database or a file SQLite keeps beside it, by
    whatever name, and a folder; a failure leaves nothing behind, and the source's own problems
    are DatabaseUnusable.
    """
    if source is None:
        _not_a_folder(Path(source_path))
    target = check_backup_target(source_path, target)
    partial = target.with_name(target.name + ".partial")
    own = source is None
    src = source
    if src is None:
        try:
            src = await _connect(Path(source_path))
            await src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await src.execute_fetchall("SELECT count(*) FROM sqlite_master")  # is it SQLite?
        except sqlite3.Error as exc:
            if src is not None:
                await src.close()
            raise unusable(Path(source_path), exc) from None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        dst = await _connect(partial)
        try:
            # pages=0 copies everything in one step, so the copy is one consistent snapshot.
            await src.backup(dst, pages=0)
            await dst.execute("PRAGMA journal_mode = DELETE")
            # The copy is page for page: a damaged database gives a damaged copy, which must
            # not take the place of an earlier, good one.
            check = [
                str(row["quick_check"])
                for row in await dst.execute_fetchall("PRAGMA quick_check(3)")
            ]
        finally:
            await dst.close()
        if check != ["ok"]:
            raise damaged(Path(source_path), "; ".join(check))
        # Replace atomically so an interrupted backup never leaves a half-written file at
        # `target`.
        os.replace(partial, target)
    except (OSError, sqlite3.Error, DatabaseUnusable) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        if isinstance(exc, DatabaseUnusable):
            raise
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise unusable(Path(source_path), exc) from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BackupError(
            f"cannot write the backup to {_absolute(target)} ({reason}): choose a file in "
            "a folder the user running this command can write to"
        ) from None
    finally:
        if own:
            await src.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    """An aiosqlite connection (autocommit) to `path`; sqlite3.Error if it cannot be opened.

    When opening fails, aiosqlite stops its thread without waiting for it, and the thread then
    prints a traceback if the event loop has closed meanwhile (a command that exits at once):
    the file is first opened, and closed, here.
    """

    def probe() -> None:
        sqlite3.connect(path).close()

    await asyncio.to_thread(probe)
    # isolation_level=None: statements autocommit; multi-statement changes use transaction().
    conn = await aiosqlite.connect(path, isolation_level=None)
    # Rows are read by column name (row["chat_id"]), never by position: a column added to a
    # query cannot shift what another one means. sqlite3.Row is written in C and still indexes.
    conn.row_factory = sqlite3.Row
    return conn


async def _check_writable(conn: aiosqlite.Connection) -> None:
    """Fail at start, not at a resident's first tap, on a file that cannot be written.

    A read-only file (or mount) opens, is read, and may even take WAL writes until a checkpoint:
    only a write to the file's own schema, rolled back, tells.
    """
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute("CREATE TABLE main.commune_bot_write_check (x)")
    finally:
        await conn.execute("ROLLBACK")


async def _configure(conn: aiosqlite.Connection) -> None:
    """Set the pragmas every connection needs."""
    async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    if row is None or str(row["journal_mode"]).lower() != "wal":
        raise aiosqlite.OperationalError(f"could not switch the database to WAL mode: {row}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA synchronous = NORMAL")
