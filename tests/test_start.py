"""/start, /help, /language, the command menu and the error handler, through the stand-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import MENU_COMMANDS, build_application, running
from bot.callbacks import SetLanguage
from bot.config import Settings
from bot.context import BotApplication
from bot.standins.telegram import FakeTelegram


async def test_start_greets_in_vietnamese(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(501, "Lan", language_code="vi")
    reply = await telegram.reply_to(lan, "/start")
    assert reply.ok
    assert reply.params["parse_mode"] == "HTML"
    assert reply.params["text"].startswith("Xin chào Lan!")
    assert "<b>Xã Bình Chánh</b>" in reply.params["text"]


async def test_start_in_english_for_english_telegram(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    john = telegram.user(502, "John", language_code="en-GB")
    reply = await telegram.reply_to(john, "/start")
    assert reply.params["text"].startswith("Hello John!")


async def test_other_telegram_languages_get_the_default(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    hiro = telegram.user(503, "Hiro", language_code="ja")
    reply = await telegram.reply_to(hiro, "/start")
    assert reply.params["text"].startswith("Xin chào Hiro!")


async def test_names_are_escaped(telegram: FakeTelegram, bot: BotApplication) -> None:
    odd = telegram.user(504, "<b>Tí & Tèo</b>")
    reply = await telegram.reply_to(odd, "/start")
    assert reply.ok  # the stand-in refuses HTML Telegram would refuse
    assert "&lt;b&gt;Tí &amp; Tèo&lt;/b&gt;" in reply.params["text"]


async def test_help_lists_every_menu_command(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(505)
    reply = await telegram.reply_to(lan, "/help")
    for command in MENU_COMMANDS:
        assert f"/{command} — " in reply.params["text"]


async def test_command_menu_registered_in_both_languages(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    menus = {key[1]: commands for key, commands in telegram.commands.items()}
    assert set(menus) == {"", "vi", "en"}
    assert [c["command"] for c in menus[""]] == list(MENU_COMMANDS)
    assert menus[""] == menus["vi"]
    assert menus["vi"][1]["description"] == "Tin mới nhất"
    assert menus["en"][1]["description"] == "Latest news"


async def test_language_switch_is_remembered(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(506, "Lan", language_code="vi")
    question = await telegram.reply_to(lan, "/language")
    buttons = question.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Tiếng Việt", "English"]
    assert buttons[1]["callback_data"] == SetLanguage("en").pack()

    answer = await telegram.tap(lan, question.result["message_id"], buttons[1]["callback_data"])
    assert answer.params["text"] == "Switched to English."
    edit = await telegram.wait_for("editMessageText", chat_id=lan.id)
    assert edit.params["text"] == "Switched to English."
    reply = await telegram.reply_to(lan, "/start")
    assert reply.params["text"].startswith("Hello Lan!")


async def test_language_survives_restart(telegram: FakeTelegram, settings: Settings) -> None:
    lan = telegram.user(507, "Lan", language_code="vi")
    async with running(build_application(settings)):
        question = await telegram.reply_to(lan, "/language")
        await telegram.tap(lan, question.result["message_id"], SetLanguage("en").pack())
    async with running(build_application(settings)):
        reply = await telegram.reply_to(lan, "/start")
    assert reply.params["text"].startswith("Hello Lan!")


@pytest.mark.parametrize("data", ["lang:fr", "lang:", "lang:vi:extra", "zzz:1", "x" * 64])
async def test_forged_or_stale_buttons_get_a_polite_answer(
    telegram: FakeTelegram, bot: BotApplication, data: str
) -> None:
    lan = telegram.user(508)
    question = await telegram.reply_to(lan, "/language")
    answer = await telegram.tap(lan, question.result["message_id"], data)
    assert answer.params["text"] == "Nút này đã cũ. Bạn vui lòng gõ /start để mở lại."
    assert answer.params["show_alert"] is True
    # Nothing was changed by the forged button.
    assert not telegram.calls_to("editMessageText")


async def test_bot_survives_a_server_error_on_a_reply(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(509, "Lan")
    telegram.fail_server("sendMessage", 502)
    start = telegram.mark()
    await telegram.send(lan, "/start")
    # The reply failed with 502; the error handler then tells the resident, kindly.
    apology = await telegram.wait_for("sendMessage", after=start, where=lambda c: c.ok)
    assert (
        apology.params["text"] == "Xin lỗi, bot đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."
    )
    assert [c.status for c in telegram.calls_to("sendMessage", after=start)] == [502, 200]
    # And the bot goes on answering.
    reply = await telegram.reply_to(lan, "/start")
    assert reply.params["text"].startswith("Xin chào Lan!")


async def test_bot_waits_out_a_429_on_a_reply(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(510, "Lan")
    telegram.fail_flood("sendMessage", retry_after=1)
    start = telegram.mark()
    await telegram.send(lan, "/start")
    reply = await telegram.wait_for("sendMessage", after=start, where=lambda c: c.ok)
    assert reply.params["text"].startswith("Xin chào Lan!")
    refused, sent = telegram.calls_to("sendMessage", after=start)
    assert refused.status == 429
    # Sent again only after the time Telegram asked for (timestamps of the stand-in's log).
    assert sent.at - refused.at >= 0.95


async def test_error_handler_answers_a_failing_button(
    telegram: FakeTelegram, bot: BotApplication
) -> None:
    lan = telegram.user(511, "Lan")
    question = await telegram.reply_to(lan, "/language")
    # The edit after the choice fails with a 500, after the button was answered: the error
    # handler cannot answer the button twice, so it apologises in the chat.
    telegram.fail("editMessageText", 500, "Internal Server Error")
    start = telegram.mark()
    await telegram.press(lan, question.result["message_id"], SetLanguage("vi").pack())
    apology = await telegram.wait_for("sendMessage", after=start, chat_id=lan.id)
    assert apology.params["text"].startswith("Xin lỗi")
    assert telegram.calls_to("editMessageText", after=start)[0].status == 500


async def test_a_job_due_before_a_late_start_still_runs(settings: Settings) -> None:
    """On a busy machine the job queue may start seconds after a job was scheduled for "now"
    (a draft to restore, the first news poll): the job runs late rather than never."""
    application = build_application(settings)
    assert application.job_queue is not None
    ran = asyncio.Event()

    async def job(context: object) -> None:
        ran.set()

    # Due five seconds before the job queue starts: past APScheduler's default 1 s grace.
    due = datetime.now(UTC) - timedelta(seconds=5)
    application.job_queue.run_once(job, when=due, name="due-before-start")
    async with running(application):
        async with asyncio.timeout(30):
            await ran.wait()
