"""DotNetNuke commune portals (news module CMS14_TinTuc), as described in shared/PORTAL.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.news.adapters.base import Adapter
from bot.news.fetch import Page
from bot.news.models import ArticleData, ArticleRef, Listing, NotAnArticle
from bot.news.richtext import body_from_dom
from bot.news.text import clean, fold, title_key

__all__ = ["DnnPortal"]

# Addresses, not HTML: an article is /chi-tiet-tin/group/{group}/nid/{nid}/{slug}, or the older
# Default.aspx?tabid=..&Group=..&NID=..; a category list is /danh-sach-tin/group/{group}/{slug}.
_ARTICLE_PATH = re.compile(r"/chi-tiet-tin/group/(\d+)/nid/(\d+)(?:/|$)", re.IGNORECASE)
_CATEGORY_PATH = re.compile(r"/danh-sach-tin/group/(\d+)(?:/|$)", re.IGNORECASE)
_DATE = re.compile(r"(\d{1,2}):(\d{2})\s*\|\s*(\d{1,2})/(\d{1,2})/(\d{4})")
_DAY = re.compile(r"\((\d{1,2})/(\d{1,2})/(\d{4})\)")
_AUTHOR_LABEL = re.compile(r"^\s*Tác giả\s*:\s*", re.IGNORECASE)


def article_address(url: str) -> tuple[str, str] | None:
    """(group, nid) if `url` is an article address of this platform."""
    parts = urlsplit(url)
    match = _ARTICLE_PATH.search(parts.path)
    if match:
        return match[1], match[2]
    if parts.path.lower().endswith("default.aspx"):
        query = {key.lower(): values for key, values in parse_qs(parts.query).items()}
        nid, group = query.get("nid"), query.get("group")
        if nid and nid[0].isdigit():
            return (group[0] if group and group[0].isdigit() else ""), nid[0]
    return None


def _field(tree: LexborHTMLParser, name: str) -> LexborNode | None:
    return tree.css_first(f'[id$="_lbl_ct_{name}"]')


def _meta(tree: LexborHTMLParser, prop: str) -> str | None:
    node = tree.css_first(f'meta[property="{prop}"]')
    content = node.attributes.get("content") if node is not None else None
    return clean(content) if content else None


def _end_of_body(node: LexborNode) -> bool:
    classes = (node.attributes.get("class") or "").split()
    return "qti_ct_tacgia" in classes or node.attributes.get("id") == "fb-root"


class DnnPortal(Adapter):
    """The commune portal: list pages link to article pages, which hold the fields."""

    name = "dnn"
    priority = 200  # the fallback for any HTML page

    @classmethod
    def recognises(cls, page: Page) -> bool:
        """Any HTML page: the portal is read by addresses and field ids, not by markers."""
        return "html" in page.content_type.lower() or page.text.lstrip()[:1] == "<"

    def _local(self, match: re.Match[str]) -> datetime:
        hour, minute, day, month, year = (int(group) for group in match.groups())
        return datetime(year, month, day, hour, minute, tzinfo=self.tz).astimezone(UTC)

    def _date(self, text: str) -> datetime | None:
        """A date written "HH:MM | dd/mm/yyyy" (or "(dd/mm/yyyy)") in local time, as UTC."""
        try:
            match = _DATE.search(text)
            if match:
                return self._local(match)
            day = _DAY.search(text)
            if day:
                return datetime(int(day[3]), int(day[2]), int(day[1]), tzinfo=self.tz).astimezone(
                    UTC
                )
        except ValueError:  # 31/02 and the like
            return None
        return None

    def categories(self, tree: LexborHTMLParser, base: str) -> dict[str, str]:
        """Category names from the "Chuyên mục" links, by group id."""
        names: dict[str, str] = {}
        for link in tree.css("a[href]"):
            match = _CATEGORY_PATH.search(
                urlsplit(urljoin(base, link.attributes["href"] or "")).path
            )
            name = clean(link.text(deep=True))
            if match and name and match[1] not in names:
                names[match[1]] = name
        return names

    def listing(self, page: Page) -> Listing:
        """Article links in page order, with the date shown beside each, and the next page."""
        tree = LexborHTMLParser(page.text)
        listing = Listing(categories=self.categories(tree, page.url))
        seen: dict[str, int] = {}
        for link in tree.css("a[href]"):
            url = urljoin(page.url, (link.attributes.get("href") or "").strip())
            address = article_address(url)
            if address is None:
                continue
            group, nid = address
            title = clean(link.text(deep=True))
            key = f"dnn:{nid}"
            if key in seen:
                # The same article again (image link, "Tin mới" widget): keep the best details.
                index = seen[key]
                old = listing.refs[index]
                if (not old.title and title) or (old.listed_at is None and self._near_date(link)):
                    listing.refs[index] = ArticleRef(
                        key,
                        old.url,
                        old.title or title,
                        old.listed_at or self._near_date(link),
                        old.category_key,
                    )
                continue
            seen[key] = len(listing.refs)
            listing.refs.append(ArticleRef(key, url, title, self._near_date(link), group or None))
        listing.next_page = self._next_page(tree, page.url)
        if not listing.refs and _field(tree, "tieude") is None:
            raise NotAnArticle("no links to articles on this page")
        return listing

    def _near_date(self, link: LexborNode) -> datetime | None:
        """The date printed beside a link in a list item, if the item is only about that link."""
        node = link.parent
        for _ in range(3):
            if node is None:
                return None
            nids = set()
            for anchor in node.css("a[href]"):
                address = article_address(anchor.attributes.get("href") or "")
                if address is not None:
                    nids.add(address[1])
            if len(nids) > 1:
                return None
            found = self._date(node.text(deep=True))
            if found:
                return found
            node = node.parent
        return None

    def _next_page(self, tree: LexborHTMLParser, base: str) -> str | None:
        for link in tree.css("a[href]"):
            classes = (link.attributes.get("class") or "").split()
            text = fold(link.text(deep=True))
            if (
                "qti_trang_sau" in classes
                or link.attributes.get("rel") == "next"
                or text.startswith("trang sau")
            ):
                return urljoin(base, link.attributes.get("href") or "")
        return None

    def article(self, page: Page, ref: ArticleRef) -> ArticleData:
        """The fields of an article page (ids ending in _lbl_ct_<field>)."""
        tree = LexborHTMLParser(page.text)
        title_node = _field(tree, "tieude")
        body_node = _field(tree, "noidung")
        if title_node is None and body_node is None:
            raise NotAnArticle("the page has no article fields (title, body)")
        title = clean(title_node.text(deep=True)) if title_node is not None else ""
        title = title or _meta(tree, "og:title") or ref.title
        if not title:
            raise NotAnArticle("the article has no title")

        canonical = _meta(tree, "og:url")
        url = canonical if canonical and article_address(canonical) else page.url
        address = article_address(url) or article_address(page.url)
        nid = address[1] if address else ref.external_id.removeprefix("dnn:")
        group = (address[0] if address else "") or ref.category_key

        date_node = _field(tree, "ngaydang")
        published = self._date(date_node.text(deep=True)) if date_node is not None else None
        summary_node = _field(tree, "gioithieu")
        summary = clean(summary_node.text(deep=True)) if summary_node is not None else ""
        author_node = _field(tree, "tacgia")
        author = _AUTHOR_LABEL.sub("", clean(author_node.text(deep=True))) if author_node else ""
        body = body_from_dom(body_node, page.url, _end_of_body) if body_node is not None else None

        names = self.categories(tree, page.url)
        keys = [key for key in (group, ref.category_key) if key]
        categories = tuple(dict.fromkeys((names[key], key) for key in keys if key in names))
        image = (body.first_image if body else None) or _meta(tree, "og:image")
        return ArticleData(
            external_ids=(f"dnn:{nid}",),
            url=url,
            title=title,
            title_key=title_key(title),
            summary=summary,
            body_html=body.html if body else "",
            body_text=body.text if body else "",
            author=author or None,
            image_url=urljoin(page.url, image) if image else None,
            published_at=published or ref.listed_at,
            categories=categories,
            search_text=(fold(title), fold(summary), fold(body.text if body else "")),
        )
