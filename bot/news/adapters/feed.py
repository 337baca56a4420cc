"""RSS and Atom feeds, read with feedparser: each entry is a whole article."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from selectolax.lexbor import LexborHTMLParser

from bot.news.adapters.base import Adapter
from bot.news.adapters.dnn import article_address, article_key
from bot.news.fetch import Page
from bot.news.models import ArticleData, Listing, NotAnArticle
from bot.news.richtext import body_from_dom
from bot.news.sites import Sites, absolute_http
from bot.news.text import clean, fold, title_key

__all__ = ["Feed"]

_FEED_TYPES = ("rss", "atom", "xml")


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            # feedparser gives UTC struct_time; timegm reads it as UTC.
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (ValueError, OverflowError, OSError):  # a date no calendar holds
                return None
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
        listing = Listing(heading=clean(parsed.feed.get("title", "")) or None)
        sites = self.sites_for(page)
        for entry in parsed.entries:
            article = self._entry(entry, page.url, sites, listing.heading)
            if article is not None:
                listing.articles.append(article)
        return listing

    def _entry(
        self, entry: Any, base: str, sites: Sites, heading: str | None
    ) -> ArticleData | None:
        title = clean(entry.get("title", ""))
        link = _on_site(base, entry.get("link") or "", sites)
        guid = entry.get("id") or entry.get("link") or ""
        if not title or not (link or guid):
            return None
        summary_html = entry.get("summary", "")
        contents = entry.get("content") or []
        body_source = contents[0].get("value", "") if contents else ""
        summary = body_from_dom(LexborHTMLParser(summary_html).body or _empty(), base).text
        body = body_from_dom(LexborHTMLParser(body_source).body or _empty(), base)
        address = article_address(link) if link else None
        # A feed of a DNN portal names articles by the portal's nid, so both readers agree;
        # other entries by the feed's site and the entry's id.
        key = (
            article_key(sites.of(link) or "", address[1])
            if link and address
            else f"feed:{sites.of(base) or ''}:{guid or link}"
        )
        image = body.first_image
        for enclosure in entry.get("enclosures", []):
            if str(enclosure.get("type", "")).startswith("image/") and not image:
                image = _on_site(base, str(enclosure.get("href") or ""), None)
        terms = [clean(tag.get("term", "")) for tag in entry.get("tags", [])]
        categories = tuple((term, None) for term in terms if term)
        if not categories and heading:
            categories = ((heading, None),)  # no category of its own: the feed's name
        author = clean(entry.get("author", "")) or None
        return ArticleData(
            external_ids=(key,),
            url=link or base,  # an entry with no usable link: the feed it came from
            title=title,
            title_key=title_key(title),
            summary=clean(summary),
            body_html=body.html,
            body_text=body.text,
            author=author,
            image_url=image,
            published_at=_when(entry),
            categories=categories,
            search_text=(fold(title), fold(summary), fold(body.text)),
        )


def _on_site(base: str, address: str, sites: Sites | None) -> str | None:
    """`address` made absolute, if it is a valid http(s) address (on `sites`, if given)."""
    try:
        url = urljoin(base, address.strip())
    except ValueError:
        return None
    if not absolute_http(url) or (sites is not None and sites.of(url) is None):
        return None
    return url


def _empty() -> Any:
    return LexborHTMLParser("<body></body>").body
