"""The baseline bot: bare python-telegram-bot that echoes, with the same calls as ours.

Run by benchmarks/reading.py as a separate process: BOT_TOKEN and TELEGRAM_API_URL from the
environment. A message gets a message; a button gets its answer and an edit.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest


def build(
    token: str, root: str, request: BaseRequest | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The echo bot's application (PTB's own request class unless `request` is given)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(True)
    )
    if request is not None:
        builder = builder.request(request)
    application = builder.build()
    edits = itertools.count()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None and update.effective_message.text:
            await update.effective_message.reply_text(update.effective_message.text)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            await query.answer()
            await query.edit_message_text(f"{query.data} {next(edits)}")

    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(press))
    return application


def main() -> None:
    """Echo until SIGTERM."""
    build(os.environ["BOT_TOKEN"], os.environ["TELEGRAM_API_URL"]).run_polling(
        poll_interval=0, timeout=10
    )


if __name__ == "__main__":
    main()
