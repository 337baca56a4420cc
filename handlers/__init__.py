"""Telegram handlers: parse the update, act through the services, reply."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, TypeHandler

from bot.callbacks import SetLanguage
from bot.context import BotApplication
from handlers import errors, start, tracking

__all__ = ["register"]


def register(application: BotApplication) -> None:
    """Register every handler. Order matters: see the comments on each group."""
    # Group -1 runs before everything else for every update: remember who talked to the bot.
    application.add_handler(TypeHandler(object, tracking.remember_user), group=-1)

    application.add_handlers(
        [
            CommandHandler("start", start.start),
            CommandHandler("help", start.help_command),
            CommandHandler("language", start.language_command),
            CallbackQueryHandler(start.choose_language, pattern=SetLanguage.matches),
            # Last: any button no handler above recognised is stale or forged.
            CallbackQueryHandler(errors.stale_button),
        ]
    )
    application.add_error_handler(errors.on_error)
