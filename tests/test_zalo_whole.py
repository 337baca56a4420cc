"""The Zalo front end through its real joins: Zalo's signed webhook, ZaloFront, the real
conversation, the real delivery engine and the stand-in OA API — beside Telegram in one bot
(its Bot API the stand-in), over the news the stand-in commune website serves."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.callbacks import OpenArticle, Vote
from bot.context import BotApplication
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from bot.standins.zalo import OAUTH_PATH, FakeZalo, SentMessage
from bot.zalo.messages import MAX_TEXT, ZaloMessage
from bot.zalo.messages import outgoing as zalo_outgoing
from bot.zalo.render import packed_action
from storage.subscriptions import Subscription
from tests.conftest import make_settings
from tests.test_broadcast import OWNER, button, final_report, panel
from tests.test_delivery import until
from tests.test_news_job import run_poll, wait_for_runs
from tests.test_poll import data_of
from tests.test_push import settle

pytestmark = pytest.mark.timeout(120)

LAN = "8200000000000000011"
KIM = "8200000000000000022"
HOA = "8200000000000000033"


@pytest.fixture
async def both(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo, portal: FakePortal
) -> AsyncIterator[BotApplication]:
    """Telegram and Zalo in one bot, as `commune-bot run` starts it, the website read once."""
    settings = make_settings(
        tmp_path, telegram,
        NEWS_SITE_URL=portal.url,
        ZALO_WEBHOOK_LISTEN="127.0.0.1:0",
        **zalo.settings(),
    )  # fmt: skip
    application = build_application(settings)  # the real conversation
    async with running(application):
        services = application.bot_data.services
        assert services.zalo_webhook is not None
        zalo.webhook_url = f"http://127.0.0.1:{services.zalo_webhook.port}/zalo/webhook"
        await wait_for_runs(application, 1)  # the first reading: the news is there
        zalo.enforce_window(hours=48, messages=8)
        yield application


class Resident:
    """Someone writing to the commune's OA through Zalo's signed webhook."""

    def __init__(self, zalo: FakeZalo, application: BotApplication, user_id: str) -> None:
        self.zalo = zalo
        self.application = application
        self.user_id = user_id

    async def say(self, text: str) -> list[SentMessage]:
        """Write `text`; every message the bot sent back once it has handled it."""
        before = len(self.zalo.messages_to(self.user_id))
        assert await self.zalo.say(self.user_id, text) == 200
        webhook = self.application.bot_data.services.zalo_webhook
        assert webhook is not None
        await webhook.idle()  # handled, its replies sent
        replies = self.zalo.messages_to(self.user_id)[before:]
        assert replies, f"no answer to {text!r}"
        assert all(len(m.text) <= MAX_TEXT for m in replies)
        return replies

    async def say_one(self, text: str) -> str:
        (message,) = await self.say(text)
        return message.text

    async def follow(self) -> str:
        assert await self.zalo.follow(self.user_id) == 200
        [greeting] = await self.zalo.wait_sent(self.user_id)
        return greeting.text


def choice(text: str, label: str) -> str:
    """The number a message offers for a choice whose label contains `label`."""
    found = re.search(rf"(?m)^(\d+) — .*{re.escape(label)}", text)
    assert found, f"no choice {label!r} in:\n{text}"
    return found.group(1)


def listed(text: str, number: int) -> str:
    """The title a numbered list shows as item `number` ("2. Title — 28/11")."""
    found = re.search(rf"(?m)^{number}\. (.+?)(?: — [^—]+)?$", text)
    assert found, f"no item {number} in:\n{text}"
    return found.group(1)


async def test_each_reading_command_by_word_and_by_number(
    zalo: FakeZalo, both: BotApplication
) -> None:
    lan = Resident(zalo, both, LAN)
    menu = await lan.follow()
    # Latest news: by the menu's number, by word, by command; a number opens an item.
    by_number = await lan.say_one(choice(menu, "Tin mới nhất"))
    assert by_number.startswith("📰 Tin mới nhất · trang 1/")
    for typed in ("tin mới", "tin moi", "/latest", "latest"):
        assert await lan.say_one(typed) == by_number, typed
    second = listed(by_number, 2)
    [short] = await lan.say("2")
    assert short.text.startswith(second)
    assert short.image_url or "Đọc toàn bài" in short.text
    # Newer and older: the article's neighbours, as choices.
    older = await lan.say_one(choice(short.text, "Tin cũ hơn"))
    assert older.startswith(listed(by_number, 3))
    newer = await lan.say_one(choice(older, "Tin mới hơn"))
    assert newer.startswith(second)
    # Its full text in pages, each a new message, turned by number.
    page = await lan.say(choice(newer, "Đọc toàn bài"))
    text = "\n".join(m.text for m in page)
    total = int(text.split("trang 1/")[1].split("\n")[0]) if "trang 1/" in text else 1
    for number in range(2, total + 1):
        page = await lan.say(choice(page[-1].text, f"Trang {number}/{total} ▶"))
        assert f"trang {number}/{total}" in "\n".join(m.text for m in page)
    # A long article, found by searching without diacritics, in several pages.
    results = await lan.say_one("tim nong thon moi")
    assert results.startswith("🔎 Kết quả tìm")
    number = next(
        line.split(".")[0] for line in results.split("\n") if "nông thôn mới" in line.lower()
    )
    [long_short] = await lan.say(number)
    pages = await lan.say(choice(long_short.text, "Đọc toàn bài"))
    total = int("\n".join(m.text for m in pages).split("trang 1/")[1].split("\n")[0])
    assert total >= 3
    for number in range(2, total + 1):
        pages = await lan.say(choice(pages[-1].text, f"Trang {number}/{total} ▶"))
    assert f"trang {total}/{total}" in "\n".join(m.text for m in pages)
    # Categories, by the menu's number and by word; a category's list.
    menu = await lan.say_one("menu")  # a number means an item of the last list seen
    categories = await lan.say_one(choice(menu, "Chuyên mục"))
    assert categories.startswith("📂 Các chuyên mục")
    assert await lan.say_one("chuyên mục") == categories
    assert await lan.say_one("chuyen muc") == categories
    name = re.search(r"(?m)^1 — (.+) \(\d+\)$", categories)
    assert name
    category = await lan.say_one("1")
    assert category.startswith(f"📂 {name.group(1)} · trang 1/")
    # Search with and without diacritics finds the same, best match first.
    with_marks = await lan.say_one("tìm đường ĐH21")
    assert with_marks.startswith("🔎 Kết quả tìm")
    assert "ĐH21" in listed(with_marks, 1)
    without = await lan.say_one("tim duong DH21")
    assert listed(without, 1) == listed(with_marks, 1)
    [found] = await lan.say("1")
    assert found.text.startswith(listed(with_marks, 1))
    # The web links, by word and by the menu's number.
    links = await lan.say_one("liên kết")
    assert links.startswith("🔗 Liên kết web")
    assert "http" in links
    assert "t.me" not in links
    menu = await lan.say_one("menu")
    assert await lan.say_one(choice(menu, "Liên kết")) == links


async def test_a_vote_and_a_changed_vote_count_once_on_both_channels(
    telegram: FakeTelegram, zalo: FakeZalo, both: BotApplication
) -> None:
    services = both.bot_data.services
    poll = await services.polls.current()
    assert poll is not None
    first, second = poll.options[0].label, poll.options[1].label
    # A resident on Telegram votes with the poll's button.
    hoa = telegram.user(7101, "Hoa")
    asked = await telegram.reply_to(hoa, "/poll")
    start = telegram.mark()
    await telegram.tap(hoa, asked.result["message_id"], data_of(asked, first))
    await telegram.wait_for("editMessageText", after=start, chat_id=hoa.id)
    # Lan, on Zalo, votes by number and changes her mind: one vote of hers counts.
    lan = Resident(zalo, both, LAN)
    question = await lan.say_one("bình chọn")
    voted = await lan.say_one(choice(question, first))
    assert voted.startswith(f"Cảm ơn bạn! Đã ghi nhận: {first}")
    assert "Tổng cộng: 2 phiếu" in voted
    changed = await lan.say_one(choice(voted, second))
    assert changed.startswith(f"Đã đổi lựa chọn của bạn thành: {second}")
    assert "Tổng cộng: 2 phiếu" in changed
    assert f"{first}: 1 phiếu (50%)" in changed
    assert f"✅ {second}: 1 phiếu (50%)" in changed
    again = await lan.say_one("binh chon")  # voted already: the results
    assert "Tổng cộng: 2 phiếu" in again
    # Telegram's side shows the same totals.
    shown = await telegram.reply_to(hoa, "/poll")
    assert "Tổng cộng: <b>2</b> phiếu" in shown.params["text"]
    # /stats on both channels: the same totals, each channel's share.
    on_telegram = (await telegram.reply_to(hoa, "/stats")).params["text"]
    on_zalo = await lan.say_one("thống kê")
    assert "• Telegram: hôm nay" in on_zalo
    assert "• Zalo: hôm nay" in on_zalo
    assert "• Zalo: hôm nay" in on_telegram
    total = re.search(r"Tổng cộng: <b>(\d+)</b> lượt", on_telegram)
    assert total
    # Zalo's /stats came after Telegram's: its total counts one more event (itself).
    assert f"Tổng cộng: {int(total.group(1)) + 1} lượt" in on_zalo


async def test_subscribing_by_typed_numbers(zalo: FakeZalo, both: BotApplication) -> None:
    services = both.bot_data.services
    lan = Resident(zalo, both, LAN)
    what = await lan.say_one("đăng ký")
    pick = await lan.say_one(choice(what, "Chọn chuyên mục"))
    ticked = await lan.say_one(choice(pick, "Thông báo"))
    assert "✅ Thông báo" in ticked
    how = await lan.say_one(choice(ticked, "Xong"))
    daily = await lan.say_one(choice(how, "Mỗi ngày"))
    saved = await lan.say_one(choice(daily, "18:00"))
    assert saved.startswith("✅ Đã đăng ký nhận tin!")
    person = await services.zalo_people.person(LAN)
    subscription = await services.subscriptions.get(person, channel="zalo")
    assert subscription is not None
    assert (subscription.mode, subscription.hour) == ("daily", 18)
    names = {c.category_id: c.name for c in await services.reading.categories()}
    assert [names[c] for c in subscription.category_ids] == ["Thông báo"]
    assert (await lan.say_one("cài đặt")).startswith("⚙️ Bạn đang nhận tin của xã")


ROWS = 40


async def test_a_token_refreshed_while_replies_and_engine_sends_are_in_flight(
    zalo: FakeZalo, both: BotApplication
) -> None:
    """Zalo's access token expires while the engine sends a job to forty residents and two
    residents are being answered: one refresh, every message delivered, none twice."""
    services = both.bot_data.services
    residents = [f"83{n:017d}" for n in range(ROWS)]
    persons = []
    for uid in residents:
        zalo.follower(uid)
        zalo._opened(uid)  # each wrote lately (Zalo's side of their window) ...
        person = await services.zalo_people.person(uid)
        await services.zalo_people.inbound(person)  # ... and the bot's
        persons.append(person)
    refreshes = zalo.refreshes
    zalo.slow(0.05, times=ROWS)  # Zalo answers slowly: sends overlap the expiry
    delivery_id = await services.outbox.create(
        "alert", [zalo_outgoing(ZaloMessage("Lịch tiêm chủng tháng 12"))],
        [(person, 0) for person in persons], channel="zalo",
    )  # fmt: skip
    services.delivery.wake()
    await zalo.wait_until(lambda: len(zalo.sent) >= ROWS // 4)
    zalo.expire_access_tokens()  # every token given so far: -220 from now on
    lan, kim, hoa = (Resident(zalo, both, uid) for uid in (LAN, KIM, HOA))
    answers = await asyncio.gather(lan.say("tin mới"), kim.say("chuyên mục"), hoa.say("liên kết"))
    assert answers[0][0].text.startswith("📰 Tin mới nhất")
    assert answers[1][0].text.startswith("📂 Các chuyên mục")
    assert answers[2][0].text.startswith("🔗 Liên kết web")
    done = f"SELECT state FROM deliveries WHERE delivery_id = {delivery_id}"

    async def finished() -> bool:
        row = await services.db.fetchone(done)
        return row is not None and row["state"] == "done"

    async with asyncio.timeout(60):
        while not await finished():  # noqa: ASYNC110 - the engine's state, in its database
            await asyncio.sleep(0.05)
    got = Counter(m.user_id for m in zalo.sent if m.text == "Lịch tiêm chủng tháng 12")
    assert got == Counter(residents)  # each once
    assert zalo.refreshes == refreshes + 1  # one refresh for all of them
    expired = [c for c in zalo.calls_to("/v3.0/oa/message/cs") if c.error == -220]
    assert expired  # the expiry was met midway indeed
    assert len(zalo.calls_to(OAUTH_PATH)) == refreshes + 1


async def test_staffstats_shows_both_channels_separately_and_together(
    telegram: FakeTelegram, zalo: FakeZalo, both: BotApplication
) -> None:
    """Two Zalo residents (one subscribed by numbers) and one Telegram resident (subscribed):
    /staffstats on Telegram (the owner asking is a Telegram user too) counts four people and
    two subscriptions, and each channel's."""
    services = both.bot_data.services
    lan, kim = Resident(zalo, both, LAN), Resident(zalo, both, KIM)
    what = await lan.say_one("đăng ký")
    how = await lan.say_one(choice(what, "Tất cả tin của xã"))
    assert (await lan.say_one(choice(how, "Báo ngay"))).startswith("✅ Đã đăng ký nhận tin!")
    await kim.say("tin mới")
    hoa = telegram.user(7102, "Hoa")
    await telegram.reply_to(hoa, "/latest")
    await services.subscriptions.save(Subscription(hoa.id, "daily"))
    await services.stats.flush()
    owner = telegram.user(1001, "Chủ")  # ADMIN_IDS
    figures = (await telegram.reply_to(owner, "/staffstats")).params["text"]
    assert "<b>Đăng ký nhận tin</b>: <b>2</b>" in figures  # together
    assert "Báo ngay: 1 · Hằng ngày: 1" in figures
    assert "• Telegram: người dùng hôm nay 2 · 7 ngày 2 · 30 ngày 2; 1 đăng ký nhận tin" in figures
    assert "• Zalo: người dùng hôm nay 2 · 7 ngày 2 · 30 ngày 2; 1 đăng ký nhận tin" in figures
    active = re.search(r"hôm nay: <b>(\d+)</b>", figures)
    assert active, figures
    assert active.group(1) == "4"


async def test_every_page_of_every_article_and_search_reaches_zalo_within_its_limit(
    zalo: FakeZalo, both: BotApplication
) -> None:
    """What the conversation sends never exceeds Zalo's 2,000 characters (the stand-in refuses
    a longer text, and the resident would get nothing): every article's short form and each of
    its pages, and searches with many results, as a resident taps them."""
    services = both.bot_data.services
    lan = Resident(zalo, both, LAN)
    rows = await services.db.fetchall("SELECT article_id FROM articles ORDER BY article_id")
    assert len(rows) >= 10
    longest = 0
    for row in rows:
        article_id = int(row["article_id"])
        short = await lan.say(packed_action(OpenArticle(article_id, 0, 0)))
        page = await lan.say(packed_action(OpenArticle(article_id, 1, 0)))
        text = "\n".join(m.text for m in page)
        total = int(text.split("trang 1/")[1].split("\n")[0]) if "trang 1/" in text else 1
        for number in range(2, total + 1):
            page += await lan.say(packed_action(OpenArticle(article_id, number, 0)))
        longest = max(longest, *(len(m.text) for m in short + page))
    for words in ("tìm xã", "tim thong bao", "tìm " + "năm " * 60):
        results = await lan.say(words)
        longest = max(longest, *(len(m.text) for m in results))
    assert MAX_TEXT // 2 < longest <= MAX_TEXT  # long pages were cut, near the limit
    refused = [c for c in zalo.calls_to("/v3.0/oa/message/cs") if c.error]
    assert refused == []


async def subscribe_to_everything(resident: Resident) -> None:
    """/subscribe by typed numbers: every category, an alert for each new article."""
    what = await resident.say_one("đăng ký")
    how = await resident.say_one(choice(what, "Tất cả tin của xã"))
    assert (await resident.say_one(choice(how, "Báo ngay"))).startswith("✅ Đã đăng ký")


async def test_an_announcement_is_held_only_for_whom_the_window_kept_it_from(
    telegram: FakeTelegram, zalo: FakeZalo, both: BotApplication
) -> None:
    """Staff announce on Telegram: Lan (inside her window) gets it as a message, and her next
    message does not bring it again as news she missed; Kim (outside hers) gets it then."""
    services = both.bot_data.services
    lan, kim = Resident(zalo, both, LAN), Resident(zalo, both, KIM)
    await subscribe_to_everything(lan)
    await subscribe_to_everything(kim)
    long_ago = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(await services.zalo_people.person(KIM), long_ago)
    owner = telegram.user(OWNER, "Chị Hoa")
    await telegram.reply_to(owner, "/broadcast")
    mark = telegram.mark()
    await telegram.send(owner, "Thông báo lịch tiếp dân\nChiều thứ Năm hằng tuần.")
    await until(lambda: any(c.ok and c.result.get("reply_markup") for c in
                            telegram.calls_to("sendMessage", mark, chat_id=OWNER)))  # fmt: skip
    audience = panel(telegram, mark)
    assert "Trên Zalo: 1 người nhận ngay; 1 người chờ" in audience["text"]
    await telegram.press(owner, audience, button(audience, "✅ Gửi ngay"))
    await final_report(telegram, audience)
    [got] = zalo.messages_to(LAN)[-1:]
    assert got.text.startswith("Thông báo lịch tiếp dân")
    # Lan's next message: the answer alone, not the announcement again as missed news.
    [answer] = await lan.say("thống kê")
    assert answer.text.startswith("📈 Thống kê sử dụng bot")
    # Kim's: what she missed first.
    held, answer = await kim.say("thống kê")
    assert held.text.startswith("🔔 Bạn có 1 tin mới:")
    assert "Thông báo lịch tiếp dân" in held.text
    assert answer.text.startswith("📈 Thống kê sử dụng bot")


async def test_a_daily_digest_goes_by_the_engine_inside_the_window_and_waits_outside(
    zalo: FakeZalo, portal: FakePortal, both: BotApplication
) -> None:
    """Lan and Kim take a daily digest at 18:00 by numbers; the commune publishes; at 18:30 Lan
    (inside her window) gets the digest from the delivery engine, Kim's waits for her message."""
    services = both.bot_data.services
    lan, kim = Resident(zalo, both, LAN), Resident(zalo, both, KIM)
    for resident in (lan, kim):
        what = await resident.say_one("đăng ký")
        how = await resident.say_one(choice(what, "Tất cả tin của xã"))
        daily = await resident.say_one(choice(how, "Mỗi ngày"))
        assert (await resident.say_one(choice(daily, "18:00"))).startswith("✅ Đã đăng ký")
    long_ago = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(await services.zalo_people.person(KIM), long_ago)
    portal.use_spares("new-article-273402")
    await run_poll(both)  # the news poll finds it
    title = (await services.db.fetchall(
        "SELECT title FROM articles ORDER BY article_id DESC LIMIT 1"))[0]["title"]  # fmt: skip
    lan_before = len(zalo.messages_to(LAN))
    tz = services.settings.tz
    due = (datetime.now(tz) + timedelta(days=1)).replace(hour=18, minute=30, second=0)
    run = await services.push.digests(due)
    assert (run.due, run.recipients) == (1, 1)  # Lan's; Kim's slot is served, nothing written
    [digest] = (await zalo.wait_sent(LAN, lan_before + 1))[lan_before:]
    assert title in digest.text
    assert len(digest.text) <= MAX_TEXT
    held, answer = await kim.say("tin mới")
    assert held.text.startswith("🔔 Bạn có 1 tin mới:")
    assert title in held.text
    assert answer.text.startswith("📰 Tin mới nhất")


async def test_sendpoll_reaches_both_channels_and_waits_outside_the_window(
    telegram: FakeTelegram, zalo: FakeZalo, both: BotApplication
) -> None:
    """/sendpoll: a Telegram subscriber gets it with buttons; Lan (inside her window) gets it
    from the engine with numbers, and her typed number votes; Hoa (inside, writing a report)
    gets it without numbers, and her number stays the report's; Kim (outside her window)
    gets nothing until she writes, then the poll comes first, once, and her number votes.
    Every vote is in the one poll's totals."""
    services = both.bot_data.services
    poll = await services.polls.current()
    assert poll is not None
    first, second = poll.options[0].label, poll.options[1].label
    lan, kim, hoa = (Resident(zalo, both, who) for who in (LAN, KIM, HOA))
    for resident in (lan, kim, hoa):
        await subscribe_to_everything(resident)
    long_ago = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    kim_person = await services.zalo_people.person(KIM)
    await services.zalo_people.inbound(kim_person, long_ago)
    topics = await hoa.say_one("góp ý")  # a report under way: its numbers are the topics
    tan = telegram.user(7301, "Tân")
    await services.subscriptions.save(Subscription(tan.id, "daily"))
    owner = telegram.user(OWNER, "Chị Hoa")
    before = {who: len(zalo.messages_to(who)) for who in (LAN, KIM, HOA)}
    done = await telegram.reply_to(owner, "/sendpoll")
    assert done.params["text"] == (
        "Đang gửi cuộc thăm dò. Telegram: 1 người đăng ký. Zalo: 2 người nhận ngay; 1 người chờ"
        " (ngoài thời gian Zalo cho phép nhắn, họ sẽ nhận khi nhắn tin cho OA lần tới)."
    )
    await settle(services)
    # Telegram: the poll with its buttons, as before.
    (on_telegram,) = telegram.chat_messages(tan.id)
    assert poll.question in on_telegram["text"]
    # Lan: one message, its choices numbered; her number votes.
    [sent] = zalo.messages_to(LAN)[before[LAN] :]
    assert poll.question in sent.text
    assert "Gõ “bình chọn”" not in sent.text
    assert packed_action(Vote(poll.poll_id, poll.options[0].option_id)) in {
        button.get("payload") for button in sent.buttons
    }
    voted = await lan.say_one(choice(sent.text, first))
    assert voted.startswith(f"Cảm ơn bạn! Đã ghi nhận: {first}")
    # Hoa: the poll without numbers (buttons, and the word to type); her "1" is a topic.
    [quiet] = zalo.messages_to(HOA)[before[HOA] :]
    assert poll.question in quiet.text
    assert "Gõ “bình chọn” để trả lời bằng số." in quiet.text
    assert not re.search(rf"(?m)^\d+ — {re.escape(first)}", quiet.text)
    assert re.search(r"(?m)^1 — ", topics) or re.search(r"(?m)^1\. ", topics), topics
    for reply in await hoa.say("1"):
        assert "Đã ghi nhận" not in reply.text
    hoa_results = await services.polls.results(
        poll.poll_id, await services.zalo_people.person(HOA), channel="zalo"
    )
    assert hoa_results is not None
    assert hoa_results.choice is None
    # Kim: nothing was sent to her (the engine skipped her row), until she writes.
    assert zalo.messages_to(KIM)[before[KIM] :] == []
    held, answer = await kim.say("thống kê")
    assert poll.question in held.text
    assert answer.text.startswith("📈 Thống kê sử dụng bot")
    changed = await kim.say_one(choice(held.text, second))
    assert changed.startswith(f"Cảm ơn bạn! Đã ghi nhận: {second}")
    # Telegram's tap, and the one poll's totals hold every channel's votes.
    start = telegram.mark()
    first_button = on_telegram["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await telegram.tap(tan, on_telegram["message_id"], first_button)
    await telegram.wait_for("editMessageText", after=start, chat_id=tan.id)
    results = await services.polls.results(poll.poll_id, None)
    assert results is not None
    assert results.total == 3
    # Brought once: Kim's next message is its answer alone.
    [alone] = await kim.say("thống kê")
    assert alone.text.startswith("📈 Thống kê sử dụng bot")
    # The audit log names each channel's recipients.
    audit = (await telegram.reply_to(owner, "/audit")).params["text"]
    assert f"gửi cuộc thăm dò số {poll.poll_id} tới 4 nơi nhận (Telegram 1, Zalo 3)" in audit


async def test_a_held_poll_leaves_the_numbers_to_the_list_asked_for(
    telegram: FakeTelegram, zalo: FakeZalo, both: BotApplication
) -> None:
    """Kim, outside her window when the poll was sent, asks for the latest news: the poll
    comes first without numbers (buttons, and "bình chọn" to type), her "1" opens the first
    article of the list she asked for; "bình chọn" then brings the poll with its numbers."""
    services = both.bot_data.services
    poll = await services.polls.current()
    assert poll is not None
    kim = Resident(zalo, both, KIM)
    await subscribe_to_everything(kim)
    long_ago = datetime.now(UTC) - timedelta(hours=services.settings.ZALO_WINDOW_HOURS + 1)
    await services.zalo_people.inbound(await services.zalo_people.person(KIM), long_ago)
    done = await telegram.reply_to(telegram.user(OWNER, "Chị Hoa"), "/sendpoll")
    assert "Zalo: 0 người nhận ngay; 1 người chờ" in done.params["text"]
    await settle(services)
    held, latest = await kim.say("tin mới")
    assert poll.question in held.text
    assert "Gõ “bình chọn” để trả lời bằng số." in held.text
    vote = packed_action(Vote(poll.poll_id, poll.options[0].option_id))
    assert vote in {button.get("payload") for button in held.buttons}
    assert latest.text.startswith("📰 Tin mới nhất")
    opened = await kim.say("1")
    assert listed(latest.text, 1) in opened[0].text
    asked = await kim.say_one("bình chọn")
    voted = await kim.say_one(choice(asked, poll.options[0].label))
    assert voted.startswith(f"Cảm ơn bạn! Đã ghi nhận: {poll.options[0].label}")
