"""/start, /help and /language: the first things a resident sees."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update

from bot.callbacks import SetLanguage, parse_int
from bot.context import BotContext
from bot.i18n import Catalog
from bot.menus import refresh_menu

__all__ = [
    "choose_language",
    "help_command",
    "language_command",
    "main_menu",
    "menu_button",
    "menu_labels",
    "start",
]


MENU_KEYS = (
    "menu.latest",
    "menu.categories",
    "menu.search",
    "menu.links",
    "menu.poll",
    "menu.subscribe",
    "menu.gopy",
    "menu.help",
)


def main_menu(catalog: Catalog, lang: str) -> ReplyKeyboardMarkup:
    """Big buttons under the typing field: the main things, one tap each."""
    labels = [catalog.text(key, lang) for key in MENU_KEYS]
    return ReplyKeyboardMarkup(
        [labels[0:2], labels[2:4], labels[4:6], labels[6:]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=catalog.text("menu.placeholder", lang),
    )


async def start(update: Update, context: BotContext) -> None:
    """Greet the resident in their language; `/start a123` (a shared link) opens an article."""
    if update.effective_message is None:
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
    text = services.catalog.text(
        "start.welcome",
        lang,
        name=user.first_name if user else "",
        commune=services.settings.COMMUNE_NAME,
    )
    private = update.effective_chat is not None and update.effective_chat.type == "private"
    await update.effective_message.reply_text(
        text, reply_markup=main_menu(services.catalog, lang) if private else None
    )
    if private:
        # A staff member added before they ever opened the bot gets their command menu now.
        await refresh_menu(context.bot, services, user)


async def menu_button(update: Update, context: BotContext) -> None:
    """A tap on a main-menu button arrives as its label: do what it says."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    catalog = context.services.catalog
    key = next(
        (
            key
            for key in MENU_KEYS
            for lang in catalog.languages
            if catalog.text(key, lang) == message.text
        ),
        None,
    )
    # The button does what its command does (the commands' handlers, by name: see
    # handlers.register).
    command = key.removeprefix("menu.") if key is not None else None
    if command in ("latest", "categories", "links", "poll", "subscribe", "gopy"):
        await context.bot_data.actions[command](update, context)
    elif key == "menu.search":
        await message.reply_text(
            await context.services.text_for(update.effective_user, "read.search_help")
        )
    else:
        await help_command(update, context)


def menu_labels(catalog: Catalog) -> list[str]:
    """Every label of the main menu, in every language (to route taps on them)."""
    return [catalog.text(key, lang) for key in MENU_KEYS for lang in catalog.languages]


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands."""
    if update.effective_message is None:
        return
    services = context.services
    text = await services.text_for(
        update.effective_user, "help.text", commune=services.settings.COMMUNE_NAME
    )
    await update.effective_message.reply_text(text)


def language_keyboard(context: BotContext) -> InlineKeyboardMarkup:
    """One button per language, each labelled in its own language."""
    catalog = context.services.catalog
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.text("language_name", lang),
                    callback_data=SetLanguage(lang).pack(),  # type: ignore[arg-type]
                )
                for lang in catalog.languages
            ]
        ]
    )


async def language_command(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    if update.effective_message is None:
        return
    text = await context.services.text_for(update.effective_user, "language.choose")
    await update.effective_message.reply_text(text, reply_markup=language_keyboard(context))


async def choose_language(update: Update, context: BotContext) -> None:
    """Remember the chosen language and confirm in it."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    choice = SetLanguage.unpack(query.data)
    services = context.services
    await services.set_language(query.from_user.id, choice.language)
    confirmation = services.catalog.text("language.changed", choice.language)
    # Answer first so the button stops spinning, then replace the question with the outcome.
    await query.answer(confirmation)
    await query.edit_message_text(confirmation)
    # Staff have a menu of their own, in their language: it follows the choice.
    await refresh_menu(context.bot, services, query.from_user)
