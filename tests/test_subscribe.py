"""Subscriptions: the /subscribe dialog, /settings, /unsubscribe, groups, statistics, the store."""

from __future__ import annotations

import csv
import io
import sqlite3
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_application, running
from bot.callbacks import StopSubscription, SubscribeStep
from bot.config import Settings
from bot.context import BotApplication
from bot.i18n import Catalog
from bot.news.fetch import Fetcher
from bot.news.reader import NewsReader, Source
from bot.standins.telegram import ApiCall, Chat, FakeTelegram, User
from bot.standins.tghtml import parse_html
from bot.standins.website import FakePortal
from handlers.stats import ForgetAnswer, weekly_events
from storage import Database, Subscription, SubscriptionStore
from storage.subscriptions import DayEvents, Saved
from tests.conftest import SOURCES, TZ

STALE = "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
ADMINS_ONLY = (
    "Xin lỗi, chỉ quản trị viên của nhóm mới được đăng ký, thay đổi hoặc dừng nhận tin cho nhóm."
)
ALL_NEWS = "📰 Tất cả tin của xã"
PICK = "📂 Chọn chuyên mục"
DONE = "👉 Xong"
INSTANT = "🔔 Báo ngay khi có tin mới"
DAILY = "📅 Mỗi ngày một bản tin"
WEEKLY = "🗓 Mỗi tuần một bản tin"
CANCEL = "✖️ Hủy"
FOOTER = "Muốn thay đổi, bạn gõ /settings. Muốn dừng nhận tin, bạn gõ /unsubscribe."


@pytest.fixture
async def filled(settings: Settings, portal: FakePortal) -> Settings:
    """Settings whose database the news reader has filled from the stand-in website."""
    async with (
        await Database.open(settings.DATABASE_PATH) as db,
        httpx.AsyncClient(timeout=5) as client,
    ):
        await NewsReader(
            db, Fetcher(client), [Source(portal.url_for(p)) for p in SOURCES], TZ
        ).run()
    return settings


@pytest.fixture
async def sub_bot(filled: Settings) -> AsyncIterator[BotApplication]:
    """The bot over the filled database, started as in production."""
    async with running(build_application(filled)) as application:
        yield application


def store(bot: BotApplication) -> SubscriptionStore:
    return bot.bot_data.services.subscriptions


def keyboard(markup: dict[str, Any] | None) -> list[list[str]]:
    """The labels of an inline keyboard, row by row."""
    return [[b["text"] for b in row] for row in (markup or {}).get("inline_keyboard", [])]


def shown(call: ApiCall) -> list[list[str]]:
    """The buttons a sent or edited message carries."""
    return keyboard(call.params.get("reply_markup"))


async def said(telegram: FakeTelegram, user: User, text: str, chat: Chat | None = None) -> ApiCall:
    """`user` writes `text` (in their private chat, or `chat`); the bot's answer there."""
    chat_id = chat.id if chat is not None else user.id
    mark = telegram.mark()
    await telegram.send(user, text, chat)
    return await telegram.wait_for("sendMessage", after=mark, chat_id=chat_id)


async def press(
    telegram: FakeTelegram, user: User, chat_id: int, message_id: int, data: str
) -> ApiCall:
    """`user` taps a button carrying `data` under a message; the bot's answer to the tap."""
    mark = telegram.mark()
    query_id = await telegram.press(user, telegram.message(chat_id, message_id), data)
    return await telegram.wait_for("answerCallbackQuery", after=mark, callback_query_id=query_id)


def data_of(telegram: FakeTelegram, chat_id: int, message_id: int, label: str) -> str:
    """The callback data of the button labelled `label` under the message as it is now."""
    markup = telegram.message(chat_id, message_id).get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {keyboard(markup)}")


async def choose(
    telegram: FakeTelegram, user: User, message: ApiCall, label: str, chat: Chat | None = None
) -> ApiCall:
    """Tap the button `label` under the bot's message and return the edit it caused."""
    chat_id = chat.id if chat is not None else user.id
    message_id = message.result["message_id"]
    mark = telegram.mark()
    data = data_of(telegram, chat_id, message_id, label)
    assert data.startswith("sb")
    assert len(data.encode()) <= 64
    answer = await press(telegram, user, chat_id, message_id, data)
    assert answer.ok
    assert "text" not in answer.params  # nothing to say: the message shows it
    return await telegram.wait_for(
        "editMessageText", after=mark, chat_id=chat_id, message_id=message_id
    )


# -- residents --------------------------------------------------------------------------------


async def test_subscribe_to_all_news_daily_at_the_default_hour(
    telegram: FakeTelegram, sub_bot: BotApplication
) -> None:
    lan = telegram.user(701, "Lan")
    dialog = await said(telegram, lan, "/subscribe")
    assert dialog.params["text"] == "🔔 <b>Đăng ký nhận tin</b>\nBước 1/2: Bạn muốn nhận tin gì?"
    assert shown(dialog) == [[ALL_NEWS], [PICK], [CANCEL]]

    how = await choose(telegram, lan, dialog, ALL_NEWS)
    assert "📰 Tin nhận: tất cả tin tức, thông báo của xã" in how.params["text"]
    assert "Bước 2/2: Bạn muốn nhận tin thế nào?" in how.params["text"]
    assert shown(how) == [[INSTANT], [DAILY], [WEEKLY], [CANCEL]]

    hours = await choose(telegram, lan, dialog, DAILY)
    assert "Bạn muốn nhận bản tin lúc mấy giờ?" in hours.params["text"]
    # 07:00 is offered first of all: ticked as the default.
    assert shown(hours) == [["06:00", "✅ 07:00", "12:00"], ["18:00", "20:00"], [CANCEL]]

    done = await choose(telegram, lan, dialog, "✅ 07:00")
    assert done.params["text"] == (
        "✅ <b>Đã đăng ký nhận tin!</b>\n"
        "📰 Tin nhận: tất cả tin tức, thông báo của xã\n"
        "⏰ Thời gian: mỗi ngày một bản tin, lúc 07:00\n\n" + FOOTER
    )
    assert shown(done) == []
    assert await store(sub_bot).get(lan.id) == Subscription(
        chat_id=lan.id, mode="daily", hour=7, weekday=0, all_categories=True, language="vi"
    )
    # The dialog and its taps are logged by kind, never with the Telegram id.
    services = sub_bot.bot_data.services
    await services.stats.flush()
    kinds = [row[0] for row in await services.db.fetchall("SELECT kind FROM interactions")]
    assert kinds.count("cmd:subscribe") == 1
    assert kinds.count("subscription") == 3


async def test_two_categories_weekly_on_a_chosen_day_across_a_restart(
    telegram: FakeTelegram, filled: Settings
) -> None:
    lan = telegram.user(702, "Lan")
    async with running(build_application(filled)) as bot:
        dialog = await said(telegram, lan, "/subscribe")
        chooser = await choose(telegram, lan, dialog, PICK)
        assert "Đã chọn: <b>0</b> chuyên mục" in chooser.params["text"]
        # The portal's categories from the database, fullest first, then "Done" and "Cancel".
        assert shown(chooser) == [
            ["Thông báo"],
            ["Y tế – Giáo dục"],
            ["Tin tức – Sự kiện"],
            ["Kinh tế – Đời sống"],
            ["Phổ biến pháp luật"],
            [DONE, CANCEL],
        ]
        # "Done" with nothing chosen is refused with a word of explanation.
        mark = telegram.mark()
        message_id = dialog.result["message_id"]
        refused = await press(
            telegram, lan, lan.id, message_id, data_of(telegram, lan.id, message_id, DONE)
        )
        assert refused.params["text"] == (
            "Bạn vui lòng chọn ít nhất một chuyên mục, rồi bấm “Xong”."
        )
        assert refused.params["show_alert"] is True
        assert not telegram.calls_to("editMessageText", after=mark)

        await choose(telegram, lan, dialog, "Thông báo")
        await choose(telegram, lan, dialog, "Kinh tế – Đời sống")
        unticked = await choose(telegram, lan, dialog, "✅ Kinh tế – Đời sống")
        assert [row[0] for row in shown(unticked)[:2]] == ["✅ Thông báo", "Y tế – Giáo dục"]
        assert "Kinh tế – Đời sống" in shown(unticked)[3]
        assert "Đã chọn: <b>1</b> chuyên mục" in unticked.params["text"]
        assert await store(bot).get(lan.id) is None  # nothing is saved before the last tap

    # The bot restarts in the middle of the dialog: the choice so far is in the buttons.
    async with running(build_application(filled)) as bot:
        ticked = await choose(telegram, lan, dialog, "Y tế – Giáo dục")
        assert [row[0] for row in shown(ticked)[:2]] == ["✅ Thông báo", "✅ Y tế – Giáo dục"]
        assert "Đã chọn: <b>2</b> chuyên mục" in ticked.params["text"]
        how = await choose(telegram, lan, dialog, DONE)
        assert "📰 Tin nhận: tin các chuyên mục Thông báo, Y tế – Giáo dục" in how.params["text"]
        days = await choose(telegram, lan, dialog, WEEKLY)
        assert "Bot gửi lúc 07:00 sáng." in days.params["text"]
        assert shown(days) == [
            ["Thứ Hai", "Thứ Ba"],
            ["Thứ Tư", "Thứ Năm"],
            ["Thứ Sáu", "Thứ Bảy"],
            ["Chủ nhật"],
            [CANCEL],
        ]
        done = await choose(telegram, lan, dialog, "Thứ Năm")
        assert done.params["text"] == (
            "✅ <b>Đã đăng ký nhận tin!</b>\n"
            "📰 Tin nhận: tin các chuyên mục Thông báo, Y tế – Giáo dục\n"
            "⏰ Thời gian: mỗi tuần một bản tin, vào Thứ Năm lúc 07:00\n\n" + FOOTER
        )
        subscription = await store(bot).get(lan.id)
        ids = {c.name: c.category_id for c in await bot.bot_data.services.reading.categories()}
        assert subscription == Subscription(
            chat_id=lan.id,
            mode="weekly",
            hour=7,
            weekday=3,
            all_categories=False,
            category_ids=frozenset({ids["Thông báo"], ids["Y tế – Giáo dục"]}),
            language="vi",
        )


async def test_instant_alerts_in_english(telegram: FakeTelegram, sub_bot: BotApplication) -> None:
    john = telegram.user(703, "John", language_code="en")
    dialog = await said(telegram, john, "/subscribe")
    assert "Which news would you like?" in dialog.params["text"]
    await choose(telegram, john, dialog, "📰 All the commune's news")
    done = await choose(telegram, john, dialog, "🔔 At once, for each new article")
    assert done.params["text"] == (
        "✅ <b>You are subscribed!</b>\n"
        "📰 News: all the commune's news and announcements\n"
        "⏰ When: at once, whenever the commune publishes news\n\n"
        "To change this, send /settings. To stop, send /unsubscribe."
    )
    subscription = await store(sub_bot).get(john.id)
    assert subscription is not None
    assert (subscription.mode, subscription.all_categories, subscription.language) == (
        "instant",
        True,
        "en",
    )


async def test_cancel_saves_nothing(telegram: FakeTelegram, sub_bot: BotApplication) -> None:
    lan = telegram.user(704, "Lan")
    dialog = await said(telegram, lan, "/subscribe")
    await choose(telegram, lan, dialog, ALL_NEWS)
    cancelled = await choose(telegram, lan, dialog, CANCEL)
    assert cancelled.params["text"] == "Đã hủy. Không có gì thay đổi."
    assert shown(cancelled) == []
    assert await store(sub_bot).get(lan.id) is None


async def test_change_through_settings(telegram: FakeTelegram, sub_bot: BotApplication) -> None:
    lan = telegram.user(705, "Lan")
    none = await said(telegram, lan, "/settings")
    assert none.params["text"].startswith("Bạn chưa đăng ký nhận tin của xã.")
    assert shown(none) == [["🔔 Đăng ký nhận tin"]]
    # The button under "not subscribed" starts the dialog in place.
    dialog = await choose(telegram, lan, none, "🔔 Đăng ký nhận tin")
    assert "Bạn muốn nhận tin gì?" in dialog.params["text"]
    await choose(telegram, lan, none, ALL_NEWS)
    await choose(telegram, lan, none, DAILY)
    await choose(telegram, lan, none, "18:00")

    settings = await said(telegram, lan, "/settings")
    assert settings.params["text"] == (
        "⚙️ <b>Bạn đang nhận tin của xã</b>\n"
        "📰 Tin nhận: tất cả tin tức, thông báo của xã\n"
        "⏰ Thời gian: mỗi ngày một bản tin, lúc 18:00\n\n"
        "Muốn thay đổi hoặc dừng nhận tin, bạn bấm nút bên dưới."
    )
    assert shown(settings) == [["✏️ Thay đổi", "🔕 Dừng nhận tin"]]
    # /subscribe when subscribed shows the same rather than starting over.
    again = await said(telegram, lan, "/subscribe")
    assert again.params["text"] == settings.params["text"]

    await choose(telegram, lan, settings, "✏️ Thay đổi")
    await choose(telegram, lan, settings, ALL_NEWS)
    hours = await choose(telegram, lan, settings, DAILY)
    assert shown(hours)[1] == ["✅ 18:00", "20:00"]  # the current hour is ticked
    changed = await choose(telegram, lan, settings, "20:00")
    assert changed.params["text"].startswith("✅ <b>Đã lưu thay đổi.</b>\n")
    assert "lúc 20:00" in changed.params["text"]
    subscription = await store(sub_bot).get(lan.id)
    assert subscription is not None
    assert (subscription.mode, subscription.hour) == ("daily", 20)

    today = datetime.now(TZ).date()
    (day,) = await store(sub_bot).events(today, today)
    assert (day.subscribed, day.changed, day.unsubscribed) == (1, 1, 0)


async def test_unsubscribe(telegram: FakeTelegram, sub_bot: BotApplication) -> None:
    lan = telegram.user(706, "Lan")
    nothing = await said(telegram, lan, "/unsubscribe")
    assert nothing.params["text"] == (
        "Bạn chưa đăng ký nhận tin nên không có gì để dừng.\nMuốn đăng ký, bạn gõ /subscribe."
    )
    assert shown(nothing) == []

    await store(sub_bot).save(Subscription(lan.id, "instant"))
    ask = await said(telegram, lan, "/unsubscribe")
    assert ask.params["text"] == "🔕 Bạn muốn dừng nhận tin của xã?"
    assert shown(ask) == [["🔕 Dừng nhận tin"], ["Không, vẫn nhận tin"]]
    kept = await choose(telegram, lan, ask, "Không, vẫn nhận tin")
    assert kept.params["text"] == "Không có gì thay đổi: vẫn nhận tin như cũ."
    assert await store(sub_bot).get(lan.id) is not None

    ask = await said(telegram, lan, "/unsubscribe")
    stopped = await choose(telegram, lan, ask, "🔕 Dừng nhận tin")
    assert stopped.params["text"] == (
        "✅ Đã dừng. Bot sẽ không gửi tin cho bạn nữa.\nMuốn nhận lại, bạn gõ /subscribe."
    )
    assert await store(sub_bot).get(lan.id) is None
    # The same tap again (a double tap, or an old message): nothing left to stop.
    mark = telegram.mark()
    again = await press(
        telegram, lan, lan.id, ask.result["message_id"], StopSubscription("yes").pack()
    )
    assert again.ok
    edit = await telegram.wait_for("editMessageText", after=mark)
    assert edit.params["text"].startswith("Bạn chưa đăng ký nhận tin nên không có gì để dừng.")
    today = datetime.now(TZ).date()
    (day,) = await store(sub_bot).events(today, today)
    assert (day.subscribed, day.unsubscribed) == (1, 1)


async def test_stop_from_settings_asks_first(
    telegram: FakeTelegram, sub_bot: BotApplication
) -> None:
    lan = telegram.user(707, "Lan")
    await store(sub_bot).save(Subscription(lan.id, "weekly", weekday=6))
    settings = await said(telegram, lan, "/settings")
    assert "mỗi tuần một bản tin, vào Chủ nhật lúc 07:00" in settings.params["text"]
    ask = await choose(telegram, lan, settings, "🔕 Dừng nhận tin")
    assert ask.params["text"] == "🔕 Bạn muốn dừng nhận tin của xã?"
    assert await store(sub_bot).get(lan.id) is not None
    await choose(telegram, lan, settings, "🔕 Dừng nhận tin")
    assert await store(sub_bot).get(lan.id) is None


# -- groups -----------------------------------------------------------------------------------


async def test_a_group_admin_subscribes_the_group_and_others_are_refused(
    telegram: FakeTelegram, sub_bot: BotApplication
) -> None:
    admin = telegram.user(801, "Anh Tư", language_code="en")
    member = telegram.user(802, "Chị Ba")
    group = telegram.group(-100700, "Thôn Mỹ Trà", admins={admin.id})

    refused = await said(telegram, member, "/subscribe", group)
    assert refused.params["text"] == ADMINS_ONLY
    assert await store(sub_bot).get(group.id) is None

    dialog = await said(telegram, admin, "/subscribe", group)
    assert "Which news would you like?" in dialog.params["text"]
    # A member tapping the administrator's dialog is told why nothing happens.
    mark = telegram.mark()
    message_id = dialog.result["message_id"]
    data = data_of(telegram, group.id, message_id, "📰 All the commune's news")
    answer = await press(telegram, member, group.id, message_id, data)
    assert answer.params["text"] == ADMINS_ONLY
    assert answer.params["show_alert"] is True
    assert not telegram.calls_to("editMessageText", after=mark)

    await choose(telegram, admin, dialog, "📰 All the commune's news", group)
    await choose(telegram, admin, dialog, "📅 A digest every day", group)
    done = await choose(telegram, admin, dialog, "12:00", group)
    assert "a digest every day at 12:00" in done.params["text"]
    # The subscription is the group's, in the language of the administrator who set it.
    assert await store(sub_bot).get(group.id) == Subscription(
        group.id, "daily", hour=12, language="en"
    )
    assert await store(sub_bot).get(admin.id) is None

    # Anyone may look; only administrators may change or stop.
    settings = await said(telegram, member, "/settings", group)
    assert settings.params["text"].startswith("⚙️ <b>Nhóm này đang nhận tin của xã</b>")
    assert "mỗi ngày một bản tin, lúc 12:00" in settings.params["text"]
    mark = telegram.mark()
    message_id = settings.result["message_id"]
    stop = data_of(telegram, group.id, message_id, "🔕 Dừng nhận tin")
    assert (await press(telegram, member, group.id, message_id, stop)).params["text"] == (
        ADMINS_ONLY
    )
    assert not telegram.calls_to("editMessageText", after=mark)
    refused = await said(telegram, member, "/unsubscribe", group)
    assert refused.params["text"] == ADMINS_ONLY
    assert await store(sub_bot).get(group.id) is not None
    assert telegram.calls_to("getChatMember", user_id=member.id)

    ask = await said(telegram, admin, "/unsubscribe", group)
    assert ask.params["text"] == "🔕 Stop sending the commune's news to this group?"
    stopped = await choose(telegram, admin, ask, "🔕 Stop the news", group)
    assert stopped.params["text"].startswith(
        "✅ Stopped. The bot will not send the news to this group any more."
    )
    assert await store(sub_bot).get(group.id) is None


# -- stale and forged buttons -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "sb:toggle:0::999",  # no such category id in a button
        "sb:instant:0::0",  # nothing chosen
        "sb:how:1:4:0",  # all news and a category at once
        "sb:hour:0:1:7",  # bit 0 is no category
        "sb:hour:1::24",  # no such hour
        "sb:day:1::7",  # no such day
        "sb:pick:0:zz:0",
        "sb:what",
        "sb:what:0::0:1",
        "sb:nope:0::0",
        "sbx:maybe",
        "sbq:1",
        "sb:toggle:0::77",  # a well-formed id the database does not have
        "sb:day:0:400000:1",  # chosen: category 22, which does not exist
    ],
)
async def test_stale_or_forged_sb_buttons_get_the_polite_answer(
    telegram: FakeTelegram, sub_bot: BotApplication, data: str
) -> None:
    lan = telegram.user(708, "Lan")
    dialog = await said(telegram, lan, "/subscribe")
    mark = telegram.mark()
    answer = await press(telegram, lan, lan.id, dialog.result["message_id"], data)
    assert answer.params["text"] == STALE
    assert answer.params["show_alert"] is True
    assert not telegram.calls_to("editMessageText", after=mark)
    assert await store(sub_bot).get(lan.id) is None


def test_every_subscription_text_is_telegram_html() -> None:
    catalog = Catalog.load()
    locales = Path(__file__).parent.parent / "bot" / "locales"
    keys = tomllib.loads((locales / "vi.toml").read_text("utf-8"))["subscribe"]
    values = {"what": "<b>&", "when": "a < b", "names": "Tin & Bài", "time": "07:00"}
    for lang in catalog.languages:
        for key in keys:
            if isinstance(keys[key], list):  # a list of texts (the days of the week)
                for item in catalog.items(f"subscribe.{key}", lang):
                    parse_html(item)
                continue
            text = catalog.text(f"subscribe.{key}", lang, day="<i>", count=2, **values)
            parse_html(text)  # raises if Telegram would refuse it
        assert len(catalog.items("subscribe.weekdays", lang)) == 7
        for key in ("admins_only", "need_category"):
            assert len(catalog.text(f"subscribe.{key}", lang)) <= 200  # a tap's answer


def test_button_state_round_trips_within_64_bytes() -> None:
    every_id = range(1, 160)
    step = SubscribeStep("toggle", cats=SubscribeStep.mask(every_id), value=159)
    assert len(step.pack().encode()) <= 64
    assert SubscribeStep.unpack(step.pack()).chosen == frozenset(every_id)
    assert SubscribeStep.mask([]) == ""


# -- statistics and privacy -------------------------------------------------------------------


async def test_stats_and_staffstats_show_subscriptions(
    telegram: FakeTelegram, sub_bot: BotApplication
) -> None:
    lan, binh, owner = telegram.user(709, "Lan"), telegram.user(710, "Bình"), telegram.user(1001)
    group = telegram.group(-100701, admins={owner.id})
    ids = {c.name: c.category_id for c in await sub_bot.bot_data.services.reading.categories()}
    dialog = await said(telegram, lan, "/subscribe")
    await choose(telegram, lan, dialog, PICK)
    await choose(telegram, lan, dialog, "Thông báo")
    await choose(telegram, lan, dialog, DONE)
    await choose(telegram, lan, dialog, INSTANT)
    await store(sub_bot).save(
        Subscription(binh.id, "weekly", all_categories=False, category_ids=frozenset(ids.values()))
    )
    await store(sub_bot).save(Subscription(group.id, "daily"))
    await store(sub_bot).save(Subscription(owner.id, "daily"))
    assert await store(sub_bot).delete(owner.id)

    counter = await said(telegram, binh, "/stats")
    assert "Đang nhận tin qua bot: <b>3</b> (người và nhóm)" in counter.params["text"]

    mark = telegram.mark()
    staff = await said(telegram, owner, "/staffstats")
    text = staff.params["text"]
    assert "<b>Đăng ký nhận tin</b>: <b>3</b>" in text
    assert "Báo ngay: 1 · Hằng ngày: 1 · Hằng tuần: 1" in text
    assert "Nhận tất cả tin: 1" in text
    assert "• Chuyên mục Thông báo: 2" in text
    assert "• Chuyên mục Y tế – Giáo dục: 1" in text
    weeks = [line for line in text.splitlines() if line.startswith("• Tuần từ ")]
    assert len(weeks) == 8
    assert weeks[-1].endswith(": 4 đăng ký mới, 0 thay đổi, 1 dừng")
    assert all(w.endswith(": 0 đăng ký mới, 0 thay đổi, 0 dừng") for w in weeks[:-1])
    document = await telegram.wait_for("sendDocument", after=mark)
    rows = list(csv.reader(io.StringIO(next(iter(document.files.values())).decode("utf-8-sig"))))
    assert rows[0][3:] == ["Đăng ký mới", "Thay đổi đăng ký", "Dừng nhận tin"]
    assert rows[-1][3:] == ["4", "0", "1"]
    assert all(row[3:] == ["0", "0", "0"] for row in rows[1:-1])


async def test_forget_stops_the_residents_subscription_but_not_their_groups(
    telegram: FakeTelegram, sub_bot: BotApplication
) -> None:
    lan = telegram.user(711, "Lan")
    group = telegram.group(-100702, admins={lan.id})
    await store(sub_bot).save(Subscription(lan.id, "instant"))
    await store(sub_bot).save(Subscription(group.id, "instant"))
    ask = await said(telegram, lan, "/forget")
    assert "việc đăng ký nhận tin của bạn" in ask.params["text"]
    mark = telegram.mark()
    assert (
        await press(telegram, lan, lan.id, ask.result["message_id"], ForgetAnswer(True).pack())
    ).ok
    done = await telegram.wait_for("editMessageText", after=mark)
    assert "• Đăng ký nhận tin: đã hủy\n" in done.params["text"]
    assert await store(sub_bot).get(lan.id) is None
    assert await store(sub_bot).get(group.id) is not None

    ask = await said(telegram, lan, "/forget")
    mark = telegram.mark()
    await press(telegram, lan, lan.id, ask.result["message_id"], ForgetAnswer(True).pack())
    done = await telegram.wait_for("editMessageText", after=mark)
    assert "• Đăng ký nhận tin: không có\n" in done.params["text"]


# -- the store --------------------------------------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "subscriptions.sqlite3") as database:
        for name in ("Thông báo", "Y tế – Giáo dục", "Kinh tế – Đời sống"):
            await database.write("INSERT INTO categories (name) VALUES (?)", (name,))
        yield database


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_store_saves_replaces_and_deletes(db: Database) -> None:
    subs = SubscriptionStore(db, TZ)
    some = Subscription(5, "weekly", 7, 2, False, frozenset({1, 3}), "en")
    assert await subs.save(some, now=at("2026-03-02T01:00:00")) is Saved.NEW
    assert await subs.get(5) == some
    assert await subs.save(some, now=at("2026-03-02T02:00:00")) is Saved.SAME
    daily = Subscription(5, "daily", hour=18)
    assert await subs.save(daily, now=at("2026-03-03T02:00:00")) is Saved.CHANGED
    assert await subs.get(5) == daily
    assert not await db.fetchall("SELECT 1 FROM subscription_categories")  # replaced
    # An unknown category is refused, and the subscription stays as it was.
    with pytest.raises(sqlite3.IntegrityError):
        await subs.save(
            Subscription(5, "instant", all_categories=False, category_ids=frozenset({9}))
        )
    assert await subs.get(5) == daily
    created = await db.fetchone("SELECT created_at, updated_at FROM subscriptions")
    assert created is not None
    assert tuple(created) == ("2026-03-02T01:00:00+00:00", "2026-03-03T02:00:00+00:00")

    await subs.save(Subscription(6, "instant", all_categories=False, category_ids=frozenset({1})))
    assert await subs.delete(6, now=at("2026-03-03T20:00:00"))
    assert not await subs.delete(6)
    assert await subs.get(6) is None
    assert not await db.fetchall("SELECT 1 FROM subscription_categories WHERE chat_id = 6")


async def test_store_counts_and_events(db: Database) -> None:
    subs = SubscriptionStore(db, TZ)
    assert await subs.count() == 0
    await subs.save(Subscription(1, "instant"), now=at("2026-03-01T10:00:00"))
    # 18:00 UTC is already the next day in Vietnam.
    await subs.save(
        Subscription(2, "daily", all_categories=False, category_ids=frozenset({1, 2})),
        now=at("2026-03-01T18:00:00"),
    )
    await subs.save(
        Subscription(3, "weekly", all_categories=False, category_ids=frozenset({2})),
        now=at("2026-03-02T03:00:00"),
    )
    await subs.save(Subscription(3, "daily", hour=6), now=at("2026-03-02T04:00:00"))
    await subs.save(Subscription(4, "daily"), now=at("2026-03-03T04:00:00"))
    await subs.delete(4, now=at("2026-03-03T05:00:00"))

    assert await subs.count() == 3
    counts = await subs.counts()
    assert counts.total == 3
    assert counts.by_mode == {"instant": 1, "daily": 2, "weekly": 0}
    assert counts.all_categories == 2
    assert counts.by_category == [(1, "Thông báo", 1), (2, "Y tế – Giáo dục", 1)]

    events = await subs.events(date(2026, 2, 28), date(2026, 3, 4))
    assert events == [
        DayEvents(date(2026, 2, 28), 0, 0, 0),
        DayEvents(date(2026, 3, 1), 1, 0, 0),
        DayEvents(date(2026, 3, 2), 2, 1, 0),
        DayEvents(date(2026, 3, 3), 1, 0, 1),
        DayEvents(date(2026, 3, 4), 0, 0, 0),
    ]
    # Weeks start on Monday (2 March 2026); the Sunday before belongs to the week before.
    assert weekly_events(events, date(2026, 2, 23)) == [
        DayEvents(date(2026, 2, 23), 1, 0, 0),
        DayEvents(date(2026, 3, 2), 3, 1, 1),
    ]
    # The statistics know how many, never who.
    columns = {row[1] for row in await db.fetchall("PRAGMA table_info(subscription_events)")}
    assert columns == {"at", "day", "event", "mode"}


async def test_subscription_values_are_checked(db: Database) -> None:
    for bad in (
        {"mode": "hourly"},
        {"hour": 24},
        {"weekday": 7},
        {"language": "fr"},
        {"category_ids": frozenset({1})},  # with all_categories
        {"all_categories": False},  # and no category
    ):
        values: dict[str, Any] = {"chat_id": 1, "mode": "daily", **bad}
        with pytest.raises(ValueError, match=r"."):
            Subscription(**values)
    # The table refuses the same, whoever writes to it.
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(
            "INSERT INTO subscriptions (chat_id, mode, hour, created_at, updated_at)"
            " VALUES (1, 'daily', 24, '', '')"
        )


async def test_the_dialog_is_held_on_the_bots_side_across_a_restart(
    telegram: FakeTelegram, filled: Settings
) -> None:
    """Where a /subscribe dialog stands and the choices it offers are kept per (chat, person) in
    the database: a front end without buttons can number the choices and map a reply back."""
    lan = telegram.user(712, "Lan")

    def callbacks(message: ApiCall) -> list[str]:
        markup = telegram.message(lan.id, message.result["message_id"]).get("reply_markup")
        return [str(b["callback_data"]) for row in markup["inline_keyboard"] for b in row]

    async with running(build_application(filled)) as bot:
        subscribing = bot.bot_data.services.subscribing
        assert subscribing.where(lan.id, lan.id) is None
        dialog = await said(telegram, lan, "/subscribe")
        where = subscribing.where(lan.id, lan.id)
        assert where is not None
        assert where.at == SubscribeStep("what")
        assert [choice.pack() for choice in where.choices] == callbacks(dialog)
        await choose(telegram, lan, dialog, PICK)
        await choose(telegram, lan, dialog, "Thông báo")
        ids = {c.name: c.category_id for c in await bot.bot_data.services.reading.categories()}
        where = subscribing.where(lan.id, lan.id)
        assert where is not None
        assert where.at.step == "pick"
        assert where.at.chosen == {ids["Thông báo"]}
        assert [choice.pack() for choice in where.choices] == callbacks(dialog)

    async with running(build_application(filled)) as bot:
        subscribing = bot.bot_data.services.subscribing
        where = subscribing.where(lan.id, lan.id)
        assert where is not None  # the restart lost nothing
        assert where.at.chosen == {ids["Thông báo"]}
        # The second choice ("Y tế – Giáo dục") taken by its number, as a reply "2" would.
        second = subscribing.choice(lan.id, lan.id, 2)
        assert second == SubscribeStep("toggle", cats=SubscribeStep.mask({ids["Thông báo"]}),
                                       value=ids["Y tế – Giáo dục"])  # fmt: skip
        assert subscribing.choice(lan.id, lan.id, 99) is None
        mark = telegram.mark()
        await press(telegram, lan, lan.id, dialog.result["message_id"], second.pack())
        await telegram.wait_for("editMessageText", after=mark, chat_id=lan.id)
        where = subscribing.where(lan.id, lan.id)
        assert where is not None
        assert where.at.chosen == {ids["Thông báo"], ids["Y tế – Giáo dục"]}
        await choose(telegram, lan, dialog, DONE)
        assert subscribing.where(lan.id, lan.id) is not None
        await choose(telegram, lan, dialog, INSTANT)
        assert subscribing.where(lan.id, lan.id) is None  # saved: the dialog is over
        assert (await store(bot).get(lan.id)) is not None
        # A cancelled dialog is over too.
        again = await said(telegram, lan, "/subscribe")
        assert subscribing.where(lan.id, lan.id) is None  # /subscribe shows the settings now
        changing = await choose(telegram, lan, again, "✏️ Thay đổi")
        where = subscribing.where(lan.id, lan.id)
        assert where is not None
        assert where.at == SubscribeStep("what")
        await choose(telegram, lan, changing, CANCEL)
        assert subscribing.where(lan.id, lan.id) is None
