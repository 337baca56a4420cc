"""Article bodies as paragraphs of the small HTML subset Telegram displays.

A portal body is arbitrary HTML (nested spans, tables, scripts, inline styles). It becomes a list
of paragraphs; each paragraph is a run of text pieces, each piece carrying the formatting that
applies to it (bold, italic, underline, strike, link). Rendering a paragraph wraps each piece in
its own tags, so every line of every paragraph is balanced on its own: a long body can be split
between any two paragraphs, or any two lines, without cutting a tag.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from selectolax.lexbor import LexborNode

from bot.news.sites import absolute_http

__all__ = ["Body", "body_from_dom"]

# Elements whose content is never shown.
_DROP = {"script", "style", "iframe", "noscript", "object", "embed", "template", "head", "svg",
         "select", "button", "input", "form", "video", "audio", "map"}  # fmt: skip
# Elements that end a paragraph before and after them.
_BLOCK = {"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "table",
          "tbody", "thead", "tfoot", "ul", "ol", "blockquote", "pre", "center", "figure",
          "figcaption", "header", "footer", "address", "hr", "dl", "dd", "dt"}  # fmt: skip
_FORMAT = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s",
           "strike": "s", "del": "s"}  # fmt: skip
_ORDER = ("a", "b", "i", "u", "s")  # outermost first, so equal formats render identically


def _absolute(base: str, address: str) -> str | None:
    """`address` made absolute against `base`, if it is a valid http(s) address."""
    try:
        target = urljoin(base, address.strip())
    except ValueError:  # "http://[::1/x" and the like
        return None
    return target if absolute_http(target) else None


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    formats: frozenset[str]
    href: str | None


@dataclass
class Body:
    """A converted body: paragraphs of Telegram HTML, plain text, and the first image."""

    paragraphs: list[str] = field(default_factory=list)
    text: str = ""
    first_image: str | None = None

    @property
    def html(self) -> str:
        """All paragraphs, separated by blank lines."""
        return "\n\n".join(self.paragraphs)


class _Builder:
    def __init__(self, base_url: str, stop: Callable[[LexborNode], bool]) -> None:
        self.base_url = base_url
        self.stop = stop
        self.stopped = False
        self.paragraphs: list[list[_Piece]] = []
        self.current: list[_Piece] = []
        self.first_image: str | None = None

    def end_paragraph(self) -> None:
        if any(piece.text.strip() for piece in self.current):
            self.paragraphs.append(self.current)
        self.current = []

    def line_break(self) -> None:
        self.current.append(_Piece("\n", frozenset(), None))

    def walk(self, node: LexborNode, formats: frozenset[str], href: str | None) -> None:
        for child in node.iter(include_text=True):
            if self.stopped:
                return
            tag = child.tag or ""
            if tag == "-text":
                # Newlines in the source are plain whitespace; only <br> breaks a line.
                text = (child.text_content or "").replace("\r", " ").replace("\n", " ")
                if text:
                    self.current.append(_Piece(text, formats, href))
                continue
            if tag.startswith("-"):  # comments, doctype
                continue
            if self.stop(child):
                self.stopped = True
                return
            self.element(child, tag.lower(), formats, href)

    def element(
        self, node: LexborNode, tag: str, formats: frozenset[str], href: str | None
    ) -> None:
        attrs = node.attributes
        if tag in _DROP:
            return
        if tag == "img":
            src = attrs.get("src")
            image = _absolute(self.base_url, src) if src else None
            if image and self.first_image is None:
                self.first_image = image
            return
        if tag == "br":
            self.line_break()
            return
        inner_formats, inner_href = formats, href
        if tag in _FORMAT:
            inner_formats = formats | {_FORMAT[tag]}
        elif tag == "a":
            # Only links Telegram accepts: a malformed one would make it refuse the message.
            inner_href = _absolute(self.base_url, attrs.get("href") or "") or href
        if tag == "li":
            self.end_paragraph()
            self.current.append(_Piece("• ", frozenset(), None))
            self.walk(node, inner_formats, inner_href)
            self.end_paragraph()
        elif tag == "tr":
            self.end_paragraph()
            self.walk(node, inner_formats, inner_href)
            self.end_paragraph()
        elif tag in ("td", "th"):
            if any(piece.text.strip() for piece in self.current):
                self.current.append(_Piece(" | ", frozenset(), None))
            self.walk(node, inner_formats | ({"b"} if tag == "th" else set()), inner_href)
        elif tag in _BLOCK:
            self.end_paragraph()
            self.walk(node, inner_formats, inner_href)
            self.end_paragraph()
        else:
            self.walk(node, inner_formats, inner_href)


_TOKENS = re.compile(r"\n|[^\S\n]+|[^\s]+")


def _normalise(pieces: list[_Piece]) -> list[_Piece]:
    """Collapse whitespace across pieces: one space between words, no space around line breaks."""
    out: list[_Piece] = []
    pending_space = False
    line_start = True
    for piece in pieces:
        buf: list[str] = []
        # Word by word, not character by character: this runs over every body stored.
        for token in _TOKENS.findall(unicodedata.normalize("NFC", piece.text)):
            if token == "\n":
                pending_space = False
                if not line_start:
                    buf.append("\n")
                    line_start = True
            elif token[0].isspace():
                pending_space = not line_start
            else:
                if pending_space:
                    # A space between pieces belongs to the earlier one ("A <b>b</b>").
                    if buf or not out:
                        buf.append(" ")
                    else:
                        out[-1] = _Piece(out[-1].text + " ", out[-1].formats, out[-1].href)
                    pending_space = False
                buf.append(token)
                line_start = False
        if buf:
            out.append(_Piece("".join(buf), piece.formats, piece.href))
    if out and out[-1].text.endswith("\n"):
        out[-1] = _Piece(out[-1].text.rstrip("\n"), out[-1].formats, out[-1].href)
    return [piece for piece in out if piece.text]


def _render(pieces: list[_Piece]) -> tuple[str, str]:
    """One paragraph as (Telegram HTML, plain text); every line's tags are balanced."""
    lines: list[list[_Piece]] = [[]]
    for piece in _normalise(pieces):
        for index, segment in enumerate(piece.text.split("\n")):
            if index:
                lines.append([])
            if segment:
                lines[-1].append(_Piece(segment, piece.formats, piece.href))
    rendered = [_render_line(line) for line in lines]
    return "\n".join(rendered), "\n".join("".join(p.text for p in line) for line in lines)


def _render_line(pieces: list[_Piece]) -> str:
    merged: list[_Piece] = []
    for piece in pieces:
        if merged and (merged[-1].formats, merged[-1].href) == (piece.formats, piece.href):
            merged[-1] = _Piece(merged[-1].text + piece.text, piece.formats, piece.href)
        else:
            merged.append(piece)
    parts: list[str] = []
    for piece in merged:
        escaped = html.escape(piece.text, quote=False)
        if piece.text.strip():
            for fmt in reversed(_ORDER):
                if fmt == "a" and piece.href:
                    escaped = f'<a href="{html.escape(piece.href)}">{escaped}</a>'
                elif fmt in piece.formats:
                    escaped = f"<{fmt}>{escaped}</{fmt}>"
        parts.append(escaped)
    return "".join(parts)


def body_from_dom(
    root: LexborNode, base_url: str, stop: Callable[[LexborNode], bool] = lambda node: False
) -> Body:
    """Convert the children of `root` until an element for which `stop` is true."""
    builder = _Builder(base_url, stop)
    builder.walk(root, frozenset(), None)
    builder.end_paragraph()
    body = Body(first_image=builder.first_image)
    texts: list[str] = []
    for pieces in builder.paragraphs:
        rendered, text = _render(pieces)
        if text:
            body.paragraphs.append(rendered)
            texts.append(text)
    body.text = "\n\n".join(texts)
    return body
