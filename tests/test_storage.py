"""The database: pragmas, migrations that upgrade in place, online backups."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import (
    Database,
    Migration,
    MigrationError,
    UserStore,
    backup_file,
    bundled_migrations,
)


async def test_connection_pragmas(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db" / "bot.sqlite3") as db:

        async def pragma(name: str) -> object:
            async with db.conn.execute(f"PRAGMA {name}") as cursor:
                row = await cursor.fetchone()
            assert row is not None
            return row[0]

        assert await pragma("journal_mode") == "wal"
        assert await pragma("foreign_keys") == 1
        assert await pragma("busy_timeout") == 5000


async def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path) as db:
        assert await db.schema_version() == bundled_migrations()[-1].version
    # Second start: nothing to do, nothing breaks.
    async with (
        await Database.open(path) as db,
        db.conn.execute("SELECT version, name FROM schema_migrations") as cursor,
    ):
        rows = await cursor.fetchall()
    assert [tuple(row) for row in rows] == [(m.version, m.name) for m in bundled_migrations()]


async def test_old_database_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = bundled_migrations()[:1]
    async with await Database.open(path, first) as db:
        # As the first release wrote it (today's UserStore writes the channel, 0016's column).
        await db.write(
            "INSERT INTO users (user_id, language, first_seen, last_seen) VALUES (42, 'en', ?, ?)",
            ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        )

    # A later release adds a migration; the existing file upgrades and keeps its data.
    throwaway = Migration(
        bundled_migrations()[-1].version + 1,
        "add_nickname",
        "ALTER TABLE users ADD COLUMN nickname TEXT;UPDATE users SET nickname = 'bác ' || user_id;",
    )
    async with await Database.open(path, [*bundled_migrations(), throwaway]) as db:
        assert await db.schema_version() == throwaway.version
        async with db.conn.execute("SELECT language, nickname FROM users") as cursor:
            assert tuple(await cursor.fetchone() or ()) == ("en", "bác 42")


async def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path) as db:
        before = await db.schema_version()
    broken = Migration(
        before + 1,
        "broken",
        "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(MigrationError, match="broken failed: no such table"):
        await Database.open(path, [*bundled_migrations(), broken])
    async with await Database.open(path) as db:
        assert await db.schema_version() == before
        async with db.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
        ) as cursor:
            assert tuple(await cursor.fetchone() or ()) == (0,)


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    future = Migration(
        bundled_migrations()[-1].version + 1, "future", "CREATE TABLE future (x INTEGER);"
    )
    async with await Database.open(path, [*bundled_migrations(), future]):
        pass
    with pytest.raises(MigrationError, match="newer than this program knows"):
        await Database.open(path)


async def test_backup_while_writing_is_consistent(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path) as db:
        users = UserStore(db)
        stop = asyncio.Event()

        async def write() -> int:
            # Each transaction writes two rows; a consistent copy never holds an odd count.
            n = 0
            while not stop.is_set():
                async with db.transaction():
                    for _ in range(2):
                        n += 1
                        await db.conn.execute(
                            "INSERT INTO users (user_id, first_seen, last_seen)"
                            " VALUES (?, 'x', 'x')",
                            (n,),
                        )
                await asyncio.sleep(0)
            return n

        writer = asyncio.create_task(write())
        await asyncio.sleep(0.05)
        copies = [tmp_path / f"copy-{i}.sqlite3" for i in range(3)]
        for copy in copies:
            # A separate connection, as `commune-bot backup` uses while the bot runs.
            await backup_file(path, copy)
        stop.set()
        written = await writer
        await users.touch(10**9)

    for copy in copies:
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            count = conn.execute("SELECT count(*) FROM users").fetchone()[0]
            assert count % 2 == 0
            assert 0 < count <= written
            assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == (
                bundled_migrations()[-1].version
            )
        assert not copy.with_name(copy.name + ".partial").exists()


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:

        async def fail_halfway() -> None:
            async with db.transaction():
                await UserStore(db).touch(7)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await fail_halfway()
        assert await UserStore(db).language(7) is None
        async with db.conn.execute("SELECT count(*) FROM users") as cursor:
            assert tuple(await cursor.fetchone() or ()) == (0,)


def test_migration_files_are_numbered_distinctly_in_order() -> None:
    numbers = [m.version for m in bundled_migrations()]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1


async def test_a_lower_number_that_arrives_later_is_still_applied(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    latest = bundled_migrations()[-1].version
    later = Migration(latest + 2, "later", "CREATE TABLE later (x INTEGER);")
    async with await Database.open(path, [*bundled_migrations(), later]):
        pass
    # A change made side by side, merged afterwards with the lower number.
    between = Migration(latest + 1, "between", "CREATE TABLE between_ (x INTEGER);")
    async with await Database.open(path, [*bundled_migrations(), between, later]) as db:
        async with db.conn.execute("SELECT version FROM schema_migrations") as cursor:
            versions = {row[0] async for row in cursor}
        assert {latest + 1, latest + 2} <= versions
        async with db.conn.execute("SELECT count(*) FROM between_") as cursor:
            assert tuple(await cursor.fetchone() or ()) == (0,)


async def test_concurrent_writers_on_the_shared_connection(tmp_path: Path) -> None:
    """A handler's write during another's transaction neither joins it nor breaks it."""
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        users = UserStore(db)
        inside = asyncio.Event()

        async def failing_transaction() -> None:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO users (user_id, first_seen, last_seen) VALUES (1, 'x', 'x')"
                )
                inside.set()
                await asyncio.sleep(0.05)  # other handlers run meanwhile
                raise RuntimeError("rolled back")

        async def other_handler() -> None:
            await inside.wait()
            await users.set_language(2, "en")  # must not be part of the failing transaction
            async with db.transaction() as conn:  # nor fail with "transaction within a transaction"
                await conn.execute(
                    "INSERT INTO users (user_id, first_seen, last_seen) VALUES (3, 'x', 'x')"
                )

        results = await asyncio.gather(
            failing_transaction(), other_handler(), return_exceptions=True
        )
        assert isinstance(results[0], RuntimeError)
        assert results[1] is None
        rows = await db.fetchall("SELECT user_id FROM users ORDER BY user_id")
        assert [row[0] for row in rows] == [2, 3]


async def test_quick_read_sees_committed_writes_and_cannot_write(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        await db.write("INSERT INTO bot_state (key, value) VALUES ('k', 'one')")

        async def value() -> list[str]:
            rows = await db.quick_read("SELECT value FROM bot_state WHERE key = :key", {"key": "k"})
            return [row["value"] for row in rows]  # rows are read by name

        assert await value() == ["one"]
        async with db.transaction() as conn:
            await conn.execute("UPDATE bot_state SET value = 'two' WHERE key = 'k'")
            # Another handler reading meanwhile sees what is committed, never a half-done change.
            assert await value() == ["one"]
        assert await value() == ["two"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.quick_read("DELETE FROM bot_state")


async def test_applied_migrations_record_their_checksums(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path):
        pass
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    assert rows == {m.version: m.checksum for m in bundled_migrations()}
    assert all(len(checksum) == 64 for checksum in rows.values())


async def test_a_changed_applied_migration_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path):
        pass
    edited = [
        Migration(m.version, m.name, m.sql + "\n-- edited after release\n") if m.version == 3 else m
        for m in bundled_migrations()
    ]
    with pytest.raises(MigrationError) as refused:
        await Database.open(path, edited)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("migration 0003_searches has changed since it was applied")
    assert "reinstall the release" in message
    # Only the text counts: the same file checked out with Windows line endings is the same.
    crlf = [Migration(m.version, m.name, m.sql.replace("\n", "\r\n")) for m in bundled_migrations()]
    async with await Database.open(path, crlf) as db:
        assert await db.schema_version() == bundled_migrations()[-1].version


async def test_checksums_are_recorded_for_databases_made_before_them(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path):
        pass
    with sqlite3.connect(path) as conn:  # as an older release left it: no checksum column
        conn.execute("ALTER TABLE schema_migrations DROP COLUMN checksum")
    async with await Database.open(path):
        pass
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    assert rows == {m.version: m.checksum for m in bundled_migrations()}
    # From then on an edit is noticed.
    edited = [Migration(m.version, m.name, m.sql + ";") for m in bundled_migrations()]
    with pytest.raises(MigrationError, match="has changed since it was applied"):
        await Database.open(path, edited)


def test_migrate_refuses_a_changed_migration_in_one_line(tmp_path: Path) -> None:
    from tests.test_process import run_cli

    path = tmp_path / "bot.sqlite3"
    assert run_cli(["migrate"], tmp_path, DATABASE_PATH=str(path)).returncode == 0
    # As if 0003's file had been edited since: what the database recorded no longer matches.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'abcdef0123456789' WHERE version = 3")
    refused = run_cli(["migrate"], tmp_path, DATABASE_PATH=str(path))
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert f"ERROR bot: database {path}: migration 0003_searches has changed since it was " in line
    assert "(checksum abcdef012345, the file now " in line
    assert refused.stdout == ""
