"""What residents see when they read: article pages, lists, categories, links (text + buttons).

Pure functions: they take what the storage returned and the catalogue, and give back a
channel-neutral `bot.views.View` (text, buttons with typed actions or links, an optional picture).
Handlers fetch, call these, render the view (`bot.keyboard.for_telegram`) and send.

The few lines that fetch and render for both front ends (Telegram's `handlers.reading`, Zalo's
`bot.zalo.reading`) are here too, over the storage's `ArticleReader`: `article_view`,
`list_view`, `search_found` (the first page of a search, once it is logged: the log is each
channel's) and `search_page_view`.
"""

from __future__ import annotations

import functools
import html
import math
import re
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.callbacks import CallbackData, ListPage, OpenArticle, SearchPage, ShowCategories
from bot.formats import article_stamp, day
from bot.i18n import Catalog
from bot.news.sites import absolute_http
from bot.news.text import plain_text
from bot.views import Button, View
from storage.articles import ArticleReader, Category, Headline, StoredArticle
from storage.subscriptions import NewArticle

__all__ = [
    "DIGEST_LIMIT",
    "LIST_SIZE",
    "article_pages",
    "article_view",
    "list_view",
    "plain_text",
    "render_alert",
    "render_article",
    "render_categories",
    "render_digest",
    "render_links",
    "render_list",
    "search_found",
    "search_page_view",
    "split_html",
]

LIST_SIZE = 5  # articles per list page: fits a small phone screen without scrolling
BODY_LIMIT = 3000  # characters of body per page; the header and Telegram's 4096 leave room
SUMMARY_LIMIT = 600  # longest summary shown in a header
BUTTON_TITLE = 48  # characters of a title on a button
DIGEST_LIMIT = 3800  # characters of a digest; Telegram's 4096 leaves room for the last lines


def _rows(rows: list[list[Button]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _date(moment: datetime, tz: ZoneInfo, with_time: bool = False) -> str:
    return article_stamp(moment, tz) if with_time else day(moment, tz)


# Pieces of Telegram HTML a page is made of: a tag, a paragraph break, a line break, the text
# between them (or a lone character); only text that does not fit is cut finer, into entities
# (`&amp;`), spaces and runs of up to 64 other characters, so a page never ends inside either.
_TOKEN = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>|\n(?:[ \t]*\n)+|\n|[^<\n]+|[\s\S]""")
_FINE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);|[ \t]+|[^&\s]{1,64}|[\s\S]")
_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][\w-]*)")
_EMPTY = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^>]*)?></\1>")
# How good a place to end a page is: after a paragraph, a line, a word, anywhere.
_PARAGRAPH, _LINE, _WORD, _ANYWHERE = 3, 2, 1, 0


# A place a page may end: where its content ends, where the next page's content starts, the
# tags open there (name, opening tag as written), and the page's length up to there.
_Cut = tuple[int, int, tuple[tuple[str, str], ...], int]


def _closers(open_tags: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(open_tags))


def split_html(body: str, limit: int = BODY_LIMIT) -> list[str]:
    """Cut Telegram HTML into pages of at most `limit` characters, each valid on its own.

    A page ends, by preference, between paragraphs, then between lines, then between words, and
    only when nothing else fits inside a word; never inside a tag or an entity like `&amp;`. The
    tags open where a page ends are closed at its end and opened again at the next page's start
    (a quote, bold across lines, a link, preformatted text), whatever the markup.
    """
    if len(body) <= limit:
        return [body.strip()]
    return list(_cut_pages(body, limit))


@functools.lru_cache(maxsize=64)
def _cut_pages(body: str, limit: int) -> tuple[str, ...]:
    """split_html's work, kept for the articles being read now (each tap shows a page)."""
    tokens = _TOKEN.findall(body)
    pages: list[str] = []
    open_tags: tuple[tuple[str, str], ...] = ()
    index = 0
    while index < len(tokens):
        end, resume, closing, _ = _next_cut(tokens, index, open_tags, limit)
        page = "".join(tag for _, tag in open_tags) + "".join(tokens[index:end])
        page = _drop_empty(page + _closers(closing)).strip()
        if page:
            pages.append(page)
        open_tags, index = closing, resume
    return tuple(pages) or ("",)


def _next_cut(
    tokens: list[str], start: int, open_tags: tuple[tuple[str, str], ...], limit: int
) -> _Cut:
    """Where the page that starts at `tokens[start]`, inside `open_tags`, ends."""
    size = sum(len(tag) for _, tag in open_tags)
    stack = open_tags
    closers = len(_closers(stack))
    # The latest place to end anywhere, after a word, after a line, after a paragraph.
    latest: list[_Cut | None] = [None, None, None, None]
    index = start
    while index < len(tokens):
        token = tokens[index]
        after, after_closers = stack, closers
        if token[0] == "<":
            after = _after(stack, token)
            if after is not stack:
                after_closers = len(_closers(after))
            elif token[1] == "/":
                del tokens[index]  # an end tag that closes nothing: Telegram would refuse it
                continue
        if size + len(token) + after_closers > limit:
            if token[0] not in "<\n" and len(finer := _FINE.findall(token)) > 1:
                tokens[index : index + 1] = finer  # text that does not fit: cut it finer
                continue
            if index > start:
                break
        if index > start and token[0] in "\n \t" and not token.strip():
            priority = _PARAGRAPH if token.count("\n") > 1 else _LINE if "\n" in token else _WORD
            # The break itself is left out: it ends this page or starts none.
            latest[priority] = (index, index + 1, stack, size)
        size += len(token)
        stack, closers = after, after_closers
        index += 1
        if token[0] != "<" or token[1] == "/":
            latest[_ANYWHERE] = (index, index, stack, size)
    if index == len(tokens):
        return (index, index, stack, size)
    for least in (_PARAGRAPH, _LINE, _WORD):
        found = [cut for cut in latest[least:] if cut is not None]
        if found and max(found)[3] >= limit // 2:
            return max(found)
    return latest[_ANYWHERE] or (index, index, stack, size)  # a lone tag longer than a page


def _after(stack: tuple[tuple[str, str], ...], token: str) -> tuple[tuple[str, str], ...]:
    """The tags open after `token` (the same tuple when it changes none)."""
    found = _TAG_NAME.match(token)
    if found is None:
        return stack
    closing, name = found.group(1), found.group(2).lower()
    if not closing:
        return stack if token.endswith("/>") else (*stack, (name, token))
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth][0] == name:
            return stack[:depth]
    return stack  # an end tag that closes nothing


def _drop_empty(page: str) -> str:
    """Remove elements left with nothing inside (`<b></b>`) where a page was cut."""
    while True:
        shorter = _EMPTY.sub("", page)
        if shorter == page:
            return page
        page = shorter


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


def _website(article: StoredArticle, catalog: Catalog, lang: str) -> list[Button]:
    """The "Xem trên website" button, or none if the stored address is not one Telegram
    accepts (an older version kept relative canonical links): the view goes out without it."""
    if not absolute_http(article.url):
        return []
    return [Button(catalog.text("read.website", lang), url=article.url)]


def _share_url(article: StoredArticle, bot_username: str) -> str:
    return _share_link(article.article_id, article.title, bot_username)


@functools.lru_cache(maxsize=256)
def _share_link(article_id: int, title: str, bot_username: str) -> str:
    """Kept for the articles being read now: quoting a title is most of an article view's
    own work after its text."""
    link = f"https://t.me/{bot_username}?start=a{article_id}"
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(title)}"


def render_article(
    article: StoredArticle,
    page: int,
    category_id: int,
    neighbours: tuple[int | None, int | None],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    bot_username: str,
) -> View:
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

    def open_page(target: int) -> OpenArticle:
        return OpenArticle(article.article_id, target, category_id)

    rows: list[list[Button]] = []
    if page == 0 and article.body_html:
        rows.append([Button(catalog.text("read.read_full", lang), open_page(1))])
    elif page >= 1:
        paging = []
        if page > 1:
            paging.append(
                Button(
                    "◀ " + catalog.text("read.page_button", lang, page=page - 1, pages=len(pages)),
                    open_page(page - 1),
                )
            )
        if page < len(pages):
            paging.append(
                Button(
                    catalog.text("read.page_button", lang, page=page + 1, pages=len(pages)) + " ▶",
                    open_page(page + 1),
                )
            )
        if paging:
            rows.append(paging)
        if len(pages) > 1 or article.summary:
            rows.append([Button(catalog.text("read.read_short", lang), open_page(0))])
    older, newer = neighbours
    steps = []
    if older is not None:
        steps.append(
            Button(
                catalog.text("read.older", lang),
                OpenArticle(older, 0, category_id),
            )
        )
    if newer is not None:
        steps.append(
            Button(
                catalog.text("read.newer", lang),
                OpenArticle(newer, 0, category_id),
            )
        )
    if steps:
        rows.append(steps)
    rows.append(
        [
            *_website(article, catalog, lang),
            Button(catalog.text("read.share", lang), url=_share_url(article, bot_username)),
        ]
    )
    rows.append(
        [
            Button(
                catalog.text("read.back_to_list", lang),
                ListPage(category_id, 1),
            )
        ]
    )
    # The article's picture, above the text, on its first screen only.
    picture = article.image_url if absolute_http(article.image_url) and page <= 1 else None
    return View(text, _rows(rows), picture=picture)


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
) -> View:
    """A numbered list of headlines, a button to open each, and buttons to turn the page."""
    pages = _pages(total)
    if not headlines:
        return View(f"{title}\n\n{empty}" if empty else title)
    first = (page - 1) * LIST_SIZE
    lines = [f"{title} · {catalog.text('read.page_of', lang, page=page, pages=pages)}", ""]
    rows: list[list[Button]] = []
    for number, item in enumerate(headlines, start=first + 1):
        lines.append(f"{number}. {html.escape(item.title)} — <i>{_date(item.published_at, tz)}</i>")
        rows.append(
            [
                Button(
                    f"{number}. {_shorten(item.title, BUTTON_TITLE)}",
                    OpenArticle(item.article_id, 0, category_id),
                )
            ]
        )

    def turn(target: int) -> CallbackData:
        if search_id is not None:
            return SearchPage(search_id, target)
        return ListPage(category_id, target)

    paging = []
    if page > 1:
        paging.append(Button(catalog.text("read.previous_page", lang), turn(page - 1)))
    if page < pages:
        paging.append(Button(catalog.text("read.next_page", lang), turn(page + 1)))
    if paging:
        rows.append(paging)
    if category_id and search_id is None:
        rows.append(
            [
                Button(
                    catalog.text("read.back_to_categories", lang),
                    ShowCategories(),
                )
            ]
        )
    return View("\n".join(lines), _rows(rows))


async def article_view(
    reader: ArticleReader, article_id: int, page: int, category: int,
    catalog: Catalog, lang: str, tz: ZoneInfo, bot_username: str,
) -> View | None:  # fmt: skip
    """An article's page with its older and newer neighbours (within `category`, if not 0);
    None if it is gone. `bot_username` "" leaves Telegram's share link out."""
    article, older, newer = await reader.open(article_id, category or None)
    if article is None:
        return None
    return render_article(article, page, category, (older, newer), catalog, lang, tz, bot_username)


async def list_view(
    reader: ArticleReader, category_id: int, page: int, catalog: Catalog, lang: str, tz: ZoneInfo
) -> View:
    """A page of the newest articles, of one category (`category_id`) or all (0)."""
    page = max(page, 1)
    headlines, total = await reader.latest(category_id or None, (page - 1) * LIST_SIZE, LIST_SIZE)
    if category_id:
        category = await reader.category(category_id)
        name = category.name if category else "?"
        title = catalog.text("read.category_title", lang, name=name)
        empty = catalog.text("read.empty_category", lang)
    else:
        title = catalog.text("read.latest_title", lang)
        empty = catalog.text("read.empty", lang)
    return render_list(title, headlines, total, page, category_id, catalog, lang, tz, empty=empty)


async def search_found(
    reader: ArticleReader, query: str, expression: str, found: tuple[list[Headline], int],
    user_key: str | None, now: datetime, catalog: Catalog, lang: str, tz: ZoneInfo,
) -> View:  # fmt: skip
    """A search's first page, `found` by the caller (who logs it): kept for its pages to be
    turned (`user_key`: whose it is, for /forget), or "nothing found"."""
    headlines, total = found
    if not headlines:
        return View(catalog.text("read.search_none", lang, query=query))
    search_id = await reader.save_search(query, expression, now, user_key)
    title = catalog.text("read.search_title", lang, query=query, total=total)
    return render_list(title, headlines, total, 1, 0, catalog, lang, tz, search_id=search_id)


async def search_page_view(
    reader: ArticleReader, search_id: int, page: int, catalog: Catalog, lang: str, tz: ZoneInfo
) -> View | None:
    """A page of a kept search's results; None if the search is no longer kept."""
    saved = await reader.saved_search(search_id)
    if saved is None:
        return None
    words, expression = saved
    page = max(page, 1)
    headlines, total = await reader.search(expression, (page - 1) * LIST_SIZE, LIST_SIZE)
    title = catalog.text("read.search_title", lang, query=words, total=total)
    return render_list(
        title, headlines, total, page, 0, catalog, lang, tz,
        search_id=search_id, empty=catalog.text("read.search_none", lang, query=words),
    )  # fmt: skip


def render_categories(categories: list[Category], catalog: Catalog, lang: str) -> View:
    """The categories as buttons, each with its number of articles."""
    if not categories:
        return View(catalog.text("read.no_categories", lang))
    rows = [
        [
            Button(
                f"{category.name} ({category.count})",
                ListPage(category.category_id, 1),
            )
        ]
        for category in categories[:99]
    ]
    return View(catalog.text("read.categories_title", lang), _rows(rows))


def render_links(links: list[tuple[str, str]], catalog: Catalog, lang: str) -> View:
    """The "Liên Kết Web" list as URL buttons."""
    if not links:
        return View(catalog.text("read.no_links", lang))
    rows = [[Button(name, url=url)] for name, url in links[:99]]
    return View(catalog.text("read.links_title", lang), _rows(rows))


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
) -> View:
    """A new article pushed to a subscriber or the channel: its short form, and where to read on.

    In a private chat "read the full text" turns the message into the article view; in a group
    or the channel a button would change the message for everyone, so it links to the bot.
    """
    lines = [catalog.text("push.alert_title", lang), *_header(article, catalog, lang, tz)]
    summary = article.summary or article.body_text.split("\n\n")[0]
    if summary:
        lines += ["", html.escape(_shorten(summary, SUMMARY_LIMIT))]
    if private and article.body_html:
        read = Button(
            catalog.text("read.read_full", lang),
            OpenArticle(article.article_id, 1, 0),
        )
    else:
        read = Button(
            catalog.text("push.open_in_bot", lang),
            url=_deep_link(article.article_id, bot_username),
        )
    rows = [[read], *filter(None, [_website(article, catalog, lang)])]
    picture = article.image_url if absolute_http(article.image_url) else None
    return View("\n".join(lines), _rows(rows), picture=picture)


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
) -> View:
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
    rows: list[list[Button]] = []
    more = len(articles) - shown
    if more:
        lines += ["", catalog.text("push.digest_more", lang, count=more)]
        rows.append(
            [
                Button(
                    catalog.text("push.digest_more_button", lang),
                    ListPage(0, 1),
                )
            ]
        )
    lines += ["", footer]
    return View("\n".join(lines), _rows(rows))
