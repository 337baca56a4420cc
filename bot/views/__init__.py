"""What a person is shown, as a value no front end owns.

A `View` is a message: its text, written in a small formatting vocabulary, rows of buttons each
carrying a typed action (a `bot.callbacks.CallbackData`) or a link, an optional picture shown
with the text (`picture`, an address: Telegram shows it as a large preview above the text), an
optional file, and an optional `Menu`: the main things a person can do, each a command, which
Telegram shows as big buttons under the typing field and a front end without them as numbered
choices. The vocabulary is a subset of HTML that every front end can render or strip:

    <b>bold</b>  <i>italic</i>  <a href="https://…">link</a>  <blockquote>quote</blockquote>
    <pre>preformatted</pre>

(the catalogue's texts are written in it; values put into them are escaped). The Telegram
renderer (`bot.keyboard.for_telegram`, used by `bot.adapter`) sends the text as HTML with an
inline keyboard; a front end without buttons numbers the choices instead. A long text comes as
pages: one view per page, whose buttons turn to the others (an article's full text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.callbacks import CallbackData

__all__ = ["Button", "File", "Menu", "MenuItem", "View", "rows_of"]


@dataclass(frozen=True, slots=True)
class Button:
    """A button: its label, and what it does (an action of the bot's, or a web address)."""

    label: str
    action: CallbackData | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class File:
    """A picture or a document sent with the text (which then is its caption)."""

    kind: str  # "picture" or "document"
    content: bytes | str  # the bytes, or an id/address the channel knows
    name: str = ""


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One entry of the main menu: its label, and the command it stands for."""

    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Menu:
    """The main menu, in rows, and the hint shown where the person types."""

    rows: tuple[tuple[MenuItem, ...], ...]
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class View:
    """One message as a person sees it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    file: File | None = None
    picture: str | None = None  # the address of a picture shown with the text
    menu: Menu | None = None  # the main menu shown with it (a view with buttons has none)


def rows_of(buttons: Sequence[Button], width: int) -> tuple[tuple[Button, ...], ...]:
    """Buttons laid out `width` to a row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
