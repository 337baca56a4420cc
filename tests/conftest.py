"""Shared fixtures: a stand-in Telegram, settings pointing at it, and the running bot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.cli import opt_in_to_ptb_timedelta
from bot.config import Settings, load_settings
from bot.context import BotApplication
from tests.standins.telegram import FakeTelegram
from tests.standins.website import FakePortal

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
    async with FakePortal() as site:
        yield site


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
