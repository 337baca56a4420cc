"""What happens when a handler fails, or a button is stale or forged."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext

__all__ = ["on_error", "stale_button"]

log = logging.getLogger(__name__)


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a button whose data this bot does not recognise (old, or not ours)."""
    query = update.callback_query
    if query is None:
        return
    log.info("stale or unknown button: %r", (query.data or "")[:64])
    await query.answer(
        await context.services.text_for(query.from_user, "errors.stale_button"), show_alert=True
    )


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure, then tell the person something short and kind in their language."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %r", update_id, context.error, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        text = await context.services.text_for(update.effective_user, "errors.generic")
    except Exception:
        # The failure may be the database itself: fall back to the default language.
        text = context.services.catalog.text("errors.generic")
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text, show_alert=True)
        except BadRequest:
            pass  # already answered before the failure: say it in the chat instead
        else:
            return
    if update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        chat = update.effective_chat
        # No Telegram id in the log: the chat's keyed hash is enough to follow it.
        who = context.services.who(chat.id)
        log.warning("could not tell a %s chat (%s) about the failure: %s", chat.type, who, exc)
