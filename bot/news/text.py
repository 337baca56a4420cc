"""Vietnamese text: normalising what the site sends, and folding it for search and dedupe."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["clean", "fold", "plain_text", "search_expression", "title_key"]

_SPACES = re.compile(r"\s+")
# Letters with no Unicode decomposition that readers type as a plain d.
_D = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})
_NOT_WORD = re.compile(r"[^\w]+")
# The combining-mark blocks of Latin scripts: every Vietnamese tone and vowel mark is in them.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def clean(text: str) -> str:
    """NFC, non-breaking and other odd spaces made plain, runs of whitespace collapsed, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Lower case without diacritics (đ→d), so "Đường", "duong" and NFD input all match."""
    bare = _MARKS.sub("", unicodedata.normalize("NFD", text.translate(_D)))
    return _SPACES.sub(" ", bare.translate(_D).casefold()).strip()


def title_key(title: str) -> str:
    """A title reduced to its folded words: the same article re-posted gets the same key."""
    return _NOT_WORD.sub(" ", fold(title)).strip()


_TERM = re.compile(r"\w+\*?")


def search_expression(query: str) -> str | None:
    """An FTS5 expression for what a resident typed, or None if it holds no word.

    Words are folded like the index, so diacritics, đ and NFD input do not matter. Every word
    must match; the last one also matches as a prefix (people stop typing half-way), and a
    word ending in * is a prefix anywhere.
    """
    words = _TERM.findall(fold(query))
    if not words:
        return None
    terms = []
    for index, word in enumerate(words):
        bare = word.rstrip("*")
        prefix = word.endswith("*") or (index == len(words) - 1 and len(bare) >= 2)
        terms.append(f'"{bare}"*' if prefix else f'"{bare}"')
    return " ".join(terms)


class _Text(HTMLParser):
    """Collects the text of a piece of HTML, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(markup: str) -> str:
    """The text of a piece of Telegram HTML, tags dropped and entities decoded."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)
