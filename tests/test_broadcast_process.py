"""A broadcast to 2,000 subscribers survives `kill -9`: the progress goes on, the report adds up;
and an announcement reaches residents on Telegram and on Zalo from one bot process."""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.standins.telegram import FakeTelegram
from bot.standins.zalo import FakeZalo
from storage import Database
from storage.subscriptions import Subscription, SubscriptionStore
from storage.zalo import ZaloPeople
from tests.conftest import TZ
from tests.test_delivery import until
from tests.test_delivery_process import query, start_bot
from tests.test_demo_process import free_port
from tests.test_zalo_process import listening

OWNER = 1001
RESIDENTS = range(200_001, 202_001)
BLOCKED = set(range(200_001, 202_001, 40))  # 50 residents blocked the bot


@pytest.mark.timeout(150)
async def test_broadcast_survives_sigkill(telegram: FakeTelegram, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    owner = telegram.user(OWNER, "Chị Hoa")
    for user_id in RESIDENTS:
        telegram.user(user_id)
    for user_id in BLOCKED:
        telegram.block(user_id)
    async with await Database.open(database) as db:
        store = SubscriptionStore(db, TZ)
        now = datetime.now(UTC)
        for user_id in RESIDENTS:
            await store.save(Subscription(user_id, "daily"), now=now)

    first = await start_bot(telegram, database, log, ADMIN_IDS=str(OWNER))
    await telegram.reply_to(owner, "/broadcast", timeout=15)
    mark = telegram.mark()
    await telegram.send(owner, "Thông báo khẩn: nước lũ dâng cao, mời bà con di dời")

    def panel() -> dict[str, Any] | None:
        for call in telegram.calls_to("sendMessage", mark, chat_id=OWNER):
            if call.ok and call.result.get("reply_markup"):
                return dict(call.result)
        return None

    await until(lambda: panel() is not None, timeout=15)
    message = panel()
    assert message is not None
    # Nobody has told the bot yet that 50 of them blocked it: they count until a send fails.
    assert "Số người nhận: 2.000" in message["text"]
    go = next(
        key["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for key in row
        if key["text"].startswith("✅ Gửi ngay")
    )

    def delivered() -> int:
        return sum(1 for c in telegram.calls_to("sendMessage") if c.ok and c.chat_id != OWNER)

    try:
        await telegram.press(owner, message, go)
        await until(lambda: delivered() >= 600, timeout=60, step=0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    in_flight = query(database, "SELECT COUNT(*) FROM outbox WHERE state = 'sending'")[0][0]
    assert isinstance(in_flight, int)
    killed_at = delivered()
    assert killed_at < len(RESIDENTS) - len(BLOCKED)

    restart = telegram.mark()
    second = await start_bot(telegram, database, log, ADMIN_IDS=str(OWNER))
    try:

        def report() -> str:
            return str(telegram.message(OWNER, message["message_id"])["text"])

        await until(lambda: "Đã gửi xong" in report(), timeout=60, step=0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()

    # The progress message went on after the restart, edited in place.
    edits = telegram.calls_to("editMessageText", restart, message_id=message["message_id"])
    assert len(edits) >= 2
    text = report()
    total = int(re.search(r"Người nhận: ([\d.]+)", text)[1].replace(".", ""))  # type: ignore[index]
    received = int(re.search(r"Đã nhận: ([\d.]+)", text)[1].replace(".", ""))  # type: ignore[index]
    gone = int(re.search(r"rời đi: ([\d.]+)", text)[1].replace(".", ""))  # type: ignore[index]
    assert total == len(RESIDENTS)
    assert (received, gone) == (len(RESIDENTS) - len(BLOCKED), len(BLOCKED))
    assert received + gone == total

    got = Counter(
        c.chat_id for c in telegram.calls_to("sendMessage") if c.ok and c.chat_id != OWNER
    )
    assert set(got) == set(RESIDENTS) - BLOCKED
    duplicates = sum(count - 1 for count in got.values())
    print(f"\nkilled after {killed_at} sends; {in_flight} in flight; {duplicates} duplicated")
    assert duplicates <= in_flight


ZALO_NEAR = ("8600000000000000001", "8600000000000000002")  # they write to the OA first
ZALO_FAR = ("8600000000000000003",)  # silent for days: outside Zalo's window


@pytest.mark.timeout(150)
async def test_announcement_to_both_channels_as_a_process(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    """The bot as a process with Telegram and Zalo: two Zalo residents write to the OA (signed
    webhook events open their window), a staff member announces on Telegram; the preview counts
    both channels, the window and the OA articles left; it reaches both, and the report says
    who waits and why; the OA article is published once."""
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    owner = telegram.user(OWNER, "Chị Hoa")
    chats = range(300_001, 300_004)
    for user_id in chats:
        telegram.user(user_id)
    async with await Database.open(database) as db:
        store, people = SubscriptionStore(db, TZ), ZaloPeople(db)
        for user_id in chats:
            await store.save(Subscription(user_id, "daily"))
        for uid in ZALO_NEAR + ZALO_FAR:
            zalo.follower(uid)
            person = await people.person(uid)
            await store.save(Subscription(person, "instant", channel="zalo"))
    port = free_port()
    zalo.webhook_url = f"http://127.0.0.1:{port}/zalo/webhook"
    bot = await start_bot(
        telegram, database, log, ADMIN_IDS=str(OWNER), ZALO_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        ZALO_BROADCASTS_PER_MONTH="1", **zalo.settings(),
    )  # fmt: skip
    try:
        await listening(zalo.webhook_url, bot)
        for uid in ZALO_NEAR:
            assert await zalo.say(uid, "xin chào") == 200
        opened = "SELECT COUNT(*) FROM zalo_people WHERE last_inbound_at IS NOT NULL"
        await until(lambda: query(database, opened) == [(2,)], timeout=30, step=0.05)

        await telegram.reply_to(owner, "/broadcast", timeout=15)
        mark = telegram.mark()
        await telegram.send(owner, "Thông báo: tiêm chủng cho trẻ em sáng thứ Bảy")

        def panel() -> dict[str, Any] | None:
            for call in telegram.calls_to("sendMessage", mark, chat_id=OWNER):
                if call.ok and call.result.get("reply_markup"):
                    return dict(call.result)
            return None

        await until(lambda: panel() is not None, timeout=15)
        message = panel()
        assert message is not None
        assert "Số người nhận: 5" in message["text"]
        assert "Trên Zalo: 2 người nhận ngay; 1 người chờ" in message["text"]
        assert "tháng này còn 1 lượt đăng" in message["text"]
        go = next(
            key["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for key in row
            if key["text"].startswith("📣 Gửi ngay + đăng bài OA Zalo")
        )
        await telegram.press(owner, message, go)

        def report() -> str:
            return str(telegram.message(OWNER, message["message_id"])["text"])

        await until(lambda: "Đã gửi xong" in report(), timeout=60, step=0.1)
        await until(lambda: len(zalo.broadcasts) == 1, timeout=30)
    finally:
        bot.send_signal(signal.SIGTERM)
        await bot.wait()

    text = report()
    assert "Người nhận: 6" in text
    assert "Đã nhận: 5" in text
    assert "1 ngoài khung tương tác, chờ người dân nhắn lại" in text
    for user_id in chats:
        assert len(telegram.chat_messages(user_id)) == 1
    announced = "Thông báo: tiêm chủng cho trẻ em sáng thứ Bảy"
    for uid in ZALO_NEAR:
        assert [m.text for m in zalo.messages_to(uid) if m.text == announced] == [announced]
    assert zalo.messages_to(ZALO_FAR[0]) == []
    (article_id,) = zalo.broadcasts
    assert zalo.articles[article_id]["title"] == announced
