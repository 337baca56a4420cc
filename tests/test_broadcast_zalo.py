"""An announcement to residents on both channels: the preview's counts, Zalo's window kept, the
report's reasons, and the OA article broadcast counted against the month."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.context import BotApplication, Services
from bot.standins.telegram import FakeTelegram
from bot.standins.zalo import (
    ARTICLE_CREATE_PATH,
    BROADCAST_PATH,
    MESSAGE_PATH,
    FakeZalo,
)
from storage.subscriptions import Subscription
from tests.conftest import make_settings, settled
from tests.test_broadcast import OWNER, button, final_report, panel, subscribers
from tests.test_delivery import until

pytestmark = pytest.mark.timeout(120)

INSIDE = ("8500000000000000001", "8500000000000000002")
OUTSIDE = ("8500000000000000003",)


@pytest.fixture
async def app(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> AsyncIterator[BotApplication]:
    settings = make_settings(
        tmp_path, telegram, SEND_RATE_PER_SECOND=100, ZALO_SEND_RATE_PER_SECOND=20,
        ZALO_BROADCASTS_PER_MONTH=1, ZALO_WEBHOOK_LISTEN="127.0.0.1:0", **zalo.settings(),
    )  # fmt: skip
    application = build_application(settings)
    async with running(application):
        yield application


async def zalo_subscribers(services: Services, zalo: FakeZalo) -> dict[str, int]:
    """Zalo residents subscribed to every category: two wrote lately, one did not."""
    assert services.zalo is not None
    people = {}
    for uid in INSIDE + OUTSIDE:
        zalo.follower(uid)
        person = await services.zalo.people.person(uid)
        if uid in INSIDE:
            await services.zalo.people.inbound(person)
        await services.subscriptions.save(Subscription(person, "daily", channel="zalo"))
        people[uid] = person
    return people


async def test_announcement_reaches_both_channels_and_says_who_waits(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER, "Chị Hoa")
    residents = await subscribers(telegram, services, range(2001, 2004))
    people = await zalo_subscribers(services, zalo)

    await telegram.reply_to(owner, "/broadcast")
    mark = telegram.mark()
    text = "Thông báo cắt nước\nTừ 7h đến 11h ngày 28/11. Xem thêm"
    url = "https://xa.example.vn/tb"
    link = {"type": "text_link", "offset": text.index("Xem thêm"), "length": 8, "url": url}
    await telegram.send(owner, text, entities=[link])
    await until(lambda: any(c.ok and c.result.get("reply_markup") for c in
                            telegram.calls_to("sendMessage", mark, chat_id=OWNER)))  # fmt: skip
    audience = panel(telegram, mark)
    # Three on Telegram and two on Zalo get it now; one on Zalo waits; one OA article left.
    assert "Số người nhận: 5" in audience["text"]
    assert "Trên Zalo: 2 người nhận ngay; 1 người chờ" in audience["text"]
    assert "tháng này còn 1 lượt đăng" in audience["text"]

    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay (5)"))
    report = await final_report(telegram, audience)
    assert "Người nhận: 6" in report
    assert "Đã nhận: 5" in report
    assert "Chưa gửi trên Zalo theo quy định của Zalo: 1" in report
    assert "1 ngoài khung tương tác, chờ người dân nhắn lại" in report
    for resident in residents:
        assert len(telegram.chat_messages(resident.id)) == 1
    for uid in INSIDE:
        (got,) = zalo.messages_to(uid)
        assert got.text == f"Thông báo cắt nước\nTừ 7h đến 11h ngày 28/11. Xem thêm ({url})"
    assert zalo.messages_to(OUTSIDE[0]) == []
    assert {call.user_id for call in zalo.calls_to(MESSAGE_PATH)} == set(INSIDE)
    # The one who waits finds it as news ("Thông báo") when they next write.
    categories = {c.name: c.count for c in await services.reading.categories()}
    assert categories["Thông báo"] == 1
    assert services.zalo is not None
    waiting = await services.zalo.people.get(people[OUTSIDE[0]])
    assert waiting is not None
    assert waiting.sent_in_window == 0
    assert zalo.calls_to(ARTICLE_CREATE_PATH) == []  # not asked for: no OA article
    # The audit log names the channels: who was sent it on Telegram, who on Zalo.
    await until_audited(services)
    audit = (await telegram.reply_to(owner, "/audit")).params["text"]
    assert "6 nơi nhận (Telegram 3, Zalo 3), kết quả: đang gửi" in audit
    assert "6 nơi nhận (Telegram 3, Zalo 3), kết quả: đã gửi xong" in audit


async def until_audited(services: Services) -> None:
    """Wait until the announcement's outcome is in the audit log."""
    for _ in range(600):
        entries = await services.audit.recent(5, "broadcast")
        if any(e.detail.get("outcome_code") == "done" for e in entries):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the announcement's outcome never reached the audit log")


async def test_oa_article_broadcast_is_counted_against_the_month(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER, "Chị Hoa")
    await zalo_subscribers(services, zalo)

    async def announce(words: str) -> dict[str, Any]:
        await telegram.reply_to(owner, "/broadcast")
        mark = telegram.mark()
        await telegram.send(owner, words)
        await until(lambda: any(c.ok and c.result.get("reply_markup") for c in
                                telegram.calls_to("sendMessage", mark, chat_id=OWNER)))  # fmt: skip
        return panel(telegram, mark)

    # Zalo refuses the first try: the staff are told why, and nothing is counted.
    zalo.fail(-224, path=ARTICLE_CREATE_PATH)
    first = await announce("Lịch tiêm chủng tháng 12")
    mark = telegram.mark()
    await telegram.press(owner, first, button(first, "📣 Gửi ngay + đăng bài OA Zalo (còn 1)"))
    told = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER,
                                   where=lambda c: "📣" in c.params.get("text", ""))  # fmt: skip
    assert "Zalo không nhận bài viết" in told.params["text"]
    assert zalo.broadcasts == []
    await final_report(telegram, first)

    second = await announce("Họp dân ngày 5/12 tại nhà văn hóa thôn")
    assert "tháng này còn 1 lượt đăng" in second["text"]  # the refusal did not count
    mark = telegram.mark()
    await telegram.press(owner, second, button(second, "📣 Gửi ngay + đăng bài OA Zalo"))
    told = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER,
                                   where=lambda c: "📣" in c.params.get("text", ""))  # fmt: skip
    assert "Đã đăng thông báo thành bài viết OA Zalo" in told.params["text"]
    (article_id,) = zalo.broadcasts
    assert zalo.articles[article_id]["title"] == "Họp dân ngày 5/12 tại nhà văn hóa thôn"
    assert len(zalo.calls_to(BROADCAST_PATH)) == 1
    await final_report(telegram, second)

    # The month's quota is used up: the next preview offers no OA article.
    third = await announce("Thông báo thứ ba")
    assert "tháng này còn 0 lượt đăng" in third["text"]
    keys = [key["text"] for row in third["reply_markup"]["inline_keyboard"] for key in row]
    assert not any(key.startswith("📣") for key in keys)
    # A second tap on the old button publishes nothing more.
    await telegram.press(owner, second, button(second, "📣 Gửi ngay + đăng bài OA Zalo"))
    await settled(telegram, app)
    assert len(zalo.calls_to(BROADCAST_PATH)) == 1
    # The owners' /audit says it in words, the refusal too.
    audit = await telegram.reply_to(owner, "/audit")
    assert "lên OA Zalo (bài viết gửi người quan tâm OA)" in audit.params["text"]
    assert "lên OA Zalo nhưng Zalo không nhận" in audit.params["text"]
