"""Numbered SQL migrations from `migrations/`, applied in order on start and recorded."""

from __future__ import annotations

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
    """Apply the migrations the database lacks, each in one transaction; return their numbers."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        done = {int(row["version"]) async for row in cursor}
    current = max(done, default=0)
    latest = max((m.version for m in migrations), default=0)
    if current > latest:
        raise MigrationError(
            f"the database is at schema version {current}, newer than this program knows "
            f"({latest}); upgrade commune-bot or restore a backup"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version in done:  # a lower number that arrived later is still applied
            continue
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        # executescript() runs outside the driver's transaction handling, so the transaction is
        # spelled out: the schema change and its record land together or not at all.
        script = (
            f"BEGIN;\n{migration.sql}\n;"
            f"INSERT INTO schema_migrations (version, name, applied_at) VALUES "
            f"({migration.version}, '{migration.name}', '{stamp}');\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except Exception as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} failed: {exc}"
            ) from exc
        applied.append(migration.version)
    return applied
