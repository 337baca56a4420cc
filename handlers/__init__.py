"""Telegram handlers: parse the update, act through the services, reply."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.callbacks import ListPage, OpenArticle, SearchPage, SetLanguage, ShowCategories
from bot.context import BotApplication
from handlers import (
    broadcast,
    delivery,
    errors,
    poll,
    push,
    reading,
    staff,
    start,
    stats,
    subscribe,
    tracking,
)
from handlers.buttons import ButtonHandler

__all__ = ["register"]


def register(application: BotApplication) -> None:
    """Register every handler. Order matters: see the comments on each group."""
    # Group -1 runs before everything else for every update: remember who talked to the bot and
    # log the interaction (without the Telegram id).
    application.add_handler(TypeHandler(object, tracking.remember_user), group=-1)

    menu = filters.Text(start.menu_labels(application.bot_data.services.catalog))
    application.add_handlers(
        [
            # The bot blocked, unblocked, added or removed: bulk sends follow at once.
            ChatMemberHandler(delivery.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            CommandHandler("start", start.start),
            CommandHandler("help", start.help_command),
            CommandHandler("language", start.language_command),
            CommandHandler("latest", reading.latest_command),
            CommandHandler("categories", reading.categories_command),
            CommandHandler("search", reading.search_command),
            CommandHandler("links", reading.links_command),
            ButtonHandler(start.choose_language, SetLanguage),
            ButtonHandler(reading.on_open_article, OpenArticle),
            ButtonHandler(reading.on_list_page, ListPage),
            ButtonHandler(reading.on_categories, ShowCategories),
            ButtonHandler(reading.on_search_page, SearchPage),
            InlineQueryHandler(reading.inline_search),
            # Main-menu taps arrive as text: before the search, which takes any other text.
            MessageHandler(menu & filters.ChatType.PRIVATE, start.menu_button),
            # The poll: /poll, its buttons, staff commands, and the /newpoll dialog, whose text
            # handler takes a message only from staff writing a poll: before the search.
            *poll.handlers(),
            *stats.handlers(),
            # /myid for everyone; /addstaff, /removestaff, /staff and /audit.
            *staff.handlers(),
            # /subscribe, /settings, /unsubscribe and their buttons.
            *subscribe.handlers(),
            *push.handlers(),
            # /broadcast: its message handler takes only a staff member's draft or time.
            *broadcast.handlers(application),
            # A forwarded message is something to keep (say, to /addstaff its author), not a
            # search: it gets no answer.
            MessageHandler(
                filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED & filters.ChatType.PRIVATE,
                reading.search_text,
            ),
            # Last: any button no handler above recognised is stale or forged.
            CallbackQueryHandler(errors.stale_button),
        ]
    )
    application.add_error_handler(errors.on_error)
