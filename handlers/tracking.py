"""Bookkeeping that runs before every handler."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext

__all__ = ["remember_user"]

log = logging.getLogger(__name__)


async def remember_user(update: object, context: BotContext) -> None:
    """Record that the user was seen; a failure here must never stop the reply."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    try:
        await context.services.seen(update.effective_user.id)
    except Exception:
        log.exception("could not record user activity")
