"""Telegram's command menus: the residents' for everyone, and a fuller one in each staff chat.

The default menu (every chat) lists the residents' commands in each language. Owners and staff
get a menu set for their private chat alone (`BotCommandScopeChat`), which Telegram shows there
instead of the default one: the residents' commands followed by the staff's (and the owners').
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, User
from telegram.error import TelegramError

from bot.commands import MENU_COMMANDS, OWNER_COMMANDS, STAFF_COMMANDS
from bot.context import Services
from bot.i18n import Catalog

__all__ = [
    "MENU_COMMANDS",
    "OWNER_COMMANDS",
    "STAFF_COMMANDS",
    "clear_staff_menu",
    "commands",
    "refresh_menu",
    "register_commands",
    "set_staff_menu",
    "set_staff_menus",
]

log = logging.getLogger(__name__)


def commands(catalog: Catalog, lang: str, names: Sequence[str]) -> list[BotCommand]:
    """The commands `names` with their descriptions in `lang`."""
    return [BotCommand(name, catalog.text(f"commands.{name}", lang)) for name in names]


async def register_commands(bot: Bot, catalog: Catalog) -> None:
    """setMyCommands once per language, and the default language for everyone else."""
    await bot.set_my_commands(
        commands(catalog, catalog.default, MENU_COMMANDS), scope=BotCommandScopeDefault()
    )
    for lang in catalog.languages:
        await bot.set_my_commands(
            commands(catalog, lang, MENU_COMMANDS),
            scope=BotCommandScopeDefault(),
            language_code=lang,
        )


async def set_staff_menu(
    bot: Bot, catalog: Catalog, user_id: int, *, owner: bool, chosen: str | None
) -> bool:
    """Give a staff member's (or owner's) private chat the staff menu; False if Telegram refused.

    Like the default menu it is set without a language (what Telegram falls back to) and once
    per language of the catalogue, so the app's language picks it; a language the person chose
    with /language (`chosen`) is used for all of them. A refusal — typically "chat not found"
    for someone who never opened the bot — is logged in one line and never raised.
    """
    names = (*MENU_COMMANDS, *STAFF_COMMANDS, *(OWNER_COMMANDS if owner else ()))
    scope = BotCommandScopeChat(user_id)
    try:
        await bot.set_my_commands(commands(catalog, chosen or catalog.default, names), scope=scope)
        for lang in catalog.languages:
            await bot.set_my_commands(
                commands(catalog, chosen or lang, names), scope=scope, language_code=lang
            )
    except TelegramError as exc:
        # The id at DEBUG only; the owner sees who in /staff, and their /start sets the menu.
        log.debug("staff command menu refused for %s", user_id)
        log.warning("could not set a staff member's command menu: %s", exc)
        return False
    return True


async def clear_staff_menu(bot: Bot, catalog: Catalog, user_id: int) -> bool:
    """Back to the residents' menu in that chat; False (logged in one line) if Telegram refused."""
    scope = BotCommandScopeChat(user_id)
    try:
        await bot.delete_my_commands(scope=scope)
        for lang in catalog.languages:
            await bot.delete_my_commands(scope=scope, language_code=lang)
    except TelegramError as exc:
        log.debug("staff command menu not removed for %s", user_id)
        log.warning("could not remove a former staff member's command menu: %s", exc)
        return False
    return True


async def set_staff_menus(bot: Bot, services: Services) -> int:
    """At start-up: the staff menu for every owner and staff member; returns how many were set."""
    owners = services.settings.ADMIN_IDS
    people = [(user_id, True) for user_id in sorted(owners)]
    members = await services.staff.members()
    people += [(member.user_id, False) for member in members if member.user_id not in owners]
    done = 0
    for user_id, owner in people:
        chosen = await services.users.language(user_id)
        if await set_staff_menu(bot, services.catalog, user_id, owner=owner, chosen=chosen):
            done += 1
    return done


async def refresh_menu(bot: Bot, services: Services, user: User | None) -> None:
    """Set the staff command menu again for an owner or staff member (after /start, or a new
    language); residents' menus are the default one, so nothing is done for them."""
    if user is None or not await services.roles.is_staff(user.id):
        return
    owner = services.roles.is_owner(user.id)
    if not owner:
        await services.staff.rename(user.id, user.full_name)
    chosen = await services.users.language(user.id)
    await set_staff_menu(bot, services.catalog, user.id, owner=owner, chosen=chosen)
