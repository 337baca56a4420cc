"""A `bot.views.View` as Zalo shows it: plain text of at most 2,000 characters a message,
the buttons as numbered choices ("Gõ 1, 2, 3…") and, where the OA accepts them, as query
buttons carrying the same typed action; the picture as an image message.

Zalo cannot edit a sent message and its consultation messages are plain text (ZALO.md), so:

- the view's vocabulary (`<b>`, `<i>`, `<a href>`, `<blockquote>`, `<pre>`) becomes plain text,
  a link its text followed by its address (or the bare address when the text is the address);
- a text longer than a message is cut into several, between paragraphs, then lines, then words;
- each button gets a number: a button whose label already starts with a number ("6. Title",
  the lines of a list) keeps it, the others follow; the numbers and their labels are listed
  under the text (those a list already shows in its text are not repeated), link buttons as
  their address. `Rendered.choices` gives the typed action behind each number, for the
  conversation to keep as the person's last list;
- Telegram's own links (sharing, `t.me` deep links) mean nothing on Zalo and are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.callbacks import CallbackData
from bot.i18n import Catalog
from bot.views import Button, View
from bot.zalo.messages import MAX_TEXT, ZaloButton, ZaloMessage

__all__ = [
    "MAX_BUTTONS",
    "PAYLOAD_MARK",
    "Rendered",
    "for_zalo",
    "numbered_message",
    "one_message",
    "packed_action",
    "plain",
    "split_text",
]

# Buttons under one message. Zalo's limit for a consultation message's buttons is not known
# (ZALO.md: whether /message/cs takes buttons at all is unverified); the numbers always work.
MAX_BUTTONS = 5
# A query button's payload comes back as the resident's text: the mark tells it from typing.
PAYLOAD_MARK = "#"
_TELEGRAM_ONLY = ("https://t.me/", "http://t.me/", "tg://")
_NUMBERED = re.compile(r"(\d{1,3})\.\s")
_BLANKS = re.compile(r"\n{3,}")


def telegram_only(url: str) -> bool:
    """A link only Telegram can open."""
    return url.lower().startswith(_TELEGRAM_ONLY)


class _Plain(HTMLParser):
    """The vocabulary's text without its tags; a link's address after its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[tuple[str, int]] = []  # (href, where its text starts in parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or not self._links:
            return
        href, start = self._links.pop()
        text = "".join(self.parts[start:]).strip()
        if not href or telegram_only(href) or href == text:
            return
        if not text:
            self.parts.append(href)
        else:
            self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(markup: str) -> str:
    """The vocabulary as plain text: tags dropped, entities decoded, links spelled out."""
    parser = _Plain()
    parser.feed(markup)
    parser.close()
    return _BLANKS.sub("\n\n", "".join(parser.parts)).strip()


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut plain text into pieces of at most `limit` characters: between paragraphs by
    preference, then lines, then words, and inside a word only when nothing else fits."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            found = window.rfind(separator)
            if found >= limit // 2:
                cut = found
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces or [""]


def packed_action(action: CallbackData) -> str:
    """A query button's payload: the typed action, packed, behind the mark."""
    return PAYLOAD_MARK + action.pack()


@dataclass(frozen=True, slots=True)
class Rendered:
    """A view as Zalo messages, and the action behind each number the messages offer."""

    messages: list[ZaloMessage]
    choices: dict[int, str]  # number → packed action (`CallbackData.pack()`)


def _numbered(buttons: list[Button]) -> list[tuple[int, Button]]:
    """Each action button with its number: its own ("6. …") if unique, else the next free."""
    taken: dict[int, Button] = {}
    for button in buttons:
        found = _NUMBERED.match(button.label)
        if found and int(found.group(1)) not in taken and int(found.group(1)) > 0:
            taken[int(found.group(1))] = button
    numbered = {id(button): number for number, button in taken.items()}
    following = max(taken, default=0)
    result = []
    for button in buttons:
        number = numbered.get(id(button))
        if number is None:
            following += 1
            number = following
        result.append((number, button))
    return result


def for_zalo(view: View, catalog: Catalog, lang: str, *, numbered: bool = True) -> Rendered:
    """The view as one or more Zalo messages (see the module's docstring).

    With `numbered` false the choices are offered as buttons only (a message sent when the
    person is not looking at the conversation must not change what their numbers mean).
    """
    text = plain(view.text)
    flat = [button for row in view.buttons for button in row]
    actions = [b for b in flat if b.action is not None]
    links = [b for b in flat if b.action is None and b.url and not telegram_only(b.url)]
    choices: dict[int, str] = {}
    lines: list[str] = []
    zalo_buttons: list[ZaloButton] = []
    if actions and numbered:
        listed = {int(m.group(1)) for m in re.finditer(r"(?m)^(\d{1,3})\.\s", text)}
        for number, button in _numbered(actions):
            assert button.action is not None
            choices[number] = button.action.pack()
            if number not in listed or not _NUMBERED.match(button.label):
                lines.append(catalog.text("zalo.choice", lang, number=number, label=button.label))
    for button in actions:
        assert button.action is not None
        label = button.label[:100]
        zalo_buttons.append(ZaloButton(label, payload=packed_action(button.action)))
    link_lines = [
        catalog.text("zalo.link", lang, label=button.label, url=button.url or "")
        for button in links
    ]
    zalo_buttons += [ZaloButton(b.label[:100], url=b.url) for b in links]
    tail: list[str] = []
    if choices:
        tail.append(catalog.text("zalo.choose" if lines else "zalo.choose_listed", lang))
        tail += lines
    if link_lines:
        tail += ["", *link_lines] if tail else link_lines
    # Texts from the catalogue are written in the vocabulary too: plain, like the view's.
    footer = plain("\n".join(tail)) if tail else ""
    whole = f"{text}\n\n{footer}" if text and footer else text or footer
    pieces = split_text(whole)
    messages = [ZaloMessage(piece) for piece in pieces]
    last = messages[-1]
    messages[-1] = ZaloMessage(last.text, tuple(zalo_buttons[:MAX_BUTTONS]))
    if view.picture and not telegram_only(view.picture):
        first = messages[0]
        messages[0] = ZaloMessage(first.text, first.buttons, view.picture)
    return Rendered(messages, choices)


def _single(rendered: Rendered, hint: str) -> ZaloMessage:
    """A rendering's messages as one: `hint` after the text, cut short between words."""
    first, *rest = rendered.messages
    text = "\n\n".join(m.text for m in (first, *rest))
    if hint:
        text = f"{text}\n\n{hint}"
    if len(text) > MAX_TEXT:
        text = split_text(text, MAX_TEXT - 1)[0] + "…"
    buttons = (rest[-1] if rest else first).buttons
    return ZaloMessage(text, buttons, first.image_url)


def one_message(view: View, catalog: Catalog, lang: str, hint: str = "") -> ZaloMessage:
    """A view as a single message sent without being asked (an alert, a digest): choices as
    buttons only, `hint` (a plain line saying what to type) after the text, and a text too long
    for one message cut short between words."""
    return _single(for_zalo(view, catalog, lang, numbered=False), hint)


def numbered_message(view: View, catalog: Catalog, lang: str) -> Rendered:
    """A view as a single message sent unasked whose numbered choices become the resident's
    numbers when it is sent (the poll /sendpoll sends): one message, and its choices."""
    rendered = for_zalo(view, catalog, lang)
    return Rendered([_single(rendered, "")], rendered.choices)
