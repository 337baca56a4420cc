"""The daily backup job, `commune-bot restore`, and the run lock that guards it."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.ops.backups import JOB_NAME, backups_in
from bot.standins.telegram import FakeTelegram
from tests.conftest import make_settings, settled
from tests.test_process import bot_env, run_cli

pytestmark = pytest.mark.timeout(90)


def users_in(path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {int(row[0]) for row in conn.execute("SELECT user_id FROM users")}
    finally:
        conn.close()


async def test_daily_backup_writes_checked_copies_and_keeps_the_last_n(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    others = [folder / "notes.txt", folder / "commune-bot-before-upgrade.sqlite3"]
    for other in others:  # the operator's own files there are never touched
        other.write_text("keep me", encoding="utf-8")
    earlier = folder / "commune-bot-20261101-030000.sqlite3"  # from before a restart
    earlier.write_bytes(b"")
    os.utime(earlier, (1_700_000_000, 1_700_000_000))
    settings = make_settings(
        tmp_path, telegram, BACKUP_DIR=str(folder), BACKUP_KEEP="2", BACKUP_HOUR="4"
    )
    application = build_application(settings)
    lan = telegram.user(90_001, "Lan")
    async with running(application):
        registry = application.bot_data.services.metrics.registry
        last = "commune_bot_last_backup_timestamp_seconds"
        assert registry.get_sample_value(last) == 1_700_000_000
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name(JOB_NAME)
        assert job.next_t is not None
        assert job.next_t.astimezone(settings.tz).hour == 4  # daily, at BACKUP_HOUR local time
        await telegram.reply_to(lan, "/start")
        await settled(telegram, application)
        written = []
        for _ in range(3):
            await job.run(application)
            written.append(backups_in(folder)[-1])
        assert registry.get_sample_value("commune_bot_backups_total", {"result": "ok"}) == 3
        assert registry.get_sample_value(last) > 1_700_000_000

    assert not earlier.exists()
    assert len(set(written)) == 3
    assert backups_in(folder) == written[1:]  # the oldest went, the newest two stay
    assert not written[0].exists()
    for copy in written[1:]:
        assert users_in(copy) == {lan.id}
        assert not copy.with_name(copy.name + ".partial").exists()
    for other in others:
        assert other.read_text(encoding="utf-8") == "keep me"


async def test_a_failed_daily_backup_is_logged_and_counted(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the folder should be", encoding="utf-8")
    settings = make_settings(tmp_path, telegram, BACKUP_DIR=str(not_a_folder))
    application = build_application(settings)
    async with running(application):
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name(JOB_NAME)
        await job.run(application)
        metrics = application.bot_data.services.metrics.registry
        assert metrics.get_sample_value("commune_bot_backups_total", {"result": "failed"}) == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.startswith(f"daily backup into BACKUP_DIR {not_a_folder} failed: ")
    assert "the bot's user may write to it" in line


async def start_bot(
    telegram: FakeTelegram, tmp_path: Path, database: Path, log: Path
) -> asyncio.subprocess.Process:
    """`python -m bot run` on `database`, its stderr into `log`."""
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path,
            env=bot_env(
                BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url,
                DATABASE_PATH=str(database),
            ),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


async def test_restore_refused_while_the_bot_runs_and_done_when_stopped(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    env = {"BOT_TOKEN": telegram.token, "DATABASE_PATH": str(database)}
    process = await start_bot(telegram, tmp_path, database, tmp_path / "bot.log")
    try:
        await telegram.wait_for("setMyCommands", timeout=30, language_code="en")
        lan, minh = telegram.user(80_001, "Lan"), telegram.user(80_002, "Minh")
        await telegram.reply_to(lan, "/start", timeout=15)
        backup = tmp_path / "saved" / "before.sqlite3"
        made = await asyncio.to_thread(run_cli, ["backup", str(backup)], tmp_path, **env)
        assert made.returncode == 0, made.stderr
        await telegram.reply_to(minh, "/start", timeout=15)  # after the backup

        # A second bot on the same database is refused at once.
        second = await asyncio.to_thread(
            run_cli, ["run"], tmp_path, TELEGRAM_API_URL=telegram.url, **env
        )
        assert second.returncode == 1
        assert f"another commune-bot (process {process.pid}) uses the database" in (second.stderr)

        refused = await asyncio.to_thread(run_cli, ["restore", str(backup)], tmp_path, **env)
        assert refused.returncode == 1
        (line,) = refused.stderr.strip().splitlines()
        assert f"restore refused: the bot is running (process {process.pid}) on {database}" in line
        assert "stop it first" in line
        assert refused.stdout == ""
        assert users_in(database) == {lan.id, minh.id}  # untouched
    finally:
        # The bot dies without cleaning up: its lock file stays behind, and must block nobody.
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert await asyncio.to_thread(Path(f"{database}.lock").exists)

    done = await asyncio.to_thread(run_cli, ["restore", str(backup)], tmp_path, **env)
    assert done.returncode == 0, done.stderr
    (aside,) = database.parent.glob("bot.sqlite3.before-restore-*[0-9]")
    assert done.stdout.splitlines() == [
        f"checked {backup}: integrity ok, a commune-bot database at schema version {_latest()}",
        f"the previous database is kept as {aside}",
        f"restored {backup} to {database}; start the bot again (it upgrades the schema if the "
        "copy is older)",
    ]
    assert users_in(database) == {lan.id}
    # Nothing of the previous database was lost, not even what was still in its -wal file.
    assert users_in(aside) == {lan.id, minh.id}
    assert not await asyncio.to_thread(Path(f"{database}-wal").exists)

    # The bot starts on the restored database.
    process = await start_bot(telegram, tmp_path, database, tmp_path / "bot2.log")
    try:
        reply = await telegram.reply_to(minh, "/start", timeout=30)
        assert reply.params["text"].startswith("Xin chào Minh")
    finally:
        process.terminate()
        await process.wait()


def _latest() -> int:
    from storage import bundled_migrations

    return bundled_migrations()[-1].version


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("damaged", "is damaged or is not a SQLite database"),
        ("foreign", "is not a commune-bot database"),
        ("missing", "no backup file at"),
    ],
)
def test_restore_checks_the_copy_first(tmp_path: Path, content: str, says: str) -> None:
    database = tmp_path / "bot.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE mine (x)")
    before = database.read_bytes()
    copy = tmp_path / "copy.sqlite3"
    if content == "damaged":
        copy.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    elif content == "foreign":
        with sqlite3.connect(copy) as conn:
            conn.execute("CREATE TABLE contacts (name TEXT)")
    done = run_cli(["restore", str(copy)], tmp_path, DATABASE_PATH=str(database))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert says in line
    assert database.read_bytes() == before  # nothing changed
    assert list(tmp_path.glob("*before-restore*")) == []
