"""The conversation on Zalo: Conversation.handle over real services, a real database per test and
the news the stand-in website serves; alerts for Zalo subscribers kept to Zalo's window."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.callbacks import OpenArticle
from bot.config import load_settings
from bot.context import Services
from bot.i18n import Catalog
from bot.news.fetch import Fetcher
from bot.news.reader import NewsReader, Source
from bot.push import Pusher
from bot.standins.website import FakePortal
from bot.zalo.chat import CHOICES, Conversation, command_of, in_dialog
from bot.zalo.front import arrived
from bot.zalo.messages import MAX_TEXT, ZaloEvent, ZaloMessage, from_body
from bot.zalo.poll import ResidentNumbers
from storage.stats import Interaction
from storage.subscriptions import Subscription
from tests.conftest import SOURCES, TZ, article_ids

TOKEN = "123456789:AAE" + "x" * 32  # never used: no Telegram here


@pytest.fixture
async def services(tmp_path: Path, portal: FakePortal) -> AsyncIterator[Services]:
    """Real services on a fresh database, with the portal's articles read by the news reader
    (a first reading: marked announced, as the running bot does)."""
    settings = load_settings(
        env_file=None,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:9",
        DATABASE_PATH=tmp_path / "bot.sqlite3",
        ADMIN_IDS="1001",
    )
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await NewsReader(
                services.db, Fetcher(client), [Source(portal.url_for(p)) for p in SOURCES], TZ
            ).run()
        await pusher(services).announce(backfill=True)
        yield services
    finally:
        await services.close()


def pusher(services: Services) -> Pusher:
    """Alerts and digests as the running bot writes them (no delivery engine: only the rows)."""
    return Pusher(services.db, services.catalog, services.settings, "tinxa_bot", lambda: None)


class Resident:
    """Someone writing to the commune's OA; their events go to the conversation as the webhook
    hands them over."""

    def __init__(self, services: Services, person: int, user_id: str) -> None:
        self.services = services
        self.conversation = Conversation(services)
        self.person = person
        self.user_id = user_id
        self.clock = 1_764_489_600_000

    async def event(self, name: str, text: str = "") -> list[ZaloMessage]:
        self.clock += 1000
        event = ZaloEvent(name, self.user_id, self.clock, msg_id=f"m{self.clock}", text=text)
        services = self.services
        # As ZaloFront does before the conversation: the window and following, recorded.
        await arrived(
            services.zalo_people, self.person, event,
            follow_opens_window=services.settings.ZALO_FOLLOW_OPENS_WINDOW,
        )  # fmt: skip
        messages = await self.conversation.handle(self.person, event)
        for message in messages:
            assert len(message.text) <= MAX_TEXT
        return messages

    async def say(self, text: str) -> list[ZaloMessage]:
        return await self.event("user_send_text", text)

    async def say_one(self, text: str) -> str:
        (message,) = await self.say(text)
        return message.text


async def resident(services: Services, user_id: str = "3001") -> Resident:
    person = await services.zalo_people.person(user_id)
    return Resident(services, person, user_id)


def choice(text: str, label: str) -> str:
    """The number a message offers for a choice whose label contains `label`."""
    found = re.search(rf"(?m)^(\d+) — .*{re.escape(label)}", text)
    assert found, f"no choice {label!r} in:\n{text}"
    return found.group(1)


# -- following, and what a resident may type ----------------------------------------------


async def test_the_conversation_only_answers_the_front_end_keeps_the_window(
    services: Services,
) -> None:
    """ZaloFront records what an event means for the window and following (`arrived`); the
    conversation writes neither, so there is one place that does."""
    person = await services.zalo_people.person("3009")
    closed = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(person, closed)
    conversation = Conversation(services)
    said = ZaloEvent("user_send_text", "3009", 1_764_489_600_000, msg_id="m1", text="tin mới")
    (answer,) = await conversation.handle(person, said)
    assert answer.text.startswith("📰 Tin mới nhất")
    before = await services.zalo_people.get(person)
    assert before is not None
    assert before.last_inbound_at == closed  # untouched by the conversation
    await conversation.handle(person, ZaloEvent("unfollow", "3009", 1_764_489_601_000))
    still = await services.zalo_people.get(person)
    assert still is not None
    assert still.following
    window = timedelta(hours=services.settings.ZALO_WINDOW_HOURS)
    await arrived(services.zalo_people, person, said, follow_opens_window=True)
    assert await services.zalo_people.in_window(person, window, 8)
    await arrived(services.zalo_people, person, ZaloEvent("unfollow", "3009", 0),
                  follow_opens_window=True)  # fmt: skip
    gone = await services.zalo_people.get(person)
    assert gone is not None
    assert not gone.following


async def test_a_follow_is_greeted_with_the_menu(services: Services) -> None:
    lan = await resident(services)
    (greeting,) = await lan.event("follow")
    assert greeting.text.startswith("Xin chào! 👋")
    assert services.settings.COMMUNE_NAME in greeting.text
    assert "<b>" not in greeting.text  # plain text
    assert "👉 Gõ số để chọn:" in greeting.text
    assert "1 — 📰 Tin mới nhất" in greeting.text
    assert greeting.buttons[0].payload == "#l:0:1"  # a tap is the same typed action
    person = await services.zalo_people.get(lan.person)
    assert person is not None
    assert person.following
    # The menu's numbers are the resident's now.
    assert (await lan.say_one("1")).startswith("📰 Tin mới nhất · trang 1/")


@pytest.mark.parametrize(
    ("text", "command", "rest"),
    [("tin mới", "latest", ""), ("/latest", "latest", ""), ("TIN MOI", "latest", ""),
     ("tìm đường ĐH21", "search", "đường ĐH21"), ("tim duong DH21", "search", "duong DH21"),
     ("/search lịch cắt điện", "search", "lịch cắt điện"), ("bình chọn", "poll", ""),
     ("Thống kê!", "stats", ""), ("chuyen muc", "categories", ""), ("Đăng ký", "subscribe", ""),
     ("hủy", "unsubscribe", ""), ("Tìm?", "search", ""),
     ("tìm tin bão số 13", "search", "bão số 13"), ("tin mới ở đâu", None, ""),
     ("xin chào bot", None, "")],
)  # fmt: skip
def test_commands_by_slash_or_word_with_or_without_diacritics(
    text: str, command: str | None, rest: str
) -> None:
    assert command_of(text) == (None if command is None else (command, rest))


async def test_each_reading_command_by_slash_and_by_word(services: Services) -> None:
    lan = await resident(services)
    for typed in ("/latest", "latest", "tin mới", "Tin moi nhat"):
        assert (await lan.say_one(typed)).startswith("📰 Tin mới nhất · trang 1/3"), typed
    for typed in ("/categories", "chuyên mục", "chuyen muc"):
        text = await lan.say_one(typed)
        assert text.startswith("📂 Các chuyên mục"), typed
        assert "\n1 — Thông báo (4)\n" in text, text
    for typed in ("/links", "liên kết", "lien ket"):
        assert (await lan.say_one(typed)).startswith("🔗 Liên kết web"), typed
    dh21 = "mở rộng tuyến ĐH21"
    for typed in ("tìm đường ĐH21", "tim duong DH21", "/search duong dh21", "search ĐH21"):
        text = await lan.say_one(typed)
        assert text.startswith("🔎 Kết quả tìm"), typed
        assert dh21 in text.split("\n")[2], typed  # the best match first
    assert (await lan.say_one("tìm")).startswith("🔎 Tìm tin")  # no words: how to search
    assert "Không tìm thấy tin nào" in await lan.say_one("tìm khủng long")
    for typed in ("/stats", "thống kê", "thong ke"):
        assert (await lan.say_one(typed)).startswith("📈 Thống kê sử dụng bot"), typed
    for typed in ("/poll", "bình chọn", "binh chon"):
        assert services.settings.POLL_QUESTION in await lan.say_one(typed), typed
    # Every one of them went into the interaction log, on channel zalo, under the person's key.
    await services.stats.flush()
    row = await services.db.fetchone(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT user_key) AS people,"
        " SUM(kind = 'search') AS searches FROM interactions WHERE channel = 'zalo'"
    )
    assert row is not None
    assert (row["n"], row["people"], row["searches"]) == (22, 1, 5)


async def test_anything_else_gets_a_short_help(services: Services) -> None:
    lan = await resident(services)
    text = await lan.say_one("cho tôi hỏi giờ làm việc")
    assert text.startswith("Xin lỗi, bot chưa hiểu tin nhắn của bạn.")
    assert "• tin mới — tin mới nhất" in text
    assert "Số 3 không có trong danh sách" in await lan.say_one("3")  # no list seen yet
    (sticker,) = await lan.event("user_send_sticker")
    assert sticker.text.startswith("Bot chỉ đọc được tin nhắn chữ.")


async def test_a_number_means_an_item_of_the_last_list_seen(services: Services) -> None:
    lan = await resident(services)
    latest = await lan.say_one("tin mới")
    second = latest.split("\n")[3]
    assert second.startswith("2. ")
    title = second[3:].rsplit(" — ", 1)[0]
    article = await lan.say("2")
    assert article[0].text.startswith(title)
    # A newer list: the same number is now an item of that one.
    categories = await lan.say_one("chuyên mục")
    name = re.search(r"(?m)^2 — (.+) \(\d+\)$", categories)
    assert name
    assert (await lan.say_one("2")).startswith(f"📂 {name.group(1)} · trang 1/")
    # Turning the page is a choice too, and the list it brings is the new last list.
    latest = await lan.say_one("tin mới")
    page_two = await lan.say_one(choice(latest, "Trang sau"))
    assert page_two.startswith("📰 Tin mới nhất · trang 2/3")
    sixth = page_two.split("\n")[2]
    assert sixth.startswith("6. ")
    assert (await lan.say_one("6")).startswith(sixth[3:].rsplit(" — ", 1)[0])
    # A tap on a button sends its payload: the same action as typing its number.
    latest = await lan.say("tin mới")
    tapped = await lan.say(latest[0].buttons[1].payload or "")
    assert [m.text for m in tapped] == [m.text for m in article]
    # The numbers are kept in the database: a restart does not lose them.
    assert services.zalo_dialogs.get(CHOICES, lan.person, lan.person) is not None


async def test_an_article_short_form_then_its_pages_as_new_messages(services: Services) -> None:
    lan = await resident(services)
    long_id = (await article_ids(services.db, 268010))[268010]
    results = await lan.say_one("tim nong thon moi")
    number = next(
        line.split(".")[0] for line in results.split("\n") if "Kết quả xây dựng nông thôn" in line
    )
    short = await lan.say(number)
    assert len(short) == 1
    assert short[0].image_url
    assert short[0].image_url.endswith("ntm-binh-chanh.jpg")
    assert "Xem trên website: http" in short[0].text  # a link button as its address
    assert "t.me" not in short[0].text  # Telegram's share link means nothing on Zalo
    page = await lan.say(choice(short[0].text, "Đọc toàn bài"))
    text = "\n".join(message.text for message in page)
    total = int(text.split("trang 1/")[1].split("\n")[0])
    assert total >= 3
    seen = [text]
    for number in range(2, total + 1):
        page = await lan.say(choice(page[-1].text, f"Trang {number}/{total} ▶"))
        text = "\n".join(message.text for message in page)
        assert f"trang {number}/{total}" in text
        seen.append(text)
    last = choice_lines(seen[-1])  # the last page turns back only
    assert f"◀ Trang {total - 1}/{total}" in last
    assert f"/{total} ▶" not in last
    article = await services.articles.get(long_id)
    assert article is not None
    joined = "\n".join(seen)
    for paragraph in article.body_text.split("\n\n"):
        assert paragraph[:40].strip() in joined


def choice_lines(text: str) -> str:
    return text.split("👉")[-1]


# -- the poll ----------------------------------------------------------------------------


async def test_a_vote_and_a_changed_vote_count_once_with_telegrams(services: Services) -> None:
    poll = await services.polls.current()
    assert poll is not None
    await services.polls.vote(poll.poll_id, 777, poll.options[0].option_id, seq=1)  # Telegram
    lan = await resident(services)
    question = await lan.say_one("bình chọn")
    assert question.startswith("📋 Thăm dò ý kiến")
    first, second = poll.options[0].label, poll.options[1].label
    voted = await lan.say_one(choice(question, first))
    assert voted.startswith(f"Cảm ơn bạn! Đã ghi nhận: {first}")
    assert "Tổng cộng: 2 phiếu" in voted
    changed = await lan.say_one(choice(voted, second))
    assert changed.startswith(f"Đã đổi lựa chọn của bạn thành: {second}")
    assert "Tổng cộng: 2 phiếu" in changed  # one Telegram vote, one Zalo vote
    assert f"✅ {second}: 1 phiếu (50%)" in changed
    assert f"{first}: 1 phiếu (50%)" in changed
    results = await services.polls.results(poll.poll_id, lan.person, channel="zalo")
    assert results is not None
    assert results.total == 2
    assert results.choice == poll.options[1].option_id
    telegram_side = await services.polls.results(poll.poll_id, 777)
    assert telegram_side is not None
    assert telegram_side.choice == poll.options[0].option_id


# -- subscribing ---------------------------------------------------------------------------


async def test_subscribing_by_typed_numbers(services: Services) -> None:
    lan = await resident(services)
    what = await lan.say_one("đăng ký")
    pick = await lan.say_one(choice(what, "Chọn chuyên mục"))
    assert "Đã chọn: 0 chuyên mục" in pick
    ticked = await lan.say_one(choice(pick, "Thông báo"))
    assert "Đã chọn: 1 chuyên mục" in ticked
    assert "✅ Thông báo" in ticked
    how = await lan.say_one(choice(ticked, "Xong"))
    daily = await lan.say_one(choice(how, "Mỗi ngày"))
    saved = await lan.say_one(choice(daily, "18:00"))
    assert saved.startswith("✅ Đã đăng ký nhận tin!")
    subscription = await services.subscriptions.get(lan.person, channel="zalo")
    assert subscription is not None
    assert subscription.mode == "daily"
    assert subscription.hour == 18
    assert not subscription.all_categories
    names = {c.category_id: c.name for c in await services.reading.categories()}
    assert [names[c] for c in subscription.category_ids] == ["Thông báo"]
    assert await services.subscriptions.get(lan.person) is None  # not a Telegram chat
    assert (await lan.say_one("cài đặt")).startswith("⚙️ Bạn đang nhận tin của xã")
    # "hủy" in the middle of the dialog cancels it; otherwise it asks, and a number stops.
    await lan.say_one("/subscribe")
    what = await lan.say_one(choice(await lan.say_one("cai dat"), "Thay đổi"))
    assert "Bước 1/2" in what
    assert (await lan.say_one("hủy")).startswith("Đã hủy. Không có gì thay đổi.")
    ask = await lan.say_one("hủy")
    assert ask.startswith("🔕 Bạn muốn dừng nhận tin của xã?")
    assert (await lan.say_one(choice(ask, "Dừng nhận tin"))).startswith("✅ Đã dừng.")
    assert await services.subscriptions.get(lan.person, channel="zalo") is None


# -- alerts and digests, kept to Zalo's window ------------------------------------------------


async def add_article(services: Services, title: str, category_id: int) -> int:
    """A new article, stored as the news reader stores one (not yet announced)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    written = await services.db.write(
        "INSERT INTO articles (url, title, title_key, summary, body_html, body_text,"
        " published_at, category_id, content_hash, first_seen_at, updated_at, checked_at)"
        " VALUES (?, ?, ?, 'Tóm tắt', '<p>Nội dung</p>', 'Nội dung', ?, ?, 'x', ?, ?, ?)"
        " RETURNING article_id",
        (f"https://xa.example.vn/tin/{title}", title, title.lower(), now, category_id, now,
         now, now),
    )  # fmt: skip
    article_id = int(written.rows[0]["article_id"])
    await services.db.write(
        "INSERT INTO article_categories (article_id, category_id) VALUES (?, ?)",
        (article_id, category_id),
    )
    return article_id


async def zalo_rows(services: Services) -> list[tuple[int, ZaloMessage]]:
    """Every outbox row for Zalo: (person, the message it holds)."""
    rows = await services.db.fetchall(
        "SELECT chat_id, message_key FROM outbox WHERE channel = 'zalo' ORDER BY outbox_id"
    )
    return [
        (int(row["chat_id"]), from_body(await services.outbox.body(int(row["message_key"]))))
        for row in rows
    ]


async def test_an_alert_inside_the_window_is_written_outside_it_waits(services: Services) -> None:
    lan = await resident(services)
    kim = await resident(services, "3002")  # subscribed, but never wrote back since
    category = (await services.reading.categories())[0].category_id
    for person in (lan, kim):
        saved = await services.subscriptions.save(
            Subscription(person.person, "instant", channel="zalo")
        )
        assert saved.value == "subscribe"
    await lan.say("tin mới")  # Lan wrote just now: the window is open
    old = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(kim.person, old)  # Kim's window closed an hour ago

    first = await add_article(services, "Lịch tiêm chủng tháng 12", category)
    await pusher(services).announce()
    ((person, alert),) = await zalo_rows(services)
    assert person == lan.person  # Kim: nothing written
    assert alert.text.startswith("🔔 Tin mới\nLịch tiêm chủng tháng 12")
    assert alert.text.endswith("Gõ “tin mới” để xem các tin mới nhất.")
    assert alert.buttons[0].payload == OpenArticle(first, 1, 0).pack().join(("#", ""))
    assert "Gõ số" not in alert.text  # numbers only mean the list a resident asked for

    # Two more while Kim's window stays closed; Kim's next message brings them first.
    second = await add_article(services, "Thông báo cắt điện ngày 5/12", category)
    await pusher(services).announce()
    third = await add_article(services, "Họp dân thôn Phú Bình", category)
    await pusher(services).announce()
    assert [p for p, _ in await zalo_rows(services)] == [lan.person] * 3
    held, answer = await kim.say("thống kê")
    assert held.text.startswith("🔔 Bạn có 3 tin mới:")
    assert held.text.index("Họp dân thôn Phú Bình") < held.text.index("Lịch tiêm chủng")
    assert answer.text.startswith("📈 Thống kê sử dụng bot")
    # Their numbers are the held list's (the answer had none), and the bookmark moved.
    assert (await kim.say_one("1")).startswith("Họp dân thôn Phú Bình")
    assert (await kim.say_one("thống kê")).startswith("📈")
    subscriber = await services.digests.subscriber(kim.person, "zalo")
    assert subscriber is not None
    assert subscriber.cursor == third
    # Now inside the window, Kim gets the next alert like Lan, and not the three again.
    fourth = await add_article(services, "Ngày hội đại đoàn kết", category)
    await pusher(services).announce()
    rows = await zalo_rows(services)
    assert sorted(p for p, _ in rows[3:]) == sorted([lan.person, kim.person])
    assert all(m.text.startswith("🔔 Tin mới\nNgày hội đại đoàn kết") for _, m in rows[3:])
    stored = {a.article_id for a in await services.digests.articles_after(0)}
    assert {first, second, fourth} <= stored


async def test_a_digest_outside_the_window_waits_for_the_next_message(services: Services) -> None:
    lan = await resident(services)
    kim = await resident(services, "3002")
    category = (await services.reading.categories())[0].category_id
    subscribed = datetime.now(UTC) - timedelta(days=2)
    for person in (lan, kim):
        await services.subscriptions.save(
            Subscription(person.person, "daily", hour=7, channel="zalo"), now=subscribed
        )
    await lan.say("tin mới")
    await services.zalo_people.inbound(kim.person, subscribed)  # long closed
    title = "Kế hoạch ra quân vệ sinh môi trường"
    await add_article(services, title, category)
    # Tomorrow's 07:00 digest, half an hour after its time (whatever the hour the test runs).
    due = (datetime.now(TZ) + timedelta(days=1)).replace(hour=7, minute=30, second=0)
    run = await pusher(services).digests(due)
    assert run.recipients == 1
    ((person, digest),) = await zalo_rows(services)
    assert person == lan.person
    assert title in digest.text
    assert "t.me" not in digest.text
    # Kim's slot is served (no digest comes again), the article waits for Kim's message.
    assert (await pusher(services).digests(datetime.now(UTC) + timedelta(days=1))).due == 0
    held, _ = await kim.say("menu")
    assert held.text.startswith("🔔 Bạn có 1 tin mới:")
    assert title in held.text


async def held_news(services: Services) -> tuple[Resident, list[int]]:
    """Kim, subscribed to alerts, whose window closed before two articles came: they wait for
    her next message (the newest first)."""
    kim = await resident(services, "3002")
    await services.subscriptions.save(Subscription(kim.person, "instant", channel="zalo"))
    old = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(kim.person, old)
    category = (await services.reading.categories())[0].category_id
    first = await add_article(services, "Lịch tiêm chủng tháng 12", category)
    second = await add_article(services, "Họp dân thôn Phú Bình", category)
    await pusher(services).announce()
    assert await zalo_rows(services) == []  # nothing written: both wait
    return kim, [second, first]


async def test_held_news_leave_the_numbers_to_an_answer_that_offers_numbers(
    services: Services,
) -> None:
    """The answer she asked for keeps the numbers; the held titles come without any, as
    buttons, so that no number shown means two things or nothing."""
    kim, held_ids = await held_news(services)
    held, answer = await kim.say("chuyên mục")
    assert held.text.startswith("🔔 Bạn có 2 tin mới:")
    assert "• Họp dân thôn Phú Bình" in held.text
    assert "• Lịch tiêm chủng tháng 12" in held.text
    assert not re.search(r"(?m)^\d+[.— ]", held.text)  # no number shown beside a held title
    assert "Gõ số" not in held.text
    assert held.text.endswith("Bấm vào một tin để đọc, hoặc gõ “tin mới” để xem các tin mới nhất.")
    assert [button.payload for button in held.buttons] == [
        "#" + OpenArticle(article_id, 0, 0).pack() for article_id in held_ids
    ]
    assert [button.title for button in held.buttons] == [
        "Họp dân thôn Phú Bình",
        "Lịch tiêm chủng tháng 12",
    ]
    assert answer.text.startswith("📂 Các chuyên mục")
    first = re.search(r"(?m)^1 — (.+?)(?: \(\d+\))?$", answer.text)
    assert first, answer.text
    # "1" is the answer's first category, as shown; a held title opens by its button.
    opened = await kim.say_one("1")
    assert opened.startswith(f"📂 {first.group(1)}"), opened
    tapped = await kim.say_one(held.buttons[0].payload or "")
    assert tapped.startswith("Họp dân thôn Phú Bình")


async def test_held_news_are_numbered_when_the_answer_offers_none(services: Services) -> None:
    kim, held_ids = await held_news(services)
    held, answer = await kim.say("thống kê")
    assert answer.text.startswith("📈 Thống kê sử dụng bot")
    assert "1. Họp dân thôn Phú Bình" in held.text
    assert "2. Lịch tiêm chủng tháng 12" in held.text
    assert "Gõ số" in held.text
    assert "Bấm vào một tin" not in held.text
    assert (await kim.say_one("2")).startswith("Lịch tiêm chủng tháng 12")
    assert (await kim.say_one("#" + OpenArticle(held_ids[0], 0, 0).pack())).startswith(
        "Họp dân thôn Phú Bình"
    )


async def test_one_check_tells_whether_a_resident_is_in_a_dialog(services: Services) -> None:
    """A case's notice (bot.zalo.notices) and the poll /sendpoll sends (ResidentNumbers, the
    delivery engine's) ask the same question, `in_dialog`: a report or /subscribe under way."""
    lan = await resident(services)
    numbers = ResidentNumbers(services)

    def asked() -> tuple[bool, bool]:
        return in_dialog(services, lan.person), numbers.busy(lan.person)

    assert asked() == (False, False)
    await lan.say("đăng ký")
    assert asked() == (True, True)
    await lan.say("hủy")
    assert asked() == (False, False)
    await lan.say("góp ý")
    assert asked() == (True, True)
    await lan.say("hủy")
    assert asked() == (False, False)
    await lan.say("tin mới")  # a list is not a dialog: the numbers are the list's to replace
    assert asked() == (False, False)


# -- /forget ---------------------------------------------------------------------------------


async def test_forget_deletes_the_zalo_person_everywhere(services: Services) -> None:
    lan = await resident(services)
    question = await lan.say_one("/poll")
    poll = await services.polls.current()
    assert poll is not None
    await lan.say(choice(question, poll.options[0].label))
    await services.subscriptions.save(Subscription(lan.person, "instant", channel="zalo"))
    await lan.say("tìm tiêm chủng")
    await lan.say("/language")
    ask = await lan.say_one("xóa thông tin")
    assert ask.startswith("Bạn muốn bot xóa thông tin về bạn?")
    kept = await lan.say_one(choice(ask, "Không xóa"))
    assert kept == "Bot không xóa gì. Cảm ơn bạn!"
    ask = await lan.say_one("/forget")
    done = await lan.say_one(choice(ask, "Xóa thông tin của tôi"))
    assert done.startswith("✅ Bot đã xóa thông tin của bạn:")
    assert "Đăng ký nhận tin: đã hủy" in done
    assert "Phiếu thăm dò không còn gắn với bạn: 1" in done
    key = services.stats.key_of(lan.person, "zalo")
    for sql, args in [
        ("SELECT 1 FROM zalo_people WHERE person_id = ?", (lan.person,)),
        ("SELECT 1 FROM subscriptions WHERE channel = 'zalo' AND chat_id = ?", (lan.person,)),
        ("SELECT 1 FROM poll_votes WHERE channel = 'zalo' AND user_id = ?", (lan.person,)),
        ("SELECT 1 FROM users WHERE channel = 'zalo' AND user_id = ?", (lan.person,)),
        ("SELECT 1 FROM dialogs WHERE channel = 'zalo' AND user_id = ?", (lan.person,)),
        ("SELECT 1 FROM interactions WHERE user_key = ?", (key,)),
        ("SELECT 1 FROM searches WHERE user_key = ?", (key,)),
    ]:
        assert await services.db.fetchone(sql, args) is None, sql
    results = await services.polls.results(poll.poll_id)
    assert results is not None
    assert results.total == 1
    assert services.zalo_dialogs.get(CHOICES, lan.person, lan.person) is None


async def test_stats_on_zalo_count_both_channels(services: Services) -> None:
    await services.stats.record(Interaction("cmd:latest"), 901)  # someone on Telegram
    lan = await resident(services)
    await lan.say("tin mới")
    text = await lan.say_one("thống kê")
    assert "Tổng cộng: 3 lượt" in text  # Telegram's one, and Lan's two (this one included)
    assert "• Telegram: hôm nay 1, tháng này 1, tổng cộng 1 lượt; 1 người dùng" in text
    assert "• Zalo: hôm nay 2, tháng này 2, tổng cộng 2 lượt; 1 người dùng" in text


async def test_the_language_is_the_zalo_persons_own(services: Services) -> None:
    lan = await resident(services)
    ask = await lan.say_one("ngôn ngữ")
    assert (await lan.say_one(choice(ask, "English"))).startswith("Switched to English")
    assert (await lan.say_one("menu")).startswith("📋 Main menu")
    assert await services.users.language(lan.person, channel="zalo") == "en"
    assert await services.users.language(lan.person) is None  # a Telegram user of that number
    kim = await resident(services, "3002")
    assert (await kim.say_one("menu")).startswith("📋 Các mục chính")


async def test_a_failure_gets_a_polite_word_never_a_traceback(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    lan = await resident(services, "8842113904417760001")
    await services.db.write("DROP TABLE searches")  # the search can no longer be kept
    text = await lan.say_one("tìm tiêm chủng")
    assert text == "Xin lỗi, bot đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."
    assert "could not answer a Zalo user_send_text event" in caplog.text
    assert lan.user_id not in caplog.text
    assert (await lan.say_one("tin mới")).startswith("📰 Tin mới nhất")  # the rest still works
