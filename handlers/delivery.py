"""What Telegram tells the bot about its own membership: blocked, unblocked, removed, added."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update

from bot.context import BotContext

__all__ = ["membership_changed"]

log = logging.getLogger(__name__)

_GONE = frozenset({ChatMember.BANNED, ChatMember.LEFT})


async def membership_changed(update: Update, context: BotContext) -> None:
    """Mark the chat unreachable when the bot is blocked or removed, reachable when it is back.

    Bulk sends then skip the chat before a send ever fails, and resume when it returns.
    """
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    status = change.new_chat_member.status
    services = context.services
    if status in _GONE:
        reason = "blocked" if chat.type == chat.PRIVATE else "kicked"
        await services.chats.set_active(chat.id, False, reason)
    else:
        if await services.chats.set_active(chat.id, True):
            services.delivery.wake()
