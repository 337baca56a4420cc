"""Views as Telegram shows them, with inline keyboards that serialize themselves without
python-telegram-bot's reflection.

`for_telegram(view)` turns a channel-neutral `bot.views.View` into what a Telegram message takes:
its HTML text (the view's vocabulary is a subset of Telegram's HTML), a `Keyboard` (each
button's typed action packed into its callback data, or its link) and the link preview (the
view's picture large above the text, or none). It is the reading hot path's renderer.

PTB turns a `TelegramObject` into JSON by walking the slots of every class in its hierarchy,
for each button of each row: about 30 µs for an article's six buttons, on every view a resident
opens. The bot's reading views only ever carry buttons with a text and either callback data or
a link, whose JSON form is three keys. `Keyboard.to_dict` writes those directly and leaves any
other button (a login URL, an inline-query switch, a field a newer PTB adds) to PTB.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
)

from bot.views import Button, Menu, View

__all__ = ["Keyboard", "Rendered", "for_telegram", "markup", "menu_keyboard"]

# Every field a button may carry beyond the three written directly, read from PTB itself so a
# field added by a later version sends that button through PTB's own serialization.
_OTHER_FIELDS = tuple(
    name for name in InlineKeyboardButton.__slots__ if name not in ("text", "callback_data", "url")
)
_others = attrgetter(*_OTHER_FIELDS)


class Keyboard(InlineKeyboardMarkup):
    """An `InlineKeyboardMarkup` whose plain buttons are written to JSON directly."""

    __slots__ = ()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The keyboard as the Bot API takes it; the same as PTB's own `to_dict`."""
        if self.api_kwargs:
            return super().to_dict(recursive)
        return {
            "inline_keyboard": [[_button(button) for button in row] for row in self.inline_keyboard]
        }


def _button(button: InlineKeyboardButton) -> dict[str, Any]:
    data = button.callback_data
    if (
        button.api_kwargs
        or not isinstance(data, str | None)
        or _others(button).count(None) != len(_OTHER_FIELDS)
    ):
        return button.to_dict()
    if data is not None and button.url is None:
        return {"text": button.text, "callback_data": data}
    if data is None and button.url is not None:
        return {"text": button.text, "url": button.url}
    return button.to_dict()  # neither, or both: PTB's form, for Telegram to judge


def markup(view: View) -> Keyboard | None:
    """A view's buttons as Telegram's inline keyboard (None for a view without buttons)."""
    if not view.buttons:
        return None
    return Keyboard([[_telegram_button(button) for button in row] for row in view.buttons])


# PTB's buttons are frozen values, and building one costs about 6 µs (a view has six): the
# buttons of the views shown lately (a list's, "back to the list") are made once.
_BUTTONS: dict[Button, InlineKeyboardButton] = {}
_BUTTONS_KEPT = 1024


def _telegram_button(button: Button) -> InlineKeyboardButton:
    made = _BUTTONS.get(button)
    if made is None:
        made = InlineKeyboardButton(
            button.label,
            callback_data=None if button.action is None else button.action.pack(),
            url=button.url,
        )
        if len(_BUTTONS) >= _BUTTONS_KEPT:  # a bound, not an LRU
            _BUTTONS.clear()
        _BUTTONS[button] = made
    return made


def menu_keyboard(menu: Menu) -> ReplyKeyboardMarkup:
    """The main menu as Telegram's reply keyboard: big buttons under the typing field that
    send their label (routed back to the command by `bot.views.start.menu_command`)."""
    return ReplyKeyboardMarkup(
        [[item.label for item in row] for row in menu.rows],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=menu.placeholder or None,
    )


_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A view as a Telegram message: its HTML text, keyboard and link preview."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    preview: LinkPreviewOptions | None = None


def for_telegram(view: View) -> Rendered:
    """A view as Telegram shows it; its picture, if any, as a large preview above the text,
    and no preview otherwise (a link in the text does not turn into one)."""
    preview = (
        LinkPreviewOptions(url=view.picture, prefer_large_media=True, show_above_text=True)
        if view.picture
        else _NO_PREVIEW
    )
    return Rendered(view.text, markup(view), preview)
