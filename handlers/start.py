"""/start, /help and /language: the first things a resident sees (their views are
`bot.views.start`'s)."""

from __future__ import annotations

from telegram import Update

from bot.adapter import reply
from bot.callbacks import SetLanguage, parse_int
from bot.context import BotContext
from bot.menus import refresh_menu
from bot.views import start as views

__all__ = [
    "choose_language",
    "help_command",
    "language_command",
    "menu_button",
    "start",
]


async def start(update: Update, context: BotContext) -> None:
    """Greet the resident in their language; `/start a123` (a shared link) opens an article."""
    message = update.effective_message
    if message is None:
        return
    payload = context.args[0] if context.args else ""
    if payload.startswith("a") and payload[1:].isdigit():
        # A link to an article, or something made to look like one ("a²", twenty digits):
        # an id no article can have is an article that is not there.
        await context.bot_data.actions["open_article"](update, context, parse_int(payload[1:]) or 0)
        return
    services = context.services
    user = update.effective_user
    lang = await services.language_of(user)
    private = update.effective_chat is not None and update.effective_chat.type == "private"
    view = views.welcome_view(
        services.catalog, lang,
        name=user.first_name if user else "", commune=services.settings.COMMUNE_NAME,
        with_menu=private,
    )  # fmt: skip
    await reply(message, view)
    if private:
        # A staff member added before they ever opened the bot gets their command menu now.
        await refresh_menu(context.bot, services, user)


async def menu_button(update: Update, context: BotContext) -> None:
    """A tap on a main-menu button arrives as its label: do what it says."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    services = context.services
    command = views.menu_command(services.catalog, message.text)
    # The button does what its command does (the commands' handlers, by name: see
    # handlers.register).
    if command in ("latest", "categories", "links", "poll", "subscribe", "gopy"):
        await context.bot_data.actions[command](update, context)
    elif command == "search":
        lang = await services.language_of(update.effective_user)
        await reply(message, views.search_help_view(services.catalog, lang))
    else:
        await help_command(update, context)


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    await reply(message, views.help_view(services.catalog, lang, services.settings.COMMUNE_NAME))


async def language_command(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    await reply(message, views.language_view(services.catalog, lang))


async def choose_language(update: Update, context: BotContext) -> None:
    """Remember the chosen language and confirm in it."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    choice = SetLanguage.unpack(query.data)
    services = context.services
    await services.set_language(query.from_user.id, choice.language)
    confirmation = views.language_changed_view(services.catalog, choice.language)
    # Answer first so the button stops spinning, then replace the question with the outcome.
    await query.answer(confirmation.text)
    await query.edit_message_text(confirmation.text)
    # Staff have a menu of their own, in their language: it follows the choice.
    await refresh_menu(context.bot, services, query.from_user)
