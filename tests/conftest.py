"""Shared fixtures: the stand-ins, settings pointing at them, the running bot, a news reader."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.app import build_application, running
from bot.cli import opt_in_to_ptb_timedelta
from bot.config import Settings, load_settings
from bot.context import BotApplication
from bot.news.fetch import Fetcher
from bot.news.reader import NewsReader, Source
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from bot.standins.zalo import FakeZalo
from storage import Database
from tests.fixtures import PORTAL

# As the command line does: PTB 22 warns on every 429 otherwise, and warnings fail tests.
opt_in_to_ptb_timedelta(os.environ)


async def settled(telegram: FakeTelegram, application: BotApplication, timeout: float = 30) -> None:
    """Wait until the bot has handled every update sent so far, each to the end of its handlers.

    For checks that something did *not* happen, in place of sleeping and hoping: the bot has
    taken every update from the stand-in (it asks past an update only once it has queued it),
    its queue is empty and no update is being processed, on two looks a loop turn apart (an update
    just taken from the queue starts being processed on the next turn).
    """

    def idle() -> bool:
        processor = application.update_processor
        return (
            telegram.all_taken
            and application.update_queue.empty()
            and processor.current_concurrent_updates == 0
        )

    async with asyncio.timeout(timeout):
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if idle() else 0
            await asyncio.sleep(0.01)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A stand-in Bot API on a loopback port."""
    async with FakeTelegram() as api:
        yield api


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    """A stand-in Zalo OA API (and OAuth server) on a loopback port."""
    async with FakeZalo() as api:
        yield api


def make_settings(tmp_path: Path, telegram: FakeTelegram, **overrides: Any) -> Settings:
    """Settings for a test: the stand-in's address, a fresh database, no .env file."""
    values: dict[str, Any] = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "DATABASE_PATH": tmp_path / "bot.sqlite3",
        "ADMIN_IDS": "1001",
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
async def portal() -> AsyncIterator[FakePortal]:
    """A stand-in commune website on a loopback port."""
    async with FakePortal(PORTAL) as site:
        yield site


SOURCES = ("/", "/tin-tuc-su-kien", "/thong-bao")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2021, 4, 16, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    portal: FakePortal
    db: Database
    client: httpx.AsyncClient
    clock: Clock

    def reader(
        self,
        sources: tuple[str, ...] = SOURCES,
        *,
        limits: dict[str, float] | None = None,
        **options: Any,
    ) -> NewsReader:
        """A reader of these sources (paths on the portal, or absolute addresses); `limits`
        are the fetcher's `deadline` and `max_bytes`."""

        async def no_wait(seconds: float) -> None:
            """Retries back off without making the test wait."""

        fetcher = Fetcher(self.client, concurrency=4, retries=2, sleep=no_wait, **(limits or {}))  # type: ignore[arg-type]
        found = []
        for entry in sources:
            name, _, rest = entry.partition(":")
            if entry.startswith(("http://", "https://")):
                found.append(Source(entry))
                continue
            adapter, path = (name, rest) if rest else (None, entry)
            found.append(Source(self.portal.url_for(path), adapter))
        return NewsReader(self.db, fetcher, found, TZ, clock=self.clock, **options)

    def article_requests(self) -> list[str]:
        return [r.path for r in self.portal.requests if r.path.startswith("/chi-tiet-tin/")]


@pytest.fixture
async def site(portal: FakePortal, tmp_path: Path) -> AsyncIterator[Harness]:
    async with (
        await Database.open(tmp_path / "news.sqlite3") as db,
        # A short read timeout for the tests of slow pages; connecting may take long on a
        # busy machine.
        httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=2.0)) as client,
    ):
        yield Harness(portal, db, client, Clock())


async def article_ids(db: Database, *nids: int) -> dict[int, int]:
    """Article ids of portal articles by nid, whatever site they were read from."""
    found: dict[int, int] = {}
    async with db.conn.execute(
        "SELECT external_id, article_id FROM article_keys WHERE external_id LIKE 'dnn:%'"
    ) as cursor:
        async for key, article_id in cursor:
            nid = int(key.rpartition(":")[2])
            if nid in nids:
                found[nid] = article_id
    return found


@pytest.fixture
def settings(tmp_path: Path, telegram: FakeTelegram) -> Settings:
    """Settings pointing at the stand-in Bot API."""
    return make_settings(tmp_path, telegram)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[BotApplication]:
    """The real application, started as in production, talking to the stand-in."""
    application = build_application(settings)
    async with running(application):
        yield application


@pytest.fixture
async def news_bot(
    telegram: FakeTelegram, portal: FakePortal, settings: Settings
) -> AsyncIterator[BotApplication]:
    """The bot over a database the news reader has filled from the stand-in website."""
    async with (
        await Database.open(settings.DATABASE_PATH) as db,
        httpx.AsyncClient(timeout=5) as client,
    ):
        await NewsReader(
            db, Fetcher(client), [Source(portal.url_for(p)) for p in SOURCES], TZ
        ).run()
    async with running(build_application(settings)) as application:
        yield application
