"""What residents see when they read: article pages, lists, categories, links (text + buttons).

Pure functions: they take what the storage returned and the catalogue, and give back the text and
keyboard of a message. Handlers fetch, call these, and send.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.callbacks import ListPage, OpenArticle, SearchPage, ShowCategories
from bot.i18n import Catalog
from bot.keyboard import Keyboard
from bot.news.sites import absolute_http
from storage.articles import Category, Headline, StoredArticle
from storage.subscriptions import NewArticle

__all__ = [
    "DIGEST_LIMIT",
    "LIST_SIZE",
    "Rendered",
    "article_pages",
    "plain_text",
    "render_alert",
    "render_article",
    "render_categories",
    "render_digest",
    "render_links",
    "render_list",
    "split_html",
]

LIST_SIZE = 5  # articles per list page: fits a small phone screen without scrolling
BODY_LIMIT = 3000  # characters of body per page; the header and Telegram's 4096 leave room
SUMMARY_LIMIT = 600  # longest summary shown in a header
BUTTON_TITLE = 48  # characters of a title on a button
DIGEST_LIMIT = 3800  # characters of a digest; Telegram's 4096 leaves room for the last lines


@dataclass(frozen=True)
class Rendered:
    """A message to send or edit."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    preview: LinkPreviewOptions | None = None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _date(moment: datetime, tz: ZoneInfo, with_time: bool = False) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%H:%M · %d/%m/%Y" if with_time else "%d/%m/%Y")


def split_html(body: str, limit: int = BODY_LIMIT) -> list[str]:
    """Cut a body into pieces of at most `limit` characters, only where no tag is open.

    Bodies are stored so that every line is balanced HTML (see bot.news.richtext): pieces end at
    a paragraph break if they can, else at a line break. A single line longer than `limit` is cut
    between words after dropping its formatting, so no cut ever lands inside a tag.
    """
    pieces: list[str] = []
    current = ""

    def add(unit: str, joiner: str) -> None:
        nonlocal current
        if current and len(current) + len(joiner) + len(unit) <= limit:
            current += joiner + unit
            return
        if current:
            pieces.append(current)
        current = unit

    for paragraph in body.split("\n\n"):
        if len(paragraph) <= limit:
            add(paragraph, "\n\n")
            continue
        for index, line in enumerate(paragraph.split("\n")):
            joiner = "\n\n" if index == 0 else "\n"
            if len(line) <= limit:
                add(line, joiner)
                continue
            for chunk in _split_line(line, limit):
                add(chunk, joiner)
                joiner = " "
    if current:
        pieces.append(current)
    return pieces or [""]


class _Text(HTMLParser):
    """Collects the text of a piece of HTML, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(markup: str) -> str:
    """The text of a piece of Telegram HTML, tags dropped and entities decoded."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _split_line(line: str, limit: int) -> list[str]:
    """A very long line as plain escaped text in word-boundary chunks."""
    words = plain_text(line).split(" ")
    chunks: list[str] = []
    current = ""
    for word in words:
        escaped = html.escape(word, quote=False)
        while len(escaped) > limit:  # a "word" longer than a page (a pasted URL, say)
            chunks.append(escaped[:limit])
            escaped = escaped[limit:]
        if current and len(current) + 1 + len(escaped) > limit:
            chunks.append(current)
            current = escaped
        else:
            current = f"{current} {escaped}" if current else escaped
    if current:
        chunks.append(current)
    return chunks


def article_pages(article: StoredArticle) -> list[str]:
    """The body's pages for the full view."""
    return split_html(article.body_html) if article.body_html else [""]


def _header(article: StoredArticle, catalog: Catalog, lang: str, tz: ZoneInfo) -> list[str]:
    when = _date(article.published_at, tz, with_time=not article.published_estimated)
    if article.published_estimated:
        when = catalog.text("read.date_estimated", lang, date=when)
    facts = f"📅 {html.escape(when)}"
    if article.category:
        facts += f" · 📂 {html.escape(article.category)}"
    lines = [f"<b>{html.escape(article.title)}</b>", facts]
    if article.author:
        lines.append(catalog.text("read.author", lang, author=article.author))
    return lines


def _website(article: StoredArticle, catalog: Catalog, lang: str) -> list[InlineKeyboardButton]:
    """The "Xem trên website" button, or none if the stored address is not one Telegram
    accepts (an older version kept relative canonical links): the view goes out without it."""
    if not absolute_http(article.url):
        return []
    return [InlineKeyboardButton(catalog.text("read.website", lang), url=article.url)]


def _share_url(article: StoredArticle, bot_username: str) -> str:
    link = f"https://t.me/{bot_username}?start=a{article.article_id}"
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(article.title)}"


def render_article(
    article: StoredArticle,
    page: int,
    category_id: int,
    neighbours: tuple[int | None, int | None],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    bot_username: str,
) -> Rendered:
    """An article view: page 0 is the short form (title, date, summary), 1.. the full text."""
    pages = article_pages(article)
    page = max(0, min(page, len(pages)))
    lines = _header(article, catalog, lang, tz)
    if page == 0:
        summary = article.summary or article.body_text.split("\n\n")[0]
        if summary:
            lines += ["", html.escape(_shorten(summary, SUMMARY_LIMIT))]
    else:
        if page == 1 and article.summary:
            lines += ["", f"<i>{html.escape(_shorten(article.summary, SUMMARY_LIMIT))}</i>"]
        if len(pages) > 1:
            lines += [
                "",
                f"<i>{catalog.text('read.page_of', lang, page=page, pages=len(pages))}</i>",
            ]
        lines += ["", pages[page - 1]]
    text = "\n".join(lines).strip()

    def open_page(target: int) -> str:
        return OpenArticle(article.article_id, target, category_id).pack()

    rows: list[list[InlineKeyboardButton]] = []
    if page == 0 and article.body_html:
        rows.append(
            [InlineKeyboardButton(catalog.text("read.read_full", lang), callback_data=open_page(1))]
        )
    elif page >= 1:
        paging = []
        if page > 1:
            paging.append(
                InlineKeyboardButton(
                    "◀ " + catalog.text("read.page_button", lang, page=page - 1, pages=len(pages)),
                    callback_data=open_page(page - 1),
                )
            )
        if page < len(pages):
            paging.append(
                InlineKeyboardButton(
                    catalog.text("read.page_button", lang, page=page + 1, pages=len(pages)) + " ▶",
                    callback_data=open_page(page + 1),
                )
            )
        if paging:
            rows.append(paging)
        if len(pages) > 1 or article.summary:
            rows.append(
                [
                    InlineKeyboardButton(
                        catalog.text("read.read_short", lang), callback_data=open_page(0)
                    )
                ]
            )
    older, newer = neighbours
    steps = []
    if older is not None:
        steps.append(
            InlineKeyboardButton(
                catalog.text("read.older", lang),
                callback_data=OpenArticle(older, 0, category_id).pack(),
            )
        )
    if newer is not None:
        steps.append(
            InlineKeyboardButton(
                catalog.text("read.newer", lang),
                callback_data=OpenArticle(newer, 0, category_id).pack(),
            )
        )
    if steps:
        rows.append(steps)
    rows.append(
        [
            *_website(article, catalog, lang),
            InlineKeyboardButton(
                catalog.text("read.share", lang), url=_share_url(article, bot_username)
            ),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                catalog.text("read.back_to_list", lang),
                callback_data=ListPage(category_id, 1).pack(),
            )
        ]
    )
    # The article's picture, as a large preview above the text, on its first screen only.
    preview = (
        LinkPreviewOptions(url=article.image_url, prefer_large_media=True, show_above_text=True)
        if absolute_http(article.image_url) and page <= 1
        else LinkPreviewOptions(is_disabled=True)
    )
    return Rendered(text, Keyboard(rows), preview)


def _pages(total: int) -> int:
    return max(1, math.ceil(total / LIST_SIZE))


def render_list(
    title: str,
    headlines: list[Headline],
    total: int,
    page: int,
    category_id: int,
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    *,
    search_id: int | None = None,
    empty: str = "",
) -> Rendered:
    """A numbered list of headlines, a button to open each, and buttons to turn the page."""
    pages = _pages(total)
    if not headlines:
        return Rendered(f"{title}\n\n{empty}" if empty else title)
    first = (page - 1) * LIST_SIZE
    lines = [f"{title} · {catalog.text('read.page_of', lang, page=page, pages=pages)}", ""]
    rows: list[list[InlineKeyboardButton]] = []
    for number, item in enumerate(headlines, start=first + 1):
        lines.append(f"{number}. {html.escape(item.title)} — <i>{_date(item.published_at, tz)}</i>")
        rows.append(
            [
                InlineKeyboardButton(
                    f"{number}. {_shorten(item.title, BUTTON_TITLE)}",
                    callback_data=OpenArticle(item.article_id, 0, category_id).pack(),
                )
            ]
        )

    def turn(target: int) -> str:
        if search_id is not None:
            return SearchPage(search_id, target).pack()
        return ListPage(category_id, target).pack()

    paging = []
    if page > 1:
        paging.append(
            InlineKeyboardButton(
                catalog.text("read.previous_page", lang), callback_data=turn(page - 1)
            )
        )
    if page < pages:
        paging.append(
            InlineKeyboardButton(catalog.text("read.next_page", lang), callback_data=turn(page + 1))
        )
    if paging:
        rows.append(paging)
    if category_id and search_id is None:
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.text("read.back_to_categories", lang),
                    callback_data=ShowCategories().pack(),
                )
            ]
        )
    return Rendered("\n".join(lines), Keyboard(rows))


def render_categories(categories: list[Category], catalog: Catalog, lang: str) -> Rendered:
    """The categories as buttons, each with its number of articles."""
    if not categories:
        return Rendered(catalog.text("read.no_categories", lang))
    rows = [
        [
            InlineKeyboardButton(
                f"{category.name} ({category.count})",
                callback_data=ListPage(category.category_id, 1).pack(),
            )
        ]
        for category in categories[:99]
    ]
    return Rendered(catalog.text("read.categories_title", lang), Keyboard(rows))


def render_links(links: list[tuple[str, str]], catalog: Catalog, lang: str) -> Rendered:
    """The "Liên Kết Web" list as URL buttons."""
    if not links:
        return Rendered(catalog.text("read.no_links", lang))
    rows = [[InlineKeyboardButton(name, url=url)] for name, url in links[:99]]
    return Rendered(catalog.text("read.links_title", lang), Keyboard(rows))


def _deep_link(article_id: int, bot_username: str) -> str:
    return f"https://t.me/{bot_username}?start=a{article_id}"


def render_alert(
    article: StoredArticle,
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    bot_username: str,
    *,
    private: bool,
) -> Rendered:
    """A new article pushed to a subscriber or the channel: its short form, and where to read on.

    In a private chat "read the full text" turns the message into the article view; in a group
    or the channel a button would change the message for everyone, so it links to the bot.
    """
    lines = [catalog.text("push.alert_title", lang), *_header(article, catalog, lang, tz)]
    summary = article.summary or article.body_text.split("\n\n")[0]
    if summary:
        lines += ["", html.escape(_shorten(summary, SUMMARY_LIMIT))]
    if private and article.body_html:
        read = InlineKeyboardButton(
            catalog.text("read.read_full", lang),
            callback_data=OpenArticle(article.article_id, 1, 0).pack(),
        )
    else:
        read = InlineKeyboardButton(
            catalog.text("push.open_in_bot", lang),
            url=_deep_link(article.article_id, bot_username),
        )
    rows = [[read], *filter(None, [_website(article, catalog, lang)])]
    preview = (
        LinkPreviewOptions(url=article.image_url, prefer_large_media=True, show_above_text=True)
        if absolute_http(article.image_url)
        else LinkPreviewOptions(is_disabled=True)
    )
    return Rendered("\n".join(lines), Keyboard(rows), preview)


def render_digest(
    articles: list[NewArticle],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    bot_username: str,
    *,
    weekly: bool,
    commune: str,
    today: datetime,
    limit: int = DIGEST_LIMIT,
) -> Rendered:
    """A digest: the new articles grouped by category, each title opening it in the bot.

    What does not fit in one message ends with "and N more" and a button to the latest news.
    """
    title_key = "push.digest_weekly" if weekly else "push.digest_daily"
    head = catalog.text(title_key, lang, commune=commune, date=_date(today, tz))
    groups: dict[str, list[NewArticle]] = {}
    other = catalog.text("push.other_news", lang)
    for article in sorted(articles, key=lambda a: (a.published_at, a.article_id), reverse=True):
        groups.setdefault(article.category or other, []).append(article)
    footer = catalog.text("push.digest_footer", lang)
    lines = [head]
    used = len(head) + len(footer) + 60  # room for "and N more"
    shown = 0
    for name, members in groups.items():
        heading = f"\n<b>📂 {html.escape(name)}</b>"
        for index, article in enumerate(members):
            entry = (
                f'• <a href="{_deep_link(article.article_id, bot_username)}">'
                f"{html.escape(_shorten(article.title, 160))}</a>"
                f" · {_date(article.published_at, tz)}"
            )
            cost = len(entry) + 1 + (len(heading) if index == 0 else 0)
            if used + cost > limit:
                break
            if index == 0:
                lines.append(heading)
            lines.append(entry)
            used += cost
            shown += 1
        else:
            continue
        break  # the message is full
    rows: list[list[InlineKeyboardButton]] = []
    more = len(articles) - shown
    if more:
        lines += ["", catalog.text("push.digest_more", lang, count=more)]
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.text("push.digest_more_button", lang),
                    callback_data=ListPage(0, 1).pack(),
                )
            ]
        )
    lines += ["", footer]
    return Rendered(
        "\n".join(lines),
        Keyboard(rows) if rows else None,
        LinkPreviewOptions(is_disabled=True),
    )
