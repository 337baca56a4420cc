"""`commune-bot restore PATH`: put a backup in the database's place, the current one kept aside."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.ops.runlock import AlreadyRunning, RunLock
from storage import BackupError, DatabaseUnusable, backup_file, bundled_migrations

__all__ = ["RestoreError", "Restored", "check_copy", "restore"]


class RestoreError(Exception):
    """The backup cannot be restored; says why and what to do. Nothing was changed."""


@dataclass(frozen=True)
class Restored:
    """What restore did."""

    source: Path
    database: Path
    schema: int
    aside: Path | None  # where the previous database now is; None if there was none


def check_copy(path: Path) -> int:
    """The schema version of a backup that is whole and ours; RestoreError otherwise."""
    where = os.path.abspath(path)
    if not path.is_file():
        raise RestoreError(
            f"no backup file at {where}: give the path of a copy written by commune-bot backup "
            "or by the daily backup (BACKUP_DIR)"
        )
    try:
        conn = sqlite3.connect(f"file:{where}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise RestoreError(f"cannot open {where} ({exc}): check the path and its rights") from None
    try:
        check = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
        if check != ["ok"]:
            raise RestoreError(
                f"the backup {where} is damaged ({'; '.join(check)}): choose an older backup"
            )
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(schema_migrations)")}
        rows = (
            conn.execute(
                "SELECT version, " + ("checksum" if "checksum" in columns else "NULL")
                + " FROM schema_migrations"
            ).fetchall()
            if has_table
            else []
        )  # fmt: skip
    except sqlite3.DatabaseError as exc:
        raise RestoreError(
            f"the backup {where} is damaged or is not a SQLite database ({exc}): choose another "
            "file"
        ) from None
    finally:
        conn.close()
    known = {m.version: m for m in bundled_migrations()}
    if not rows or any(int(version) not in known for version, _ in rows):
        raise RestoreError(
            f"{where} is not a commune-bot database (its schema is not this program's): choose "
            "a copy written by commune-bot backup"
        )
    for version, checksum in rows:
        if checksum is not None and checksum != known[int(version)].checksum:
            raise RestoreError(
                f"{where} was made by a different build of commune-bot (migration "
                f"{known[int(version)].label} differs): restore it with the release that wrote it"
            )
    return max(int(version) for version, _ in rows)


def _sqlite_files(database: Path) -> list[tuple[str, Path]]:
    """The database file and those SQLite keeps beside it, with their suffixes."""
    return [(suffix, Path(f"{database}{suffix}")) for suffix in ("", "-wal", "-shm", "-journal")]


async def restore(database: Path, source: Path, now: datetime) -> Restored:
    """Replace `database` by the backup `source`, keeping the current files aside.

    Refused while the bot runs (it holds the run lock); the lock is held meanwhile, so the bot
    cannot start half-way. The copy is checked first, written beside the database, and put in
    place with a rename: the database is either the old one or the restored one, never half.
    """
    database, source = _absolute(database), _absolute(source)
    lock = RunLock(database)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        pid = f" (process {exc.pid})" if exc.pid else ""
        raise RestoreError(
            f"the bot is running{pid} on {database}: stop it first (systemctl stop commune-bot, "
            "or Ctrl+C), then restore"
        ) from None
    try:
        schema = await asyncio.to_thread(check_copy, source)
        staged = database.with_name(database.name + ".restoring")
        try:
            await backup_file(source, staged)
        except (BackupError, DatabaseUnusable) as exc:
            raise RestoreError(f"cannot copy the backup into place: {exc}") from None
        aside = await asyncio.to_thread(_swap, database, staged, now)
    finally:
        lock.release()
    return Restored(source, database, schema, aside)


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _swap(database: Path, staged: Path, now: datetime) -> Path | None:
    """Move the current database's files aside and the staged copy in; where they went."""
    aside: Path | None = None
    if database.exists():
        aside = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
        # Moved as they are, the -wal file with its database: nothing of the current
        # database is lost, even if the bot stopped without a clean shutdown.
        for suffix, path in _sqlite_files(database):
            if path.exists():
                os.replace(path, f"{aside}{suffix}")
    else:
        for _, path in _sqlite_files(database)[1:]:  # stray -wal/-shm of a deleted file
            path.unlink(missing_ok=True)
    os.replace(staged, database)
    return aside
