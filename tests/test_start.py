"""/start, /help and /language through the stand-in Bot API."""

from __future__ import annotations

from bot.context import BotApplication
from tests.standins.telegram import FakeTelegram


async def test_start_greets_in_vietnamese(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(501, "Lan", language_code="vi")
    reply = await telegram.reply_to(lan, "/start")
    assert reply.ok
    assert "Xin chào Lan" in reply.params["text"]
    assert "Xã Bình Chánh" in reply.params["text"]
