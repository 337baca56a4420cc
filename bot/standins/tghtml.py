"""Telegram's HTML parse mode, as strict as Telegram: text and entities, or the error it gives."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

__all__ = ["EntityParseError", "parse_html", "utf16_len"]

# Tag → entity type. `span` and `a` need an attribute, checked below.
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """The text is not HTML Telegram accepts; the message is Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _fail(self, what: str) -> None:
        raise EntityParseError(f"Bad Request: can't parse entities: {what}")

    def _add(self, chunk: str) -> None:
        self.text.append(chunk)
        self.length += utf16_len(chunk)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _TAGS.get(tag)
        values = dict(attrs)
        if kind is None or (tag == "span" and values.get("class") != "tg-spoiler"):
            self._fail(f'unsupported start tag "{tag}"')
        entity: dict[str, Any] = {"type": kind, "offset": self.length}
        if tag == "a":
            href = values.get("href")
            if not href:
                self._fail('"a" tag must have a non-empty "href" attribute')
            entity["url"] = href
        elif tag == "blockquote" and "expandable" in values:
            entity["type"] = "expandable_blockquote"
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (values.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
            entity = {}
        elif tag == "tg-emoji":
            if not values.get("emoji-id"):
                self._fail('"tg-emoji" tag must have an "emoji-id" attribute')
            entity["custom_emoji_id"] = values["emoji-id"]
        self.stack.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'unexpected end tag "{tag}"')
        open_tag, entity = self.stack.pop()
        if open_tag != tag:
            self._fail(f'unmatched end tag, expected "</{open_tag}>", found "</{tag}>"')
        if entity and self.length > entity["offset"]:
            entity["length"] = self.length - entity["offset"]
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        for char in "<>&":
            if char in data:
                self._fail(f'unexpected character "{char}" in text; escape it as an entity')
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED:
            self._fail(f'unsupported HTML entity "&{name};"')
        self._add(_NAMED[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self._add(chr(code))
        except (ValueError, OverflowError):
            self._fail(f'invalid numeric entity "&#{name};"')

    def handle_comment(self, data: str) -> None:
        self._fail("comments are not supported")

    def handle_decl(self, decl: str) -> None:
        self._fail("declarations are not supported")

    def handle_pi(self, data: str) -> None:
        self._fail("processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:
        self._fail("declarations are not supported")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of `source`, or EntityParseError as Telegram would refuse it."""
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise EntityParseError(
            "Bad Request: can't parse entities: "
            f'can\'t find end tag corresponding to start tag "{tag}"'
        )
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.text), entities
