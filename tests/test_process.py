"""`commune-bot` as a separate process against the stand-in Bot API on a loopback port."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from storage import bundled_migrations

_SETTING_KEYS = (
    "BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "ADMIN_IDS", "TIMEZONE", "COMMUNE_NAME",
    "DEFAULT_LANGUAGE", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET",
)  # fmt: skip


def bot_env(**values: str) -> dict[str, str]:
    """The test's environment without any bot setting of the developer's, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTING_KEYS}
    env.update(values)
    return env


def run_cli(args: Sequence[str], cwd: Path, **values: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=bot_env(**values),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def complaints(stderr: str) -> list[str]:
    """What a process said beyond INFO lines (`run` names its database at start): its errors.

    A traceback's lines would count too: the log indents them under their event.
    """
    return [line for line in stderr.strip().splitlines() if " INFO " not in line]


@dataclass
class BotProcess:
    """A running `commune-bot run`."""

    process: asyncio.subprocess.Process
    database: Path
    log: Path  # its stderr: a file, so a chatty DEBUG log can never fill a pipe and block it

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit status and everything it wrote to stderr."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await self.process.wait()
        return self.process.returncode or 0, self.log.read_text(encoding="utf-8")


@pytest.fixture
async def bot_process(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    """`python -m bot run` at DEBUG level, pointed at both stand-ins; stopped after the test."""
    database = tmp_path / "data" / "bot.sqlite3"
    log = tmp_path / "bot.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=bot_env(
                BOT_TOKEN=telegram.token,
                TELEGRAM_API_URL=telegram.url,
                DATABASE_PATH=str(database),
                LOG_LEVEL="DEBUG",
                NEWS_SITE_URL=portal.url,
            ),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    running = BotProcess(process, database, log)
    try:
        # Ready once it has told Telegram its command menu (the last step of start-up).
        await telegram.wait_for("setMyCommands", timeout=30, language_code="en")
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_run_answers_start_in_vietnamese(
    telegram: FakeTelegram, portal: FakePortal, bot_process: BotProcess, tmp_path: Path
) -> None:
    lan = telegram.user(701, "Lan")
    reply = await telegram.reply_to(lan, "/start", timeout=15)
    assert reply.params["text"].startswith("Xin chào Lan!")

    # Meanwhile the bot reads the stand-in website (its first poll starts after a second).
    async with asyncio.timeout(60):
        while len(portal.requests_to("/thong-bao")) < 2:  # noqa: ASYNC110 - page 1 and 2: backfill
            await asyncio.sleep(0.1)
    assert portal.requests[0].headers["user-agent"].startswith("commune-bot/")

    # A backup taken while the bot runs holds what the bot wrote.
    result = await asyncio.to_thread(
        run_cli,
        ["backup", str(tmp_path / "copy.sqlite3")],
        tmp_path,
        BOT_TOKEN=telegram.token,
        DATABASE_PATH=str(bot_process.database),
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("SELECT user_id FROM users").fetchall() == [(701,)]
        assert copy.execute("SELECT count(*) FROM articles").fetchone()[0] >= 10

    status, stderr = await bot_process.stop()
    assert status == 0
    # The token is in no file the bot wrote: the database (with its WAL) and the backup.
    written = [*bot_process.database.parent.iterdir(), tmp_path / "copy.sqlite3"]
    for path in written:
        content = path.read_bytes()
        assert telegram.token.encode() not in content, path
        assert telegram.token.split(":")[1].encode() not in content, path
    assert "is ready" in stderr
    assert "bot stopped" in stderr
    assert telegram.token not in stderr
    assert "[REDACTED]" in stderr  # DEBUG logs did show request addresses, masked


def test_missing_token_is_one_line(tmp_path: Path) -> None:
    # A settings file without the token (with neither, `run` starts the demo: test_demo_process).
    (tmp_path / ".env").write_text("ADMIN_IDS=1001\n", encoding="utf-8")
    result = run_cli(["run"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_console_script_is_the_same_program(tmp_path: Path) -> None:
    script = Path(sysconfig.get_path("scripts")) / "commune-bot"
    result = subprocess.run(
        [str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("run", "migrate", "backup"):
        assert command in result.stdout
    assert result.stdout == run_cli(["--help"], tmp_path).stdout


def test_env_file_typo_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123456789:AAHstandinTOKENabcdefghijklmnopqrstu\nADMIN_IDS=12;34\n",
        encoding="utf-8",
    )
    result = run_cli(["run"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: ADMIN_IDS is malformed; expected Telegram user ids separated by "
        "commas, such as 12345678,87654321."
    ]


async def test_refused_token_is_one_line(telegram: FakeTelegram, tmp_path: Path) -> None:
    wrong = "987654321:AAHwrongTOKENabcdefghijklmnopqrstuvw"
    result = await asyncio.to_thread(
        run_cli, ["run"], tmp_path, BOT_TOKEN=wrong, TELEGRAM_API_URL=telegram.url, ADMIN_IDS="1"
    )
    assert result.returncode == 1
    lines = complaints(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Telegram refused BOT_TOKEN" in lines[0]
    assert wrong not in result.stderr


def test_unreachable_telegram_is_one_line(tmp_path: Path) -> None:
    token = "123456789:AAHstandinTOKENabcdefghijklmnopqrstu"
    result = run_cli(
        ["run"], tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL="http://127.0.0.1:9", ADMIN_IDS="1"
    )
    assert result.returncode == 1
    lines = complaints(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "cannot reach Telegram at http://127.0.0.1:9" in lines[0]
    assert token not in result.stderr


def test_migrate_and_backup_commands(tmp_path: Path) -> None:
    token = "123456789:AAHstandinTOKENabcdefghijklmnopqrstu"
    database = tmp_path / "db.sqlite3"
    result = run_cli(["migrate"], tmp_path, BOT_TOKEN=token, DATABASE_PATH=str(database))
    assert result.returncode == 0
    assert f"schema version {bundled_migrations()[-1].version}" in result.stdout
    result = run_cli(
        ["backup", "nested/copy.sqlite3"], tmp_path, BOT_TOKEN=token, DATABASE_PATH=str(database)
    )
    assert result.returncode == 0
    assert (tmp_path / "nested" / "copy.sqlite3").exists()
    result = run_cli(
        ["backup", "x.sqlite3"], tmp_path, BOT_TOKEN=token, DATABASE_PATH="missing.sqlite3"
    )
    assert result.returncode == 1
    assert f"no database at {tmp_path / 'missing.sqlite3'}" in result.stderr
