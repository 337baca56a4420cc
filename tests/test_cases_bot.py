"""Góp ý – phản ánh on Telegram, residents' side: /gopy to the case number, the staff told with
photos and location, limits, cancel, a restart in the middle, /phananh, rating and reopening,
/forget, groups refused, stale buttons — through the stand-in Bot API, a database per test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.adapter import tell_reporter
from bot.app import build_application, running
from bot.callbacks import ForgetAnswer, RateCase, ReportAction
from bot.config import Settings
from bot.context import BotApplication, Services
from bot.services.cases import Case
from bot.standins.telegram import ApiCall, FakeTelegram, User
from tests.conftest import make_settings, settled

OWNER = 1001  # ADMIN_IDS of the conftest settings
RESIDENT = 5_550_002_001
STALE = "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
DESCRIPTION = "Ổ gà lớn trước nhà văn hóa thôn 3, xe máy dễ ngã khi trời tối."
NUMBER = re.compile(r"PA-\d{4}-\d{4}")


def data_of(call: ApiCall, label: str) -> str:
    """The callback data of the button labelled `label` under a sent message."""
    for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {call.params.get('reply_markup')}")


def keyboard_of(telegram: FakeTelegram, chat_id: int) -> list[list[dict[str, Any]]]:
    """The reply keyboard the chat shows now, each button as a dict."""
    rows = telegram.keyboards.get(chat_id, {}).get("keyboard", [])
    return [[b if isinstance(b, dict) else {"text": b} for b in row] for row in rows]


def services_of(application: BotApplication) -> Services:
    return application.bot_data.services


async def said(telegram: FakeTelegram, user: User, send: Any) -> ApiCall:
    """Do `send` (a coroutine that sends as the user) and wait for the bot's next message."""
    start = telegram.mark()
    await send
    return await telegram.wait_for("sendMessage", after=start, chat_id=user.id)


async def tapped(telegram: FakeTelegram, user: User, call: ApiCall, label: str) -> ApiCall:
    """Tap a button under the bot's message and wait for the message that follows."""
    start = telegram.mark()
    answer = await telegram.tap(user, call.result["message_id"], data_of(call, label))
    assert answer.params.get("text") in (None, ""), answer.params
    return await telegram.wait_for("sendMessage", after=start, chat_id=user.id)


async def to_photos(telegram: FakeTelegram, user: User) -> ApiCall:
    """/gopy, the roads topic, the description: the photos' question."""
    ask = await telegram.reply_to(user, "/gopy")
    assert "Bạn vui lòng chọn một chủ đề" in ask.params["text"]
    described = await tapped(telegram, user, ask, "Giao thông – đường sá")
    assert "Chủ đề: <b>Giao thông – đường sá</b>" in described.params["text"]
    photos = await telegram.reply_to(user, DESCRIPTION)
    assert "tối đa 3 ảnh" in photos.params["text"]
    return photos


async def report(telegram: FakeTelegram, user: User) -> str:
    """A whole report without photos, location or phone; its number."""
    photos = await to_photos(telegram, user)
    await tapped(telegram, user, photos, "Bỏ qua")
    await said(telegram, user, telegram.send(user, "Bỏ qua"))
    preview = await said(telegram, user, telegram.send(user, "Bỏ qua"))
    sent = await tapped(telegram, user, preview, "📨 Gửi")
    found = NUMBER.search(sent.params["text"])
    assert found is not None, sent.params["text"]
    return found[0]


async def test_a_report_with_photos_and_location_reaches_the_staff(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    telegram.user(OWNER, "Chủ tịch")
    lan = telegram.user(RESIDENT, "Lan")
    await to_photos(telegram, lan)
    first = await said(telegram, lan, telegram.send_kind(lan, "photo"))
    assert "Đã nhận ảnh 1/3" in first.params["text"]
    second = await said(telegram, lan, telegram.send_kind(lan, "photo"))
    assert "Đã nhận ảnh 2/3" in second.params["text"]
    location = await tapped(telegram, lan, second, "Xong")
    assert "gửi vị trí nơi xảy ra sự việc" in location.params["text"]
    assert keyboard_of(telegram, lan.id)[0][0].get("request_location") is True
    phone = await said(telegram, lan, telegram.send_location(lan, 15.5736, 108.474))
    assert "chia sẻ số điện thoại" in phone.params["text"]
    assert keyboard_of(telegram, lan.id)[0][0].get("request_contact") is True
    # A typed number is never kept: only Telegram's own "share contact".
    typed = await said(telegram, lan, telegram.send(lan, "0901 234 567"))
    assert "Số bạn gõ sẽ không được lưu" in typed.params["text"]
    other = await said(telegram, lan, telegram.send_contact(lan, "+84911111111", own=False))
    assert "Số bạn gõ sẽ không được lưu" in other.params["text"]
    preview = await said(telegram, lan, telegram.send_contact(lan, "+84901234567"))
    text = preview.params["text"]
    assert DESCRIPTION in text
    assert "Ảnh: 2" in text
    assert "Vị trí: đã gửi" in text
    assert "+84901234567" in text
    start = telegram.mark()
    sent = await tapped(telegram, lan, preview, "📨 Gửi")
    number = NUMBER.search(sent.params["text"])
    assert number is not None
    assert "/phananh" in sent.params["text"]
    # The main menu is back, with the new button.
    labels = [b["text"] for row in keyboard_of(telegram, lan.id) for b in row]
    assert "📝 Góp ý – Phản ánh" in labels
    # The staff (nobody handles roads: every staff member and owner) get the case, its photos
    # as an album, and its location.
    told = await telegram.wait_for("sendMessage", after=start, chat_id=OWNER)
    assert f"Phản ánh mới {number[0]}" in told.params["text"]
    assert DESCRIPTION in told.params["text"]
    assert "+84901234567" in told.params["text"]
    album = await telegram.wait_for("sendMediaGroup", after=start, chat_id=OWNER)
    assert [m["media"] for m in album.params["media"]] == [
        first_photo(telegram, lan, 0),
        first_photo(telegram, lan, 1),
    ]
    place = await telegram.wait_for("sendLocation", after=start, chat_id=OWNER)
    assert (place.params["latitude"], place.params["longitude"]) == (15.5736, 108.474)
    case = await services_of(bot).cases.find(number[0])
    assert case is not None
    assert (case.state, len(case.photos), case.location, case.phone) == (
        "received",
        2,
        (15.5736, 108.474),
        "+84901234567",
    )


def first_photo(telegram: FakeTelegram, user: User, index: int) -> str:
    """The file id of the user's `index`-th photo in their chat."""
    photos = [m for m in telegram.chat_messages(user.id, from_bot=False) if "photo" in m]
    return str(photos[index]["photo"][-1]["file_id"])


async def test_the_main_menu_button_and_the_staff_who_handle_a_topic(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    services = services_of(bot)
    await services.staff.add(2002, "Cán bộ giao thông", OWNER)
    assert await services.cases.set_handles(2002, 1, True, OWNER)
    telegram.user(2002, "Cán bộ giao thông")
    telegram.user(OWNER, "Chủ tịch")
    lan = telegram.user(RESIDENT, "Lan")
    start = telegram.mark()
    ask = await telegram.reply_to(lan, "📝 Góp ý – Phản ánh")
    assert "Bạn vui lòng chọn một chủ đề" in ask.params["text"]
    await said(
        telegram,
        lan,
        telegram.press(lan, ask.result["message_id"], data_of(ask, "Giao thông – đường sá")),
    )
    photos = await telegram.reply_to(lan, DESCRIPTION)
    await tapped(telegram, lan, photos, "Bỏ qua")
    await said(telegram, lan, telegram.send(lan, "Bỏ qua"))
    preview = await said(telegram, lan, telegram.send(lan, "Bỏ qua"))
    assert "Ảnh: không có" in preview.params["text"]
    await tapped(telegram, lan, preview, "📨 Gửi")
    await telegram.wait_for("sendMessage", after=start, chat_id=2002)
    await settled(telegram, bot)
    assert telegram.calls_to("sendMessage", after=start, chat_id=OWNER) == []
    assert telegram.calls_to("sendMediaGroup", after=start) == []
    assert telegram.calls_to("sendLocation", after=start) == []


async def test_limits_are_said_plainly(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telegram, CASES_MAX_OPEN=1, CASES_MAX_PER_DAY=2)
    lan = telegram.user(RESIDENT, "Lan")
    async with running(build_application(settings)) as bot:
        number = await report(telegram, lan)
        refused = await telegram.reply_to(lan, "/gopy")
        assert "Bạn đang có 1 phản ánh chờ xã xử lý" in refused.params["text"]
        assert "reply_markup" not in refused.params
        case = await services_of(bot).cases.find(number)
        assert case is not None
        await services_of(bot).cases.close(case.case_id, OWNER)
        await report(telegram, lan)
        await services_of(bot).cases.mark_spam(case.case_id + 1, OWNER)
        refused = await telegram.reply_to(lan, "/gopy")
        assert "Hôm nay bạn đã gửi 2 phản ánh" in refused.params["text"]
        # Another resident is not held back.
        minh = telegram.user(RESIDENT + 1, "Minh")
        ask = await telegram.reply_to(minh, "/gopy")
        assert "chọn một chủ đề" in ask.params["text"]


async def test_cancel_at_any_step(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    services = services_of(bot)
    # The button at the first step.
    ask = await telegram.reply_to(lan, "/gopy")
    cancelled = await tapped(telegram, lan, ask, "Hủy")
    assert "Đã hủy phản ánh" in cancelled.params["text"]
    assert not services.reporting.is_reporting(lan.id, lan.id)
    # /cancel while describing.
    ask = await telegram.reply_to(lan, "/gopy")
    await tapped(telegram, lan, ask, "Điện – nước")
    cancelled = await telegram.reply_to(lan, "/cancel")
    assert "Đã hủy phản ánh" in cancelled.params["text"]
    # The reply keyboard's "Hủy" at the location step; the main menu comes back.
    photos = await to_photos(telegram, lan)
    await tapped(telegram, lan, photos, "Bỏ qua")
    cancelled = await said(telegram, lan, telegram.send(lan, "Hủy"))
    assert "Đã hủy phản ánh" in cancelled.params["text"]
    labels = [b["text"] for row in keyboard_of(telegram, lan.id) for b in row]
    assert "📝 Góp ý – Phản ánh" in labels
    # Nothing was stored, and the text is a search again.
    assert await services.cases.mine("telegram", lan.id) == []
    search = await telegram.reply_to(lan, "đường")
    assert "phản ánh" not in search.params["text"].lower()


async def test_a_half_written_report_survives_a_restart(
    telegram: FakeTelegram, settings: Settings
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    telegram.user(OWNER, "Chủ tịch")
    async with running(build_application(settings)):
        await to_photos(telegram, lan)
        await said(telegram, lan, telegram.send_kind(lan, "photo"))
    # The draft is in the database, not in the process that stopped: the next photo is the
    # second of the same report.
    async with running(build_application(settings)) as restarted:
        second = await said(telegram, lan, telegram.send_kind(lan, "photo"))
        assert "Đã nhận ảnh 2/3" in second.params["text"]
        await tapped(telegram, lan, second, "Xong")
        await said(telegram, lan, telegram.send(lan, "Bỏ qua"))
        preview = await said(telegram, lan, telegram.send(lan, "Bỏ qua"))
        assert DESCRIPTION in preview.params["text"]
        sent = await tapped(telegram, lan, preview, "📨 Gửi")
        number = NUMBER.search(sent.params["text"])
        assert number is not None
        case = await services_of(restarted).cases.find(number[0])
        assert case is not None
        assert (case.topic_id, case.description, len(case.photos)) == (1, DESCRIPTION, 2)


async def answered(bot: BotApplication, number: str, text: str) -> Case:
    """Staff answer the case (through the service, as the staff side does) and tell the
    reporter."""
    services = services_of(bot)
    case = await services.cases.find(number)
    assert case is not None
    change = await services.cases.answer(case.case_id, OWNER, text)
    assert change is not None
    assert await tell_reporter(bot.bot, services, change)
    return change.case


async def test_phananh_rating_and_reopening(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    none = await telegram.reply_to(lan, "/phananh")
    assert "Bạn chưa gửi phản ánh nào" in none.params["text"]
    number = await report(telegram, lan)
    listing = await telegram.reply_to(lan, "/phananh")
    assert f"<b>{number}</b> · Giao thông – đường sá · Đã tiếp nhận" in listing.params["text"]
    services = services_of(bot)
    await services.staff.add(2002, "Cán bộ giao thông", OWNER)
    telegram.user(2002, "Cán bộ giao thông")
    found = await services.cases.find(number)
    assert found is not None
    assert await services.cases.assign(found.case_id, OWNER, 2002) is not None
    start = telegram.mark()
    case = await answered(bot, number, "Xã đã cho vá ổ gà <ngày 5/3>.")
    notice = await telegram.wait_for("sendMessage", after=start, chat_id=lan.id)
    assert "Xã đã cho vá ổ gà &lt;ngày 5/3&gt;." in notice.params["text"]
    # Not satisfied: the case is reopened for staff, and a word is asked for.
    start = telegram.mark()
    reopened = await tapped(telegram, lan, notice, "👎 Chưa hài lòng")
    assert f"Xã đã mở lại phản ánh <b>{number}</b>" in reopened.params["text"]
    # Its assignee (only) is told the case is theirs again.
    told = await telegram.wait_for("sendMessage", after=start, chat_id=2002)
    assert f"Phản ánh <b>{number}</b> được mở lại" in told.params["text"]
    assert telegram.calls_to("sendMessage", after=start, chat_id=OWNER) == []
    thanks = await telegram.reply_to(lan, "Vẫn còn một ổ gà bên cạnh")
    assert "xã đã nhận ý kiến" in thanks.params["text"]
    kept = await services_of(bot).cases.get(case.case_id)
    assert kept is not None
    assert (kept.state, kept.rating, kept.rating_word) == (
        "reopened",
        "unsatisfied",
        "Vẫn còn một ổ gà bên cạnh",
    )
    # The old answer's buttons went with the tap; pressed again, they are stale.
    again = await telegram.tap(lan, notice.result["message_id"], data_of(notice, "👍 Hài lòng"))
    assert again.params["text"] == STALE
    # Answered again, then satisfied: closed; "skip" declines the word.
    start = telegram.mark()
    await answered(bot, number, "Đã vá nốt.")
    notice = await telegram.wait_for("sendMessage", after=start, chat_id=lan.id)
    rated = await tapped(telegram, lan, notice, "👍 Hài lòng")
    assert "Cảm ơn bạn đã đánh giá" in rated.params["text"]
    start = telegram.mark()
    await telegram.tap(lan, rated.result["message_id"], data_of(rated, "Bỏ qua"))
    edited = await telegram.wait_for("editMessageText", after=start, chat_id=lan.id)
    assert edited.params["text"] == "Cảm ơn bạn!"
    listing = await telegram.reply_to(lan, "/phananh")
    assert f"<b>{number}</b> · Giao thông – đường sá · Đã đóng" in listing.params["text"]


async def test_forget_leaves_the_case_without_its_reporter(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    photos = await to_photos(telegram, lan)
    await tapped(telegram, lan, photos, "Bỏ qua")
    await said(telegram, lan, telegram.send(lan, "Bỏ qua"))
    preview = await said(telegram, lan, telegram.send_contact(lan, "+84901234567"))
    sent = await tapped(telegram, lan, preview, "📨 Gửi")
    number = NUMBER.search(sent.params["text"])
    assert number is not None
    ask = await telegram.reply_to(lan, "/forget")
    assert "phản ánh" in ask.params["text"]
    start = telegram.mark()
    await telegram.tap(lan, ask.result["message_id"], ForgetAnswer(True).pack())
    await telegram.wait_for("editMessageText", after=start, chat_id=lan.id)
    services = services_of(bot)
    case = await services.cases.find(number[0])
    assert case is not None
    assert (case.reporter, case.chat_id, case.person_id, case.phone) == (None, None, None, None)
    assert case.description == DESCRIPTION
    # The commune's answer reaches nobody, and says so.
    change = await services.cases.answer(case.case_id, OWNER, "Đã xử lý.")
    assert change is not None
    assert not await tell_reporter(bot.bot, services, change)
    listing = await telegram.reply_to(lan, "/phananh")
    assert "Bạn chưa gửi phản ánh nào" in listing.params["text"]


async def test_a_resident_in_a_group_is_refused_politely(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    group = telegram.group(-100777, admins=[RESIDENT])
    for command in ("/gopy", "/phananh"):
        start = telegram.mark()
        await telegram.send(lan, command, chat=group)
        reply = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
        assert "chỉ nhận trong tin nhắn riêng" in reply.params["text"]
    assert not services_of(bot).reporting.is_reporting(group.id, lan.id)


@pytest.mark.parametrize(
    "data",
    [
        RateCase(999, "yes").pack(),
        RateCase(999, "skip").pack(),
        ReportAction("skip", "photos").pack(),
        ReportAction("send", "preview").pack(),
        ReportAction("cancel", "topic").pack(),
        ReportAction("topic", "topic", 999).pack(),
        "gy:topic:photos:1",
        "gy:skip:preview:0",
        "gr:1:maybe",
    ],
)
async def test_stale_and_forged_case_buttons(
    telegram: FakeTelegram, bot: BotApplication, data: str
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    greeting = await telegram.reply_to(lan, "/start")
    answer = await telegram.tap(lan, greeting.result["message_id"], data)
    assert answer.params.get("text") == STALE


async def test_an_earlier_steps_button_is_stale(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    ask = await telegram.reply_to(lan, "/gopy")
    topic = data_of(ask, "Giao thông – đường sá")
    await tapped(telegram, lan, ask, "Giao thông – đường sá")
    # The same topic button again (another device, a double tap): stale, the draft unchanged.
    answer = await telegram.tap(lan, ask.result["message_id"], topic)
    assert answer.params.get("text") == STALE
    draft = services_of(bot).reporting.draft(lan.id, lan.id)
    assert draft is not None
    assert (draft.step, draft.topic_id) == ("description", 1)
    # Someone else's draft cannot be sent from their chat's message.
    minh = telegram.user(RESIDENT + 1, "Minh")
    other = await telegram.reply_to(minh, "/start")
    answer = await telegram.tap(
        minh, other.result["message_id"], ReportAction("send", "preview").pack()
    )
    assert answer.params.get("text") == STALE


async def test_staff_change_the_topics_and_who_handles_them(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    owner = telegram.user(OWNER, "Chủ tịch")
    services = services_of(bot)
    await services.staff.add(2002, "Cán bộ giao thông", OWNER)
    listing = await telegram.reply_to(owner, "/casetopics")
    text = listing.params["text"]
    assert "1. Giao thông – đường sá · 10 ngày làm việc · mọi cán bộ" in text
    assert "/casetopics handle" in text
    added = await telegram.reply_to(owner, "/casetopics add Đất đai – xây dựng")
    assert added.params["text"].startswith("Đã lưu.")
    assert "7. Đất đai – xây dựng · 10 ngày làm việc · mọi cán bộ" in added.params["text"]
    handled = await telegram.reply_to(owner, "/casetopics handle 7 2002")
    assert "7. Đất đai – xây dựng · 10 ngày làm việc · Cán bộ giao thông" in handled.params["text"]
    off = await telegram.reply_to(owner, "/casetopics off 5")
    assert "5. Thủ tục hành chính (không nhận)" in off.params["text"]
    for bad, said in (
        ("/casetopics handle 7 5550002001", "không phải cán bộ"),
        ("/casetopics rename 99 Tên", "Không có chủ đề số 99"),
        ("/casetopics off ٣", "Không hiểu lệnh này"),
        ("/casetopics fly 1", "Không hiểu lệnh này"),
    ):
        reply = await telegram.reply_to(owner, bad)
        assert said in reply.params["text"], bad
    # Residents now see the new topic, not the withdrawn one.
    lan = telegram.user(RESIDENT, "Lan")
    ask = await telegram.reply_to(lan, "/gopy")
    assert data_of(ask, "Đất đai – xây dựng")
    with pytest.raises(AssertionError):
        data_of(ask, "Thủ tục hành chính")
    assert await services.cases.handlers_of(7) == [2002]
    actions = [entry.action for entry in await services.audit.recent(10)]
    assert {"case_topic_added", "case_topic_handler", "case_topic_offered"} <= set(actions)


async def test_a_resident_is_refused_casetopics(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    reply = await telegram.reply_to(lan, "/casetopics add Của tôi")
    assert reply.params["text"] == "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."
    assert [t.topic_id for t in await services_of(bot).cases.topics()] == [1, 2, 3, 4, 5, 6]


async def test_an_album_of_four_photos_keeps_three(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    await to_photos(telegram, lan)
    start = telegram.mark()
    album = await telegram.send_album(lan, ("photo", "photo", "photo", "photo"))
    await settled(telegram, bot)
    draft = services_of(bot).reporting.draft(lan.id, lan.id)
    assert draft is not None
    assert draft.step == "location"
    assert draft.photos == [m["photo"][-1]["file_id"] for m in album[:3]]
    replies = [c.params["text"] for c in telegram.calls_to("sendMessage", after=start)]
    assert len(replies) == 4
    assert sum("gửi vị trí nơi xảy ra sự việc" in text for text in replies) >= 1
    assert keyboard_of(telegram, lan.id)[0][0].get("request_location") is True


async def test_a_photo_with_its_caption_is_the_description(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    ask = await telegram.reply_to(lan, "/gopy")
    await tapped(telegram, lan, ask, "Môi trường – vệ sinh")
    # A photo alone first: kept, and the description still asked for.
    early = await said(telegram, lan, telegram.send_kind(lan, "photo"))
    assert "Bạn vui lòng viết vài dòng mô tả" in early.params["text"]
    # Then a photo with its caption: the caption is the description.
    photos = await said(telegram, lan, telegram.send_kind(lan, "photo", caption=DESCRIPTION))
    assert "Đã nhận ảnh 2/3" in photos.params["text"]
    assert data_of(photos, "Xong")
    draft = services_of(bot).reporting.draft(lan.id, lan.id)
    assert draft is not None
    assert (draft.step, draft.description, len(draft.photos)) == ("photos", DESCRIPTION, 2)
