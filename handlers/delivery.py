"""What Telegram tells the bot about its own membership: blocked, unblocked, removed, added."""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember, Update
from telegram.error import TelegramError

from bot.context import BotContext, Services

__all__ = ["find_channel", "membership_changed", "watch_channel"]

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
    if (
        services.channel is None
        and status not in _GONE
        and _is_the_channel(services, chat.username)
    ):
        services.channel = chat.id  # made an administrator of the channel CHANNEL_ID names
        log.info("CHANNEL_ID %s found: new articles are posted there", services.settings.CHANNEL_ID)
    if status in _GONE:
        reason = "blocked" if chat.type == chat.PRIVATE else "kicked"
        await services.chats.set_active(chat.id, False, reason)
    else:
        if await services.chats.set_active(chat.id, True):
            services.delivery.wake()


def _is_the_channel(services: Services, username: str | None) -> bool:
    """Whether a chat's username is the one CHANNEL_ID gives (Telegram ignores case)."""
    name = services.settings.CHANNEL_ID
    return bool(username) and isinstance(name, str) and name[1:].lower() == str(username).lower()


async def find_channel(bot: Bot, services: Services) -> None:
    """Look up the channel's numeric id when CHANNEL_ID gives its @username.

    If Telegram does not show the channel to the bot (a typo, or the bot is not in it yet), the
    log and the owners say so once; the channel is found when the bot is made its administrator.
    """
    name = services.settings.CHANNEL_ID
    if not isinstance(name, str):
        return
    try:
        chat = await bot.get_chat(name)
    except TelegramError as exc:
        log.warning(
            "CHANNEL_ID %s: Telegram does not show this channel to the bot (%s); check the "
            "username and make the bot an administrator of the channel",
            name,
            exc,
        )
        await _tell_owners(bot, services, f"{name}: {exc}")
        return
    services.channel = chat.id
    log.info("CHANNEL_ID %s is the channel %r", name, chat.title)


async def _tell_owners(bot: Bot, services: Services, detail: str) -> None:
    """Tell each owner, in their language, that the channel cannot be posted to, and what to do."""
    for owner in sorted(services.settings.ADMIN_IDS):
        lang = await services.users.language(owner) or services.settings.DEFAULT_LANGUAGE
        text = services.catalog.text("delivery.channel_unreachable", lang, error=detail)
        try:
            await bot.send_message(owner, text)
        except TelegramError as exc:
            log.warning("could not tell an owner about the channel: %s", exc)


def watch_channel(bot: Bot, services: Services) -> None:
    """Tell the owners, once, when the commune's channel can no longer be posted to.

    Otherwise new articles would silently stop appearing there: the chat is marked unreachable
    and skipped until the bot is made an administrator of the channel again (that update marks
    it reachable).
    """
    if services.settings.CHANNEL_ID is None:
        return

    async def unreachable(chat_id: int, detail: str) -> None:
        if chat_id != services.channel:
            return
        log.warning("the channel (CHANNEL_ID) cannot be posted to: %s", detail)
        await _tell_owners(bot, services, detail)

    services.delivery.on_unreachable(unreachable)
