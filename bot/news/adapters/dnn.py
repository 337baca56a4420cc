"""DotNetNuke commune portals (news module CMS14_TinTuc), as described in shared/PORTAL.md."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.news.adapters.base import Adapter
from bot.news.fetch import Page
from bot.news.models import ArticleData, ArticleRef, Listing, NotAnArticle
from bot.news.richtext import body_from_dom
from bot.news.sites import Sites, absolute_http
from bot.news.text import clean, fold, title_key

__all__ = ["DnnPortal", "article_key"]

# Addresses, not HTML: an article is /chi-tiet-tin/group/{group}/nid/{nid}/{slug}, or the older
# Default.aspx?tabid=..&Group=..&NID=..; a category list is /danh-sach-tin/group/{group}/{slug}.
_ARTICLE_PATH = re.compile(r"/chi-tiet-tin/group/(\d+)/nid/(\d+)(?:/|$)", re.IGNORECASE)
# A category (DNN group) id anywhere in an address: /danh-sach-tin/group/130/..., /group-130,
# /tin-tuc/groupid/130, /tin-tuc-group130.aspx, ?Group=130, ?groupid=130. Sites of the
# platform write it every way.
_GROUP_PATH = re.compile(r"(?:^|[/_.-])group(?:_?id)?[/=_-]?(\d+)(?=[/_.-]|$)", re.IGNORECASE)
_GROUP_QUERY = ("group", "groupid", "group_id")
# Link texts and headings that name no category.
_NOT_NAMES = {
    "", "xem them", "xem tiep", "xem tat ca", "tat ca", "chi tiet", "chi tiet tin", "trang sau",
    "trang truoc", "trang chu", "chuyen muc", "lien ket web", "thong ke truy cap",
    "tham do y kien", "tin moi", "tin moi nhat", "cac tin moi hon", "cac tin cu hon",
    "tin lien quan", "tin khac", "cac tin khac",
}  # fmt: skip
_HEADINGS = "h1, h2, h3, .Head, .qti_title"
_BREADCRUMBS = '[class*="breadcrumb" i], [id*="breadcrumb" i], [class*="duongdan" i]'
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


def article_key(site: str, nid: str) -> str:
    """The key of a portal article: its site and its nid ("dnn:binhchanh.gov.vn:270892")."""
    return f"dnn:{site}:{nid}"


def group_of(url: str) -> str | None:
    """The category (group) id an address of a list of news carries, wherever it is."""
    if article_address(url) is not None:
        return None
    parts = urlsplit(url)
    match = _GROUP_PATH.search(parts.path)
    if match:
        return match[1]
    for key, values in parse_qs(parts.query).items():
        if key.lower() in _GROUP_QUERY and values and values[0].isdigit():
            return values[0]
    return None


def _name(text: str) -> str | None:
    """A category name from a link text or heading, or None if it names nothing."""
    name = clean(text).strip(" »«›‹>|:-–")
    folded = fold(name)
    if folded in _NOT_NAMES or not any(char.isalpha() for char in name) or len(name) > 80:
        return None
    return name


def _resolve(base: str, href: str) -> str | None:
    """An href made absolute, or None if it is malformed (a bad IPv6 literal, say)."""
    try:
        url = urljoin(base, href.strip())
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    return url


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
        except (ValueError, OverflowError):  # 31/02, year 1 moved to UTC, and the like
            return None
        return None

    def categories(self, tree: LexborHTMLParser, base: str, sites: Sites) -> dict[str, str]:
        """Category names by group id: from every link on the site whose address carries a
        group id (the "Chuyên mục" box, menus, breadcrumbs), and the page's own heading when
        the page is itself a category's list."""
        names: dict[str, str] = {}
        for link in tree.css("a[href]"):
            url = _resolve(base, link.attributes.get("href") or "")
            if url is None or sites.of(url) is None:
                continue
            group = group_of(url)
            name = _name(link.text(deep=True)) if group else None
            if group and name and group not in names:
                names[group] = name
        own = group_of(base)
        heading = self._heading(tree)
        if own and heading and own not in names:
            names[own] = heading
        return names

    def _heading(self, tree: LexborHTMLParser) -> str | None:
        """The page's own name: the last step of its breadcrumb, else its first heading that
        is not a sidebar box's."""
        for crumbs in tree.css(_BREADCRUMBS):
            steps = [_name(node.text(deep=True)) for node in crumbs.css("a, span, li")]
            steps = [step for step in steps if step] or [_name(crumbs.text(deep=True))]
            if steps[-1]:
                return steps[-1]
        for node in tree.css(_HEADINGS):
            name = _name(node.text(deep=True))
            if name:
                return name
        return None

    def _found_under(self, link: LexborNode, tree: LexborHTMLParser) -> str | None:
        """The heading of the box a link is listed in, else the page's heading or title."""
        node = link.parent
        for _ in range(8):
            if node is None:
                break
            for heading in node.css(_HEADINGS):
                name = _name(heading.text(deep=True))
                if name:
                    return name
            node = node.parent
        title = tree.css_first("title")
        return self._heading(tree) or (
            _name(title.text().split(" - ")[0].split(" | ")[0]) if title is not None else None
        )

    def listing(self, page: Page) -> Listing:
        """Article links on the configured sites in page order, with the date shown beside
        each, the category names the page shows, and the next page."""
        tree = LexborHTMLParser(page.text)
        sites = self.sites_for(page)
        listing = Listing(categories=self.categories(tree, page.url, sites))
        listing.heading = self._heading(tree)
        seen: dict[str, int] = {}
        for link in tree.css("a[href]"):
            url = _resolve(page.url, link.attributes.get("href") or "")
            address = article_address(url) if url is not None else None
            site = sites.of(url) if url is not None else None
            if url is None or address is None or site is None:
                continue  # malformed, not an article, or on another site: not followed
            group, nid = address
            title = clean(link.text(deep=True))
            key = article_key(site, nid)
            if key in seen:
                # The same article again (image link, "Tin mới" widget): keep the best details.
                index = seen[key]
                old = listing.refs[index]
                if (not old.title and title) or (old.listed_at is None and self._near_date(link)):
                    listing.refs[index] = replace(
                        old,
                        title=old.title or title,
                        listed_at=old.listed_at or self._near_date(link),
                    )
                continue
            seen[key] = len(listing.refs)
            name = listing.categories.get(group) if group else None
            listing.refs.append(
                ArticleRef(
                    key,
                    url,
                    title,
                    self._near_date(link),
                    group or None,
                    category_name=name,
                    found_under=None if name else self._found_under(link, tree),
                )
            )
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
                try:
                    address = article_address(anchor.attributes.get("href") or "")
                except ValueError:  # a malformed address
                    continue
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
                return _resolve(base, link.attributes.get("href") or "")
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

        # The address residents are sent to: the page's canonical one if it is an absolute
        # http(s) address of an article on the site, else the address it was fetched from.
        sites = self.sites_for(page)
        canonical = _meta(tree, "og:url")
        url = next(
            (
                address
                for address in (canonical, page.url, ref.url)
                if address and absolute_http(address) and sites.of(address)
                and article_address(address)
            ),
            page.url,
        )  # fmt: skip
        site = sites.of(url) or sites.of(page.url) or sites.of(ref.url) or ""
        address = article_address(url) or article_address(page.url)
        nid = address[1] if address else ref.external_id.rpartition(":")[2]
        group = (address[0] if address else "") or ref.category_key

        date_node = _field(tree, "ngaydang")
        published = self._date(date_node.text(deep=True)) if date_node is not None else None
        summary_node = _field(tree, "gioithieu")
        summary = clean(summary_node.text(deep=True)) if summary_node is not None else ""
        author_node = _field(tree, "tacgia")
        author = _AUTHOR_LABEL.sub("", clean(author_node.text(deep=True))) if author_node else ""
        body = body_from_dom(body_node, page.url, _end_of_body) if body_node is not None else None

        names = self.categories(tree, page.url, sites)
        if ref.category_key and ref.category_name:
            names.setdefault(ref.category_key, ref.category_name)
        keys = [key for key in (group, ref.category_key) if key]
        categories: tuple[tuple[str, str | None], ...] = tuple(
            dict.fromkeys((names[key], key) for key in keys if key in names)
        )
        if not categories and ref.found_under:
            # No name for its group anywhere: it belongs where it was found.
            categories = ((ref.found_under, None),)
        image = (body.first_image if body else None) or _meta(tree, "og:image")
        image = _resolve(page.url, image) if image else None
        return ArticleData(
            external_ids=(article_key(site, nid),),
            url=url,
            title=title,
            title_key=title_key(title),
            summary=summary,
            body_html=body.html if body else "",
            body_text=body.text if body else "",
            author=author or None,
            image_url=image if absolute_http(image) else None,
            published_at=published or ref.listed_at,
            categories=categories,
            search_text=(fold(title), fold(summary), fold(body.text if body else "")),
        )
