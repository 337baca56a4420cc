"""The stand-in Bot API behaves like Telegram where it matters, through PTB's real request path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.ratelimit import retry_after_seconds
from bot.request import JsonRequest
from bot.standins.telegram import FakeTelegram, FloodLimits


@pytest.fixture(params=["form", "json"])
async def client(telegram: FakeTelegram, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    """A plain PTB Bot pointed at the stand-in (no retries, a read timeout of 2 s).

    Every test runs twice: with PTB's own HTTPXRequest (URL-encoded forms) and with the bot's
    JsonRequest (JSON bodies), so both reach Telegram's behaviour and errors the same way.
    """
    sender = HTTPXRequest if request.param == "form" else JsonRequest
    bot = Bot(
        telegram.token,
        base_url=f"{telegram.url}/bot",
        base_file_url=f"{telegram.url}/file/bot",
        request=sender(read_timeout=2.0),
    )
    async with bot:
        yield bot


async def test_sends_answer_real_messages(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    message = await client.send_message(11, "<b>Chào</b> bà con &amp; cô bác", ParseMode.HTML)
    assert message.message_id == 1
    assert message.text == "Chào bà con & cô bác"
    assert message.entities[0].type == "bold"
    assert (message.entities[0].offset, message.entities[0].length) == (0, 4)
    assert message.text_html == "<b>Chào</b> bà con &amp; cô bác"
    assert telegram.calls_to("sendMessage")[0].params["parse_mode"] == "HTML"


@pytest.mark.parametrize(
    "html",
    [
        "<p>đoạn văn</p>",  # tag Telegram does not know
        "<b>không đóng",  # unclosed tag
        "<b><i>sai thứ tự</b></i>",  # crossed tags
        "Q&A cho bà con",  # bare ampersand
        "nhiệt độ > 35 độ",  # bare greater-than
        "a < b",  # bare less-than
        "<br>",  # void tag
        "&nbsp;",  # named entity Telegram does not support
        '<span class="x">nhãn</span>',  # span other than the spoiler
        "<a>không có địa chỉ</a>",  # link without href
    ],
)
async def test_refuses_html_telegram_refuses(
    telegram: FakeTelegram, client: Bot, html: str
) -> None:
    telegram.user(11)
    with pytest.raises(BadRequest, match="parse entities"):
        await client.send_message(11, html, ParseMode.HTML)


async def test_accepts_every_tag_telegram_accepts(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        "<strike>k</strike><del>d</del><tg-spoiler>t</tg-spoiler>"
        '<span class="tg-spoiler">p</span><a href="https://example.vn">a</a><code>c</code>'
        '<pre><code class="language-python">x</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>w</blockquote>&lt;&gt;&amp;&quot;&#224;&#x1EA1;"
    )
    message = await client.send_message(11, html, ParseMode.HTML)
    assert message.text.endswith('<>&"àạ')
    kinds = [entity.type for entity in message.entities]
    assert "expandable_blockquote" in kinds
    assert "text_link" in kinds


async def test_length_limits(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    await client.send_message(11, "ạ" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await client.send_message(11, "ạ" * 4097)
    # The limit counts text after entity parsing, not the markup.
    await client.send_message(11, "<b>" + "a" * 4096 + "</b>", ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await client.send_message(11, "  ")


async def test_callback_data_over_64_bytes_refused(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 64)]])
    await client.send_message(11, "nút", reply_markup=fits)
    # 22 Vietnamese letters of 3 bytes each: 22 characters but 66 bytes.
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("quá", callback_data="ệ" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await client.send_message(11, "nút", reply_markup=too_long)


async def test_scripted_failures(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    telegram.fail_flood("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await client.send_message(11, "một")
    assert retry_after_seconds(flood.value) == 7

    telegram.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="blocked"):
        await client.send_message(11, "hai")

    telegram.fail_server("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await client.send_message(11, "ba")

    telegram.slow("sendMessage", 3.0)  # past the read timeout
    with pytest.raises(TimedOut):
        await client.send_message(11, "bốn")

    # Each fault was used once: the next send goes through.
    assert (await client.send_message(11, "năm")).text == "năm"
    statuses = [call.status for call in telegram.calls_to("sendMessage")]
    assert statuses[:3] == [429, 403, 502]


async def test_blocked_user_and_unknown_chat(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    telegram.block(11)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await client.send_message(11, "chào")
    telegram.unblock(11)
    await client.send_message(11, "chào")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await client.send_message(999, "chào")


async def test_migrated_group(telegram: FakeTelegram, client: Bot) -> None:
    telegram.group(-5)
    telegram.migrate(-5, -1005)
    with pytest.raises(ChatMigrated) as moved:
        await client.send_message(-5, "chào")
    assert moved.value.new_chat_id == -1005
    await client.send_message(-1005, "chào")


async def test_flood_limits_enforced(telegram: FakeTelegram, client: Bot) -> None:
    telegram.enforce_flood_limits(FloodLimits(overall_per_second=3, group_per_minute=2))
    for user_id in range(1, 5):
        telegram.user(user_id)
    await client.send_message(1, "một")
    with pytest.raises(RetryAfter):  # second message to the same private chat within a second
        await client.send_message(1, "hai")
    await client.send_message(2, "ba")
    await client.send_message(3, "bốn")
    with pytest.raises(RetryAfter):  # fourth message overall within a second
        await client.send_message(4, "năm")
    telegram.group(-7)
    telegram.flood = FloodLimits(overall_per_second=100, group_per_minute=2)
    await client.send_message(-7, "a")
    await client.send_message(-7, "b")
    with pytest.raises(RetryAfter) as flood:  # third message to a group within a minute
        await client.send_message(-7, "c")
    assert retry_after_seconds(flood.value) > 50
    assert telegram.flood_violations == 3


async def test_edits(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    message = await client.send_message(11, "bản 1")
    edited = await client.edit_message_text(
        "<i>bản 2</i>", 11, message.message_id, parse_mode=ParseMode.HTML
    )
    assert not isinstance(edited, bool)
    assert edited.text == "bản 2"
    assert telegram.message(11, message.message_id)["text"] == "bản 2"
    assert telegram.html_of(11, message.message_id) == "<i>bản 2</i>"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await client.edit_message_text(
            "<i>bản 2</i>", 11, message.message_id, parse_mode=ParseMode.HTML
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await client.edit_message_text("x", 11, 4242)


async def test_wrong_token_is_unauthorized(telegram: FakeTelegram) -> None:
    other = Bot("123456789:AAHwrongTOKENabcdefghijklmnopqrstuvw", base_url=f"{telegram.url}/bot")
    try:
        with pytest.raises(InvalidToken):
            await other.initialize()
    finally:
        await other.shutdown()


async def test_get_updates_conflicts_with_webhook(telegram: FakeTelegram, client: Bot) -> None:
    telegram.reverse_proxy["https://bot.example.vn"] = "http://127.0.0.1:9"  # nobody there
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await client.set_webhook("http://127.0.0.1:9/hook")  # as Telegram: https only
    with pytest.raises(BadRequest, match="ports 80, 88, 443 or 8443"):
        await client.set_webhook("https://bot.example.vn:8080/hook")
    await client.set_webhook("https://bot.example.vn/hook")
    with pytest.raises(Conflict):
        await client.get_updates(timeout=0)
    await client.delete_webhook()
    assert await client.get_updates(timeout=0) == ()


async def test_injected_updates_reach_get_updates(telegram: FakeTelegram, client: Bot) -> None:
    lan = telegram.user(11, "Lan")
    sent = await client.send_message(
        11,
        "chọn",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a:1")]]),
    )
    await telegram.send(lan, "/start xin-chao")
    await telegram.press(lan, sent.message_id, "a:1")
    await telegram.inline_query(lan, "dan van")
    await telegram.member_status(lan, "kicked")
    updates = await client.get_updates(timeout=0)
    assert updates[0].message is not None
    assert updates[0].message.text == "/start xin-chao"
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[1].callback_query is not None
    assert updates[1].callback_query.data == "a:1"
    assert updates[2].inline_query is not None
    assert updates[2].inline_query.query == "dan van"
    assert updates[3].my_chat_member is not None
    assert updates[3].my_chat_member.new_chat_member.status == "kicked"
    # Confirmed updates are not delivered again.
    assert await client.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_uploads_and_texts_arrive_intact(telegram: FakeTelegram, client: Bot) -> None:
    telegram.user(11)
    text = "Thông báo: lịch tiêm chủng đợt 2 – Trạm Y tế xã"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Xem chi tiết", callback_data="a:1")]])
    sent = await client.send_message(11, text, reply_markup=keyboard)
    assert sent.text == text
    assert sent.reply_markup == keyboard
    assert telegram.calls_to("sendMessage")[0].params["chat_id"] == 11

    # A file goes as a multipart form, with its caption and keyboard beside it.
    document = await client.send_document(
        11, b"%PDF-1.4 lich", filename="lich.pdf", caption=text, reply_markup=keyboard
    )
    assert document.caption == text
    call = telegram.calls_to("sendDocument")[0]
    assert list(call.files.values()) == [b"%PDF-1.4 lich"]
    assert call.params["reply_markup"] == keyboard.to_dict()


async def test_unreachable_api_is_a_network_error_without_the_token(
    telegram: FakeTelegram,
) -> None:
    # Nothing listens on the stand-in's port once it has stopped.
    url = telegram.url
    await telegram.stop()
    bot = Bot(telegram.token, base_url=f"{url}/bot", request=JsonRequest(connect_timeout=1))
    with pytest.raises(NetworkError) as failure:
        await bot.initialize()
    assert telegram.token not in str(failure.value)
    assert "ConnectError" in str(failure.value)


@pytest.mark.parametrize(
    "url",
    [
        "/chi-tiet-tin/group/130/nid/1/x",
        "//example.org/x",
        "javascript:alert(1)",
        "ftp://example.org/x",
        "http://[::1/x",
        "http://example.org:99999/x",
        "http:///x",
        "http://example.org/a b",
    ],
)
async def test_refuses_url_buttons_telegram_refuses(
    telegram: FakeTelegram, client: Bot, url: str
) -> None:
    chat = telegram.user(7, "Lan")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Web", url=url)]])
    with pytest.raises(BadRequest, match=r"(?i)button url"):
        await client.send_message(chat.id, "x", reply_markup=markup)
    good = InlineKeyboardMarkup([[InlineKeyboardButton("Web", url="https://example.org/a?b=1")]])
    assert (await client.send_message(chat.id, "x", reply_markup=good)).message_id


async def test_observers_see_every_answered_call_in_order(
    telegram: FakeTelegram, client: Bot
) -> None:
    """The demo's chat page follows the bot through `observers`: answers and refusals alike."""
    seen: list[tuple[str, bool]] = []
    telegram.observers.append(lambda call: seen.append((call.method, call.ok)))
    telegram.user(2001)
    sent = await client.send_message(2001, "<b>Xin chào</b>", ParseMode.HTML)
    await client.edit_message_text("Tạm biệt", chat_id=2001, message_id=sent.message_id)
    with pytest.raises(BadRequest):
        await client.send_message(2001, "<b>hỏng", ParseMode.HTML)
    assert seen == [("sendMessage", True), ("editMessageText", True), ("sendMessage", False)]
