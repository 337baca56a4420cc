"""Numbered SQL migrations from `migrations/`, applied in order on start and recorded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import aiosqlite

__all__ = ["Migration", "MigrationError", "apply_migrations", "bundled_migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The database cannot be brought to the schema this version of the bot expects."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: its number, a short name and the SQL that makes it."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """The migration as its file is named, without the extension: `0003_searches`."""
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL, line endings normalised (a Windows checkout is the same file)."""
        text = self.sql.replace("\r\n", "\n")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in `storage/migrations/`, sorted by number."""
    found: list[Migration] = []
    for entry in (resources.files("storage") / "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    # Numbers are handed out ahead to changes made side by side, so one may land before a
    # lower one: a gap is allowed, a number used twice is not.
    if len(set(numbers)) != len(numbers) or (numbers and numbers[0] < 1):
        raise MigrationError(f"migration numbers must be distinct and from 1; found {numbers}")
    return found


async def apply_migrations(
    conn: aiosqlite.Connection, migrations: Sequence[Migration]
) -> list[int]:
    """Apply the migrations the database lacks, each in one transaction; return their numbers.

    Each applied migration's checksum is recorded; an applied migration whose file has changed
    since is refused (MigrationError): the database no longer matches what the file says.
    """
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL,"
        " checksum TEXT) STRICT"
    )
    await _add_checksum_column(conn)
    async with conn.execute("SELECT version, checksum FROM schema_migrations") as cursor:
        recorded = {int(row["version"]): row["checksum"] async for row in cursor}
    done = set(recorded)
    current = max(done, default=0)
    latest = max((m.version for m in migrations), default=0)
    if current > latest:
        raise MigrationError(
            f"the database is at schema version {current}, newer than this program knows "
            f"({latest}); upgrade commune-bot or restore a backup"
        )
    await _check_applied(conn, migrations, recorded)
    applied: list[int] = []
    for migration in migrations:
        if migration.version in done:  # a lower number that arrived later is still applied
            continue
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        # executescript() runs outside the driver's transaction handling, so the transaction is
        # spelled out: the schema change and its record land together or not at all.
        script = (
            f"BEGIN;\n{migration.sql}\n;"
            f"INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{stamp}', '{migration.checksum}');"
            "\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except Exception as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationError(f"migration {migration.label} failed: {exc}") from exc
        applied.append(migration.version)
    return applied


async def _add_checksum_column(conn: aiosqlite.Connection) -> None:
    """Databases made before checksums were recorded get the column (empty until checked)."""
    async with conn.execute("PRAGMA table_info(schema_migrations)") as cursor:
        columns = {str(row["name"]) async for row in cursor}
    if "checksum" not in columns:
        await conn.execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")


async def _check_applied(
    conn: aiosqlite.Connection, migrations: Sequence[Migration], recorded: dict[int, str | None]
) -> None:
    """Refuse a changed applied migration; record the checksum of those applied without one.

    A migration applied by a version that kept no checksums is taken as it is now (the files of
    an installed release are what was applied); from then on, a change to it is refused.
    """
    for migration in migrations:
        if migration.version not in recorded:
            continue
        checksum = recorded[migration.version]
        if checksum is None:
            await conn.execute(
                "UPDATE schema_migrations SET checksum = ? WHERE version = ?",
                (migration.checksum, migration.version),
            )
        elif checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.label} has changed since it was applied to this database "
                f"(checksum {checksum[:12]}, the file now {migration.checksum[:12]}): an applied "
                "migration must never be edited; reinstall the release that applied it, or put "
                "the change in a new migration"
            )
