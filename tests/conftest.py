"""Shared fixtures: the stand-ins, settings pointing at them, the running bot, a news reader."""

from __future__ import annotations

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
from storage import Database
from tests.fixtures import PORTAL

# As the command line does: PTB 22 warns on every 429 otherwise, and warnings fail tests.
opt_in_to_ptb_timedelta(os.environ)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A stand-in Bot API on a loopback port."""
    async with FakeTelegram() as api:
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

    def reader(self, sources: tuple[str, ...] = SOURCES, **options: Any) -> NewsReader:
        async def no_wait(seconds: float) -> None:
            """Retries back off without making the test wait."""

        fetcher = Fetcher(self.client, concurrency=4, retries=2, sleep=no_wait)
        found = []
        for entry in sources:
            name, _, rest = entry.partition(":")
            adapter, path = (name, rest) if rest else (None, entry)
            found.append(Source(self.portal.url_for(path), adapter))
        return NewsReader(self.db, fetcher, found, TZ, clock=self.clock, **options)

    def article_requests(self) -> list[str]:
        return [r.path for r in self.portal.requests if r.path.startswith("/chi-tiet-tin/")]


@pytest.fixture
async def site(portal: FakePortal, tmp_path: Path) -> AsyncIterator[Harness]:
    async with (
        await Database.open(tmp_path / "news.sqlite3") as db,
        httpx.AsyncClient(timeout=0.5) as client,
    ):
        yield Harness(portal, db, client, Clock())


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
