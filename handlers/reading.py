"""Reading the news: /latest, articles, newer/older, /categories, search, /links, inline mode."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)

from bot import formats
from bot.adapter import edit, opening
from bot.callbacks import ListPage, OpenArticle, SearchPage
from bot.context import BotContext, Services
from bot.keyboard import for_telegram
from bot.news.text import search_expression
from bot.reading import (
    LIST_SIZE,
    article_view,
    list_view,
    render_article,
    render_categories,
    render_links,
    search_found,
    search_page_view,
)
from bot.views import View

__all__ = [
    "categories_command",
    "inline_search",
    "latest_command",
    "links_command",
    "on_categories",
    "on_list_page",
    "on_open_article",
    "on_search_page",
    "prune_searches",
    "search_command",
    "search_text",
    "send_article",
]

log = logging.getLogger(__name__)

INLINE_RESULTS = 10
SEARCH_KEPT = timedelta(days=7)  # result pages of older searches answer "search again"


async def _send(update: Update, view: View) -> None:
    if update.effective_message is None:
        return
    rendered = for_telegram(view)
    await update.effective_message.reply_text(
        rendered.text, reply_markup=rendered.keyboard, link_preview_options=rendered.preview
    )


async def _edit(update: Update, view: View) -> None:
    """Replace the message the button was under (an article or list turns in place)."""
    query = update.callback_query
    if query is None:
        return
    rendered = for_telegram(view)
    # Pressing the button of the page already shown changes nothing: not an error.
    await edit(query, rendered.text, rendered.keyboard, rendered.preview)


async def _article_view(
    services: Services, context: BotContext, lang: str, article_id: int, page: int, category: int
) -> View | None:
    return await article_view(
        services.reading, article_id, page, category, services.catalog, lang,
        services.settings.tz, context.bot.username,
    )  # fmt: skip


async def send_article(update: Update, context: BotContext, article_id: int) -> None:
    """Open an article in a new message (deep links), short form first."""
    services = context.services
    lang = await services.language_of(update.effective_user)
    view = await _article_view(services, context, lang, article_id, 0, 0)
    if view is None:
        view = View(services.catalog.text("read.article_gone", lang))
    await _send(update, view)


async def _list(services: Services, lang: str, category_id: int, page: int) -> View:
    tz = services.settings.tz
    return await list_view(services.reading, category_id, page, services.catalog, lang, tz)


async def latest_command(update: Update, context: BotContext) -> None:
    """The newest articles, a line and a button each."""
    services = context.services
    lang = await services.language_of(update.effective_user)
    await _send(update, await _list(services, lang, 0, 1))


async def categories_command(update: Update, context: BotContext) -> None:
    """The portal's categories with their article counts."""
    services = context.services
    lang = await services.language_of(update.effective_user)
    await _send(
        update, render_categories(await services.reading.categories(), services.catalog, lang)
    )


async def links_command(update: Update, context: BotContext) -> None:
    """The "Liên Kết Web" list."""
    services = context.services
    lang = await services.language_of(update.effective_user)
    await _send(update, render_links(list(services.settings.WEB_LINKS), services.catalog, lang))


async def _search(update: Update, context: BotContext, query: str) -> None:
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(update.effective_user)
    query = " ".join(query.split())[:200]
    expression = search_expression(query)
    if expression is None:
        await _send(update, View(catalog.text("read.search_help", lang)))
        return
    found = await services.reading.search(expression, 0, LIST_SIZE)
    try:  # the log gets the words and result count; a failure there must not stop the reply
        await services.stats.searched(update.update_id, query, found[1])
    except Exception:
        log.exception("could not log the search")
    user = update.effective_user
    key = None if user is None else services.stats.key_of(user.id)  # for /forget
    view = await search_found(
        services.reading, query, expression, found, key, datetime.now(UTC), catalog, lang,
        services.settings.tz,
    )  # fmt: skip
    await _send(update, view)


async def search_command(update: Update, context: BotContext) -> None:
    """/search words: articles matching the words, with or without diacritics."""
    await _search(update, context, " ".join(context.args or []))


async def search_text(update: Update, context: BotContext) -> None:
    """Plain text in a private chat is a search (menu buttons are handled before this)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await _search(update, context, message.text)


async def on_open_article(update: Update, context: BotContext) -> None:
    """A button that opens an article, turns its page or steps to a neighbour."""
    tap = await opening(update, context, OpenArticle)
    if tap is None:
        return
    query, target, lang = tap.query, tap.data, tap.lang
    services = context.services
    view = await _article_view(
        services, context, lang, target.article_id, target.page, target.category_id
    )
    if view is None:
        await query.answer(services.catalog.text("read.article_gone", lang), show_alert=True)
        return
    # Answer first: the button stops spinning even if the edit takes a moment.
    await query.answer()
    await _edit(update, view)


async def on_list_page(update: Update, context: BotContext) -> None:
    """A button that turns a list's page or opens a category."""
    tap = await opening(update, context, ListPage)
    if tap is None:
        return
    query, target, lang = tap.query, tap.data, tap.lang
    services = context.services
    await query.answer()
    await _edit(update, await _list(services, lang, target.category_id, target.page))


async def on_categories(update: Update, context: BotContext) -> None:
    """The button back to the list of categories."""
    query = update.callback_query
    if query is None:
        return
    services = context.services
    lang = await services.language_of(query.from_user)
    await query.answer()
    await _edit(
        update, render_categories(await services.reading.categories(), services.catalog, lang)
    )


async def on_search_page(update: Update, context: BotContext) -> None:
    """A button that turns the page of search results."""
    tap = await opening(update, context, SearchPage)
    if tap is None:
        return
    query, target, lang = tap.query, tap.data, tap.lang
    services = context.services
    catalog = services.catalog
    view = await search_page_view(
        services.reading, target.search_id, target.page, catalog, lang, services.settings.tz
    )
    if view is None:
        await query.answer(catalog.text("read.search_expired", lang), show_alert=True)
        return
    await query.answer()
    await _edit(update, view)


async def inline_search(update: Update, context: BotContext) -> None:
    """`@bot words` in any chat: matching articles (the newest if no words) to send there."""
    inline = update.inline_query
    if inline is None:
        return
    services = context.services
    lang = await services.language_of(inline.from_user)
    expression = search_expression(inline.query)
    if expression is None:
        headlines, _ = await services.reading.latest(None, 0, INLINE_RESULTS)
    else:
        headlines, _ = await services.reading.search(expression, 0, INLINE_RESULTS)
    articles = await services.articles.get_many([h.article_id for h in headlines])
    results = []
    for headline in headlines:
        article = articles.get(headline.article_id)
        if article is None:
            continue
        short = for_telegram(
            render_article(
                article, 0, 0, (None, None), services.catalog, lang, services.settings.tz,
                context.bot.username,
            )
        )  # fmt: skip
        deep_link = f"https://t.me/{context.bot.username}?start=a{article.article_id}"
        results.append(
            InlineQueryResultArticle(
                id=str(article.article_id),
                title=article.title,
                description=formats.day(article.published_at, services.settings.tz)
                + (f" · {article.summary[:80]}" if article.summary else ""),
                input_message_content=InputTextMessageContent(
                    short.text, link_preview_options=short.preview
                ),
                # Messages sent through inline mode cannot carry the bot's own buttons'
                # callbacks reliably, so they link back to the bot instead.
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                services.catalog.text("read.inline_open", lang), url=deep_link
                            )
                        ]
                    ]
                ),
            )
        )
    await inline.answer(results, cache_time=60)


async def prune_searches(context: BotContext) -> None:
    """Daily: forget searches whose result pages nobody will turn any more."""
    removed = await context.services.reading.prune_searches(datetime.now(UTC) - SEARCH_KEPT)
    log.info("forgot %d searches older than %s", removed, SEARCH_KEPT)
