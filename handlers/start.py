"""/start, /help and /language: the first things a resident sees."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import SetLanguage
from bot.context import BotContext

__all__ = ["choose_language", "help_command", "language_command", "start"]


async def start(update: Update, context: BotContext) -> None:
    """Greet the resident in their language."""
    if update.effective_message is None:
        return
    services = context.services
    user = update.effective_user
    text = await services.text_for(
        user,
        "start.welcome",
        name=user.first_name if user else "",
        commune=services.settings.COMMUNE_NAME,
    )
    await update.effective_message.reply_text(text)


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
    await services.users.set_language(query.from_user.id, choice.language)
    confirmation = services.catalog.text("language.changed", choice.language)
    # Answer first so the button stops spinning, then replace the question with the outcome.
    await query.answer(confirmation)
    await query.edit_message_text(confirmation)
