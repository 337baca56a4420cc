"""Instant alerts, the channel mirror and digests: once each, on time, across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.context import BotApplication, Services
from bot.i18n import Catalog
from bot.keyboard import for_telegram
from bot.push import last_slot
from bot.reading import render_digest
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from handlers.push import DIGEST_JOB
from storage import Database
from storage.subscriptions import DigestReader, Subscription
from tests.conftest import TZ, make_settings
from tests.test_delivery import until
from tests.test_news_job import run_poll, wait_for_runs

CATEGORIES = {1: "Tin tức – Sự kiện", 2: "Thông báo", 3: "Y tế – Giáo dục"}


def local(text: str) -> datetime:
    """A moment in the commune's time zone, "2026-11-23 07:00" (a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


async def add_article(db: Database, article_id: int, category_id: int, title: str = "") -> str:
    """Store an article as the news reader would (not yet announced); returns its title."""
    title = title or f"Bài số {article_id} về {CATEGORIES[category_id]}"
    when = datetime(2026, 11, 20, tzinfo=UTC).isoformat()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO categories (category_id, name) VALUES (?, ?)",
            (category_id, CATEGORIES[category_id]),
        )
        await conn.execute(
            "INSERT INTO articles (article_id, url, title, title_key, summary, body_html,"
            " body_text, published_at, category_id, content_hash, first_seen_at, updated_at,"
            " checked_at) VALUES (?, ?, ?, ?, 'Tóm tắt', '<p>Nội dung</p>', 'Nội dung', ?, ?,"
            " 'x', ?, ?, ?)",
            (article_id, f"https://xa.example.vn/tin/{article_id}", title, title.lower(), when,
             category_id, when, when, when),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO article_categories (article_id, category_id) VALUES (?, ?)",
            (article_id, category_id),
        )
    return title


@pytest.fixture
async def services(tmp_path: Path, telegram: FakeTelegram) -> AsyncIterator[Services]:
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=300)
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        await services.start_delivery()
        for category_id, name in CATEGORIES.items():
            await services.db.write(
                "INSERT INTO categories (category_id, name) VALUES (?, ?)", (category_id, name)
            )
        yield services
    finally:
        await services.close()


async def subscribe(services: Services, at: datetime, chat_id: int, **how: object) -> None:
    await services.subscriptions.save(Subscription(chat_id, **how), now=at)  # type: ignore[arg-type]


async def settle(services: Services) -> None:
    """Wait until every job in the outbox is sent."""

    async def open_jobs() -> int:
        row = await services.db.fetchone("SELECT COUNT(*) FROM deliveries WHERE state = 'running'")
        return int(row[0]) if row else 0

    async with asyncio.timeout(60):
        while await open_jobs():
            services.delivery.wake()
            await asyncio.sleep(0.02)


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in telegram.chat_messages(chat_id)]


# -- when digests are due ------------------------------------------------------------------


def test_last_slot_daily_and_weekly() -> None:
    daily = Subscription(1, "daily", hour=7)
    weekly = Subscription(1, "weekly", hour=7, weekday=3)  # Thursday
    monday_0659 = local("2026-11-23 06:59")
    assert last_slot(daily, monday_0659, TZ) == local("2026-11-22 07:00")
    assert last_slot(daily, local("2026-11-23 07:00"), TZ) == local("2026-11-23 07:00")
    assert last_slot(weekly, monday_0659, TZ) == local("2026-11-19 07:00")
    assert last_slot(weekly, local("2026-11-26 07:00"), TZ) == local("2026-11-26 07:00")
    # 07:00 in Hà Nội is midnight UTC: the slot is the same moment whatever clock asks.
    assert last_slot(daily, datetime(2026, 11, 23, 0, 0, tzinfo=UTC), TZ) == local(
        "2026-11-23 07:00"
    )


async def test_digests_at_the_chosen_local_time(telegram: FakeTelegram, services: Services) -> None:
    """Daily and weekly digests at their hour, with exactly the new articles they follow."""
    all_news, notices, weekly, evening = (telegram.user(i) for i in (101, 102, 103, 104))
    sunday = local("2026-11-22 20:00")
    await subscribe(services, sunday, all_news.id, mode="daily", hour=7)
    await subscribe(services, sunday, notices.id, mode="daily", hour=7, all_categories=False,
                    category_ids=frozenset({2}))  # fmt: skip
    await subscribe(services, sunday, weekly.id, mode="weekly", hour=7, weekday=3)
    await subscribe(services, sunday, evening.id, mode="daily", hour=18)
    first = await add_article(services.db, 1, 1)
    second = await add_article(services.db, 2, 2)

    run = await services.push.digests(local("2026-11-23 06:59"))
    assert run.delivery_id is None  # nobody's hour yet
    run = await services.push.digests(local("2026-11-23 07:00"))
    assert (run.due, run.recipients, run.articles) == (2, 2, 2)
    await settle(services)
    (digest,) = texts(telegram, all_news.id)
    assert digest.startswith("📰 Bản tin Xã Bình Chánh · 23/11/2026")
    assert first in digest
    assert second in digest
    (notice_digest,) = texts(telegram, notices.id)
    assert second in notice_digest
    assert first not in notice_digest
    assert texts(telegram, weekly.id) == []
    assert texts(telegram, evening.id) == []

    # The same hour again (a second tick, a restart): nothing twice.
    again = await services.push.digests(local("2026-11-23 07:30"))
    assert again.due == 0

    third = await add_article(services.db, 3, 1)
    run = await services.push.digests(local("2026-11-23 18:00"))
    assert run.recipients == 1
    await settle(services)
    (evening_digest,) = texts(telegram, evening.id)
    assert all(title in evening_digest for title in (first, second, third))

    # Tuesday: only what is new since Monday's digest; "notices" has nothing new, gets nothing.
    run = await services.push.digests(local("2026-11-24 07:00"))
    assert (run.due, run.recipients) == (2, 1)  # evening's 18:00 is not due yet
    await settle(services)
    assert len(texts(telegram, all_news.id)) == 2
    tuesday = texts(telegram, all_news.id)[1]
    assert third in tuesday
    assert first not in tuesday
    assert len(texts(telegram, notices.id)) == 1

    # Thursday: the weekly digest brings the week's three articles in one message.
    await services.push.digests(local("2026-11-26 07:00"))
    await settle(services)
    (weekly_digest,) = texts(telegram, weekly.id)
    assert weekly_digest.startswith("📰 Bản tin tuần Xã Bình Chánh")
    assert all(title in weekly_digest for title in (first, second, third))


async def test_bot_down_over_digest_time_sends_one(
    telegram: FakeTelegram, services: Services
) -> None:
    """Down from Monday to Wednesday 09:00: one digest on return, not three."""
    lan, minh = telegram.user(201), telegram.user(202)
    await subscribe(services, local("2026-11-22 20:00"), lan.id, mode="daily", hour=7)
    await subscribe(services, local("2026-11-22 20:00"), minh.id, mode="daily", hour=7)
    titles = [await add_article(services.db, n, 1 + n % 3) for n in range(1, 6)]
    run = await services.push.digests(local("2026-11-25 09:00"))
    assert run.recipients == 2
    await services.push.digests(local("2026-11-25 10:00"))
    await settle(services)
    (digest,) = texts(telegram, lan.id)
    assert all(title in digest for title in titles)
    assert len(texts(telegram, minh.id)) == 1


async def test_digest_missed_beyond_grace_waits_for_the_next(
    telegram: FakeTelegram, services: Services
) -> None:
    """Back at 15:00, eight hours after 07:00: no late digest; the news comes the next morning."""
    lan = telegram.user(301)
    await subscribe(services, local("2026-11-22 20:00"), lan.id, mode="daily", hour=7)
    title = await add_article(services.db, 1, 1)
    skipped = await services.push.digests(local("2026-11-23 15:00"))
    assert skipped.delivery_id is None
    await services.push.digests(local("2026-11-23 18:00"))
    assert texts(telegram, lan.id) == []
    await services.push.digests(local("2026-11-24 07:00"))
    await settle(services)
    (digest,) = texts(telegram, lan.id)
    assert title in digest


async def test_new_subscriber_waits_for_their_hour(
    telegram: FakeTelegram, services: Services
) -> None:
    """Subscribing at 08:00 for 07:00 means tomorrow at 07:00, not at the next tick."""
    lan = telegram.user(401)
    await subscribe(services, local("2026-11-23 08:00"), lan.id, mode="daily", hour=7)
    await add_article(services.db, 1, 1)
    assert (await services.push.digests(local("2026-11-23 09:00"))).due == 0
    assert (await services.push.digests(local("2026-11-24 07:00"))).recipients == 1


async def test_blocked_subscriber_is_paused_and_resumes(
    telegram: FakeTelegram, services: Services
) -> None:
    """Blocked: no digest, and their news is kept; unblocked: the next digest brings it all."""
    lan = telegram.user(501)
    await subscribe(services, local("2026-11-22 20:00"), lan.id, mode="daily", hour=7)
    first = await add_article(services.db, 1, 1)
    await services.chats.set_active(lan.id, False, "blocked")
    assert (await services.push.digests(local("2026-11-23 07:00"))).due == 0
    second = await add_article(services.db, 2, 2)
    await services.chats.set_active(lan.id, True)
    await services.push.digests(local("2026-11-24 07:00"))
    await settle(services)
    (digest,) = texts(telegram, lan.id)
    assert first in digest
    assert second in digest


async def test_restart_in_the_middle_of_a_digest_run(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Stopped while 300 digests go out: after the restart each resident has exactly one."""
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=60)
    ids = list(range(10_001, 10_301))
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        await services.start_delivery()
        for user_id in ids:
            telegram.user(user_id)
            await subscribe(services, local("2026-11-22 20:00"), user_id, mode="daily", hour=7)
        title = await add_article(services.db, 1, 2)
        run = await services.push.digests(local("2026-11-23 07:00"))
        assert run.recipients == 300
        await until(lambda: len(telegram.calls_to("sendMessage")) >= 60)
    finally:
        await services.close()
    sent_before = len(telegram.calls_to("sendMessage"))
    assert sent_before < 300

    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        await services.start_delivery()
        # The digest run itself is not repeated: every bookmark moved when it was written.
        assert (await services.push.digests(local("2026-11-23 07:05"))).due == 0
        await settle(services)
    finally:
        await services.close()
    for user_id in ids:
        (digest,) = texts(telegram, user_id)
        assert title in digest


async def test_long_digest_ends_with_and_n_more() -> None:
    """More than fits in one message: the digest stays within Telegram's size and says so."""
    catalog = Catalog.load("vi")
    reader_articles = []
    from storage.subscriptions import NewArticle

    for n in range(1, 201):
        reader_articles.append(
            NewArticle(n, f"Thông báo số {n} về lịch tiếp công dân & <họp> thôn",
                       datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=n),
                       CATEGORIES[1 + n % 3], frozenset({1 + n % 3}))
        )  # fmt: skip
    rendered = for_telegram(render_digest(
        reader_articles, catalog, "vi", TZ, "tinxa_test_bot", weekly=False,
        commune="Xã Bình Chánh", today=datetime(2026, 11, 23, tzinfo=UTC),
    ))  # fmt: skip
    assert len(rendered.text) <= 4096
    shown = rendered.text.count("• ")
    assert 10 < shown < 200
    assert f"… và {200 - shown} tin khác." in rendered.text
    assert "&amp; &lt;họp&gt;" in rendered.text
    assert rendered.keyboard is not None
    assert rendered.keyboard.inline_keyboard[0][0].callback_data == "l:0:1"


async def test_digests_scheduled_on_the_hour(telegram: FakeTelegram, tmp_path: Path) -> None:
    """The JobQueue looks at digests at every whole hour, and once just after start-up."""
    application = build_application(make_settings(tmp_path, telegram))
    async with running(application):
        assert application.job_queue is not None
        (hourly,) = application.job_queue.get_jobs_by_name(DIGEST_JOB)
        assert hourly.next_t is not None
        assert (hourly.next_t.minute, hourly.next_t.second) == (0, 0)
        assert hourly.job.trigger.interval == timedelta(hours=1)
        assert application.job_queue.get_jobs_by_name(f"{DIGEST_JOB}-catch-up")


# -- instant alerts and the channel --------------------------------------------------------


async def test_alerts_and_channel_once_and_backfill_alerts_nobody(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    channel = telegram.channel(-1009999)
    lan, john, hoa, an = (telegram.user(i) for i in (601, 602, 603, 604))
    john.language_code = "en"
    settings = make_settings(tmp_path, telegram, NEWS_SITE_URL=portal.url, CHANNEL_ID="-1009999")
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        await wait_for_runs(application, 1)  # the first reading: a backfill
        now = datetime.now(UTC)
        await subscribe(services, now, lan.id, mode="instant")
        await subscribe(services, now, john.id, mode="instant", language="en")
        await subscribe(services, now, an.id, mode="daily")
        await settle(services)
        assert telegram.chat_messages(channel.id) == []  # old news alerts nobody
        assert texts(telegram, lan.id) == []

        portal.use_spares("new-article-273402")
        await run_poll(application)
        await settle(services)
        (article_id,) = [row[0] for row in await services.db.fetchall(
            "SELECT article_id FROM articles ORDER BY article_id DESC LIMIT 1")]  # fmt: skip
        article = await services.articles.get(article_id)
        assert article is not None
        other = next(c for c in await services.reading.categories() if c.name != article.category)
        await subscribe(services, now, hoa.id, mode="instant", all_categories=False,
                        category_ids=frozenset({other.category_id}))  # fmt: skip

        (alert,) = telegram.chat_messages(lan.id)
        assert alert["text"].startswith(f"🔔 Tin mới\n{article.title}")
        buttons = [b for row in alert["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0]["callback_data"].startswith(f"a:{article_id}:1")
        assert buttons[1]["url"] == article.url
        (english,) = texts(telegram, john.id)
        assert english.startswith("🔔 New article")
        (post,) = telegram.chat_messages(channel.id)
        assert post["text"].startswith("🔔 Tin mới")
        channel_buttons = [b for row in post["reply_markup"]["inline_keyboard"] for b in row]
        assert channel_buttons[0]["url"] == f"https://t.me/tinxa_test_bot?start=a{article_id}"
        assert texts(telegram, an.id) == []  # a digest subscriber waits for the digest

        # Another poll, a restart: the article is not announced again.
        await run_poll(application)
        await services.push.announce()
        await settle(services)
        assert len(telegram.chat_messages(lan.id)) == 1
        assert len(telegram.chat_messages(channel.id)) == 1
        assert texts(telegram, hoa.id) == []


async def test_alert_only_for_followed_categories(
    telegram: FakeTelegram, services: Services
) -> None:
    health, notices = telegram.user(701), telegram.user(702)
    now = datetime.now(UTC)
    await add_article(services.db, 1, 1)  # present before: not news
    await services.push.announce(backfill=True)
    await subscribe(services, now, health.id, mode="instant", all_categories=False,
                    category_ids=frozenset({3}))  # fmt: skip
    await subscribe(services, now, notices.id, mode="instant", all_categories=False,
                    category_ids=frozenset({2}))  # fmt: skip
    title = await add_article(services.db, 2, 2)
    (job,) = await services.push.announce()
    await settle(services)
    assert texts(telegram, health.id) == []
    (alert,) = texts(telegram, notices.id)
    assert title in alert
    assert await DigestReader(services.db).unannounced() == []
    assert await services.push.announce() == []
    progress = await services.outbox.progress(job)
    assert progress is not None
    assert (progress.kind, progress.sent) == ("alert", 1)


async def test_senddigest_for_staff_only(telegram: FakeTelegram, bot: BotApplication) -> None:
    services = bot.bot_data.services
    owner, resident = telegram.user(1001), telegram.user(801)
    await subscribe(services, local("2026-11-22 20:00"), resident.id, mode="weekly", weekday=6)
    refused = await telegram.reply_to(resident, "/senddigest")
    assert "cán bộ" in refused.params["text"]
    nothing = await telegram.reply_to(owner, "/senddigest")
    assert nothing.params["text"].startswith("Không có tin mới nào cho 1 người nhận bản tin")
    title = await add_article(services.db, 1, 1)
    done = await telegram.reply_to(owner, "/senddigest")
    assert done.params["text"].startswith("Đã gửi bản tin cho 1 người nhận (1 tin mới)")
    await settle(services)
    _refusal, digest = texts(telegram, resident.id)
    assert title in digest


async def test_sendpoll_sends_the_poll_to_every_subscriber_once(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    """The current poll reaches subscribers through the outbox; a tap there is a vote."""
    services = bot.bot_data.services
    owner, lan, john, stranger = (telegram.user(i) for i in (1001, 901, 902, 903))
    now = datetime.now(UTC)
    await subscribe(services, now, lan.id, mode="daily")
    await subscribe(services, now, john.id, mode="instant", language="en")
    refused = await telegram.reply_to(stranger, "/sendpoll")
    assert "cán bộ" in refused.params["text"]
    done = await telegram.reply_to(owner, "/sendpoll")
    assert done.params["text"] == "Đang gửi cuộc thăm dò tới 2 người đăng ký nhận tin."
    await settle(services)
    (poll_message,) = telegram.chat_messages(lan.id)
    assert "Bạn cảm thấy website của chúng tôi như thế nào?" in poll_message["text"]
    (english,) = telegram.chat_messages(john.id)
    assert english["reply_markup"]["inline_keyboard"][-1][0]["text"].endswith("See results")
    assert poll_message["reply_markup"]["inline_keyboard"][-1][0]["text"].endswith("Xem kết quả")
    assert telegram.chat_messages(stranger.id)[-1]["text"] == refused.params["text"]
    again = await telegram.reply_to(owner, "/sendpoll")
    assert again.params["text"].startswith("Cuộc thăm dò này đã được gửi")

    vote = poll_message["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    await telegram.tap(lan, poll_message["message_id"], vote)
    poll = await services.polls.current()
    assert poll is not None
    results = await services.polls.results(poll.poll_id, lan.id)
    assert results is not None
    assert results.choice == poll.options[1].option_id


async def test_group_that_became_a_supergroup_keeps_its_subscription(
    telegram: FakeTelegram, services: Services
) -> None:
    """The alert follows the group to its new id, and so does its subscription."""
    group = telegram.group(-4001, admins=[1001])
    await add_article(services.db, 1, 1)
    await services.push.announce(backfill=True)
    await subscribe(services, datetime.now(UTC), group.id, mode="instant", all_categories=False,
                    category_ids=frozenset({2}))  # fmt: skip
    supergroup = telegram.migrate(group.id, -1004001)
    title = await add_article(services.db, 2, 2)
    await services.push.announce()
    await settle(services)
    (alert,) = texts(telegram, supergroup.id)
    assert title in alert
    assert await services.subscriptions.get(group.id) is None
    moved = await services.subscriptions.get(supergroup.id)
    assert moved is not None
    assert moved.category_ids == frozenset({2})


async def test_owners_are_told_once_when_the_channel_cannot_be_posted_to(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """The bot is not (any more) an admin of the channel: owners hear it once, with what to do;
    once it is made an admin again, new articles are posted there again."""
    owner = telegram.user(1001)
    settings = make_settings(tmp_path, telegram, CHANNEL_ID="-1005555")
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        await services.db.write("INSERT INTO categories (category_id, name) VALUES (1, 'Tin')")
        await add_article(services.db, 1, 1)
        await services.push.announce()
        await settle(services)
        (warning,) = texts(telegram, owner.id)
        assert warning.startswith("⚠️ Bot không đăng được tin lên kênh của xã.")
        assert "Xin thêm bot làm quản trị viên của kênh" in warning
        await add_article(services.db, 2, 1)
        await services.push.announce()
        await settle(services)
        assert len(texts(telegram, owner.id)) == 1  # told once
        assert telegram.calls_to("sendMessage", chat_id=-1005555)[-1].status == 400

        channel = telegram.channel(-1005555)
        await telegram.make_bot_admin(channel, by=owner)
        async with asyncio.timeout(30):
            while not await services.chats.is_active(channel.id):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        third = await add_article(services.db, 3, 1)
        await services.push.announce()
        await settle(services)
        (post,) = telegram.chat_messages(channel.id)
        assert third in post["text"]


async def test_alert_reaches_a_channel_given_by_its_username(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """CHANNEL_ID=@name: the bot looks the channel up once and posts there by its number."""
    channel = telegram.channel(-1006666, username="TinXaBinhChanh")
    settings = make_settings(tmp_path, telegram, CHANNEL_ID="@tinxabinhchanh")
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        assert services.channel == channel.id
        title = await add_article(services.db, 1, 1)
        await services.push.announce()
        await settle(services)
        (post,) = telegram.chat_messages(channel.id)
        assert title in post["text"]
        assert telegram.calls_to("getChat")[0].params["chat_id"] == "@tinxabinhchanh"


async def test_channel_username_not_found_is_told_then_found_when_the_bot_is_added(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A channel the bot cannot see yet: one warning and the owners told; found once added."""
    owner = telegram.user(1001)
    settings = make_settings(tmp_path, telegram, CHANNEL_ID="@tinxa_kenh")
    application = build_application(settings)
    async with running(application):
        services = application.bot_data.services
        assert services.channel is None
        (warning,) = texts(telegram, owner.id)
        assert "@tinxa_kenh" in warning
        assert [r for r in caplog.records if "CHANNEL_ID @tinxa_kenh" in r.getMessage()]
        await add_article(services.db, 1, 1)
        await services.push.announce()  # no channel yet: the article goes nowhere, no error
        await settle(services)

        channel = telegram.channel(-1004444, username="tinxa_kenh")
        await telegram.make_bot_admin(channel, by=owner)
        await until(lambda: services.channel == channel.id)
        title = await add_article(services.db, 2, 1)
        await services.push.announce()
        await settle(services)
        (post,) = telegram.chat_messages(channel.id)
        assert title in post["text"]
