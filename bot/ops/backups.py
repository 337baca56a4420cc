"""The daily backup (BACKUP_DIR, BACKUP_KEEP, BACKUP_HOUR): checked copies, the last N kept."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import datetime, time
from pathlib import Path

from bot.context import BotApplication, BotContext
from storage import BackupError, Database, DatabaseUnusable

__all__ = ["JOB_NAME", "rotate", "schedule", "write_backup"]

log = logging.getLogger(__name__)

JOB_NAME = "daily-backup"

# The daily backups' names: only files named so are ever deleted from BACKUP_DIR.
_NAME = re.compile(r"^commune-bot-(\d{8}-\d{6})(?:-(\d+))?\.sqlite3$")


def _key(path: Path) -> tuple[str, int]:
    match = _NAME.match(path.name)
    assert match is not None
    return match[1], int(match[2] or 0)


def backups_in(folder: Path) -> list[Path]:
    """The daily backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _NAME.match(p.name)), key=_key)


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` daily backups; returns the deleted ones."""
    old = backups_in(folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _target(folder: Path, now: datetime) -> Path:
    """A new file name for a backup taken `now` (a second one in the same second gets -1...)."""
    stem = f"commune-bot-{now:%Y%m%d-%H%M%S}"
    target = folder / f"{stem}.sqlite3"
    number = 0
    while target.exists():
        number += 1
        target = folder / f"{stem}-{number}.sqlite3"
    return target


def _integrity(path: Path) -> list[str]:
    """PRAGMA integrity_check of a file, read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
    finally:
        conn.close()


async def write_backup(db: Database, folder: Path, keep: int, now: datetime) -> Path:
    """Write a consistent copy of the open database into `folder`, check it, keep the last N.

    The copy is taken with SQLite's online backup (the bot goes on writing meanwhile) and
    checked in full; a copy that fails the check is deleted and BackupError raised, so a bad
    copy never pushes a good one out.
    """
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    target = await asyncio.to_thread(_target, folder, now)
    await db.backup(target)
    check = await asyncio.to_thread(_integrity, target)
    if check != ["ok"]:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise BackupError(f"the copy {target} failed its integrity check: {'; '.join(check)}")
    await asyncio.to_thread(rotate, folder, keep)
    return target


async def daily_backup(context: BotContext) -> None:
    """The job: one backup into BACKUP_DIR; a failure is logged and counted, never raised."""
    services = context.services
    settings = services.settings
    folder = settings.BACKUP_DIR
    if folder is None:
        return
    try:
        target = await write_backup(
            services.db, folder, settings.BACKUP_KEEP, datetime.now(settings.tz)
        )
    except (BackupError, DatabaseUnusable, OSError, sqlite3.Error) as exc:
        services.metrics.backup_written(False)
        log.error(
            "daily backup into BACKUP_DIR %s failed: %s; check that the folder exists, that the "
            "bot's user may write to it, and the disk space",
            folder, exc,
        )  # fmt: skip
        return
    services.metrics.backup_written(True)
    log.info(
        "daily backup written: %s (%d bytes); the last %d are kept",
        target, target.stat().st_size, settings.BACKUP_KEEP,
    )  # fmt: skip


def schedule(application: BotApplication) -> None:
    """Run the backup every day at BACKUP_HOUR, local time, when BACKUP_DIR is set."""
    services = application.bot_data.services
    settings = services.settings
    if settings.BACKUP_DIR is None or application.job_queue is None:
        return
    # The metric starts from the newest copy already there, so that a restart does not look
    # like a missing backup.
    existing = backups_in(settings.BACKUP_DIR)
    if existing:
        services.metrics.last_backup.set(existing[-1].stat().st_mtime)
    application.job_queue.run_daily(
        daily_backup, time(settings.BACKUP_HOUR, 0, tzinfo=settings.tz), name=JOB_NAME
    )
    log.info(
        "daily backup at %02d:00 into %s, keeping the last %d",
        settings.BACKUP_HOUR, settings.BACKUP_DIR, settings.BACKUP_KEEP,
    )  # fmt: skip
