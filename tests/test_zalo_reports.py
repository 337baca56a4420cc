"""Góp ý – phản ánh on Zalo, end to end: the resident writes to the commune's OA through Zalo's
signed webhook and the real conversation (the stand-in OA API), the staff work on Telegram (the
stand-in Bot API), one bot, a SQLite file per test.

A report by text with numbered choices, photos (Zalo's picture addresses, never downloaded) and
a location, to its number; the staff told with its photos and location; cancel; a restart in
the middle; the commune's answer inside the window and outside it (held for the resident's next
message); the rating by number reopening the case; /phananh; /forget.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapter import tell_reporter
from bot.app import build_application, running
from bot.callbacks import CaseAction
from bot.config import Settings
from bot.context import BotApplication, Services
from bot.services.cases import Case, Told
from bot.standins.telegram import PNG_HEADER, FakeTelegram
from bot.standins.zalo import FakeZalo
from bot.zalo.messages import ZaloEvent
from bot.zalo.reports import location_of
from tests.conftest import make_settings, settled
from tests.test_casework import open_case, press, text_of

pytestmark = pytest.mark.timeout(120)

OWNER = 1001  # ADMIN_IDS of the conftest settings: told of every new case
LAN = "8600000000000000001"
DESCRIPTION = "Ổ gà lớn trước nhà văn hóa thôn 3, xe máy dễ ngã khi trời tối."
NUMBER = re.compile(r"PA-\d{4}-\d{4}")
PHOTO_1 = "https://photo-stal.zadn.vn/2026/11/30/o-ga-1.jpg"
PHOTO_2 = "https://photo-stal.zadn.vn/2026/11/30/o-ga-2.jpg"


def zalo_settings(tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo) -> Settings:
    return make_settings(tmp_path, telegram, ZALO_WEBHOOK_LISTEN="127.0.0.1:0", **zalo.settings())


@pytest.fixture
async def app(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> AsyncIterator[BotApplication]:
    """Telegram for the staff and Zalo for the residents, in one process."""
    async with started(zalo_settings(tmp_path, telegram, zalo), zalo) as application:
        yield application


class started:
    """The bot running, Zalo's webhook pointed at it."""

    def __init__(self, settings: Settings, zalo: FakeZalo) -> None:
        self._running = running(build_application(settings))
        self._zalo = zalo

    async def __aenter__(self) -> BotApplication:
        application = await self._running.__aenter__()
        webhook = application.bot_data.services.zalo_webhook
        assert webhook is not None
        self._zalo.webhook_url = f"http://127.0.0.1:{webhook.port}/zalo/webhook"
        return application

    async def __aexit__(self, *exc_info: object) -> None:
        await self._running.__aexit__(*exc_info)  # type: ignore[arg-type]


def services_of(application: BotApplication) -> Services:
    return application.bot_data.services


async def answer_to(zalo: FakeZalo, posted: Awaitable[int], count: int = 1) -> str:
    """Post an event as the resident and wait for the OA's next `count` messages (joined)."""
    before = len(zalo.messages_to(LAN))
    assert await posted == 200
    sent = await zalo.wait_sent(LAN, before + count)
    return "\n\n".join(message.text for message in sent[before:])


def choice(text: str, label: str) -> str:
    """The number a message offers for the choice whose label contains `label`."""
    found = re.search(rf"(?m)^(\d+) — .*{re.escape(label)}", text)
    assert found, f"no choice {label!r} in:\n{text}"
    return found.group(1)


async def to_photos(zalo: FakeZalo) -> str:
    """ "góp ý", the roads topic by its number, the description: the photos' question."""
    topics = await answer_to(zalo, zalo.say(LAN, "góp ý"))
    assert "Bạn vui lòng chọn một chủ đề" in topics
    assert "Gõ số" in topics
    described = await answer_to(zalo, zalo.say(LAN, choice(topics, "Giao thông – đường sá")))
    assert "Chủ đề: Giao thông – đường sá" in described
    photos = await answer_to(zalo, zalo.say(LAN, DESCRIPTION))
    assert "tối đa 3 ảnh" in photos
    return photos


async def report(zalo: FakeZalo) -> str:
    """A whole report without photos or location, by words and numbers; its number."""
    photos = await to_photos(zalo)
    location = await answer_to(zalo, zalo.say(LAN, choice(photos, "Bỏ qua")))
    preview = await answer_to(zalo, zalo.say(LAN, choice(location, "Bỏ qua")))
    sent = await answer_to(zalo, zalo.say(LAN, choice(preview, "Gửi")))
    found = NUMBER.search(sent)
    assert found is not None, sent
    return found[0]


async def test_a_report_with_photos_and_location_from_words_to_its_number(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    telegram.user(OWNER, "Chủ tịch")
    telegram.web = {PHOTO_1: PNG_HEADER, PHOTO_2: PNG_HEADER}  # Telegram can fetch Zalo's
    zalo.enforce_window(hours=48, messages=8)
    await to_photos(zalo)
    first = await answer_to(zalo, zalo.send_image(LAN, PHOTO_1))
    assert "Đã nhận ảnh 1/3" in first
    second = await answer_to(zalo, zalo.send_image(LAN, PHOTO_2))
    assert "Đã nhận ảnh 2/3" in second
    location = await answer_to(zalo, zalo.say(LAN, choice(second, "Xong")))
    assert "chọn «Vị trí»" in location  # Zalo's own way, not Telegram's button
    preview = await answer_to(zalo, zalo.send_location(LAN, 15.5736, 108.474))
    # No phone step on Zalo: the preview says why.
    assert DESCRIPTION in preview
    assert "Ảnh: 2" in preview
    assert "Vị trí: đã gửi" in preview
    assert "Số điện thoại: không hỏi qua Zalo" in preview
    mark = telegram.mark()
    sent = await answer_to(zalo, zalo.say(LAN, choice(preview, "Gửi")))
    number = NUMBER.search(sent)
    assert number is not None, sent
    assert "/phananh" in sent
    # The staff, on Telegram: the case, the channel it came by, its photos by their Zalo
    # addresses (Telegram fetches them), its location.
    told = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    assert f"Phản ánh mới {number[0]}" in told.params["text"]
    assert "Gửi qua: Zalo" in told.params["text"]
    assert DESCRIPTION in told.params["text"]
    album = await telegram.wait_for("sendMediaGroup", after=mark, chat_id=OWNER)
    assert [item["media"] for item in album.params["media"]] == [PHOTO_1, PHOTO_2]
    assert album.ok
    place = await telegram.wait_for("sendLocation", after=mark, chat_id=OWNER)
    assert (place.params["latitude"], place.params["longitude"]) == (15.5736, 108.474)
    services = services_of(app)
    case = await services.cases.find(number[0])
    assert case is not None
    assert (case.channel, case.state, case.photos, case.location, case.phone) == (
        "zalo", "received", (PHOTO_1, PHOTO_2), (15.5736, 108.474), None,
    )  # fmt: skip
    # Its page in /cases names the channel; "Ảnh" shows the photos one by one, by address.
    owner = telegram.user(OWNER, "Chủ tịch")
    page = await open_case(telegram, app, owner, case)
    assert "Zalo" in text_of(telegram, OWNER, page)
    mark = telegram.mark()
    await press(telegram, app, owner, page, CaseAction(case.case_id, "pics").pack())
    shown = telegram.calls_to("sendPhoto", after=mark, chat_id=OWNER)
    assert [(c.ok, c.params["photo"]) for c in shown] == [(True, PHOTO_1), (True, PHOTO_2)]
    # Every message to the resident was a reply inside the window, none too long.
    assert all(len(m.text) <= 2000 for m in zalo.messages_to(LAN))
    assert not [c for c in zalo.calls if c.error]


async def test_a_photo_telegram_cannot_fetch_reaches_the_staff_as_its_link(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    telegram.user(OWNER, "Chủ tịch")
    await to_photos(zalo)
    photo = await answer_to(zalo, zalo.send_image(LAN, PHOTO_1))
    assert "Đã nhận ảnh 1/3" in photo
    location = await answer_to(zalo, zalo.say(LAN, choice(photo, "Xong")))
    preview = await answer_to(zalo, zalo.say(LAN, choice(location, "Bỏ qua")))
    mark = telegram.mark()
    await answer_to(zalo, zalo.say(LAN, choice(preview, "Gửi")))
    links = await telegram.wait_for(
        "sendMessage", after=mark, chat_id=OWNER, where=lambda c: PHOTO_1 in c.params["text"]
    )
    assert "Ảnh của phản ánh" in links.params["text"]
    refused = telegram.calls_to("sendPhoto", after=mark, chat_id=OWNER)
    assert [c.ok for c in refused] == [False]


async def test_cancel_at_any_step_by_word_or_number(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = services_of(app)
    topics = await answer_to(zalo, zalo.say(LAN, "phan anh"))  # no diacritics
    cancelled = await answer_to(zalo, zalo.say(LAN, choice(topics, "Hủy")))
    assert "Đã hủy phản ánh" in cancelled
    await to_photos(zalo)
    cancelled = await answer_to(zalo, zalo.say(LAN, "hủy"))
    assert "Đã hủy phản ánh" in cancelled
    person = await services.zalo_people.person(LAN)
    assert not services.zalo_reporting.is_reporting(person, person)
    assert await services.cases.mine("zalo", person) == []
    # "hủy" means stopping the news again once no report is being written.
    after = await answer_to(zalo, zalo.say(LAN, "hủy"))
    assert "phản ánh" not in after.lower()


async def test_a_half_written_report_survives_a_restart(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    settings = zalo_settings(tmp_path, telegram, zalo)
    telegram.user(OWNER, "Chủ tịch")
    async with started(settings, zalo):
        await to_photos(zalo)
        first = await answer_to(zalo, zalo.send_image(LAN, PHOTO_1))
        assert "Đã nhận ảnh 1/3" in first
    # A second application on the same database: the draft was there, not in the process.
    async with started(settings, zalo) as restarted:
        second = await answer_to(zalo, zalo.send_image(LAN, PHOTO_2))
        assert "Đã nhận ảnh 2/3" in second
        location = await answer_to(zalo, zalo.say(LAN, choice(second, "Xong")))
        preview = await answer_to(zalo, zalo.say(LAN, choice(location, "Bỏ qua")))
        assert DESCRIPTION in preview
        sent = await answer_to(zalo, zalo.say(LAN, choice(preview, "Gửi")))
        number = NUMBER.search(sent)
        assert number is not None
        case = await services_of(restarted).cases.find(number[0])
        assert case is not None
        assert (case.topic_id, case.description) == (1, DESCRIPTION)
        assert case.photos == (PHOTO_1, PHOTO_2)


async def staff_answer(telegram: FakeTelegram, app: BotApplication, case: Case, answer: str) -> str:
    """The owner answers the case on Telegram (/cases, the case, "Trả lời", the text, "Gửi");
    what the case's page then says."""
    owner = telegram.user(OWNER, "Chủ tịch")
    message_id = await open_case(telegram, app, owner, case)
    await press(telegram, app, owner, message_id, CaseAction(case.case_id, "ans").pack())
    preview = await telegram.reply_to(owner, answer)
    preview_id = int(preview.result["message_id"])
    await press(telegram, app, owner, preview_id, CaseAction(case.case_id, "ansok").pack())
    return text_of(telegram, OWNER, preview_id)


async def test_an_answer_inside_the_window_and_the_rating_by_number(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = services_of(app)
    zalo.enforce_window(hours=48, messages=8)
    number = await report(zalo)
    case = await services.cases.find(number)
    assert case is not None
    assert (await services.cases.assign(case.case_id, OWNER, OWNER)) is not None
    before = len(zalo.messages_to(LAN))
    said = await staff_answer(telegram, app, case, "Xã đã cho vá ổ gà <ngày 5/3>.")
    assert f"Đã gửi câu trả lời tới người phản ánh <b>{number}</b>" in said
    [notice] = (await zalo.wait_sent(LAN, before + 1))[before:]
    assert "Xã đã cho vá ổ gà <ngày 5/3>." in notice.text  # plain text, in full
    assert number in notice.text
    # Not satisfied, by its number: the case is reopened, the assignee told on Telegram.
    mark = telegram.mark()
    reopened = await answer_to(zalo, zalo.say(LAN, choice(notice.text, "Chưa hài lòng")))
    assert f"Xã đã mở lại phản ánh {number}" in reopened
    told = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    assert f"Phản ánh <b>{number}</b> được mở lại" in told.params["text"]
    thanks = await answer_to(zalo, zalo.say(LAN, "Vẫn còn một ổ gà bên cạnh"))
    assert "xã đã nhận ý kiến" in thanks
    kept = await services.cases.get(case.case_id)
    assert kept is not None
    assert (kept.state, kept.rating, kept.rating_word) == (
        "reopened", "unsatisfied", "Vẫn còn một ổ gà bên cạnh",
    )  # fmt: skip
    # /phananh on Zalo lists it with its state.
    listing = await answer_to(zalo, zalo.say(LAN, "phản ánh của tôi"))
    assert f"{number} · Giao thông – đường sá · Đang xem xét lại" in listing
    assert f"{number} · Giao thông – đường sá" in await answer_to(zalo, zalo.say(LAN, "/phananh"))


async def test_an_answer_outside_the_window_waits_for_the_residents_next_message(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = services_of(app)
    zalo.enforce_window(hours=48, messages=8)
    number = await report(zalo)
    case = await services.cases.find(number)
    assert case is not None
    # Three days later: the window the resident's last message opened has closed.
    person = await services.zalo_people.person(LAN)
    await services.zalo_people.inbound(person, datetime.now(UTC) - timedelta(days=3))
    mark, before = zalo.mark(), len(zalo.messages_to(LAN))
    said = await staff_answer(telegram, app, case, "Đã vá xong ổ gà.")
    assert "sẽ tới họ ngay khi họ nhắn lại" in said
    await settled(telegram, app)
    # Nothing was sent against Zalo's rules: not even tried.
    assert zalo.calls_to("/v3.0/oa/message/cs", after=mark) == []
    assert len(zalo.messages_to(LAN)) == before
    assert await services.case_notices.count("zalo", person) == 1
    # Their next message brings it first, then the answer to what they wrote.
    came = await answer_to(zalo, zalo.say(LAN, "chào"), count=2)
    assert came.startswith(f"💬 Ủy ban nhân dân xã trả lời phản ánh {number}")
    assert came.index("Đã vá xong ổ gà.") < came.index("Xin chào")  # then the greeting
    assert "bạn gõ «hài lòng» hoặc «chưa hài lòng»" in came
    assert await services.case_notices.count("zalo", person) == 0
    # The rating by words (the numbers belong to the news list that came last).
    rated = await answer_to(zalo, zalo.say(LAN, "hài lòng"))
    assert f"Cảm ơn bạn đã đánh giá phản ánh {number}" in rated
    closed = await services.cases.get(case.case_id)
    assert closed is not None
    assert (closed.state, closed.rating) == ("closed", "satisfied")


async def test_a_notice_held_while_the_zalo_front_is_down_is_not_lost(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    settings = zalo_settings(tmp_path, telegram, zalo)
    async with started(settings, zalo) as first:
        number = await report(zalo)
        services = services_of(first)
        case = await services.cases.find(number)
        assert case is not None
        services.zalo_front = None  # as between the webhook's stop and the database's close
        change = await services.cases.close(case.case_id, OWNER)
        assert change is not None
        assert await tell_reporter(first.bot, services, change) is Told.HELD
    async with started(settings, zalo):
        came = await answer_to(zalo, zalo.say(LAN, "chào"), count=2)
        assert f"Phản ánh {number} đã được đóng" in came


async def test_forget_on_zalo_leaves_the_case_without_its_reporter(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = services_of(app)
    number = await report(zalo)
    person = await services.zalo_people.person(LAN)
    case = await services.cases.find(number)
    assert case is not None
    await services.case_notices.hold("zalo", person, case.case_id, "assigned")
    question = await answer_to(zalo, zalo.say(LAN, "xóa thông tin"), count=2)
    assert question.startswith(f"Phản ánh {number} đã được giao")  # held: it came first
    # Another notice waits when they confirm: /forget deletes it with the rest.
    await services.case_notices.hold("zalo", person, case.case_id, "closed")
    done = await answer_to(zalo, zalo.say(LAN, "1"))  # yes, forget me
    assert "đã xóa thông tin" in done
    forgotten = await services.cases.find(number)
    assert forgotten is not None
    assert (forgotten.reporter, forgotten.chat_id, forgotten.person_id) == (None, None, None)
    assert (forgotten.channel, forgotten.description) == ("zalo", DESCRIPTION)
    assert await services.case_notices.count("zalo", person) == 0
    # The commune's answer reaches nobody, and the staff are told so.
    change = await services.cases.answer(case.case_id, OWNER, "Đã xử lý.")
    assert change is not None
    assert await tell_reporter(app.bot, services, change) is Told.NO_ONE
    # The same Zalo user, a new person now: no reports.
    listing = await answer_to(zalo, zalo.say(LAN, "/phananh"))
    assert "Bạn chưa gửi phản ánh nào" in listing


async def test_the_limits_are_said_plainly_on_zalo(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, telegram, ZALO_WEBHOOK_LISTEN="127.0.0.1:0", CASES_MAX_OPEN=1, **zalo.settings()
    )
    async with started(settings, zalo) as application:
        await report(zalo)
        refused = await answer_to(zalo, zalo.say(LAN, "gop y"))
        assert "Bạn đang có 1 phản ánh chờ xã xử lý" in refused
        assert "Gõ số" not in refused  # nothing to choose: no dialog was begun
        person = await services_of(application).zalo_people.person(LAN)
        assert not services_of(application).zalo_reporting.is_reporting(person, person)


def test_a_location_in_either_of_the_shapes_seen() -> None:
    def event(payload: dict[str, object]) -> ZaloEvent:
        attachment = {"type": "location", "payload": payload}
        return ZaloEvent("user_send_location", LAN, 0, attachments=(attachment,))

    latlong = {"coordinates": {"lat": 15.57, "long": "108.47"}}
    assert location_of(event({"coordinates": {"latitude": "15.57", "longitude": 108.47}})) == (
        15.57, 108.47,
    )  # fmt: skip
    assert location_of(event(latlong)) == (15.57, 108.47)
    assert location_of(event({"coordinates": {"latitude": "north"}})) is None
    assert location_of(event({})) is None


async def test_a_notice_never_takes_over_the_numbers_of_a_report_being_written(
    telegram: FakeTelegram, zalo: FakeZalo, app: BotApplication
) -> None:
    services = services_of(app)
    zalo.enforce_window(hours=48, messages=8)
    number = await report(zalo)
    topics = await answer_to(zalo, zalo.say(LAN, "góp ý"))  # a second report, at its topics
    case = await services.cases.find(number)
    assert case is not None
    change = await services.cases.answer(case.case_id, OWNER, "Đã vá xong.")
    assert change is not None
    before = len(zalo.messages_to(LAN))
    assert await tell_reporter(app.bot, services, change) is Told.SENT
    [notice] = zalo.messages_to(LAN)[before:]
    assert "Đã vá xong." in notice.text
    assert "gõ «hài lòng» hoặc «chưa hài lòng»" in notice.text
    assert "Gõ số" not in notice.text
    assert [b["title"] for b in notice.buttons] == ["👍 Hài lòng", "👎 Chưa hài lòng"]
    # The numbers still mean the topics the resident was choosing from.
    described = await answer_to(zalo, zalo.say(LAN, choice(topics, "Điện – nước")))
    assert "Chủ đề: Điện – nước" in described
    answered = await services.cases.get(case.case_id)
    assert answered is not None
    assert answered.state == "answered"
    # A query button's payload rates it all the same.
    tapped = await answer_to(zalo, zalo.say(LAN, str(notice.buttons[0]["payload"])))
    assert f"Cảm ơn bạn đã đánh giá phản ánh {number}" in tapped
