"""Residents on Zalo: local numbers for Zalo's ids, and the interaction window Zalo enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.zalo.messages import ZaloButton, ZaloMessage, from_body, outgoing
from storage.db import Database
from storage.zalo import ZaloPeople

WINDOW = timedelta(hours=48)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def test_each_zalo_id_gets_one_local_number_never_reused(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        people = ZaloPeople(db)
        long_id = "98765432109876543210987"  # longer than SQLite's integers hold
        first = await people.person(long_id)
        assert await people.person(long_id) == first
        second = await people.person("2512523625412515")
        assert second != first
        assert await people.user_id(first) == long_id
        async with db.transaction() as conn:
            await ZaloPeople.forget_in(conn, second)
        assert await people.get(second) is None
        assert await people.person("2512523625412515") not in (first, second)


async def test_the_window_opens_with_a_message_and_holds_so_many_replies(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        people = ZaloPeople(db)
        person = await people.person("111")
        # Never written to us: nothing may be sent.
        assert not await people.take_window(person, WINDOW, 2, NOW)
        await people.inbound(person, NOW)
        assert await people.in_window(person, WINDOW, 2, NOW)
        assert await people.take_window(person, WINDOW, 2, NOW)
        assert await people.take_window(person, WINDOW, 2, NOW)
        assert not await people.take_window(person, WINDOW, 2, NOW)  # used up
        await people.give_back(person)
        assert await people.take_window(person, WINDOW, 2, NOW)
        # A new message opens it anew; time closes it.
        await people.inbound(person, NOW)
        later = NOW + WINDOW + timedelta(seconds=1)
        assert not await people.in_window(person, WINDOW, 2, later)
        assert not await people.take_window(person, WINDOW, 2, later)
        # Unfollowing closes it whatever the time.
        await people.following(person, False)
        assert not await people.take_window(person, WINDOW, 2, NOW)


@pytest.mark.parametrize(
    "message",
    [
        ZaloMessage("Xin chào"),
        ZaloMessage(
            "Tin mới\n1. Một\n2. Hai",
            (ZaloButton("1", payload="#1"), ZaloButton("Trang web", url="https://x.vn")),
            image_url="https://x.vn/a.jpg",
        ),
    ],
)
def test_a_message_survives_the_outbox(message: ZaloMessage) -> None:
    assert from_body(outgoing(message)) == message


def test_a_telegram_body_is_not_a_zalo_message() -> None:
    with pytest.raises(ValueError, match="not a Zalo message"):
        from_body({"method": "send_message", "params": {"text": "x"}})
