"""RSS and Atom feeds, read with feedparser: each entry is a whole article."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import feedparser
from selectolax.lexbor import LexborHTMLParser

from bot.news.adapters.base import Adapter
from bot.news.adapters.dnn import article_address
from bot.news.fetch import Page
from bot.news.models import ArticleData, Listing, NotAnArticle
from bot.news.richtext import body_from_dom
from bot.news.text import clean, fold, title_key

__all__ = ["Feed"]

_FEED_TYPES = ("rss", "atom", "xml")


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            # feedparser gives UTC struct_time; timegm reads it as UTC.
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


class Feed(Adapter):
    """An RSS 2.0 or Atom feed of the commune's news."""

    name = "feed"
    priority = 10  # tried before the HTML adapter when a source does not name one

    @classmethod
    def recognises(cls, page: Page) -> bool:
        """XML content types, or a body that starts like a feed."""
        kind = page.content_type.lower()
        if any(word in kind for word in _FEED_TYPES):
            return True
        head = page.text.lstrip()[:300].lower()
        return head.startswith("<?xml") or head.startswith(("<rss", "<feed"))

    def listing(self, page: Page) -> Listing:
        """Every entry of the feed as an article."""
        parsed = feedparser.parse(page.content)
        if not parsed.entries and (parsed.bozo or not parsed.feed):
            raise NotAnArticle(f"not a readable feed ({parsed.get('bozo_exception', 'empty')})")
        listing = Listing()
        for entry in parsed.entries:
            article = self._entry(entry, page.url)
            if article is not None:
                listing.articles.append(article)
        return listing

    def _entry(self, entry: Any, base: str) -> ArticleData | None:
        title = clean(entry.get("title", ""))
        link = entry.get("link") or ""
        if not title or not link:
            return None
        summary_html = entry.get("summary", "")
        contents = entry.get("content") or []
        body_source = contents[0].get("value", "") if contents else ""
        summary = body_from_dom(LexborHTMLParser(summary_html).body or _empty(), base).text
        body = body_from_dom(LexborHTMLParser(body_source).body or _empty(), base)
        address = article_address(link)
        # A feed of a DNN portal names articles by the portal's nid, so both readers agree.
        key = f"dnn:{address[1]}" if address else f"feed:{entry.get('id') or link}"
        image = body.first_image
        for enclosure in entry.get("enclosures", []):
            if str(enclosure.get("type", "")).startswith("image/") and not image:
                image = enclosure.get("href")
        terms = [clean(tag.get("term", "")) for tag in entry.get("tags", [])]
        author = clean(entry.get("author", "")) or None
        return ArticleData(
            external_ids=(key,),
            url=link,
            title=title,
            title_key=title_key(title),
            summary=clean(summary),
            body_html=body.html,
            body_text=body.text,
            author=author,
            image_url=image,
            published_at=_when(entry),
            categories=tuple((term, None) for term in terms if term),
            search_text=(fold(title), fold(summary), fold(body.text)),
        )


def _empty() -> Any:
    return LexborHTMLParser("<body></body>").body
