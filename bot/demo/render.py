"""A Telegram message as the chat page shows it: its text and entities as safe HTML, its buttons."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

__all__ = ["entities_to_html", "message_view"]

# Entity type → the tag the page shows it with. Everything else is plain (escaped) text.
_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
    "bot_command": ('<span class="command">', "</span>"),
}
_SCHEMES = ("http", "https", "tg")


def _link(url: str) -> tuple[str, str]:
    """An `a` tag for a link the page may follow; a plain span for any other scheme."""
    if urlsplit(url).scheme.lower() not in _SCHEMES:
        return "<span>", "</span>"
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">', "</a>"


def _tags(entity: dict[str, Any], text: str) -> tuple[str, str]:
    kind = str(entity.get("type", ""))
    if kind == "text_link":
        return _link(str(entity.get("url", "")))
    if kind == "url":
        return _link(text)
    return _TAGS.get(kind, ("", ""))


def _utf16_index(text: str) -> dict[int, int]:
    """Python string index of each UTF-16 offset that falls between characters."""
    index: dict[int, int] = {}
    units = 0
    for position, char in enumerate(text):
        index[units] = position
        units += 2 if ord(char) > 0xFFFF else 1
    index[units] = len(text)
    return index


def entities_to_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """The text with Telegram's formatting as HTML; every character of the text is escaped.

    Entities come from the Bot API (offsets and lengths in UTF-16 code units) and nest as
    Telegram's HTML parser makes them; one that would cross the end of another is cut there, so
    the HTML is always well formed.
    """
    index = _utf16_index(text)
    spans: list[tuple[int, int, str, str]] = []
    for entity in entities or []:
        start = index.get(int(entity.get("offset", 0)))
        end = index.get(int(entity.get("offset", 0)) + int(entity.get("length", 0)))
        if start is None or end is None or end <= start:
            continue
        opening, closing = _tags(entity, text[start:end])
        if opening:
            spans.append((start, end, opening, closing))
    spans.sort(key=lambda span: (span[0], -span[1]))
    out: list[str] = []
    stack: list[tuple[int, int, str, str]] = []
    position = 0
    pending = list(reversed(spans))

    def close_until(limit: int) -> None:
        nonlocal position
        while stack and stack[-1][1] <= limit:
            span = stack.pop()
            out.append(html.escape(text[position : span[1]], quote=False))
            position = span[1]
            out.append(span[3])

    while pending:
        span = pending.pop()
        close_until(span[0])
        out.append(html.escape(text[position : span[0]], quote=False))
        position = span[0]
        # A span that would cross the end of an open one is cut there (never malformed HTML).
        end = min([span[1], *(open_span[1] for open_span in stack)])
        out.append(span[2])
        stack.append((span[0], end, span[2], span[3]))
    close_until(len(text))
    out.append(html.escape(text[position:], quote=False))
    return "".join(out)


def _button(button: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of one inline button: its label and what a tap does."""
    view: dict[str, Any] = {"text": str(button.get("text", ""))}
    if "callback_data" in button:
        view["data"] = str(button["callback_data"])
    elif "url" in button:
        view["url"] = str(button["url"])
    elif any(key.startswith("switch_inline_query") for key in button):
        view["share"] = True
    return view


def message_view(
    data: dict[str, Any], *, bot_id: int, preview: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stored Bot API message as the page draws it (text as safe HTML, buttons, media)."""
    text_key, entities_key = (
        ("text", "entities") if "text" in data else ("caption", "caption_entities")
    )
    view: dict[str, Any] = {
        "id": int(data["message_id"]),
        "out": data.get("from", {}).get("id") != bot_id,
        "date": int(data.get("date", 0)),
        "edited": "edit_date" in data,
        "html": entities_to_html(str(data.get(text_key, "")), data.get(entities_key)),
        "buttons": [
            [_button(button) for button in row]
            for row in (data.get("reply_markup") or {}).get("inline_keyboard", [])
        ],
    }
    if data.get("photo"):
        view["photo"] = f"/files/{data['photo'][-1]['file_id']}"
    if data.get("document"):
        document = data["document"]
        view["document"] = {
            "url": f"/files/{document['file_id']}",
            "name": str(document.get("file_name") or "tep"),
        }
    if preview and not preview.get("is_disabled") and preview.get("url"):
        url = str(preview["url"])
        if urlsplit(url).scheme in ("http", "https"):
            view["preview"] = {"url": url, "above": bool(preview.get("show_above_text"))}
    return view
