"""Inline keyboards that serialize themselves without python-telegram-bot's reflection.

PTB turns a `TelegramObject` into JSON by walking the slots of every class in its hierarchy,
for each button of each row: about 30 µs for an article's six buttons, on every view a resident
opens. The bot's reading views only ever carry buttons with a text and either callback data or
a link, whose JSON form is three keys. `Keyboard.to_dict` writes those directly and leaves any
other button (a login URL, an inline-query switch, a field a newer PTB adds) to PTB.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

__all__ = ["Keyboard"]

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
