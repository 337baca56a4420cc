"""The handler for one kind of button: matches only data that unpacks as that kind."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.callbacks import CallbackData
from bot.context import BotContext

__all__ = ["ButtonHandler"]


class ButtonHandler(CallbackQueryHandler[BotContext, None]):
    """`CallbackQueryHandler(callback, pattern=kind.matches)`, except for a query without data.

    PTB hands a callback query that carries neither data nor a game to every handler, pattern or
    not, so the first button handler registered would unpack nothing and fail. Such a query is
    nobody's button: it goes on to the catch-all `handlers.errors.stale_button`.
    """

    def __init__(
        self,
        callback: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
        kind: type[CallbackData],
    ) -> None:
        super().__init__(callback, pattern=kind.matches)
        self.kind = kind

    def check_update(self, update: object) -> bool | object | None:
        """True only for a press whose data unpacks as this handler's kind."""
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        if not isinstance(update.callback_query.data, str):
            return False
        return super().check_update(update)
