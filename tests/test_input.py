"""Hostile input: numbers SQLite cannot hold, digits that are not ASCII, buttons without data.

Whatever a button, a `/start` link or a staff command carries, the person gets the polite
stale-button or not-found answer, and the log gets no ERROR and no traceback.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import typing
from collections.abc import Iterator
from typing import Any

import pytest

from bot.callbacks import decode, kinds, parse_int
from bot.context import BotApplication
from bot.standins.telegram import FakeTelegram, User

OWNER = 1001  # ADMIN_IDS of the conftest settings
STALE = "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
GENERIC = "bot đang gặp sự cố"

# Out of SQLite's signed 64-bit range (19 and 20 digits, both signs), and digits Python's int()
# or str.isdigit() accept though they are not ASCII: superscript two, Arabic-Indic three,
# full-width three, and a mix.
HOSTILE_NUMBERS = (
    "9223372036854775808",
    "99999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "²",
    "٣",
    "３",
    "1٣",
    "۱۲",
    "１２",
    "12\n",
)


def test_parse_int_takes_ascii_digits_within_64_bits_only() -> None:
    assert parse_int("9223372036854775807") == 2**63 - 1
    assert parse_int("-9223372036854775808") == -(2**63)
    assert parse_int("007") == 7
    for text in (*HOSTILE_NUMBERS, "", "-", "+1", " 1", "1 ", "1_000", "0x10"):
        assert parse_int(text) is None, text


def field_text(kind: Any) -> str:
    """A value of a field's type as a button carries it."""
    if kind is bool:
        return "0"
    if kind is int:
        return "0"
    if kind is str:
        return ""
    return str(typing.get_args(kind)[0])


def hostile_payloads() -> Iterator[str]:
    """For every kind of button the bot has, each number field in turn made hostile."""
    for kind in kinds():
        hints = typing.get_type_hints(kind)
        fields = [(f.name, hints[f.name]) for f in dataclasses.fields(kind)]
        plain = [field_text(t) for _, t in fields]
        numbered = [i for i, (_, t) in enumerate(fields) if t is int]
        for index, number in itertools.product(numbered, HOSTILE_NUMBERS):
            values = list(plain)
            values[index] = number
            yield ":".join([kind.prefix, *values])


def test_every_kind_with_numbers_is_covered() -> None:
    prefixes = {payload.split(":", 1)[0] for payload in hostile_payloads()}
    # Articles, lists, searches, subscriptions, votes, results, broadcasts, staff's cases.
    assert {"a", "l", "s", "sb", "pv", "pr", "bc", "ca", "cl"} <= prefixes
    for payload in hostile_payloads():
        kind = next(k for k in kinds() if k.prefix == payload.split(":", 1)[0])
        assert not kind.matches(payload), payload


async def press_all(
    telegram: FakeTelegram, user: User, message_id: int, payloads: list[str | None]
) -> list[Any]:
    """Press each payload (None: a button with no data at all); the answers, in order."""
    message = telegram.message(user.id, message_id)
    mark = telegram.mark()
    ids = []
    for data in payloads:
        if data is None:
            query_id = f"nodata-{user.id}-{len(ids)}"
            telegram.issued_queries.add(query_id)
            query: dict[str, Any] = {
                "id": query_id,
                "from": user.to_api(),
                "message": message,
                "chat_instance": f"ci{user.id}",
            }
            await telegram.push({"callback_query": query})
        else:
            query_id = await telegram.press(user, message_id, data)
        ids.append(query_id)
    return [
        await telegram.wait_for("answerCallbackQuery", after=mark, callback_query_id=query_id)
        for query_id in ids
    ]


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_hostile_buttons_are_stale_for_residents_and_staff(
    telegram: FakeTelegram, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    payloads: list[str | None] = [*hostile_payloads(), None, None]
    for person in (telegram.user(5_550_001_001, "Lan"), telegram.user(OWNER, "Chủ tịch")):
        greeting = await telegram.reply_to(person, "/start")
        mark = telegram.mark()
        answers = await press_all(telegram, person, greeting.result["message_id"], payloads)
        for data, answer in zip(payloads, answers, strict=True):
            assert answer.ok, data
            assert answer.params.get("text") == STALE, data
        sent = [c.params.get("text", "") for c in telegram.calls_to("sendMessage", after=mark)]
        assert not [text for text in sent if GENERIC in text]
    assert errors_in(caplog) == []


async def test_a_button_without_data_and_without_a_message(
    telegram: FakeTelegram, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """A query from an inline message: no data, no message, only an inline message id."""
    caplog.set_level(logging.INFO)
    lan = telegram.user(5_550_001_002, "Lan")
    telegram.issued_queries.add("inline-nodata")
    mark = telegram.mark()
    await telegram.push(
        {
            "callback_query": {
                "id": "inline-nodata",
                "from": lan.to_api(),
                "inline_message_id": "AAAA",
                "chat_instance": "ci1",
            }
        }
    )
    answer = await telegram.wait_for(
        "answerCallbackQuery", after=mark, callback_query_id="inline-nodata"
    )
    assert answer.params.get("text") == STALE
    assert errors_in(caplog) == []


# A command's words end at a newline; a minus sign makes no article link at all.
ARGUMENTS = [n for n in HOSTILE_NUMBERS if "\n" not in n]
LINKS = [n for n in ARGUMENTS if not n.startswith("-")]


async def test_hostile_start_links_open_no_article(
    telegram: FakeTelegram, news_bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lan = telegram.user(5_550_001_003, "Lan")
    # Articles 1, 2 and 3 exist: "a٣" or "a３" must not open article 3.
    for plain in ("1", "2", "3"):
        opened = await telegram.reply_to(lan, f"/start a{plain}")
        assert not opened.params["text"].startswith("Tin này không còn"), plain
    for number in LINKS:
        reply = await telegram.reply_to(lan, f"/start a{number}")
        assert reply.params["text"] == (
            "Tin này không còn trong bot. Bạn gõ /latest để xem tin mới nhất."
        ), number
    assert errors_in(caplog) == []


async def test_a_start_link_to_an_id_sqlite_can_hold_is_just_not_found(
    telegram: FakeTelegram, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lan = telegram.user(5_550_001_004, "Lan")
    reply = await telegram.reply_to(lan, "/start a9223372036854775807")
    assert reply.params["text"].startswith("Tin này không còn trong bot.")
    assert errors_in(caplog) == []


@pytest.mark.parametrize("number", ARGUMENTS)
async def test_hostile_staff_arguments_are_not_found(
    telegram: FakeTelegram, bot: BotApplication, caplog: pytest.LogCaptureFixture, number: str
) -> None:
    caplog.set_level(logging.INFO)
    owner = telegram.user(OWNER, "Chủ tịch")
    for name in ("pollchart", "pollcsv"):
        reply = await telegram.reply_to(owner, f"/{name} {number}")
        assert reply.params["text"].startswith("Không tìm thấy cuộc thăm dò số"), name
    for name in ("addstaff", "removestaff"):
        reply = await telegram.reply_to(owner, f"/{name} {number}")
        assert "không phải là mã Telegram" in reply.params["text"], name
    assert await bot.bot_data.services.staff.members() == []
    assert errors_in(caplog) == []


async def test_numbers_sqlite_holds_but_no_page_has(
    telegram: FakeTelegram, news_bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """The largest numbers a button may carry, where a handler computes with them (a page
    times its length is an offset SQLite cannot hold)."""
    caplog.set_level(logging.INFO)
    lan = telegram.user(5_550_001_005, "Lan")
    found = await telegram.reply_to(lan, "/search xã")
    search_id = next(
        decode(b["callback_data"]).search_id  # type: ignore[attr-defined]
        for row in found.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("s:")
    )
    listing = await telegram.reply_to(lan, "/latest")
    article_id = next(
        decode(b["callback_data"]).article_id  # type: ignore[attr-defined]
        for row in listing.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("a:")
    )
    biggest, smallest = str(2**63 - 1), str(-(2**63))
    payloads: list[str | None] = []
    for n in (biggest, smallest):
        payloads += [
            f"l:0:{n}", f"l:{n}:2", f"s:{search_id}:{n}", f"a:{article_id}:{n}:0",
            f"a:{article_id}:1:{n}", f"a:{n}:0:0", f"pv:{n}:{n}", f"pr:{n}",
            f"sb:toggle:0::{n}", f"bc:{n}:go:0",
        ]  # fmt: skip
    mark = telegram.mark()
    answers = await press_all(telegram, lan, listing.result["message_id"], payloads)
    for data, answer in zip(payloads, answers, strict=True):
        assert answer.ok, data
    sent = [c.params.get("text", "") for c in telegram.calls_to("sendMessage", after=mark)]
    assert not [text for text in sent if GENERIC in text]
    assert errors_in(caplog) == []
