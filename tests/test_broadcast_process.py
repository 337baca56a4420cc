"""A broadcast to 2,000 subscribers survives `kill -9`: the progress goes on, the report adds up."""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.standins.telegram import FakeTelegram
from storage import Database
from storage.subscriptions import Subscription, SubscriptionStore
from tests.conftest import TZ
from tests.test_delivery import until
from tests.test_delivery_process import query, start_bot

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
