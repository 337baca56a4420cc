"""`commune-bot run` as a process with Zalo: alone (no BOT_TOKEN), or beside Telegram."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from bot.standins.zalo import OAUTH_PATH, FakeZalo
from tests.test_demo_process import free_port
from tests.test_process import bot_env

pytestmark = pytest.mark.timeout(120)

LAN = "8000000000000000001"


@dataclass
class Running:
    process: asyncio.subprocess.Process
    log: Path
    webhook: str

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit status and what it wrote to stderr."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await self.process.wait()
        return self.process.returncode or 0, self.log.read_text(encoding="utf-8")


async def listening(url: str, process: asyncio.subprocess.Process) -> None:
    """Wait until the bot's Zalo webhook answers (an unsigned POST: 401)."""
    async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(60):
        while True:
            assert process.returncode is None, "the bot stopped while starting"
            try:
                response = await client.post(url, content=b"{}")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            assert response.status_code == 401
            return


@asynccontextmanager
async def bot_run(tmp_path: Path, name: str = "bot", **env: str) -> AsyncIterator[Running]:
    """`python -m bot run` at DEBUG with `env`; stopped (killed if need be) afterwards."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=tmp_path,
            env=bot_env(LOG_LEVEL="DEBUG", ZALO_WEBHOOK_LISTEN=f"127.0.0.1:{port}", **env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    running = Running(process, log, f"http://127.0.0.1:{port}/zalo/webhook")
    try:
        await listening(running.webhook, process)
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def zalo_env(zalo: FakeZalo, database: Path) -> dict[str, str]:
    return {"DATABASE_PATH": str(database), **zalo.settings()}


def stored_refresh_token(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return str(db.execute("SELECT refresh_token FROM zalo_tokens").fetchone()[0])


def no_secret_in(text: str, zalo: FakeZalo, *more: str) -> Callable[[], list[str]]:
    secrets = [zalo.app_secret, zalo.oa_secret_key, zalo.refresh_token, *more]
    return lambda: [s for s in secrets if s in text]


async def test_zalo_alone_runs_without_a_bot_token_and_keeps_the_rotated_token(
    zalo: FakeZalo, telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    zalo.access_seconds = 5 * 60  # under the refresh margin: each start refreshes
    database = tmp_path / "data" / "bot.sqlite3"
    first = zalo.refresh_token
    # A Bot API is there to be called, and is not: without BOT_TOKEN nothing goes to Telegram.
    env = {
        **zalo_env(zalo, database),
        "TELEGRAM_API_URL": telegram.url,
        "NEWS_SITE_URL": portal.url,
    }
    async with bot_run(tmp_path, **env) as bot:
        # Started: the access token was fetched at start (its single-use refresh token spent).
        await zalo.wait_for(OAUTH_PATH)
        # The JobQueue runs without Telegram: the news poll reads the website.
        async with asyncio.timeout(60):
            while not portal.requests_to("/thong-bao"):  # noqa: ASYNC110 - as test_process does
                await asyncio.sleep(0.1)
        event = zalo.text_event(LAN, "tin mới")
        zalo.webhook_url = bot.webhook
        assert await zalo.post(event, signed=False) == 401
        assert await zalo.post(event, signed="mac=" + "0" * 64) == 401
        status, stderr = await bot.stop()
    assert status == 0
    assert "ready on Zalo alone" in stderr
    assert "Traceback" not in stderr
    assert telegram.calls == []
    assert telegram.get_updates_calls == 0
    assert zalo.spent(first)
    rotated = zalo.refresh_token
    assert stored_refresh_token(database) == rotated
    access_tokens = [str(c.response["access_token"]) for c in zalo.calls_to(OAUTH_PATH)]
    assert no_secret_in(stderr, zalo, first, *access_tokens)() == []

    # Restarted with the same settings (ZALO_REFRESH_TOKEN is still the spent first one): the
    # database's rotated token is used, and Zalo takes it.
    async with bot_run(tmp_path, "again", **zalo_env(zalo, database)) as bot:
        await zalo.wait_until(lambda: zalo.refreshes == 2)
        status, stderr = await bot.stop()
    assert status == 0
    assert zalo.refused_refreshes == 0
    assert stored_refresh_token(database) == zalo.refresh_token != rotated


async def test_a_refused_refresh_token_is_one_clear_line_and_the_bot_runs_on(
    zalo: FakeZalo, tmp_path: Path
) -> None:
    zalo.refuse_refresh()
    database = tmp_path / "bot.sqlite3"
    async with bot_run(tmp_path, **zalo_env(zalo, database)) as bot:
        await zalo.wait_for(OAUTH_PATH)
        zalo.webhook_url = bot.webhook
        assert await zalo.post(zalo.text_event(LAN, "x"), signed=False) == 401  # still serving
        status, stderr = await bot.stop()
    assert status == 0
    lines = [line for line in stderr.splitlines() if "refused the refresh token" in line]
    assert len(lines) == 1
    assert " ERROR " in lines[0]
    assert "developers.zalo.me" in lines[0]
    assert "ZALO_REFRESH_TOKEN" in lines[0]
    assert no_secret_in(stderr, zalo)() == []


async def test_zalo_answers_a_signed_follow_through_the_conversation(
    zalo: FakeZalo, tmp_path: Path
) -> None:
    async with bot_run(tmp_path, **zalo_env(zalo, tmp_path / "bot.sqlite3")) as bot:
        zalo.webhook_url = bot.webhook
        assert await zalo.follow(LAN) == 200
        [greeting] = await zalo.wait_sent(LAN)
        assert greeting.text
        status, _ = await bot.stop()
    assert status == 0


async def test_telegram_and_zalo_in_one_process(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    env = {
        **zalo_env(zalo, tmp_path / "bot.sqlite3"),
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
    }
    async with bot_run(tmp_path, **env) as bot:
        await telegram.wait_for("setMyCommands", timeout=30, language_code="en")
        lan = telegram.user(701, "Lan")
        reply = await telegram.reply_to(lan, "/start", timeout=15)
        assert reply.params["text"].startswith("Xin chào Lan!")
        await zalo.wait_for(OAUTH_PATH)  # Zalo's side is up too
        zalo.webhook_url = bot.webhook
        assert await zalo.post(zalo.text_event(LAN, "x"), signed=False) == 401
        status, stderr = await bot.stop()
    assert status == 0
    assert telegram.token not in stderr
    assert no_secret_in(stderr, zalo)() == []
