"""Staff announcements through the stand-in: write, preview, address, confirm, follow, report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.callbacks import OpenArticle
from bot.context import BotApplication, Services
from bot.standins.telegram import MESSAGE_KINDS, FakeTelegram, User
from bot.standins.tghtml import parse_html
from handlers.broadcast import BroadcastAction, parse_time
from storage import Database, bundled_migrations
from storage.subscriptions import Subscription
from tests.conftest import TZ, make_settings, settled
from tests.test_delivery import until
from tests.test_push import add_article
from tests.test_reading import press

OWNER = 1001
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")


@pytest.fixture
async def app(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotApplication]:
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=100, CHANNEL_ID="-100777")
    telegram.channel(-100777)
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        for category_id in (1, 3):  # "Tin tức – Sự kiện" and "Y tế – Giáo dục"
            await add_article(services.db, category_id, category_id)
        await services.push.announce(backfill=True)
        yield application


async def subscribers(
    telegram: FakeTelegram, services: Services, ids: range, **how: Any
) -> list[User]:
    users = []
    for user_id in ids:
        users.append(telegram.user(user_id))
        await services.subscriptions.save(Subscription(user_id, how.pop("mode", "daily"), **how))
    return users


def panel(telegram: FakeTelegram, after: int) -> dict[str, Any]:
    """The last message the bot sent the owner with buttons (the dialog's panel)."""
    calls = [c for c in telegram.calls_to("sendMessage", after, chat_id=OWNER) if c.ok]
    return next(c.result for c in reversed(calls) if c.result.get("reply_markup"))


def button(message: dict[str, Any], starts: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for key in row:
            if key["text"].startswith(starts):
                return str(key["callback_data"])
    raise AssertionError(f"no button {starts!r} in {message['reply_markup']}")


def current(telegram: FakeTelegram, message: dict[str, Any]) -> dict[str, Any]:
    """The message as it is now (after edits)."""
    return telegram.message(OWNER, message["message_id"])


async def final_report(telegram: FakeTelegram, message: dict[str, Any]) -> str:
    await until(lambda: "Đã gửi xong" in current(telegram, message)["text"]
                or "Đã dừng gửi" in current(telegram, message)["text"], timeout=30)  # fmt: skip
    return str(current(telegram, message)["text"])


async def write(
    telegram: FakeTelegram, owner: User, send: Any, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """/broadcast, then the content; returns the audience panel."""
    await telegram.reply_to(owner, "/broadcast")
    mark = telegram.mark()
    await send(owner, *args, **kwargs)
    await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    await until(lambda: any(c.ok and c.result.get("reply_markup") for c in
                            telegram.calls_to("sendMessage", mark, chat_id=OWNER)))  # fmt: skip
    return panel(telegram, mark)


async def test_text_announcement_reaches_subscribers_formatted(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER, "Chị Hoa")
    residents = await subscribers(telegram, services, range(2001, 2004))
    gone = (await subscribers(telegram, services, range(2004, 2005)))[0]
    await services.chats.set_active(gone.id, False, "blocked")

    asked = await telegram.reply_to(owner, "/broadcast")
    assert "Soạn thông báo" in asked.params["text"]
    text = "Thông báo cắt nước\nTừ 7h đến 11h ngày 28/11 & <khu> A. Xem thêm"
    entities = [
        {"type": "bold", "offset": 0, "length": 18},
        {
            "type": "text_link",
            "offset": text.index("Xem thêm"),
            "length": 8,
            "url": "https://xa.example.vn/tb",
        },
    ]
    mark = telegram.mark()
    await telegram.send(owner, text, entities=entities)
    preview = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    expected_html = (
        "<b>Thông báo cắt nước</b>\nTừ 7h đến 11h ngày 28/11 &amp; &lt;khu&gt; A. "
        '<a href="https://xa.example.vn/tb">Xem thêm</a>'
    )
    assert preview.params["text"] == expected_html
    await until(lambda: len(telegram.calls_to("sendMessage", mark, chat_id=OWNER)) >= 2)
    audience = panel(telegram, mark)
    assert "Số người nhận: 3" in audience["text"]  # the blocked resident is not counted
    assert "tất cả người đăng ký" in audience["text"]

    go = button(audience, "✅ Gửi ngay (3)")
    await telegram.press(owner, audience, go)
    report = await final_report(telegram, audience)
    assert "Người nhận: 3" in report
    assert "Đã nhận: 3" in report
    for resident in residents:
        (got,) = telegram.chat_messages(resident.id)
        assert telegram.html_of(resident.id, got["message_id"]) == expected_html
    assert telegram.chat_messages(gone.id) == []
    assert telegram.chat_messages(-100777) == []  # the channel was not chosen

    # Kept as news: residents who come later find it under "Thông báo".
    categories = {c.name: c.count for c in await services.reading.categories()}
    assert categories["Thông báo"] == 1
    latest = await telegram.reply_to(telegram.user(2999), "/latest")
    assert "Thông báo cắt nước" in str(latest.params)
    # A second tap on "Gửi ngay" sends nothing more.
    await telegram.press(owner, audience, go)
    await settled(telegram, app)
    assert len(await services.outbox.recent()) == 1  # no second job: nothing more will go
    assert all(len(telegram.chat_messages(r.id)) == 1 for r in residents)


async def follow_round(app: BotApplication) -> None:
    """Run one round of the job that follows broadcasts (and releases those due), now."""
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name("broadcast-progress")
    await job.run(app)


async def test_photo_and_document_announcements(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (lan,) = await subscribers(telegram, services, range(2101, 2102))
    caption = "Lịch tiêm chủng tháng 12"
    audience = await write(
        telegram, owner, telegram.send_media, "photo", PNG, caption,
        [{"type": "italic", "offset": 0, "length": len("Lịch tiêm")}],
    )  # fmt: skip
    preview = telegram.calls_to("sendPhoto", chat_id=OWNER)[-1]
    assert preview.params["caption"] == "<i>Lịch tiêm</i> chủng tháng 12"
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    (photo,) = telegram.chat_messages(lan.id)
    assert photo["caption"] == caption
    assert photo["photo"][0]["file_id"] == preview.params["photo"]

    audience = await write(telegram, owner, telegram.send_media, "document", b"%PDF-1.4", "Mẫu đơn")
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    _photo, document = telegram.chat_messages(lan.id)
    assert document["caption"] == "Mẫu đơn"
    assert "document" in document


async def test_audience_by_category_and_channel(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (everything,) = await subscribers(telegram, services, range(2201, 2202))
    (health,) = await subscribers(telegram, services, range(2202, 2203), all_categories=False,
                                  category_ids=frozenset({3}))  # fmt: skip
    (news,) = await subscribers(telegram, services, range(2203, 2204), all_categories=False,
                                category_ids=frozenset({1}))  # fmt: skip
    audience = await write(telegram, owner, telegram.send, "Tiêm phòng dại cho chó mèo")
    assert "Số người nhận: 3" in audience["text"]
    await telegram.press(owner, audience, button(audience, "▫️ Y tế"))
    await until(lambda: "Số người nhận: 2" in current(telegram, audience)["text"])
    assert "người theo dõi: Y tế – Giáo dục" in current(telegram, audience)["text"]
    await telegram.press(owner, audience, button(current(telegram, audience), "📡"))
    await until(lambda: "Số người nhận: 3" in current(telegram, audience)["text"])
    assert "và kênh của xã" in current(telegram, audience)["text"]
    await telegram.press(owner, audience, button(current(telegram, audience), "✅ Gửi ngay (3)"))
    await final_report(telegram, audience)
    assert len(telegram.chat_messages(everything.id)) == 1
    assert len(telegram.chat_messages(health.id)) == 1
    assert telegram.chat_messages(news.id) == []
    assert len(telegram.chat_messages(-100777)) == 1


async def test_cancel_at_each_step(telegram: FakeTelegram, app: BotApplication) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (lan,) = await subscribers(telegram, services, range(2301, 2302))
    # While writing: the button.
    asked = await telegram.reply_to(owner, "/broadcast")
    await telegram.press(owner, asked.result, button(asked.result, "❌ Hủy"))
    await until(lambda: "Đã hủy" in current(telegram, asked.result)["text"])
    searched = await telegram.reply_to(owner, "nước sạch")  # no draft: plain text is a search
    assert "Đã hủy" not in searched.params["text"]
    # While writing: /cancel.
    await telegram.reply_to(owner, "/broadcast")
    cancelled = await telegram.reply_to(owner, "/cancel")
    assert cancelled.params["text"].startswith("Đã hủy thông báo")
    # At the audience.
    audience = await write(telegram, owner, telegram.send, "Họp dân")
    await telegram.press(owner, audience, button(audience, "❌ Hủy"))
    await until(lambda: "Đã hủy" in current(telegram, audience)["text"])
    # At the audience: /cancel too.
    await write(telegram, owner, telegram.send, "Họp dân lần một")
    cancelled = await telegram.reply_to(owner, "/cancel")
    assert cancelled.params["text"].startswith("Đã hủy thông báo")
    searched = await telegram.reply_to(owner, "nước sạch")  # the draft is gone: a search
    assert "Đã hủy" not in searched.params["text"]
    # At the time.
    audience = await write(telegram, owner, telegram.send, "Họp dân lần hai")
    await telegram.press(owner, audience, button(audience, "⏰"))
    await until(lambda: "Gửi lúc nào" in current(telegram, audience)["text"])
    await telegram.press(owner, audience, button(current(telegram, audience), "❌ Hủy"))
    await until(lambda: "Đã hủy" in current(telegram, audience)["text"])
    await settled(telegram, app)
    assert telegram.chat_messages(lan.id) == []
    assert await services.outbox.recent() == []


async def test_scheduled_announcement_is_queued(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    """Queued for a time; who gets it is decided when it goes out."""
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    lan, minh = await subscribers(telegram, services, range(2401, 2403))
    audience = await write(telegram, owner, telegram.send, "Ngày mai ra quân dọn vệ sinh")
    await telegram.press(owner, audience, button(audience, "⏰"))
    await until(lambda: "Gửi lúc nào" in current(telegram, audience)["text"])
    unclear = await telegram.reply_to(owner, "sáng sớm")
    assert unclear.params["text"].startswith("Tôi chưa hiểu giờ này")
    mark = telegram.mark()
    await telegram.send(owner, "06:30 mai")
    queued = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    tomorrow = (datetime.now(TZ) + timedelta(days=1)).strftime("%d/%m/%Y")
    assert queued.result["text"].startswith(
        f"⏰ Đã hẹn giờ gửi lúc 06:30 {tomorrow}\nNgười nhận (tính đến lúc này): 2."
    )
    listed = await telegram.reply_to(owner, "/broadcasts")
    assert f"hẹn gửi lúc 06:30 {tomorrow} cho 2 người" in listed.params["text"]
    await settled(telegram, app)
    await follow_round(app)
    assert await services.outbox.recent() == []  # nothing written to send yet
    assert "Thông báo" not in {c.name for c in await services.reading.categories()}

    # Overnight, Minh stops his subscription and An subscribes.
    await services.subscriptions.delete(minh.id)
    (an,) = await subscribers(telegram, services, range(2403, 2404))
    # The time comes (the test moves it to now rather than wait till morning).
    await services.db.write(
        "UPDATE broadcasts SET start_at = ? WHERE state = 'queued'",
        (datetime.now(UTC).timestamp(),),
    )
    report = await final_report(telegram, queued.result)
    assert "Người nhận: 2" in report
    assert "Đã nhận: 2" in report
    assert len(telegram.chat_messages(lan.id)) == 1
    assert len(telegram.chat_messages(an.id)) == 1
    assert telegram.chat_messages(minh.id) == []
    assert "Thông báo" in {c.name for c in await services.reading.categories()}


async def test_scheduled_announcement_can_be_called_off(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (lan,) = await subscribers(telegram, services, range(2451, 2452))
    audience = await write(telegram, owner, telegram.send, "Họp tổ dân phố")
    await telegram.press(owner, audience, button(audience, "⏰"))
    await until(lambda: "Gửi lúc nào" in current(telegram, audience)["text"])
    queued = await telegram.reply_to(owner, "18:00 mai")
    await telegram.press(owner, queued.result, button(queued.result, "⏹ Dừng gửi"))
    await until(lambda: "Dừng hẳn" in str(current(telegram, queued.result)["reply_markup"]))
    await telegram.press(
        owner, queued.result, button(current(telegram, queued.result), "⏹ Dừng hẳn")
    )
    await until(lambda: "Đã hủy" in current(telegram, queued.result)["text"])
    await services.db.write("UPDATE broadcasts SET start_at = 0")
    await follow_round(app)  # the job that releases announcements when due
    assert telegram.chat_messages(lan.id) == []
    assert await services.outbox.recent() == []


async def no_row_in_flight(services: Services) -> None:
    """Wait until no outbox row is being sent (each marked "sending" has its outcome)."""
    async with asyncio.timeout(30):
        while True:
            row = await services.db.fetchone("SELECT COUNT(*) FROM outbox WHERE state = 'sending'")
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.02)


async def test_pause_resume_stop_and_report_adds_up(telegram: FakeTelegram, tmp_path: Path) -> None:
    # Slow enough that the stop always lands before the last message, however busy the
    # machine: after the resume, 20 more go out, then about 150 are left, 30 s at 5 a second.
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=5)
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        owner = telegram.user(OWNER)
        await subscribers(telegram, services, range(3001, 3201))
        for blocked in range(3001, 3011):
            telegram.block(blocked)
        audience = await write(telegram, owner, telegram.send, "Bão số 5 sắp đổ bộ")
        await telegram.press(owner, audience, button(audience, "✅ Gửi ngay (200)"))
        await until(lambda: "Đang gửi" in current(telegram, audience)["text"])
        await until(lambda: "Còn khoảng" in current(telegram, audience)["text"])
        await telegram.press(owner, audience, button(current(telegram, audience), "⏸"))
        await until(lambda: "Đã tạm dừng" in current(telegram, audience)["text"])
        await no_row_in_flight(services)  # what left before the pause has been answered
        held = len(telegram.calls_to("sendMessage"))
        # Paused, nothing more goes out: a second in which the engine, at 5 a second, would
        # have sent about five (an interval to watch, not a state to wait for).
        await asyncio.sleep(1.0)
        assert len(telegram.calls_to("sendMessage")) - held <= 1  # the progress edit aside
        await telegram.press(owner, audience, button(current(telegram, audience), "▶"))
        await until(lambda: "Đang gửi" in current(telegram, audience)["text"])
        await until(lambda: len(telegram.calls_to("sendMessage")) > held + 20)
        await telegram.press(owner, audience, button(current(telegram, audience), "⏹ Dừng gửi"))
        await until(lambda: "Dừng hẳn" in str(current(telegram, audience)["reply_markup"]))
        await telegram.press(owner, audience, button(current(telegram, audience), "⏹ Dừng hẳn"))
        report = await final_report(telegram, audience)
        numbers = {
            line.split(":")[0].strip("• "): int(line.split(":")[1].split("(")[0].replace(".", ""))
            for line in report.splitlines()[1:]
        }
        total = numbers.pop("Người nhận")
        assert total == 200
        assert sum(numbers.values()) == total
        assert numbers["Chưa gửi vì đã dừng"] > 0
        assert "đã chặn bot" in report
        edits = telegram.calls_to(
            "editMessageText", chat_id=OWNER, message_id=audience["message_id"]
        )
        assert len(edits) < 40  # a few seconds apart, not one per message


async def test_broadcasts_lists_and_residents_are_refused(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    resident = telegram.user(2501)
    for command in ("/broadcast", "/broadcasts"):
        refused = await telegram.reply_to(resident, command)
        assert refused.params["text"] == "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."
    empty = await telegram.reply_to(owner, "/broadcasts")
    assert "Chưa có thông báo nào" in empty.params["text"]
    await subscribers(telegram, services, range(2502, 2504))
    audience = await write(telegram, owner, telegram.send, "Lịch trực Tết")
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    listed = await telegram.reply_to(owner, "/broadcasts")
    assert "Lịch trực Tết — đã nhận 2/2, đã chặn 0, lỗi 0" in listed.params["text"]
    # A resident cannot press a staff panel's buttons, forged or not.
    forged = BroadcastAction(1, "go").pack()
    mark = telegram.mark()
    await telegram.press(resident, audience, forged)
    refusal = await telegram.wait_for("editMessageText", after=mark)
    assert "cán bộ" in refusal.params["text"]
    entries = await services.audit.recent(5, action="refused")
    assert [e.detail["command"] for e in entries[:3]] == ["broadcast", "broadcasts", "broadcast"]
    assert all(e.actor != str(resident.id) for e in entries)
    # The owner's audit shows who sent which announcement to whom.
    audit = await telegram.reply_to(owner, "/audit")
    assert "gửi thông báo số" in audit.params["text"]
    assert "tất cả người đăng ký" in audit.params["text"]


def test_parse_time() -> None:
    now = datetime(2026, 11, 26, 14, 0, tzinfo=TZ)  # a Thursday afternoon
    assert parse_time("18:00", now, TZ) == datetime(2026, 11, 26, 18, 0, tzinfo=TZ)
    assert parse_time("06:30", now, TZ) == datetime(2026, 11, 27, 6, 30, tzinfo=TZ)
    assert parse_time("6h30 mai", now, TZ) == datetime(2026, 11, 27, 6, 30, tzinfo=TZ)
    assert parse_time("18:00 ngày mai", now, TZ) == datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
    assert parse_time("7 giờ 28/11", now, TZ) == datetime(2026, 11, 28, 7, 0, tzinfo=TZ)
    assert parse_time("07:00 5/1", now, TZ) == datetime(2027, 1, 5, 7, 0, tzinfo=TZ)
    assert parse_time("08:15 1/12/2026", now, TZ) == datetime(2026, 12, 1, 8, 15, tzinfo=TZ)
    assert parse_time("sáng mai", now, TZ) is None
    assert parse_time("25:00", now, TZ) is None
    assert parse_time("07:00 31/2", now, TZ) is None


async def read_all_pages(telegram: FakeTelegram, reader: User, article_id: int) -> list[str]:
    """Open an article as a resident and turn every page of its full text; their plain text."""
    listing = await telegram.reply_to(reader, "/latest")
    message_id = listing.result["message_id"]
    short = await press(telegram, reader, message_id, OpenArticle(article_id, 0, 0).pack())
    assert short.ok
    first = await press(telegram, reader, message_id, OpenArticle(article_id, 1, 0).pack())
    assert first.ok, first.response
    text = first.params["text"]
    total = int(text.split("trang 1/")[1].split("<")[0]) if "trang 1/" in text else 1
    seen = [parse_html(text)[0]]
    for number in range(2, total + 1):
        page = await press(telegram, reader, message_id, OpenArticle(article_id, number, 0).pack())
        assert page.ok, page.response  # no "can't parse entities"
        seen.append(parse_html(page.params["text"])[0])
    return seen


async def test_announcement_kept_whole_as_news_every_page_readable(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    """Kept as news: the whole text (the phone number at the end of a one-paragraph
    announcement), a title cut between words, and pages Telegram accepts even when the whole
    announcement sits inside one quote with bold across lines."""
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    await subscribers(telegram, services, range(2601, 2602))
    reader = telegram.user(2699)

    text = (
        "Thông báo về việc tổ chức tiêm phòng dại cho chó mèo trên địa bàn toàn xã vào sáng thứ"
        " Bảy ngày 28/11 tại nhà văn hóa các thôn, đề nghị bà con đưa vật nuôi đến đúng giờ."
        " Mọi thắc mắc xin liên hệ anh Minh, cán bộ thú y xã: 0235 3123 456"
    )
    audience = await write(telegram, owner, telegram.send, text)
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    key = f"broadcast:{BroadcastAction.unpack(button(audience, '✅ Gửi ngay')).broadcast_id}"
    article_id = (await services.articles.known([key]))[key]
    article = await services.articles.get(article_id)
    assert article is not None
    assert len(article.title) <= 150
    assert article.title.endswith("…")
    assert text.startswith(article.title[:-1])
    assert text[len(article.title) - 1] == " "  # cut between two words
    assert article.body_text == text
    (page,) = await read_all_pages(telegram, reader, article_id)
    assert "0235 3123 456" in page

    lines = [
        f"{n}. Hộ ông bà thôn {n} & <tổ> {n}: nộp hồ sơ tại UBND xã trước 17h" for n in range(60)
    ]
    long_text = "\n".join(lines)
    assert 3000 < len(long_text) < 4096
    bold_from = long_text.index("10. ")
    entities = [
        {"type": "blockquote", "offset": 0, "length": len(long_text)},
        {"type": "bold", "offset": bold_from, "length": long_text.index("45. ") - bold_from},
        {
            "type": "text_link",
            "offset": long_text.index("UBND", long_text.index("50. ")),
            "length": 4,
            "url": "https://xa.example.vn/a?b=1&c=2",
        },
    ]
    audience = await write(telegram, owner, telegram.send, long_text, entities=entities)
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    key = f"broadcast:{BroadcastAction.unpack(button(audience, '✅ Gửi ngay')).broadcast_id}"
    article_id = (await services.articles.known([key]))[key]
    pages = await read_all_pages(telegram, reader, article_id)
    assert len(pages) >= 2
    joined = "\n".join(pages)
    positions = [joined.find(line) for line in lines]
    assert -1 not in positions
    assert positions == sorted(positions)


def said(telegram: FakeTelegram, after: int, words: str) -> list[dict[str, Any]]:
    """The bot's messages to the owner since `after` that contain `words`."""
    return [
        c.result
        for c in telegram.calls_to("sendMessage", after, chat_id=OWNER)
        if c.ok and words in c.result.get("text", "")
    ]


async def test_what_cannot_be_announced_is_answered_as_such(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    """A sticker, a video, a voice note, a location, a contact, a dice, a poll... each gets the
    reply that it cannot be announced; the draft still takes a text afterwards."""
    owner = telegram.user(OWNER)
    await telegram.reply_to(owner, "/broadcast")
    for kind in MESSAGE_KINDS:
        if kind in ("photo", "document"):
            continue
        mark = telegram.mark()
        await telegram.send_kind(owner, kind, "Chú thích" if kind in ("video", "audio") else "")
        reply = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
        assert "không gửi làm thông báo được" in reply.params["text"], kind
        assert "reply_markup" not in reply.params  # no preview, no panel
    assert [
        c.method for c in telegram.calls if c.chat_id == OWNER and c.method != "sendMessage"
    ] == []
    mark = telegram.mark()
    await telegram.send(owner, "Họp dân lúc 19h")
    preview = await telegram.wait_for("sendMessage", after=mark, chat_id=OWNER)
    assert preview.params["text"] == "Họp dân lúc 19h"


async def test_an_album_is_refused_once(telegram: FakeTelegram, app: BotApplication) -> None:
    """An album (one message per item) gets one reply, not one per photo, and no preview."""
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (lan,) = await subscribers(telegram, services, range(2701, 2702))
    await telegram.reply_to(owner, "/broadcast")
    mark = telegram.mark()
    await telegram.send_album(owner, ("photo", "photo", "video", "photo"), "Ảnh buổi họp")
    audience = await write_after(telegram, owner, "Họp dân lúc 19h")
    assert len(said(telegram, mark, "không gửi được cả album")) == 1
    assert telegram.calls_to("sendPhoto", mark) == []
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    assert [m.get("text") for m in telegram.chat_messages(lan.id)] == ["Họp dân lúc 19h"]


async def write_after(telegram: FakeTelegram, owner: User, text: str) -> dict[str, Any]:
    """Send the announcement's text to a draft already begun; returns the audience panel."""
    mark = telegram.mark()
    await telegram.send(owner, text)
    await until(lambda: any(c.ok and c.result.get("reply_markup") for c in
                            telegram.calls_to("sendMessage", mark, chat_id=OWNER)))  # fmt: skip
    return panel(telegram, mark)


async def test_messages_sent_quickly_make_one_draft_in_order(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    """/broadcast and the announcement sent at once, then a second message (or an album)
    before the preview came: one preview, of the first, above the panel that sends it; the
    rest are answered that an announcement is one message."""
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    (lan,) = await subscribers(telegram, services, range(2801, 2802))
    for second in ("text", "album"):
        mark = telegram.mark()
        await telegram.send(owner, "/broadcast")
        await telegram.send(owner, f"Bản thứ nhất ({second})")
        if second == "text":
            await telegram.send(owner, "Bản thứ hai")
        else:
            await telegram.send_album(owner, ("photo", "photo", "photo"))
        await telegram.wait_for(
            "sendMessage", after=mark, chat_id=OWNER, where=lambda c: "một tin nhắn" in
            str(c.params.get("text")),
        )  # fmt: skip
        # A search after the panel: once answered, everything sent before it was handled.
        await telegram.reply_to(owner, "nước sạch")
        texts = [
            c.params.get("text", "") for c in telegram.calls_to("sendMessage", mark, chat_id=OWNER)
        ]
        assert texts[0].startswith("📢 <b>Soạn thông báo</b>")
        assert texts[1] == f"Bản thứ nhất ({second})"  # the preview
        assert texts[2].startswith("👆 Đó là thông báo người dân sẽ nhận.")
        assert len(said(telegram, mark, "Thông báo chỉ gồm một tin nhắn")) == 1
        assert "Bản thứ hai" not in texts
        assert telegram.calls_to("sendPhoto", mark) == []
        audience = panel(telegram, mark)
        await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
        await final_report(telegram, audience)
    assert [m.get("text") for m in telegram.chat_messages(lan.id)] == [
        "Bản thứ nhất (text)",
        "Bản thứ nhất (album)",
    ]


async def test_announcements_headed_alike_are_kept_apart(
    telegram: FakeTelegram, app: BotApplication
) -> None:
    """Two announcements with the same first line are two articles, each with its own text."""
    services = app.bot_data.services
    owner = telegram.user(OWNER)
    await subscribers(telegram, services, range(2901, 2902))
    ids = []
    for village in ("Thôn Mỹ Trà", "Thôn Phước Hà"):
        audience = await write(
            telegram, owner, telegram.send, f"Thông báo cắt điện\n{village}: từ 7h đến 11h mai"
        )
        await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
        await final_report(telegram, audience)
        key = f"broadcast:{BroadcastAction.unpack(button(audience, '✅ Gửi ngay')).broadcast_id}"
        ids.append((await services.articles.known([key]))[key])
    assert ids[0] != ids[1]
    bodies = [(await services.articles.get(article_id)) for article_id in ids]
    assert [b.body_text.splitlines()[1] for b in bodies if b is not None] == [
        "Thôn Mỹ Trà: từ 7h đến 11h mai",
        "Thôn Phước Hà: từ 7h đến 11h mai",
    ]
    assert {c.name: c.count for c in await services.reading.categories()}["Thông báo"] == 2


async def test_a_half_written_broadcast_survives_a_restart(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """The draft is a dialog kept in the database: after a restart the audience chosen, the
    step and the claim on the chat's order are all still there."""
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=100)
    owner = telegram.user(OWNER)
    async with running(build_application(settings)) as first:
        services = first.bot_data.services
        for category_id in (1, 3):
            await add_article(services.db, category_id, category_id)
        await services.push.announce(backfill=True)
        (everyone,) = await subscribers(telegram, services, range(3001, 3002))
        (health,) = await subscribers(telegram, services, range(3002, 3003), all_categories=False,
                                      category_ids=frozenset({3}))  # fmt: skip
        (news,) = await subscribers(telegram, services, range(3003, 3004), all_categories=False,
                                    category_ids=frozenset({1}))  # fmt: skip
        audience = await write(telegram, owner, telegram.send, "Tiêm phòng cho trẻ em")
        assert "Số người nhận: 3" in audience["text"]
        await telegram.press(owner, audience, button(audience, "▫️ Y tế"))
        await until(lambda: "Số người nhận: 2" in current(telegram, audience)["text"])
        await telegram.press(owner, audience, button(current(telegram, audience), "⏰"))
        await until(lambda: "Gửi lúc nào" in current(telegram, audience)["text"])
    # Restarted: the next message is the draft's time, and the category chosen still holds.
    async with running(build_application(settings)) as second:
        services = second.bot_data.services
        queued = await telegram.reply_to(owner, "18:00 mai")
        assert queued.result["text"].startswith("⏰ Đã hẹn giờ gửi lúc 18:00")
        assert "Người nhận (tính đến lúc này): 2" in queued.result["text"]
        (broadcast,) = await services.broadcasts.recent()
        assert (broadcast.state, broadcast.categories) == ("queued", frozenset({3}))
        assert await services.db.fetchone("SELECT 1 FROM dialogs WHERE kind = 'broadcast'") is None
        # A new draft, left at its first step.
        await telegram.reply_to(owner, "/broadcast")
    async with running(build_application(settings)) as third:
        # The chat is still claimed: two messages sent at once are taken one after the other,
        # so the second is answered that an announcement is one message, not previewed too.
        mark = telegram.mark()
        await telegram.send(owner, "Bản thứ nhất")
        await telegram.send(owner, "Bản thứ hai")
        await telegram.wait_for(
            "sendMessage", after=mark, chat_id=OWNER,
            where=lambda c: "một tin nhắn" in str(c.params.get("text")),
        )  # fmt: skip
        await settled(telegram, third)
        texts = [c.params.get("text", "") for c in telegram.calls_to("sendMessage", mark,
                                                                      chat_id=OWNER)]  # fmt: skip
        assert texts[0] == "Bản thứ nhất"  # the preview
        assert texts[1].startswith("👆 Đó là thông báo người dân sẽ nhận.")
        assert "Bản thứ hai" not in texts
        audience = panel(telegram, mark)
        await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
        await final_report(telegram, audience)
    assert [m.get("text") for m in telegram.chat_messages(everyone.id)] == ["Bản thứ nhất"]
    assert [m.get("text") for m in telegram.chat_messages(health.id)] == ["Bản thứ nhất"]
    assert [m.get("text") for m in telegram.chat_messages(news.id)] == ["Bản thứ nhất"]


async def test_a_draft_open_during_the_upgrade_goes_on(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Migration 0023 carries a draft written before drafts were dialogs into `dialogs`."""
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=100)
    before = [m for m in bundled_migrations() if m.version < 23]
    async with await Database.open(settings.DATABASE_PATH, before) as db:
        await add_article(db, 3, 3)
        await db.write(
            "INSERT INTO broadcasts (created_by, chat_id, state, kind, body, text_html,"
            " categories, panel_message_id, created_at, updated_at) VALUES"
            " (?, ?, 'timing', 'text', ?, 'Họp dân', '3', 77, ?, ?)",
            (OWNER, OWNER, '{"method": "send_message", "params": {"text": "Họp dân"}}',
             datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat()),
        )  # fmt: skip
    owner = telegram.user(OWNER)
    async with running(build_application(settings)) as app:
        services = app.bot_data.services
        draft = services.broadcast_drafts.draft(OWNER, OWNER)
        assert draft is not None
        assert (draft.step, draft.categories, draft.panel) == ("timing", frozenset({3}), 77)
        queued = await telegram.reply_to(owner, "18:00 mai")
        assert queued.result["text"].startswith("⏰ Đã hẹn giờ gửi lúc 18:00")
        (broadcast,) = await services.broadcasts.recent()
        assert (broadcast.state, broadcast.categories) == ("queued", frozenset({3}))
