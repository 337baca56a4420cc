"""Residents' reports as staff handle them (/cases, a case's buttons, reminders, figures), end to
end: the real bot against the stand-in Bot API, a SQLite file per test."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app import build_application, running
from bot.callbacks import CaseAction, CaseList
from bot.config import Settings
from bot.context import BotApplication, BotContext, Services
from bot.services.cases import NewCase, Reporter, working_days_after
from bot.standins.telegram import ApiCall, FakeTelegram, User
from handlers.casejobs import remind, summarise
from storage.cases import Case
from tests.conftest import settled

OWNER = 1001  # ADMIN_IDS of the conftest settings
STAFF = 2001
RESIDENT = 5555123456
OTHER_RESIDENT = 5555123457
NOT_STAFF = "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."


def services(bot: BotApplication) -> Services:
    return bot.bot_data.services


def context_of(bot: BotApplication) -> BotContext:
    """What a job receives: the application's context, for driving a job with a chosen now."""
    return bot.context_types.context(bot)  # type: ignore[return-value]


async def report(
    bot: BotApplication, person: int = RESIDENT, topic: int = 1, text: str = "Ổ gà lớn ở thôn 3"
) -> Case:
    """A resident's report, stored as the /gopy dialog stores it."""
    new = NewCase(Reporter("telegram", person, person), "vi", topic, text)
    case = await services(bot).cases.submit(new)
    assert isinstance(case, Case), case
    return case


@pytest.fixture
def owner(telegram: FakeTelegram) -> User:
    return telegram.user(OWNER, "Chủ tịch")


@pytest.fixture
def resident(telegram: FakeTelegram) -> User:
    return telegram.user(RESIDENT, "Lan")


@pytest.fixture
async def staff(telegram: FakeTelegram, bot: BotApplication) -> User:
    await services(bot).staff.add(STAFF, "Cán bộ An", OWNER)
    return telegram.user(STAFF, "An")


async def press(
    telegram: FakeTelegram, bot: BotApplication, user: User, message_id: int, data: str
) -> ApiCall:
    """Tap a button and wait until the bot has done all it does for it."""
    answer = await telegram.tap(user, message_id, data)
    await settled(telegram, bot)
    return answer


def text_of(telegram: FakeTelegram, chat_id: int, message_id: int) -> str:
    return str(telegram.html_of(chat_id, message_id))


def buttons_of(telegram: FakeTelegram, chat_id: int, message_id: int) -> dict[str, str]:
    """A message's buttons now, label → data."""
    markup = telegram.message(chat_id, message_id).get("reply_markup") or {}
    return {
        button["text"]: button.get("callback_data", "")
        for row in markup.get("inline_keyboard", [])
        for button in row
    }


def sent_to(telegram: FakeTelegram, chat_id: int, after: int) -> list[str]:
    return [
        str(call.params.get("text", ""))
        for call in telegram.calls_to("sendMessage", after=after, chat_id=chat_id)
    ]


async def open_case(telegram: FakeTelegram, bot: BotApplication, user: User, case: Case) -> int:
    """/cases, then the case's button: the message id of the case's view."""
    listing = await telegram.reply_to(user, "/cases")
    message_id = int(listing.result["message_id"])
    await press(telegram, bot, user, message_id, CaseAction(case.case_id, "open").pack())
    assert f"📝 <b>{case.number}</b>" in text_of(telegram, user.id, message_id)
    return message_id


# -- /cases -----------------------------------------------------------------------------------


async def test_cases_lists_the_overdue_first_with_filters_and_pages(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    cases = [await report(bot, person=RESIDENT + n, topic=1 + n % 2) for n in range(10)]
    store = services(bot).casework.store
    today = services(bot).cases.today()
    # The last one is overdue: it comes first, marked.
    await services(bot).cases.set_deadline(cases[-1].case_id, OWNER, today - timedelta(days=2))
    listing = await telegram.reply_to(owner, "/cases")
    text = listing.params["text"]
    assert "đang mở: <b>10</b>, quá hạn <b>1</b>" in text
    assert "Trang 1/2" in text
    lines = [line for line in text.split("\n") if cases[0].number[:8] in line]
    assert lines[0].startswith(f"⏰ <b>{cases[-1].number}</b>")
    assert len(lines) == 8
    message_id = int(listing.result["message_id"])
    buttons = buttons_of(telegram, OWNER, message_id)
    assert buttons[f"⏰ {cases[-1].number}"] == CaseAction(cases[-1].case_id, "open").pack()

    await press(telegram, bot, owner, message_id, buttons["Sau ▶"])
    page2 = text_of(telegram, OWNER, message_id)
    assert "Trang 2/2" in page2
    assert page2.count(cases[0].number[:8]) == 2

    # Filter by topic: choose the topic, then only its cases.
    await press(telegram, bot, owner, message_id, CaseList(pick="topic").pack())
    choices = buttons_of(telegram, OWNER, message_id)
    assert next(iter(choices)) == "mọi chủ đề"
    await press(telegram, bot, owner, message_id, CaseList(topic="2").pack())
    by_topic = text_of(telegram, OWNER, message_id)
    assert ": <b>5</b>, quá hạn <b>1</b>" in by_topic
    # By state: the overdue only.
    await press(telegram, bot, owner, message_id, CaseList(topic="2", pick="state").pack())
    assert "quá hạn" in buttons_of(telegram, OWNER, message_id)
    await press(telegram, bot, owner, message_id, CaseList(topic="2", state="late").pack())
    late = text_of(telegram, OWNER, message_id)
    assert ": <b>1</b>, quá hạn <b>1</b>" in late
    assert cases[-1].number in late
    # Never in a group: who reported is for staff only.
    group = telegram.group(-100777, admins=[OWNER])
    mark = telegram.mark()
    await telegram.send(owner, "/cases", chat=group)
    in_group = await telegram.wait_for("sendMessage", after=mark, chat_id=group.id)
    assert in_group.params["text"].startswith("Phản ánh có thông tin của người dân")
    # A topic that does not exist is a stale button.
    answer = await press(telegram, bot, owner, message_id, CaseList(topic="99").pack())
    assert answer.params.get("text") == "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
    assert await store.listing_counts(("received",), today) == (10, 1)


# -- assigning ---------------------------------------------------------------------------------


async def test_assigning_tells_the_assignee_and_the_resident(
    telegram: FakeTelegram, bot: BotApplication, owner: User, staff: User, resident: User
) -> None:
    case = await report(bot)
    message_id = await open_case(telegram, bot, owner, case)
    view = text_of(telegram, OWNER, message_id)
    assert "Người xử lý: chưa giao" in view
    assert f"Telegram ID <code>{RESIDENT}</code>" in view  # staff see who reported
    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "asg").pack())
    choices = buttons_of(telegram, OWNER, message_id)
    assert choices["Cán bộ An"] == CaseAction(case.case_id, "to", STAFF).pack()

    mark = telegram.mark()
    await press(telegram, bot, owner, message_id, choices["Cán bộ An"])
    assert f"👤 Đã giao <b>{case.number}</b> cho Cán bộ An." in text_of(telegram, OWNER, message_id)
    assert "Người xử lý: Cán bộ An" in text_of(telegram, OWNER, message_id)
    told = telegram.calls_to("sendMessage", after=mark, chat_id=STAFF)
    assert len(told) == 1
    assert (
        told[0].params["text"].startswith(f"📌 Bạn được giao xử lý phản ánh <b>{case.number}</b>")
    )
    # The assignee opens it from there.
    assert told[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        CaseAction(case.case_id, "open").pack()
    )
    assert len(telegram.calls_to("sendMessage", after=mark, chat_id=RESIDENT)) == 1
    stored = await services(bot).cases.get(case.case_id)
    assert stored is not None
    assert (stored.state, stored.assignee) == ("assigned", STAFF)
    # In the audit log, in words.
    audit = await telegram.reply_to(owner, "/audit")
    assert f"giao phản ánh {case.number} cho Cán bộ An" in audit.params["text"]


# -- answering ---------------------------------------------------------------------------------


async def test_an_answer_reaches_the_resident_with_the_rating_buttons(
    telegram: FakeTelegram, bot: BotApplication, owner: User, staff: User, resident: User
) -> None:
    case = await report(bot)
    message_id = await open_case(telegram, bot, staff, case)
    await press(telegram, bot, staff, message_id, CaseAction(case.case_id, "ans").pack())
    assert "Gõ câu trả lời" in text_of(telegram, STAFF, message_id)
    answer = "Xã đã cho vá ổ gà ngày 02/12. Cảm ơn bà con đã báo!"
    preview = await telegram.reply_to(staff, answer)
    assert (
        "<blockquote>Xã đã cho vá ổ gà ngày 02/12. Cảm ơn bà con đã báo!</blockquote>"
        in (preview.params["text"])
    )
    # Nothing is sent before "Send".
    assert not telegram.calls_to("sendMessage", chat_id=RESIDENT)
    mark = telegram.mark()
    await press(
        telegram, bot, staff, int(preview.result["message_id"]),
        CaseAction(case.case_id, "ansok").pack(),
    )  # fmt: skip
    received = telegram.calls_to("sendMessage", after=mark, chat_id=RESIDENT)
    assert len(received) == 1
    assert answer in received[0].params["text"]
    assert case.number in received[0].params["text"]
    rating = [b["callback_data"] for row in received[0].params["reply_markup"]["inline_keyboard"]
              for b in row]  # fmt: skip
    assert f"gr:{case.case_id}:yes" in rating
    assert f"gr:{case.case_id}:no" in rating
    shown = text_of(telegram, STAFF, int(preview.result["message_id"]))
    assert f"📤 Đã gửi câu trả lời tới người phản ánh <b>{case.number}</b>." in shown
    stored = await services(bot).cases.get(case.case_id)
    assert stored is not None
    assert (stored.state, stored.answer, stored.answered_by) == ("answered", answer, STAFF)
    # The resident can rate it: not satisfied reopens it for staff (the rating is the cases'
    # own part; here it shows in /cases again).
    await press(telegram, bot, resident, int(received[0].result["message_id"]),
                f"gr:{case.case_id}:no")  # fmt: skip
    reopened = await services(bot).cases.get(case.case_id)
    assert reopened is not None
    assert (reopened.state, reopened.rating) == ("reopened", "unsatisfied")
    listing = await telegram.reply_to(staff, "/cases")
    assert f"• <b>{case.number}</b> · Giao thông – đường sá · mở lại" in listing.params["text"]
    # A second tap on "Send" sends nothing more.
    mark = telegram.mark()
    await press(
        telegram, bot, staff, int(preview.result["message_id"]),
        CaseAction(case.case_id, "ansok").pack(),
    )  # fmt: skip
    assert not telegram.calls_to("sendMessage", after=mark, chat_id=RESIDENT)


async def test_an_internal_note_is_never_sent_to_the_resident(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    case = await report(bot)
    message_id = await open_case(telegram, bot, owner, case)
    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "note").pack())
    mark = telegram.mark()
    noted = await telegram.reply_to(owner, "Đội giao thông thôn 3 đã xem hiện trường")
    assert noted.params["text"].startswith(f"🗒 Đã ghi chú vào <b>{case.number}</b>.")
    assert "Đội giao thông thôn 3 đã xem hiện trường" in noted.params["text"]
    await settled(telegram, bot)
    assert not telegram.calls_to("sendMessage", after=mark, chat_id=RESIDENT)
    notes = await services(bot).cases.notes(case.case_id)
    assert [note.body for note in notes] == ["Đội giao thông thôn 3 đã xem hiện trường"]
    # The next text is a search again, not a note.
    searched = await telegram.reply_to(owner, "đường thôn 3")
    assert "Đã ghi chú" not in searched.params["text"]


# -- duplicate and spam ------------------------------------------------------------------------


async def test_duplicate_and_spam_tell_the_resident_politely(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    first = await report(bot, person=OTHER_RESIDENT)
    again = await report(bot)
    message_id = await open_case(telegram, bot, owner, again)
    await press(telegram, bot, owner, message_id, CaseAction(again.case_id, "dup").pack())
    unknown = await telegram.reply_to(owner, "PA-1999-0001")
    assert "Không thấy phản ánh «PA-1999-0001»" in unknown.params["text"]
    mark = telegram.mark()
    done = await telegram.reply_to(owner, first.number.lower())
    assert done.params["text"].startswith(
        f"🔁 Đã đánh dấu <b>{again.number}</b> trùng với <b>{first.number}</b>"
    )
    await settled(telegram, bot)
    told = sent_to(telegram, RESIDENT, mark)
    assert len(told) == 1
    assert first.number in told[0]
    assert not sent_to(telegram, OTHER_RESIDENT, mark)
    stored = await services(bot).cases.get(again.case_id)
    assert stored is not None
    assert (stored.state, stored.duplicate_of) == ("duplicate", first.case_id)

    spam = await report(bot, text="Quảng cáo vay tiền nhanh")
    message_id = await open_case(telegram, bot, owner, spam)
    await press(telegram, bot, owner, message_id, CaseAction(spam.case_id, "spam").pack())
    assert "Người phản ánh sẽ nhận một lời báo lịch sự" in text_of(telegram, OWNER, message_id)
    mark = telegram.mark()
    await press(telegram, bot, owner, message_id, CaseAction(spam.case_id, "spamok").pack())
    assert f"🚫 Đã đánh dấu <b>{spam.number}</b> là spam." in text_of(telegram, OWNER, message_id)
    told = sent_to(telegram, RESIDENT, mark)
    assert len(told) == 1
    assert spam.number in told[0]
    # Closed: the buttons that change it are gone, and an old "spam" tap changes nothing.
    assert "🚫 Spam" not in buttons_of(telegram, OWNER, message_id)
    mark = telegram.mark()
    await press(telegram, bot, owner, message_id, CaseAction(spam.case_id, "closeok").pack())
    assert "không làm được việc này nữa" in text_of(telegram, OWNER, message_id)
    assert not sent_to(telegram, RESIDENT, mark)
    audit = await telegram.reply_to(owner, "/audit")
    assert f"đánh dấu phản ánh {again.number} trùng với {first.number}" in audit.params["text"]
    assert f"đánh dấu phản ánh {spam.number} là spam" in audit.params["text"]


# -- deadlines and reminders -------------------------------------------------------------------


async def test_a_deadline_passing_reminds_the_assignee_and_tells_the_owners_once(
    telegram: FakeTelegram,
    settings: Settings,
    owner: User,
    resident: User,
) -> None:
    application = build_application(settings)
    async with running(application) as bot:
        await services(bot).staff.add(STAFF, "Cán bộ An", OWNER)
        telegram.user(STAFF, "An")
        case = await report(bot)
        await services(bot).cases.assign(case.case_id, OWNER, STAFF)
        due = date(2026, 12, 7)  # a Monday
        await services(bot).cases.set_deadline(case.case_id, OWNER, due)
        context = context_of(bot)
        # Thursday before: not yet. Friday, the working day before: the assignee, once.
        thursday = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
        assert await remind(context, thursday) == 0
        friday = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
        mark = telegram.mark()
        assert await remind(context, friday) == 1
        told = sent_to(telegram, STAFF, mark)
        assert len(told) == 1
        assert told[0].startswith(f"⏳ Phản ánh <b>{case.number}</b> (")
        assert told[0].endswith("đến hạn ngày 07/12/2026. Bạn nhớ trả lời người dân nhé.")
        assert await remind(context, friday + timedelta(hours=3)) == 0
    # After a restart, neither is repeated; once the day has passed, the owners are told once.
    async with running(build_application(settings)) as bot:
        context = context_of(bot)
        mark = telegram.mark()
        assert await remind(context, datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) == 0
        late = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
        assert await remind(context, late) == 1
        told = sent_to(telegram, OWNER, mark)
        assert len(told) == 1
        assert told[0].startswith(f"⏰ Phản ánh <b>{case.number}</b>")
        assert "Người xử lý: Cán bộ An" in told[0]
        assert await remind(context, late + timedelta(hours=1)) == 0
        assert not sent_to(telegram, STAFF, mark)
        # A new deadline is a new reminder.
        new = working_days_after(date(2026, 12, 8), 1)
        await services(bot).cases.set_deadline(case.case_id, OWNER, new)
        assert await remind(context, late + timedelta(hours=2)) == 1
        assert len(sent_to(telegram, STAFF, mark)) == 1
        assert not await services(bot).casework.store.overdue(date(2026, 12, 8))


async def test_setting_a_deadline_with_the_buttons(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    case = await report(bot, topic=2)
    message_id = await open_case(telegram, bot, owner, case)
    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "due").pack())
    choices = buttons_of(telegram, OWNER, message_id)
    default = [label for label in choices if label.startswith("Mặc định: 10 ngày làm việc")]
    assert len(default) == 1
    today = services(bot).cases.today()
    three = working_days_after(today, 3)
    label = f"3 ngày làm việc — {three:%d/%m/%Y}"
    assert choices[label] == CaseAction(case.case_id, "dset", 3).pack()
    await press(telegram, bot, owner, message_id, choices[label])
    assert f"Hạn xử lý của <b>{case.number}</b>: {three:%d/%m/%Y}." in text_of(
        telegram, OWNER, message_id
    )
    stored = await services(bot).cases.get(case.case_id)
    assert stored is not None
    assert stored.deadline == three
    audit = await telegram.reply_to(owner, "/audit")
    assert f"đặt hạn xử lý phản ánh {case.number}: {three:%d/%m/%Y}" in audit.params["text"]
    # A number of days no button offers is stale.
    answer = await press(
        telegram, bot, owner, message_id, CaseAction(case.case_id, "dset", 4).pack()
    )
    assert answer.params.get("show_alert") is True


async def test_the_morning_summary_goes_to_the_owners_once_a_day(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    case = await report(bot)
    await services(bot).cases.set_deadline(case.case_id, OWNER, date(2026, 12, 1))
    await report(bot, person=OTHER_RESIDENT)
    assert bot.job_queue is not None
    for name in ("case-reminders", "case-summary"):
        assert bot.job_queue.get_jobs_by_name(name), name
    context = context_of(bot)
    six = datetime(2026, 12, 3, 23, 0, tzinfo=UTC) - timedelta(hours=1)  # 05:00 local
    assert not await summarise(context, six)
    # A bot that was down all morning sends none in the afternoon.
    assert not await summarise(context, datetime(2026, 12, 3, 6, 30, tzinfo=UTC))  # 13:30
    mark = telegram.mark()
    seven = datetime(2026, 12, 4, 0, 10, tzinfo=UTC)  # 07:10 local
    assert await summarise(context, seven)
    told = sent_to(telegram, OWNER, mark)
    assert len(told) == 1
    assert "Đang chờ xử lý: <b>2</b> · quá hạn: <b>1</b> · chưa giao: <b>2</b>" in told[0]
    assert f"⏰ <b>{case.number}</b>" in told[0]
    assert not await summarise(context, seven + timedelta(hours=2))


# -- residents are refused -----------------------------------------------------------------------


async def test_a_resident_is_refused_every_staff_command_and_button_of_cases(
    telegram: FakeTelegram, bot: BotApplication, resident: User
) -> None:
    case = await report(bot)
    for name in ("cases", "casescsv"):
        mark = telegram.mark()
        assert (await telegram.reply_to(resident, f"/{name}")).params["text"] == NOT_STAFF
        assert not telegram.calls_to("sendDocument", after=mark)
    greeting = await telegram.reply_to(resident, "/start")
    message_id = int(greeting.result["message_id"])
    actions: list[Any] = [
        CaseAction(case.case_id, name, RESIDENT if name == "to" else 0)
        for name in ("open", "asg", "to", "due", "dset", "ans", "ansok", "note", "dup", "close",
                     "closeok", "spam", "spamok", "x", "pics")
    ]  # fmt: skip
    actions += [CaseList(), CaseList(pick="topic"), CaseList(topic="1", state="late", page=1)]
    for data in actions:
        greeting = await telegram.reply_to(resident, "/start")
        message_id = int(greeting.result["message_id"])
        mark = telegram.mark()
        await press(telegram, bot, resident, message_id, data.pack())
        assert text_of(telegram, RESIDENT, message_id) == NOT_STAFF, data
        assert not telegram.calls_to("sendPhoto", after=mark)
        assert len(telegram.calls_to("sendMessage", after=mark)) == 0, data
    stored = await services(bot).cases.get(case.case_id)
    assert stored is not None
    assert (stored.state, stored.assignee, stored.deadline) == ("received", None, case.deadline)
    assert not await services(bot).cases.notes(case.case_id)
    # Typing after the "answer" tap is a search, not an answer.
    searched = await telegram.reply_to(resident, "Xin trả lời")
    assert "Gửi đi?" not in searched.params["text"]
    refusals = [e for e in await services(bot).audit.recent(100) if e.action == "refused"]
    assert len(refusals) == 2 + len(actions)


# -- figures -----------------------------------------------------------------------------------


async def test_casescsv_staffstats_and_the_public_stats_line(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    cases = services(bot).cases
    first = await report(bot)
    second = await report(bot, person=OTHER_RESIDENT, topic=3)
    await report(bot, person=RESIDENT + 9, topic=3)
    await cases.answer(first.case_id, OWNER, "Đã sửa.")
    await cases.answer(second.case_id, OWNER, "Đã dọn.")
    await cases.rate(first.case_id, Reporter("telegram", RESIDENT, RESIDENT), True)

    stats = await telegram.reply_to(resident, "/stats")
    assert "<b>2</b> phản ánh đã được trả lời tháng này" in stats.params["text"]

    mark = telegram.mark()
    await telegram.reply_to(owner, "/casescsv")
    document = await telegram.wait_for("sendDocument", after=mark)
    content = next(iter(document.files.values()))
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Tháng", "Chủ đề", "Tiếp nhận", "Đã trả lời", "Trả lời đúng hạn",
        "Thời gian trả lời, trung vị (giờ)", "Hài lòng", "Chưa hài lòng",
    ]  # fmt: skip
    month = f"{cases.now().astimezone(services(bot).settings.tz):%Y-%m}"
    assert rows[1] == [month, "Tất cả", "3", "2", "2", "0", "1", "0"]
    assert rows[2][:5] == [month, "Giao thông – đường sá", "1", "1", "1"]
    assert rows[3][:5] == [month, "Môi trường – vệ sinh", "2", "1", "1"]
    assert len(rows) == 4

    mark = telegram.mark()
    await telegram.reply_to(owner, "/staffstats")
    await telegram.wait_for("sendDocument", after=mark)
    texts = sent_to(telegram, OWNER, mark)
    figures = next(text for text in texts if text.startswith("📝 <b>Góp ý – phản ánh</b>"))
    assert "nhận 3, đã trả lời 2, đúng hạn 2" in figures
    assert "hài lòng 1/1" in figures
    assert "  • Môi trường – vệ sinh: nhận 2, trả lời 1" in figures


async def test_what_staff_type_for_a_case_survives_a_restart_and_cancel_drops_it(
    telegram: FakeTelegram, settings: Settings, owner: User, resident: User
) -> None:
    async with running(build_application(settings)) as bot:
        case = await report(bot)
        message_id = await open_case(telegram, bot, owner, case)
        await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "ans").pack())
    async with running(build_application(settings)) as bot:
        preview = await telegram.reply_to(owner, "Xã đã xử lý xong.")
        assert "<blockquote>Xã đã xử lý xong.</blockquote>" in preview.params["text"]
        mark = telegram.mark()
        cancelled = await telegram.reply_to(owner, "/cancel")
        assert cancelled.params["text"] == f"Đã thôi. Phản ánh <b>{case.number}</b> vẫn như cũ."
        # "Send" under the old preview sends nothing now.
        answer = await press(
            telegram, bot, owner, int(preview.result["message_id"]),
            CaseAction(case.case_id, "ansok").pack(),
        )  # fmt: skip
        assert answer.params.get("show_alert") is True
        assert not sent_to(telegram, RESIDENT, mark)
        stored = await services(bot).cases.get(case.case_id)
        assert stored is not None
        assert stored.state == "received"


async def test_photos_shown_to_staff_by_reference_and_closing_tells_the_resident(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    # The resident's photos, as Telegram keeps them: the bot holds their file ids only.
    telegram.files["photo-o-ga-1"] = b"\x89PNG one"
    telegram.files["photo-o-ga-2"] = b"\x89PNG two"
    new = NewCase(
        Reporter("telegram", RESIDENT, RESIDENT), "vi", 1, "Ổ gà lớn ở thôn 3",
        photos=("photo-o-ga-1", "photo-o-ga-2"), location=(15.571234, 108.474321),
    )  # fmt: skip
    case = await services(bot).cases.submit(new)
    assert isinstance(case, Case)
    message_id = await open_case(telegram, bot, owner, case)
    view = text_of(telegram, OWNER, message_id)
    assert "📷 2 ảnh" in view
    assert "https://www.google.com/maps?q=15.571234,108.474321" in view
    mark = telegram.mark()
    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "pics").pack())
    photos = telegram.calls_to("sendPhoto", after=mark, chat_id=OWNER)
    assert [call.params["photo"] for call in photos] == ["photo-o-ga-1", "photo-o-ga-2"]

    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "close").pack())
    assert "Người phản ánh sẽ được báo." in text_of(telegram, OWNER, message_id)
    mark = telegram.mark()
    await press(telegram, bot, owner, message_id, CaseAction(case.case_id, "closeok").pack())
    assert f"✅ Đã đóng <b>{case.number}</b>" in text_of(telegram, OWNER, message_id)
    told = sent_to(telegram, RESIDENT, mark)
    assert len(told) == 1
    assert case.number in told[0]
    stored = await services(bot).cases.get(case.case_id)
    assert stored is not None
    assert stored.state == "closed"
    # No longer among the open ones.
    assert "không có phản ánh nào" in (await telegram.reply_to(owner, "/cases")).params["text"]
