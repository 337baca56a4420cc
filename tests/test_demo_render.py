"""The chat page's rendering of Telegram messages: entities to safe HTML, buttons, media."""

from __future__ import annotations

import pytest

from bot.demo.render import entities_to_html, message_view
from bot.standins.tghtml import parse_html


def html_of(source: str) -> str:
    """Telegram HTML as the bot sends it → entities as Telegram gives them → the page's HTML."""
    return entities_to_html(*parse_html(source))


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("<b>Thông báo</b> họp dân", "<b>Thông báo</b> họp dân"),
        ("<b>đậm <i>nghiêng</i></b> thường", "<b>đậm <i>nghiêng</i></b> thường"),
        ("nhiệt độ &gt; 35°C &amp; Q&amp;A", "nhiệt độ &gt; 35°C &amp; Q&amp;A"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("👋 <b>Xin chào</b> 🇻🇳 <i>bà con</i>", "👋 <b>Xin chào</b> 🇻🇳 <i>bà con</i>"),
        ("<code>06:30 mai</code>", "<code>06:30 mai</code>"),
        ("<tg-spoiler>bí mật</tg-spoiler>", '<span class="spoiler">bí mật</span>'),
        ("<blockquote>trích</blockquote>", "<blockquote>trích</blockquote>"),
        (
            '<a href="https://t.me/tinxa_bot?start=a1">Mở</a>',
            '<a href="https://t.me/tinxa_bot?start=a1" target="_blank" rel="noopener">Mở</a>',
        ),
        ('<a href="javascript:alert(1)">bấm</a>', "<span>bấm</span>"),
        (
            '<a href="https://x.vn/?a=1&amp;b=&quot;2&quot;">x</a>',
            '<a href="https://x.vn/?a=1&amp;b=&quot;2&quot;" target="_blank" rel="noopener">x</a>',
        ),
    ],
)
def test_formatting_is_kept_and_everything_else_escaped(source: str, shown: str) -> None:
    assert html_of(source) == shown


def test_entities_that_cross_are_cut_to_well_formed_html() -> None:
    text = "abcdef"
    entities = [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 2, "length": 4},
    ]
    assert entities_to_html(text, entities) == "<b>ab<i>cd</i></b>ef"


def test_a_message_view_has_buttons_media_and_preview() -> None:
    data = {
        "message_id": 7,
        "date": 1,
        "from": {"id": 99},
        "caption": "Biểu đồ",
        "caption_entities": [{"type": "bold", "offset": 0, "length": 7}],
        "photo": [{"file_id": "photo-ab12"}],
        "edit_date": 2,
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Mở", "callback_data": "a:1"}, {"text": "Web", "url": "https://x.vn"}],
                [{"text": "Chia sẻ", "switch_inline_query": "x"}],
            ]
        },
    }
    view = message_view(data, bot_id=99, preview={"url": "http://127.0.0.1:1/a.jpg"})
    assert view["out"] is False
    assert view["edited"] is True
    assert view["html"] == "<b>Biểu đồ</b>"
    assert view["photo"] == "/files/photo-ab12"
    assert view["buttons"] == [
        [{"text": "Mở", "data": "a:1"}, {"text": "Web", "url": "https://x.vn"}],
        [{"text": "Chia sẻ", "share": True}],
    ]
    assert view["preview"] == {"url": "http://127.0.0.1:1/a.jpg", "above": False}
    disabled = message_view(data, bot_id=99, preview={"is_disabled": True})
    assert "preview" not in disabled
    assert "preview" not in message_view(data, bot_id=99, preview={"url": "javascript:x"})


async def test_the_chat_room_ignores_malformed_requests_from_the_page() -> None:
    """Whatever a page sends, the room neither crashes nor makes updates for unknown people."""
    from bot.demo.chat import ChatRoom, Persona
    from bot.standins.telegram import FakeTelegram

    async def publish() -> str | None:
        return None

    async with FakeTelegram() as api:
        room = ChatRoom(api, [Persona(2001, "Lan", "Chị Lan")], publish, "http://127.0.0.1:1")
        await room.act({"action": "send", "chat": 9999, "text": "/start"})
        await room.act({"action": "press", "chat": 2001, "message": 42, "data": "x"})
        await room.act({"action": "send", "chat": 2001, "text": "   "})
        await room.act({"action": "send", "chat": "Lan", "text": "/start"})
        await room.act({"action": "press", "chat": 2001, "message": None, "data": "x"})
        assert api._updates == []
        await room.act({"action": "send", "chat": 2001, "text": "/start"})
        assert [u["message"]["text"] for u in api._updates] == ["/start"]
