"""What Telegram tells the bot about its own membership: blocked, unblocked, removed, added."""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember, Update
from telegram.error import TelegramError

from bot.context import BotContext, Services

__all__ = ["membership_changed", "watch_channel"]

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


def watch_channel(bot: Bot, services: Services) -> None:
    """Tell the owners, once, when the commune's channel can no longer be posted to.

    Otherwise new articles would silently stop appearing there: the chat is marked unreachable
    and skipped until the bot is made an administrator of the channel again (that update marks
    it reachable).
    """
    channel = services.settings.CHANNEL_ID
    if channel is None:
        return

    async def unreachable(chat_id: int, detail: str) -> None:
        if chat_id != channel:
            return
        log.warning("the channel (CHANNEL_ID) cannot be posted to: %s", detail)
        for owner in sorted(services.settings.ADMIN_IDS):
            lang = await services.users.language(owner) or services.settings.DEFAULT_LANGUAGE
            text = services.catalog.text("delivery.channel_unreachable", lang, error=detail)
            try:
                await bot.send_message(owner, text)
            except TelegramError as exc:
                log.warning("could not tell an owner about the channel: %s", exc)

    services.delivery.on_unreachable(unreachable)
