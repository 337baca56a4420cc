"""/stats, /forget and /staffstats through the stand-in Bot API, over a filled database."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re

import pytest

from bot.callbacks import OpenArticle, decode
from bot.context import BotApplication
from bot.standins.telegram import FakeTelegram, User
from handlers.poll import Vote
from handlers.stats import ForgetAnswer

LOG_TABLES = ("interactions", "daily_counts", "daily_users", "stats_residents")


def figures(text: str) -> list[int]:
    """The bold numbers of the /stats message, in order."""
    return [int(n.replace(".", "")) for n in re.findall(r"<b>([\d.]+)</b>", text)]


async def read_some_news(telegram: FakeTelegram, user: User) -> None:
    """/latest, open its first article, and a search: three interactions."""
    listing = await telegram.reply_to(user, "/latest")
    markup = listing.params["reply_markup"]["inline_keyboard"]
    data = next(
        b["callback_data"]
        for row in markup
        for b in row
        if isinstance(decode(b.get("callback_data")), OpenArticle)
    )
    mark = telegram.mark()
    assert (await telegram.tap(user, listing.result["message_id"], data)).ok
    await telegram.wait_for("editMessageText", after=mark)
    await telegram.reply_to(user, "/search xã")


async def test_stats_counts_what_residents_did(
    telegram: FakeTelegram, news_bot: BotApplication
) -> None:
    # Ids as long as real ones: a short id such as 901 could turn up inside a hex key by chance.
    lan, binh = telegram.user(7_301_552_901, "Lan"), telegram.user(7_301_552_902, "Bình")
    await read_some_news(telegram, lan)
    await read_some_news(telegram, binh)
    reply = await telegram.reply_to(lan, "/stats")
    text = reply.params["text"]
    assert text.startswith("📈 <b>Thống kê sử dụng bot</b>")
    # today, week, month, year, total: six reads and /stats itself; then two residents, and
    # no chat subscribed to the news, no resident's report answered this month.
    assert figures(text) == [7, 7, 7, 7, 7, 2, 0, 0]
    assert "Asia/Ho_Chi_Minh" in text
    assert "thứ Hai" in text

    db = news_bot.bot_data.services.db
    kinds = [row[0] for row in await db.fetchall("SELECT kind FROM interactions ORDER BY 1")]
    assert kinds == sorted(["cmd:latest", "article_open", "search"] * 2 + ["cmd:stats"])
    searches = await db.fetchall("SELECT words, results FROM interactions WHERE kind = 'search'")
    assert {(row[0], row[1] > 0) for row in searches} == {("xã", True)}
    opened = await db.fetchall("SELECT target FROM interactions WHERE kind = 'article_open'")
    assert all(row[0] is not None for row in opened)
    for user in (lan, binh):
        for value in (user.id, str(user.id)):
            for table in LOG_TABLES:
                columns = [row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")]
                for column in columns:
                    hits = await db.fetchall(
                        f"SELECT 1 FROM {table} WHERE {column} = ?"
                        f" OR CAST({column} AS TEXT) LIKE ?",
                        (value, f"%{value}%"),
                    )
                    assert not hits, f"{table}.{column} holds the Telegram id {value}"


async def test_a_broken_log_never_stops_the_reply(
    telegram: FakeTelegram, news_bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    await news_bot.bot_data.services.db.write("DROP TABLE interactions")
    lan = telegram.user(901, "Lan")
    with caplog.at_level(logging.ERROR):
        latest = await telegram.reply_to(lan, "/latest")
        found = await telegram.reply_to(lan, "/search xã")
        # The replies went out; the queued events then fail to be written, and that is logged.
        await news_bot.bot_data.services.stats.flush()
    assert latest.params["text"].startswith("📰")
    assert found.params["text"].startswith("🔎")
    assert "could not write 2 interactions to the log" in caplog.text


async def test_forget_deletes_the_resident_and_keeps_totals(
    telegram: FakeTelegram, news_bot: BotApplication
) -> None:
    services = news_bot.bot_data.services
    db = services.db
    lan, binh = telegram.user(901, "Lan"), telegram.user(902, "Bình")
    await telegram.reply_to(lan, "/language")
    await services.set_language(lan.id, "en")
    await read_some_news(telegram, lan)
    await read_some_news(telegram, binh)
    poll = await services.polls.current()
    assert poll is not None
    shown = await telegram.reply_to(lan, "/poll")
    vote = Vote(poll.poll_id, poll.options[0].option_id).pack()
    assert (await telegram.tap(lan, shown.result["message_id"], vote)).ok
    results = await services.polls.results(poll.poll_id)
    assert results is not None
    assert results.total == 1

    await services.stats.flush()  # events are queued for a moment before they are written
    voted = await db.fetchall("SELECT target FROM interactions WHERE kind = 'vote'")
    assert [row[0] for row in voted] == [poll.poll_id]

    ask = await telegram.reply_to(lan, "/forget")
    assert "delete your information" in ask.params["text"]
    before = await services.stats.counter()
    mark = telegram.mark()
    assert (await telegram.tap(lan, ask.result["message_id"], ForgetAnswer(True).pack())).ok
    done = await telegram.wait_for("editMessageText", after=mark)
    # The tap itself was logged, then unlinked with the rest: 3 reads, /language, /poll, the
    # vote, /forget and the tap.
    assert "Profile and chosen language: deleted" in done.params["text"]
    assert "Poll answers no longer linked to you: 1" in done.params["text"]
    assert "Interactions no longer linked to you: 8" in done.params["text"]

    after = await services.stats.counter()
    assert (after.total, after.today, after.residents) == (before.total + 1, before.today + 1, 2)
    assert await db.fetchone("SELECT 1 FROM users WHERE user_id = ?", (lan.id,)) is None
    assert await db.fetchone("SELECT 1 FROM poll_votes WHERE user_id = ?", (lan.id,)) is None
    kept = await services.polls.results(poll.poll_id)
    assert kept is not None
    assert kept.total == 1
    key = services.stats.key_of(lan.id)
    for table in ("interactions", "daily_users", "stats_residents"):
        assert not await db.fetchall(f"SELECT 1 FROM {table} WHERE user_key = ?", (key,))
    logged = await db.fetchone("SELECT COUNT(*) FROM interactions")
    counted = await db.fetchone("SELECT SUM(interactions) FROM daily_counts")
    assert logged is not None
    assert counted is not None
    assert logged[0] == counted[0] == after.total
    assert await services.language_of(lan) == "vi"  # back to following Telegram's language


async def test_forget_can_be_declined(telegram: FakeTelegram, news_bot: BotApplication) -> None:
    services = news_bot.bot_data.services
    lan = telegram.user(901, "Lan")
    await services.set_language(lan.id, "en")
    ask = await telegram.reply_to(lan, "/forget")
    mark = telegram.mark()
    assert (await telegram.tap(lan, ask.result["message_id"], ForgetAnswer(False).pack())).ok
    done = await telegram.wait_for("editMessageText", after=mark)
    assert done.params["text"] == "Nothing was deleted. Thank you!"
    assert await services.users.language(lan.id) == "en"


async def test_staffstats_for_staff_only(telegram: FakeTelegram, news_bot: BotApplication) -> None:
    lan, owner = telegram.user(901, "Lan"), telegram.user(1001, "Cán bộ")
    await read_some_news(telegram, lan)
    # A search that found nothing is shown once three residents asked it.
    for person in (lan, telegram.user(902, "Bình"), telegram.user(903, "Chi")):
        await telegram.reply_to(person, "/search khongcogica")
    refused = await telegram.reply_to(lan, "/staffstats")
    assert refused.params["text"] == "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."

    mark = telegram.mark()
    text = (await telegram.reply_to(owner, "/staffstats")).params["text"]
    assert "Người dùng hôm nay: <b>4</b>" in text  # Lan, Bình, Chi, and the owner asking
    assert "“khongcogica” — 3 lần" in text
    assert "1. " in text
    assert "— 1 lượt" in text
    photo = await telegram.wait_for("sendPhoto", after=mark)
    assert next(iter(photo.files.values())).startswith(b"\x89PNG")
    document = await telegram.wait_for("sendDocument", after=mark)
    rows = list(csv.reader(io.StringIO(next(iter(document.files.values())).decode("utf-8-sig"))))
    assert rows[0] == [
        "Ngày",
        "Lượt sử dụng",
        "Người dùng",
        "Đăng ký mới",
        "Thay đổi đăng ký",
        "Dừng nhận tin",
    ]
    assert len(rows) == 31
    assert rows[-1][1:] == ["8", "4", "0", "0", "0"]


async def test_unknown_commands_and_texts_are_not_logged_verbatim(
    telegram: FakeTelegram, news_bot: BotApplication
) -> None:
    lan = telegram.user(901, "Lan")
    # No handler takes these two, so no reply comes to wait for.
    await telegram.send(lan, "/nguyen_van_a_0912345678")
    await telegram.send(lan, "/ ")
    await telegram.reply_to(lan, "📰 Tin mới nhất")
    db = news_bot.bot_data.services.db
    # Poll the log until the rows of the two unanswered messages are there.
    async with asyncio.timeout(5):
        while len(rows := await db.fetchall("SELECT kind, words FROM interactions")) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    # Updates are handled concurrently: the order of the rows is not the order sent.
    assert sorted(tuple(row) for row in rows) == [("cmd:other", None)] * 2 + [("message", None)]


async def test_the_retention_job_is_scheduled(news_bot: BotApplication) -> None:
    assert news_bot.job_queue is not None
    assert news_bot.job_queue.get_jobs_by_name("prune-interaction-log")


async def test_a_forged_number_costs_no_one_else_their_interactions(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    """Everyone's interactions of one moment are written together: a button carrying a number
    SQLite cannot hold must not make the others' fail."""
    stats = bot.bot_data.services.stats
    dung = telegram.user(7_301_552_904, "Dũng")
    greeting = await telegram.reply_to(dung, "/start")
    await stats.flush()
    residents = [telegram.user(7_301_552_910 + i, f"Người {i}") for i in range(3)]
    mark = telegram.mark()
    for person in residents:
        await telegram.send(person, "/help")
    query = await telegram.press(dung, greeting.result["message_id"], "a:9999999999999999999:0:0")
    await telegram.wait_for("answerCallbackQuery", after=mark, callback_query_id=query)
    for person in residents:
        await telegram.wait_for("sendMessage", after=mark, chat_id=person.id)
    counter = await stats.counter()
    assert (counter.today, counter.residents) == (5, 4)


async def test_staff_never_see_what_one_resident_typed_and_forget_removes_it(
    telegram: FakeTelegram, news_bot: BotApplication
) -> None:
    services = news_bot.bot_data.services
    lan = telegram.user(7_301_552_921, "Lan")
    owner = telegram.user(1001, "Cán bộ")
    # Lan types her name and phone number as if it were a question, twice; and a search that
    # finds news (kept so its pages can be turned).
    private = "Trần Thị Lan 0912 345 678"
    for _ in range(2):
        reply = await telegram.reply_to(lan, private)
        assert reply.params["text"].startswith("Không tìm thấy tin nào")
    await telegram.reply_to(lan, "/search xã")
    # Three residents ask the same thing, with their own numbers in it.
    for i, number in enumerate(("0987654321", "0911 222 333", "0903.444.555")):
        person = telegram.user(7_301_552_930 + i, f"Người {i}")
        await telegram.reply_to(person, f"khongcogica lien he {number}")

    mark = telegram.mark()
    text = (await telegram.reply_to(owner, "/staffstats")).params["text"]
    assert "“khongcogica lien he ***” — 3 lần" in text
    document = await telegram.wait_for("sendDocument", after=mark)
    shown = text + next(iter(document.files.values())).decode("utf-8-sig")
    for secret in ("Trần", "Lan", "0912", "345", "678", "0987654321", "222", "444"):
        assert secret not in shown, secret

    forget = await telegram.reply_to(lan, "/forget")
    mark = telegram.mark()
    await telegram.tap(lan, forget.result["message_id"], ForgetAnswer(True).pack())
    await telegram.wait_for("editMessageText", after=mark)
    db = services.db
    for table, column in (("interactions", "words"), ("searches", "query")):
        rows = await db.fetchall(f"SELECT {column} FROM {table}")
        assert not [r[0] for r in rows if r[0] and ("Lan" in r[0] or r[0] == "xã")], table
    others = await db.fetchall("SELECT words FROM interactions WHERE words LIKE 'khongcogica%'")
    assert len(others) == 3  # the others' searches stay
