"""The Zalo front end whole: Zalo's signed webhook, the real conversation, the replies sent
inside the window — the bot started as in production, on Zalo alone, reading the stand-in
commune website."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.config import load_settings
from bot.context import BotApplication
from bot.standins.website import FakePortal
from bot.standins.zalo import FakeZalo

LAN = "8000000000000000101"


@pytest.fixture
async def zalo_news_bot(
    tmp_path: Path, zalo: FakeZalo, portal: FakePortal
) -> AsyncIterator[BotApplication]:
    settings = load_settings(
        env_file=None,
        DATABASE_PATH=tmp_path / "bot.sqlite3",
        ZALO_WEBHOOK_LISTEN="127.0.0.1:0",
        NEWS_SITE_URL=portal.url,
        **zalo.settings(),
    )
    application = build_application(settings)  # the real conversation
    async with running(application):
        services = application.bot_data.services
        assert services.zalo_webhook is not None
        assert services.news is not None
        zalo.webhook_url = f"http://127.0.0.1:{services.zalo_webhook.port}/zalo/webhook"
        await services.news.run()
        yield application


async def test_a_resident_reads_the_news_by_words_and_numbers(
    zalo: FakeZalo, zalo_news_bot: BotApplication
) -> None:
    zalo.enforce_window(hours=48, messages=8)
    assert await zalo.follow(LAN) == 200
    [greeting] = await zalo.wait_sent(LAN)
    assert "Xin chào" in greeting.text
    assert await zalo.say(LAN, "tin moi") == 200  # no diacritics, no slash
    latest = (await zalo.wait_sent(LAN, 2))[-1]
    assert "Gõ số" in latest.text
    first_title = latest.text.split("\n1. ", 1)[1].split("\n", 1)[0]
    assert await zalo.say(LAN, "1") == 200
    sent = await zalo.wait_sent(LAN, 3)
    assert first_title.split(" — ")[0][:30] in sent[-1].text
    assert all(len(m.text) <= 2000 for m in sent)


async def test_forget_is_confirmed_to_the_resident_it_forgot(
    zalo: FakeZalo, zalo_news_bot: BotApplication
) -> None:
    services = zalo_news_bot.bot_data.services
    zalo.enforce_window(hours=48, messages=8)
    assert await zalo.say(LAN, "xóa thông tin") == 200
    [question] = await zalo.wait_sent(LAN)
    assert "1" in question.text
    person = await services.zalo_people.person(LAN)
    assert await zalo.say(LAN, "1") == 200  # yes, forget me
    [_, done] = await zalo.wait_sent(LAN, 2)
    assert "đã xóa thông tin" in done.text
    assert await services.zalo_people.get(person) is None
