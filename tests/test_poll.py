"""The satisfaction poll: voting, results, staff tools and many voters at once, end to end."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import logging
import sqlite3
import struct
import time
import tomllib
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import charts
from bot.app import MENU_COMMANDS, build_application, running
from bot.config import ConfigError, Settings, load_settings
from bot.context import BotApplication
from bot.i18n import Catalog
from bot.standins.telegram import ApiCall, FakeTelegram, User
from bot.standins.tghtml import parse_html
from handlers.poll import SHARED_EDIT_SECONDS, DraftAction, ShowResults, Vote
from storage import Database, PollStore
from storage.polls import PollInvalidError, PollLockedError, VoteOutcome, shares
from tests.conftest import make_settings, settled

STAFF = 1001  # ADMIN_IDS of the conftest settings
QUESTION = "Bạn cảm thấy website của chúng tôi như thế nào?"
OPTIONS = ["Thật tuyệt vời", "Tốt", "Khá", "Trung bình"]
NOT_STAFF = "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."
STALE = "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
GONE = "Cuộc thăm dò này không còn. Bạn vui lòng gõ /poll để xem cuộc thăm dò hiện tại."


def store(bot: BotApplication) -> PollStore:
    return bot.bot_data.services.polls


def rows(call: ApiCall) -> list[list[dict[str, Any]]]:
    return list(call.params["reply_markup"]["inline_keyboard"])


def data_of(call: ApiCall, label: str) -> str:
    """The callback data of the button labelled `label`."""
    for row in rows(call):
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until `check()` holds: redraws land after the answers a test can wait for."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the state checked is the stand-in's, not an event
            await asyncio.sleep(0.05)


async def vote(telegram: FakeTelegram, user: User, poll: ApiCall, label: str) -> ApiCall:
    """Tap `label` under the poll message and wait for the answer and the redraw."""
    start = telegram.mark()
    answer = await telegram.tap(user, poll.result["message_id"], data_of(poll, label))
    await telegram.wait_for("editMessageText", after=start, chat_id=user.id)
    return answer


async def current_id(bot: BotApplication) -> int:
    poll = await store(bot).current()
    assert poll is not None
    return poll.poll_id


async def count_votes(bot: BotApplication, user_id: int | None = None) -> int:
    sql = "SELECT COUNT(*) FROM poll_votes" + ("" if user_id is None else " WHERE user_id = ?")
    db = bot.bot_data.services.db
    async with db.conn.execute(sql, () if user_id is None else (user_id,)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


# -- residents --------------------------------------------------------------------------------


async def test_poll_shows_the_configured_question_with_one_button_per_option(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(501, "Lan")
    reply = await telegram.reply_to(lan, "/poll")
    assert reply.ok
    assert f"<b>{QUESTION}</b>" in reply.params["text"]
    labels = [row[0]["text"] for row in rows(reply)]
    assert labels == [*OPTIONS, "📊 Xem kết quả"]
    poll = await store(bot).current()
    assert poll is not None
    for row, option in zip(rows(reply), poll.options, strict=False):
        assert Vote.unpack(row[0]["callback_data"]) == Vote(poll.poll_id, option.option_id)
    assert ShowResults.unpack(rows(reply)[-1][0]["callback_data"]) == ShowResults(poll.poll_id)
    for row in rows(reply):
        assert row[0]["callback_data"].startswith("p")
        assert len(row[0]["callback_data"].encode()) <= 64


async def test_vote_is_recorded_and_the_message_turns_into_results(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(502, "Lan")
    poll = await telegram.reply_to(lan, "/poll")
    answer = await vote(telegram, lan, poll, "Tốt")
    assert answer.params["text"] == "Cảm ơn bạn! Đã ghi nhận: Tốt"
    message = telegram.message(lan.id, poll.result["message_id"])
    html = telegram.html_of(lan.id, poll.result["message_id"]) or ""
    assert "✅ <b>Tốt</b>: <b>1</b> phiếu (100%)\n██████████" in html
    assert "Khá: <b>0</b> phiếu (0%)\n░░░░░░░░░░" in html
    assert "Tổng cộng: <b>1</b> phiếu" in html
    assert "✅ là lựa chọn của bạn" in html
    buttons = [row[0]["text"] for row in message["reply_markup"]["inline_keyboard"]]
    assert buttons == ["Thật tuyệt vời", "✅ Tốt", "Khá", "Trung bình", "🔄 Cập nhật kết quả"]
    current = await store(bot).current()
    assert current is not None
    results = await store(bot).results(current.poll_id, lan.id)
    assert results is not None
    assert results.counts == (0, 1, 0, 0)
    assert results.choice == current.options[1].option_id


async def test_changing_the_vote_moves_it(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(503, "Lan")
    poll = await telegram.reply_to(lan, "/poll")
    await vote(telegram, lan, poll, "Tốt")
    answer = await vote(telegram, lan, poll, "Khá")
    assert answer.params["text"] == "Đã đổi lựa chọn của bạn thành: Khá"
    html = telegram.html_of(lan.id, poll.result["message_id"]) or ""
    assert "✅ <b>Khá</b>: <b>1</b> phiếu (100%)" in html
    assert "Tốt: <b>0</b> phiếu (0%)" in html
    assert "Tổng cộng: <b>1</b> phiếu" in html
    assert await count_votes(bot, lan.id) == 1


async def test_the_same_option_again_is_already_chosen(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(504, "Lan")
    poll = await telegram.reply_to(lan, "/poll")
    await vote(telegram, lan, poll, "Tốt")
    start = telegram.mark()
    answer = await telegram.tap(lan, poll.result["message_id"], data_of(poll, "Tốt"))
    assert answer.params["text"] == "Bạn đã chọn ý này rồi: Tốt"
    await settled(telegram, bot)
    # Nothing changed, so no edit was even tried (Telegram would refuse it as "not modified").
    assert not telegram.calls_to("editMessageText", after=start)
    assert not telegram.calls_to("sendMessage", after=start)
    assert await count_votes(bot) == 1


async def test_see_results_without_voting(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan, minh = telegram.user(505, "Lan"), telegram.user(506, "Minh")
    await vote(telegram, minh, await telegram.reply_to(minh, "/poll"), "Khá")
    poll = await telegram.reply_to(lan, "/poll")
    start = telegram.mark()
    answer = await telegram.tap(lan, poll.result["message_id"], data_of(poll, "📊 Xem kết quả"))
    assert answer.ok
    assert "text" not in answer.params  # nothing to say: the message shows it
    await telegram.wait_for("editMessageText", after=start, chat_id=lan.id)
    html = telegram.html_of(lan.id, poll.result["message_id"]) or ""
    assert "Khá: <b>1</b> phiếu (100%)" in html
    assert "✅" not in html.split("Tổng cộng")[0]  # Lan has no choice to mark
    assert "Bạn chưa trả lời" in html
    assert await count_votes(bot, lan.id) == 0


async def test_not_modified_is_taken_calmly(telegram: FakeTelegram, settings: Settings) -> None:
    lan = telegram.user(507, "Lan")
    async with running(build_application(settings)):
        poll = await telegram.reply_to(lan, "/poll")
        await vote(telegram, lan, poll, "Tốt")
    # A restarted bot does not know what the message shows: its redraw is identical, and
    # Telegram answers "message is not modified", which must not reach the resident.
    async with running(build_application(settings)) as restarted:
        start = telegram.mark()
        answer = await telegram.tap(lan, poll.result["message_id"], data_of(poll, "Tốt"))
        assert answer.params["text"] == "Bạn đã chọn ý này rồi: Tốt"
        refused = await telegram.wait_for("editMessageText", after=start, chat_id=lan.id)
        assert refused.status == 400
        assert "not modified" in refused.response["description"]
        await settled(telegram, restarted)
        assert not telegram.calls_to("sendMessage", after=start)


async def test_a_message_too_old_to_edit_gets_the_results_anew(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(518, "Lan")
    poll = await telegram.reply_to(lan, "/poll")
    telegram.fail("editMessageText", 400, "Bad Request: message can't be edited")
    start = telegram.mark()
    answer = await telegram.tap(lan, poll.result["message_id"], data_of(poll, "Khá"))
    assert answer.params["text"] == "Cảm ơn bạn! Đã ghi nhận: Khá"
    fresh = await telegram.wait_for("sendMessage", after=start, chat_id=lan.id)
    assert "✅ <b>Khá</b>: <b>1</b> phiếu (100%)" in fresh.params["text"]
    assert [row[0]["text"] for row in rows(fresh)][2] == "✅ Khá"


async def test_voting_on_a_closed_poll_shows_the_final_results(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan, staff = telegram.user(508, "Lan"), telegram.user(STAFF, "Cán bộ")
    poll = await telegram.reply_to(lan, "/poll")
    await telegram.reply_to(staff, "/closepoll")
    start = telegram.mark()
    answer = await telegram.tap(lan, poll.result["message_id"], data_of(poll, "Tốt"))
    assert answer.params["text"] == "Cuộc thăm dò này đã kết thúc. Cảm ơn bạn!"
    assert answer.params["show_alert"] is True
    await telegram.wait_for("editMessageText", after=start, chat_id=lan.id)
    message = telegram.message(lan.id, poll.result["message_id"])
    assert "reply_markup" not in message  # results only: no buttons left
    assert "🔒 Cuộc thăm dò đã kết thúc" in message["text"]
    assert await count_votes(bot) == 0
    again = await telegram.reply_to(lan, "/poll")
    assert "reply_markup" not in again.params
    assert "Tổng cộng: <b>0</b> phiếu" in again.params["text"]


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        (lambda poll, option, foreign: f"pv:999999:{option}", GONE),
        (lambda poll, option, foreign: f"pv:{poll}:999999", STALE),
        (lambda poll, option, foreign: f"pv:{poll}:{foreign}", STALE),
        (lambda poll, option, foreign: "pr:999999", GONE),
        (lambda poll, option, foreign: "pv:abc:1", STALE),
        (lambda poll, option, foreign: f"pv:{poll}", STALE),
        (lambda poll, option, foreign: f"pv:{poll}:{option}:1", STALE),
        (lambda poll, option, foreign: "pv:-1:-1", GONE),
        (lambda poll, option, foreign: "pn:bogus", STALE),
        (lambda poll, option, foreign: "pn:create", STALE),
    ],
)
async def test_forged_or_stale_poll_buttons_get_a_polite_answer(
    telegram: FakeTelegram,
    bot: BotApplication,
    forge: Callable[[int, int, int], str],
    expected: str,
) -> None:
    lan = telegram.user(509, "Lan")
    old = await store(bot).current()
    assert old is not None
    # The current poll is a new one: options of the old poll are foreign to it.
    new = await store(bot).create("Bà con có dùng Zalo không?", ["Có", "Không"])
    poll = await telegram.reply_to(lan, "/poll")
    start = telegram.mark()
    data = forge(new.poll_id, new.options[0].option_id, old.options[0].option_id)
    answer = await telegram.tap(lan, poll.result["message_id"], data)
    assert answer.params["text"] == expected
    assert answer.params["show_alert"] is True
    await settled(telegram, bot)
    assert not telegram.calls_to("editMessageText", after=start)
    assert not telegram.calls_to("sendMessage", after=start)  # no apology: nothing failed
    assert await count_votes(bot) == 0


async def test_help_and_menu_list_poll_but_not_staff_commands(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    assert "poll" in MENU_COMMANDS
    help_text = (await telegram.reply_to(telegram.user(510), "/help")).params["text"]
    assert "/poll — Thăm dò ý kiến" in help_text
    for (scope, _), menu in telegram.commands.items():
        if '"type": "chat"' in scope:
            continue  # a staff member's own chat (see tests/test_staff.py)
        names = [c["command"] for c in menu]
        assert "poll" in names
        assert not {"newpoll", "closepoll", "pollchart", "pollcsv"} & set(names)
    assert {c["description"] for c in telegram.commands[('{"type": "default"}', "en")]} >= {
        "Opinion poll"
    }


async def test_english_speakers_get_the_poll_in_english(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    john = telegram.user(511, "John", language_code="en")
    poll = await telegram.reply_to(john, "/poll")
    assert "Please tap one answer below." in poll.params["text"]
    answer = await vote(telegram, john, poll, "Khá")
    assert answer.params["text"] == "Thank you! Recorded: Khá"
    assert "Total votes: <b>1</b>" in (telegram.html_of(john.id, poll.result["message_id"]) or "")


async def test_option_labels_are_escaped_and_answers_are_plain(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    await store(bot).create("<b>Đường</b> & cống?", ["Tốt & nhanh", "<i>Chậm</i>"])
    lan = telegram.user(512, "Lan")
    poll = await telegram.reply_to(lan, "/poll")
    assert poll.ok  # the stand-in refuses HTML Telegram would refuse
    assert "&lt;b&gt;Đường&lt;/b&gt; &amp; cống?" in poll.params["text"]
    answer = await vote(telegram, lan, poll, "Tốt & nhanh")
    # A tap's answer is plain text: no HTML escapes on the resident's screen.
    assert answer.params["text"] == "Cảm ơn bạn! Đã ghi nhận: Tốt & nhanh"
    assert "✅ <b>Tốt &amp; nhanh</b>" in (
        telegram.html_of(lan.id, poll.result["message_id"]) or ""
    )


# -- many voters at once ----------------------------------------------------------------------


async def test_a_hundred_residents_tapping_twice_at_once_count_once_with_their_last_choice(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    residents = [telegram.user(20_000 + i, f"Dân {i}") for i in range(100)]
    messages = await asyncio.gather(*(telegram.reply_to(r, "/poll") for r in residents))
    start = telegram.mark()
    queries: list[str] = []
    last: dict[int, str] = {}
    for i, (resident, poll) in enumerate(zip(residents, messages, strict=True)):
        first, second = OPTIONS[i % 4], OPTIONS[(i + 1) % 4]
        for label in (first, second):
            queries.append(
                await telegram.press(resident, poll.result["message_id"], data_of(poll, label))
            )
        last[resident.id] = second
    assert len(queries) == 200
    async with asyncio.timeout(60):
        answers = [
            await telegram.wait_for(
                "answerCallbackQuery", after=start, callback_query_id=q, timeout=60
            )
            for q in queries
        ]
    assert all(a.ok for a in answers)
    current = await store(bot).current()
    assert current is not None
    results = await store(bot).results(current.poll_id)
    assert results is not None
    expected = tuple(sum(1 for label in last.values() if label == o) for o in OPTIONS)
    assert results.counts == expected == (25, 25, 25, 25)
    assert await count_votes(bot) == 100
    for resident in residents:
        choice = await store(bot).results(current.poll_id, resident.id)
        assert choice is not None
        chosen = current.option(choice.choice)
        assert chosen is not None
        assert chosen.label == last[resident.id]

    # Every resident's message ends showing their last choice, with at most one edit per tap.
    def settled() -> bool:
        return all(
            f"✅ <b>{last[r.id]}</b>" in (telegram.html_of(r.id, p.result["message_id"]) or "")
            for r, p in zip(residents, messages, strict=True)
        )

    await eventually(settled, timeout=30)
    for resident, poll in zip(residents, messages, strict=True):
        # One edit per tap, or one in all when the first tap's edit was superseded before it
        # was sent (the handler skips edits a newer one replaces): never none, never more.
        assert 1 <= telegram.messages[(resident.id, poll.result["message_id"])].edits <= 2
    # Redraws are serialised per message, so none is refused as "not modified" or otherwise.
    edits = telegram.calls_to("editMessageText", after=start)
    assert [c.response.get("description") for c in edits if not c.ok] == []


async def test_a_group_poll_message_is_redrawn_within_telegrams_limits(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    group = telegram.group(-100555, "Thôn Mỹ Trà")
    staff = telegram.user(STAFF, "Cán bộ")
    start = telegram.mark()
    await telegram.send(staff, "/poll", chat=group)
    posted = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
    message_id = posted.result["message_id"]
    telegram.enforce_flood_limits()
    residents = [telegram.user(30_000 + i, f"Dân {i}") for i in range(30)]
    start = telegram.mark()
    queries = [
        await telegram.press(
            r, telegram.message(group.id, message_id), data_of(posted, OPTIONS[i % 3])
        )
        for i, r in enumerate(residents)
    ]
    for query in queries:
        answer = await telegram.wait_for(
            "answerCallbackQuery", after=start, callback_query_id=query
        )
        assert answer.params["text"].startswith("Cảm ơn bạn! Đã ghi nhận: ")
    # The shared message ends showing every vote, without a single 429 on the way.
    await eventually(
        lambda: "Tổng cộng: <b>30</b> phiếu" in (telegram.html_of(group.id, message_id) or ""),
        timeout=SHARED_EDIT_SECONDS * 3,
    )
    html = telegram.html_of(group.id, message_id) or ""
    for label in OPTIONS[:3]:
        assert (
            f"{label}: <b>10</b> phiếu (33%)" in html or f"{label}: <b>10</b> phiếu (34%)" in html
        )
    assert "✅" not in html  # nobody's own choice is marked in a shared message
    assert "Kết quả tự cập nhật sau vài giây" in html
    # A late vote and a "See results" tap: answered at once, the message follows within the limit.
    late = telegram.user(30_100, "Dân đến sau")
    later = telegram.mark()
    await telegram.press(late, telegram.message(group.id, message_id), data_of(posted, OPTIONS[3]))
    query = await telegram.press(
        residents[0], telegram.message(group.id, message_id), data_of(posted, "📊 Xem kết quả")
    )
    answer = await telegram.wait_for("answerCallbackQuery", after=later, callback_query_id=query)
    assert answer.params["text"] == "Kết quả sẽ được cập nhật sau vài giây."
    await eventually(
        lambda: "Tổng cộng: <b>31</b> phiếu" in (telegram.html_of(group.id, message_id) or ""),
        timeout=SHARED_EDIT_SECONDS * 3,
    )
    assert f"{OPTIONS[3]}: <b>1</b> phiếu (3%)" in (telegram.html_of(group.id, message_id) or "")
    edits = telegram.calls_to("editMessageText", after=start, chat_id=group.id)
    assert 2 <= len(edits) <= 4  # 31 votes and a refresh, in a handful of edits
    assert all(e.ok for e in edits)
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]
    assert all(gap >= SHARED_EDIT_SECONDS - 0.1 for gap in gaps)
    assert telegram.flood_violations == 0


# -- staff ------------------------------------------------------------------------------------


async def test_staff_creates_a_poll_in_a_short_dialog(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    staff, lan = telegram.user(STAFF, "Cán bộ"), telegram.user(513, "Lan")
    asked = await telegram.reply_to(staff, "/newpoll")
    assert "Bước 1/3" in asked.params["text"]
    assert [b["text"] for b in rows(asked)[0]] == ["✖️ Hủy"]
    reply = await telegram.reply_to(staff, "Bà con thấy đường thôn đã sạch chưa?")
    assert "Bước 2/3" in reply.params["text"]
    reply = await telegram.reply_to(staff, "Rất sạch\n  Sạch  \n\n")
    assert "Các lựa chọn đã có (2/10)" in reply.params["text"]
    assert "1. Rất sạch\n2. Sạch" in reply.params["text"]
    reply = await telegram.reply_to(staff, "Chưa sạch")
    assert "3. Chưa sạch" in reply.params["text"]
    assert [b["text"] for b in rows(reply)[0]] == ["✅ Xong", "✖️ Hủy"]
    start = telegram.mark()
    await telegram.tap(staff, reply.result["message_id"], data_of(reply, "✅ Xong"))
    confirm = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
    assert "<b>Bà con thấy đường thôn đã sạch chưa?</b>" in confirm.params["text"]
    start = telegram.mark()
    await telegram.tap(staff, reply.result["message_id"], data_of(confirm, "✅ Tạo"))
    created = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
    assert created.params["text"].startswith("✅ Đã tạo cuộc thăm dò mới (số 2)")

    poll = await store(bot).current()
    assert poll is not None
    assert (poll.poll_id, poll.question, poll.created_by) == (
        2, "Bà con thấy đường thôn đã sạch chưa?", STAFF,
    )  # fmt: skip
    assert [o.label for o in poll.options] == ["Rất sạch", "Sạch", "Chưa sạch"]
    first = await store(bot).get(1)
    assert first is not None
    assert not first.is_open  # one current poll: the old one was closed
    shown = await telegram.reply_to(lan, "/poll")
    assert [row[0]["text"] for row in rows(shown)][:3] == ["Rất sạch", "Sạch", "Chưa sạch"]
    # The dialog is over: staff's text is theirs again, and its old buttons are stale.
    answer = await telegram.tap(staff, reply.result["message_id"], data_of(confirm, "✅ Tạo"))
    assert answer.params["text"] == STALE
    assert (await store(bot).current()) == poll


async def test_the_dialog_checks_each_step_and_cancels_at_any(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    staff = telegram.user(STAFF, "Cán bộ")
    await telegram.reply_to(staff, "/newpoll")
    reply = await telegram.reply_to(staff, "x" * 301)
    assert reply.params["text"] == "Câu hỏi cần từ 1 đến 300 ký tự. Bạn vui lòng gửi lại."
    await telegram.reply_to(staff, "Câu hỏi?")
    reply = await telegram.reply_to(staff, "Một")
    assert [b["text"] for b in rows(reply)[0]] == ["✖️ Hủy"]  # "Done" needs two options
    answer = await telegram.tap(staff, reply.result["message_id"], DraftAction("done").pack())
    assert answer.params["text"] == "Cần ít nhất 2 lựa chọn. Bạn vui lòng gửi thêm."
    reply = await telegram.reply_to(staff, "Hai\nMỘT")
    assert reply.params["text"].startswith("Lựa chọn “MỘT” đã có rồi.")
    reply = await telegram.reply_to(staff, "Hai\n" + "y" * 101)
    assert "dài quá 100 ký tự" in reply.params["text"]
    reply = await telegram.reply_to(staff, "\n".join(f"Ý {n}" for n in range(10)))
    assert reply.params["text"].startswith("Một cuộc thăm dò có nhiều nhất 10 lựa chọn")
    listing = await telegram.reply_to(staff, "Hai")
    assert "2. Hai" in listing.params["text"]
    start = telegram.mark()
    await telegram.tap(staff, listing.result["message_id"], data_of(listing, "✅ Xong"))
    confirm = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
    reply = await telegram.reply_to(staff, "Ba")
    assert reply.params["text"] == "Bạn vui lòng bấm “Tạo” hoặc “Hủy” ở tin nhắn phía trên."
    start = telegram.mark()
    await telegram.tap(staff, listing.result["message_id"], data_of(confirm, "✖️ Hủy"))
    cancelled = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
    assert cancelled.params["text"] == "Đã hủy. Không có cuộc thăm dò nào được tạo."
    assert "reply_markup" not in cancelled.params
    assert await current_id(bot) == 1

    # /cancel works too, at the first step.
    await telegram.reply_to(staff, "/newpoll")
    reply = await telegram.reply_to(staff, "/cancel")
    assert reply.params["text"] == "Đã hủy. Không có cuộc thăm dò nào được tạo."
    # After it, text is no longer taken by the dialog.
    reply = await telegram.reply_to(staff, "Câu hỏi mới?")
    assert "Bước 2/3" not in reply.params["text"]
    assert await current_id(bot) == 1


async def test_staff_writing_polls_at_the_same_time_do_not_mix(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, telegram, ADMIN_IDS="1001,1002")
    a, b = telegram.user(1001, "An"), telegram.user(1002, "Bình")
    lan = telegram.user(514, "Lan")
    async with running(build_application(settings)) as bot:
        await asyncio.gather(telegram.reply_to(a, "/newpoll"), telegram.reply_to(b, "/newpoll"))
        answers = await asyncio.gather(
            telegram.reply_to(a, "Câu hỏi của An?"),
            telegram.reply_to(b, "Câu hỏi của Bình?"),
            telegram.reply_to(lan, "lịch cắt điện"),
        )
        assert "Bước 2/3" in answers[0].params["text"]
        assert "Bước 2/3" in answers[1].params["text"]
        assert "Bước" not in answers[2].params["text"]  # a resident's text goes to the search
        lists = await asyncio.gather(
            telegram.reply_to(a, "An 1\nAn 2"), telegram.reply_to(b, "Bình 1\nBình 2\nBình 3")
        )
        assert "(2/10)" in lists[0].params["text"]
        assert "(3/10)" in lists[1].params["text"]
        for person, listing in zip((a, b), lists, strict=True):
            start = telegram.mark()
            await telegram.tap(person, listing.result["message_id"], DraftAction("done").pack())
            await telegram.wait_for("editMessageText", after=start, chat_id=person.id)
        taps = await asyncio.gather(
            *(
                telegram.tap(p, m.result["message_id"], DraftAction("create").pack())
                for p, m in zip((a, b), lists, strict=True)
            )
        )
        assert all(t.ok for t in taps)
        await eventually(lambda: len(telegram.calls_to("editMessageText", chat_id=a.id)) == 2)
        await eventually(lambda: len(telegram.calls_to("editMessageText", chat_id=b.id)) == 2)
        made = [await store(bot).get(n) for n in (2, 3)]
        by_author = {p.created_by: p for p in made if p is not None}
        assert by_author[1001].question == "Câu hỏi của An?"
        assert [o.label for o in by_author[1001].options] == ["An 1", "An 2"]
        assert by_author[1002].question == "Câu hỏi của Bình?"
        assert [o.label for o in by_author[1002].options] == ["Bình 1", "Bình 2", "Bình 3"]
        assert sum(p.is_open for p in by_author.values()) == 1  # the later one is current


@pytest.mark.parametrize("command", ["/newpoll", "/closepoll", "/pollchart", "/pollcsv"])
async def test_residents_are_refused_staff_commands(
    telegram: FakeTelegram, bot: BotApplication, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapter")
    lan = telegram.user(515, "Lan")
    start = telegram.mark()
    reply = await telegram.reply_to(lan, command)
    assert reply.method == "sendMessage"
    assert reply.params["text"] == NOT_STAFF
    assert f"refused {command} to a resident: not staff" in caplog.text
    assert "515" not in caplog.text  # residents are never named in the logs
    assert not telegram.calls_to("sendPhoto", after=start)
    assert not telegram.calls_to("sendDocument", after=start)
    current = await store(bot).current()
    assert current is not None
    assert current.is_open
    assert current.poll_id == 1
    # A refused /newpoll starts no dialog: the resident's next text is not a question.
    reply = await telegram.reply_to(lan, "Câu hỏi?")
    assert "Bước 2/3" not in reply.params["text"]


async def test_staff_closes_the_poll(telegram: FakeTelegram, bot: BotApplication) -> None:
    staff, lan = telegram.user(STAFF, "Cán bộ"), telegram.user(516, "Lan")
    await vote(telegram, lan, await telegram.reply_to(lan, "/poll"), "Khá")
    reply = await telegram.reply_to(staff, "/closepoll")
    assert reply.params["text"].startswith("🔒 Đã đóng cuộc thăm dò số 1.")
    assert "Khá: <b>1</b> phiếu (100%)" in reply.params["text"]
    assert "reply_markup" not in reply.params
    current = await store(bot).current()
    assert current is not None
    assert not current.is_open
    again = await telegram.reply_to(staff, "/closepoll")
    assert again.params["text"] == "Hiện không có cuộc thăm dò nào đang mở."


async def test_newpoll_belongs_in_a_private_chat(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    group = telegram.group(-100556)
    staff = telegram.user(STAFF, "Cán bộ")
    start = telegram.mark()
    await telegram.send(staff, "/newpoll", chat=group)
    reply = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
    assert reply.params["text"] == "Bạn vui lòng dùng lệnh này trong tin nhắn riêng với bot."


async def test_results_chart_is_sent_as_a_png(telegram: FakeTelegram, bot: BotApplication) -> None:
    staff = telegram.user(STAFF, "Cán bộ")
    poll = await store(bot).current()
    assert poll is not None
    for n, option in enumerate((0, 1, 1)):
        await store(bot).vote(poll.poll_id, 40_000 + n, poll.options[option].option_id, seq=n)
    reply = await telegram.reply_to(staff, "/pollchart", timeout=20)
    assert reply.method == "sendPhoto"
    assert reply.ok
    png = reply.files["photo"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    sizes = reply.result["photo"][0]
    assert (sizes["width"], sizes["height"]) == (width, height) == (charts.WIDTH_PX, height)
    assert 250 <= height <= 1200
    assert f"<b>{QUESTION}</b>" in reply.params["caption"]
    assert "Tổng cộng: 3 phiếu" in reply.params["caption"]
    missing = await telegram.reply_to(staff, "/pollchart 99")
    assert missing.params["text"] == "Không tìm thấy cuộc thăm dò số 99."
    junk = await telegram.reply_to(staff, "/pollchart <b>")
    assert junk.params["text"] == "Không tìm thấy cuộc thăm dò số &lt;b&gt;."


async def test_results_as_csv_open_in_excel(telegram: FakeTelegram, bot: BotApplication) -> None:
    staff = telegram.user(STAFF, "Cán bộ")
    poll = await store(bot).create("Giờ làm việc?", ["Sáng", "=Chiều", "Tối"])
    for n, option in enumerate((0, 1, 1)):
        await store(bot).vote(poll.poll_id, 41_000 + n, poll.options[option].option_id, seq=n)
    reply = await telegram.reply_to(staff, "/pollcsv")
    assert reply.method == "sendDocument"
    content = reply.files["document"]
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert table == [
        ["STT", "Lựa chọn", "Số phiếu", "Tỷ lệ (%)"],
        ["1", "Sáng", "1", "33"],
        ["2", "'=Chiều", "2", "67"],  # never read as a formula
        ["3", "Tối", "0", "0"],
        ["", "Tổng cộng", "3", "100"],
    ]
    assert b"\r\n" in content
    assert "<b>Giờ làm việc?</b>" in reply.params["caption"]


# -- the default poll and settings ------------------------------------------------------------


async def test_default_poll_follows_settings_until_someone_votes(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    lan = telegram.user(517, "Lan")
    first = make_settings(
        tmp_path, telegram, POLL_QUESTION="Bot có dễ dùng không?", POLL_OPTIONS="Có | Không"
    )
    async with running(build_application(first)) as bot:
        poll = await telegram.reply_to(lan, "/poll")
        assert "<b>Bot có dễ dùng không?</b>" in poll.params["text"]
        assert [r[0]["text"] for r in rows(poll)] == ["Có", "Không", "📊 Xem kết quả"]
    changed = make_settings(
        tmp_path, telegram, POLL_QUESTION="Bot có dễ dùng không?", POLL_OPTIONS="Dễ|Khó|Bình thường"
    )
    async with running(build_application(changed)) as bot:
        current = await store(bot).current()
        assert current is not None
        assert current.poll_id == 1  # the same poll, not a second one
        assert [o.label for o in current.options] == ["Dễ", "Khó", "Bình thường"]
        poll = await telegram.reply_to(lan, "/poll")
        await vote(telegram, lan, poll, "Dễ")
    async with running(build_application(first)) as bot:
        current = await store(bot).current()
        assert current is not None
        # Someone voted: the numbers answer the options they saw, so those stay.
        assert [o.label for o in current.options] == ["Dễ", "Khó", "Bình thường"]
        assert await count_votes(bot) == 1


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"POLL_OPTIONS": "Chỉ một"}, "POLL_OPTIONS"),
        ({"POLL_OPTIONS": "|".join(str(n) for n in range(11))}, "POLL_OPTIONS"),
        ({"POLL_OPTIONS": "Có|có"}, "POLL_OPTIONS"),
        ({"POLL_OPTIONS": "Có||Không"}, "POLL_OPTIONS"),
        ({"POLL_OPTIONS": "Có|" + "x" * 101}, "POLL_OPTIONS"),
        ({"POLL_QUESTION": "x" * 301}, "POLL_QUESTION"),
        ({"POLL_QUESTION": "   "}, "POLL_QUESTION"),
    ],
)
def test_bad_poll_settings_name_the_key(values: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=None, BOT_TOKEN="123456:" + "A" * 35, **values)
    assert f"{key} is malformed" in str(error.value)


def test_poll_settings_are_cleaned() -> None:
    decomposed = unicodedata.normalize("NFD", "Tốt")
    settings = load_settings(
        env_file=None,
        BOT_TOKEN="123456:" + "A" * 35,
        POLL_QUESTION="  Hài lòng không?  ",
        POLL_OPTIONS=f" {decomposed} | Chưa ",
    )
    assert settings.POLL_QUESTION == "Hài lòng không?"
    assert settings.POLL_OPTIONS == ("Tốt", "Chưa")
    assert Settings.model_fields["POLL_OPTIONS"].default == tuple(OPTIONS)


def test_poll_texts_are_valid_telegram_html_in_both_languages() -> None:
    catalog = Catalog.load()
    vi = tomllib.loads((Path(charts.__file__).parent / "locales" / "vi.toml").read_text("utf-8"))
    values = {
        "question": "<Câu & hỏi>", "lines": "", "total": 3, "footer": "", "label": "<b>",
        "count": 1, "percent": 33, "bar": "███", "option": "a & b", "max": 10, "min": 2,
        "chars": 100, "left": 2, "number": 1, "options": "", "poll_id": 7,
        "results": "", "commune": "Xã & Thôn", "when": "16/04/2021",
    }  # fmt: skip
    keys = [f"poll.{key}" for key in vi["poll"]]
    assert len(keys) > 40
    for lang in catalog.languages:
        for key in keys:
            parse_html(catalog.text(key, lang, **values))  # raises if Telegram would refuse it


# -- the store --------------------------------------------------------------------------------


@pytest.fixture
async def polls(tmp_path: Path) -> Any:
    async with await Database.open(tmp_path / "polls.sqlite3") as db:
        yield PollStore(db), db


async def test_the_database_itself_allows_one_vote_per_person(polls: Any) -> None:
    store_, db = polls
    poll = await store_.create("Câu hỏi?", ["A", "B"])
    other = await store_.create("Câu khác?", ["C", "D"])
    await store_.vote(other.poll_id, 7, other.options[0].option_id, seq=1)
    insert = (
        "INSERT INTO poll_votes (poll_id, user_id, option_id, seq, voted_at)"
        " VALUES (?, ?, ?, 2, '')"
    )
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        await db.conn.execute(insert, (other.poll_id, 7, other.options[1].option_id))
    # An option of another poll is refused by the foreign key, whoever writes.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await db.conn.execute(insert, (other.poll_id, 8, poll.options[0].option_id))


async def test_a_poll_with_votes_cannot_change(polls: Any) -> None:
    store_, db = polls
    poll = await store_.create("Câu hỏi?", ["A", "B"])
    edited = await store_.edit(poll.poll_id, "Câu hỏi mới?", ["A", "B", "C"])
    assert [o.label for o in edited.options] == ["A", "B", "C"]
    await store_.vote(poll.poll_id, 7, edited.options[2].option_id, seq=1)
    with pytest.raises(PollLockedError):
        await store_.edit(poll.poll_id, "Câu khác?", ["A", "B"])
    for sql in (
        "UPDATE polls SET question = 'Khác?' WHERE poll_id = ?",
        "UPDATE poll_options SET label = 'Z' WHERE poll_id = ?",
        "DELETE FROM poll_options WHERE poll_id = ?",
        "INSERT INTO poll_options (poll_id, position, label) VALUES (?, 9, 'Z')",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="poll has votes"):
            await db.conn.execute(sql, (poll.poll_id,))
    unchanged = await store_.get(poll.poll_id)
    assert unchanged == edited


async def test_a_later_tap_wins_whatever_order_taps_are_handled_in(polls: Any) -> None:
    store_, _ = polls
    poll = await store_.create("Câu hỏi?", ["A", "B"])
    a, b = (o.option_id for o in poll.options)
    now = datetime(2021, 4, 16, 8, 0, tzinfo=UTC)
    assert (await store_.vote(poll.poll_id, 7, b, seq=11, now=now)).outcome is VoteOutcome.RECORDED
    late = await store_.vote(poll.poll_id, 7, a, seq=10, now=now)
    assert (late.outcome, late.choice) == (VoteOutcome.KEPT, b)
    same = await store_.vote(poll.poll_id, 7, b, seq=12, now=now)
    assert same.outcome is VoteOutcome.UNCHANGED
    moved = await store_.vote(poll.poll_id, 7, a, seq=13, now=now)
    assert (moved.outcome, moved.choice) == (VoteOutcome.CHANGED, a)
    # Telegram may restart its update ids after a quiet week: an old vote does not block.
    restarted = await store_.vote(poll.poll_id, 7, b, seq=1, now=now + timedelta(days=8))
    assert restarted.outcome is VoteOutcome.CHANGED
    results = await store_.results(poll.poll_id, 7)
    assert (results.counts, results.choice) == ((0, 1), b)


async def test_invalid_polls_are_refused_and_text_is_normalised(polls: Any) -> None:
    store_, _ = polls
    for question, options in (
        ("", ["A", "B"]), ("x" * 301, ["A", "B"]), ("Q?", ["A"]),
        ("Q?", [str(n) for n in range(11)]), ("Q?", ["A", "a"]), ("Q?", ["A", " "]),
    ):  # fmt: skip
        with pytest.raises(PollInvalidError):
            await store_.create(question, options)
    assert await store_.current() is None
    poll = await store_.create(unicodedata.normalize("NFD", " Hài lòng? "), ["Tốt", "Chưa"])
    assert poll.question == "Hài lòng?"
    assert await store_.close(poll.poll_id)
    assert not await store_.close(poll.poll_id)
    closed = await store_.vote(poll.poll_id, 7, poll.options[0].option_id, seq=1)
    assert closed.outcome is VoteOutcome.CLOSED


def test_percentages_add_up_to_a_hundred() -> None:
    assert shares([1, 1, 1]) == (34, 33, 33)
    assert shares([1, 2, 0]) == (33, 67, 0)
    assert shares([0, 0]) == (0, 0)
    assert shares([7, 0, 0, 0]) == (100, 0, 0, 0)
    for counts in ([3, 3, 3, 1], [1] * 7, [5, 9, 13, 2, 1], [999, 1, 1]):
        parts = shares(counts)
        assert sum(parts) == 100
        assert all(abs(p - c * 100 / sum(counts)) < 1 for p, c in zip(parts, counts, strict=True))


def test_matplotlib_is_not_loaded_at_start_up() -> None:
    import subprocess
    import sys

    probe = "import sys, bot.app, handlers.poll; print('matplotlib' in sys.modules)"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    assert time.monotonic() - started < 30


async def test_a_half_written_newpoll_survives_a_restart(
    telegram: FakeTelegram, settings: Settings
) -> None:
    staff = telegram.user(STAFF, "Cán bộ")
    async with running(build_application(settings)):
        await telegram.reply_to(staff, "/newpoll")
        reply = await telegram.reply_to(staff, "Bà con có hài lòng với đèn đường mới?")
        assert "Bước 2/3" in reply.params["text"]
        reply = await telegram.reply_to(staff, "Rất hài lòng\nHài lòng")
        assert "Các lựa chọn đã có (2/10)" in reply.params["text"]
    # The draft is in the database, not in the process that stopped: the next message is
    # still an option of the same poll, not a search.
    async with running(build_application(settings)) as restarted:
        reply = await telegram.reply_to(staff, "Chưa hài lòng")
        assert "Các lựa chọn đã có (3/10)" in reply.params["text"]
        assert "1. Rất hài lòng\n2. Hài lòng\n3. Chưa hài lòng" in reply.params["text"]
        start = telegram.mark()
        await telegram.tap(staff, reply.result["message_id"], data_of(reply, "✅ Xong"))
        confirm = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
        start = telegram.mark()
        await telegram.tap(staff, reply.result["message_id"], data_of(confirm, "✅ Tạo"))
        created = await telegram.wait_for("editMessageText", after=start, chat_id=staff.id)
        assert created.params["text"].startswith("✅ Đã tạo cuộc thăm dò mới (số 2)")
        poll = await store(restarted).current()
        assert poll is not None
        assert poll.question == "Bà con có hài lòng với đèn đường mới?"
        assert [o.label for o in poll.options] == ["Rất hài lòng", "Hài lòng", "Chưa hài lòng"]
    # Created, the draft is gone from the database too: after another restart, the staff
    # member's text is a search again.
    async with running(build_application(settings)):
        reply = await telegram.reply_to(staff, "Chưa hài lòng")
        assert "Các lựa chọn" not in reply.params["text"]


async def test_forget_drops_a_half_written_newpoll_too(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    from handlers.stats import ForgetAnswer

    staff = telegram.user(STAFF, "Cán bộ")
    await telegram.reply_to(staff, "/newpoll")
    await telegram.reply_to(staff, "Câu hỏi riêng của cán bộ?")
    db = bot.bot_data.services.db
    assert await db.fetchone("SELECT 1 FROM dialogs WHERE user_id = ?", (STAFF,)) is not None
    ask = await telegram.reply_to(staff, "/forget")
    mark = telegram.mark()
    assert (await telegram.tap(staff, ask.result["message_id"], ForgetAnswer(True).pack())).ok
    await telegram.wait_for("editMessageText", after=mark)
    assert await db.fetchone("SELECT 1 FROM dialogs WHERE user_id = ?", (STAFF,)) is None
    # The staff member's next text is a search, not an option of the forgotten draft.
    reply = await telegram.reply_to(staff, "Rất tốt")
    assert "Các lựa chọn" not in reply.params["text"]
