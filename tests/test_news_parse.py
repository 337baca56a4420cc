"""The portal and feed adapters read every field of the fixture pages (tests/fixtures/portal)."""

from __future__ import annotations

import tomllib
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.news.adapters import adapters
from bot.news.adapters.dnn import DnnPortal
from bot.news.adapters.feed import Feed
from bot.news.fetch import Page
from bot.news.models import ArticleRef, NotAnArticle
from bot.news.sites import site_of
from bot.news.text import fold
from bot.standins.tghtml import parse_html
from storage.ingest import Validators

FIXTURES = Path(__file__).parent / "fixtures" / "portal"
EXPECTED: dict[str, Any] = tomllib.loads((FIXTURES / "expected.toml").read_text("utf-8"))
ROOT = EXPECTED["fixture_root"]
SITE = site_of(ROOT)


def key(nid: object) -> str:
    """The key of a portal article of the fixture site."""
    return f"dnn:{SITE}:{nid}"


TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def page(file: str, path: str, content_type: str = "text/html; charset=utf-8") -> Page:
    """A fixture file as the fetcher would hand it over, at its address on the real root."""
    content = (FIXTURES / file).read_bytes()
    return Page(
        ROOT + path,
        content_type,
        content,
        content.decode("utf-8", "replace"),
        Validators(None, None),
    )


def expected_value(value: str) -> str | None:
    return None if value == "missing" else value.replace("{root}", ROOT)


ARTICLES = [*EXPECTED["article"], *EXPECTED["edited"], *EXPECTED["new_article"]]


@pytest.mark.parametrize("case", ARTICLES, ids=lambda c: f"{c['nid']}-{c['file']}")
def test_article_fields(case: dict[str, Any]) -> None:
    portal = DnnPortal(TZ)
    ref = ArticleRef(key(case["nid"]), ROOT + case["path"], listed_at=case["listed"])
    data = portal.article(page(case["file"], case["path"]), ref)

    assert data.external_ids == (key(case["nid"]),)
    assert data.title == case["title"]
    assert data.summary == case["summary"]
    assert data.author == expected_value(case["author"])
    assert data.image_url == expected_value(case["image"])
    assert data.categories[0] == (case["category"], str(case["group"]))
    if case["published"] == "missing":
        # No date on the page: the date the list showed is used instead.
        assert data.published_at == case["listed"]
    else:
        assert data.published_at == case["published"]
        assert data.published_at.tzinfo is not None
    assert data.url.startswith(ROOT + "/chi-tiet-tin/")
    for text in (data.title, data.summary, data.body_text):
        assert unicodedata.is_normalized("NFC", text)
    assert data.body_text.startswith(case["body_starts"])
    assert data.body_text.endswith(case["body_ends"])
    assert case["body_min_chars"] <= len(" ".join(data.body_text.split())) <= case["body_max_chars"]
    for snippet in case.get("body_contains", []):
        assert snippet in " ".join(data.body_text.split())
    for snippet in case.get("body_excludes", []):
        assert snippet not in data.body_text
    # The body is HTML Telegram accepts, paragraph by paragraph and line by line.
    plain, _ = parse_html(data.body_html)
    assert plain == data.body_text
    for paragraph in data.body_html.split("\n\n"):
        for line in paragraph.split("\n"):
            parse_html(line)
    assert data.search_text == (fold(data.title), fold(data.summary), fold(data.body_text))


def test_published_time_is_local_time_stored_as_utc() -> None:
    case = next(c for c in EXPECTED["article"] if c["nid"] == 270892)
    data = DnnPortal(TZ).article(page(case["file"], case["path"]), ArticleRef(key(270892), ""))
    assert data.published_at == datetime(2021, 3, 12, 1, 15, tzinfo=UTC)  # 08:15 at UTC+7


def test_missing_date_without_a_list_date_is_left_to_the_store() -> None:
    case = next(c for c in EXPECTED["article"] if c["published"] == "missing")
    data = DnnPortal(TZ).article(page(case["file"], case["path"]), ArticleRef(key(0), ""))
    assert data.published_at is None  # stored as first-seen time, marked estimated


def test_telegram_sensitive_characters_are_escaped() -> None:
    case = next(c for c in EXPECTED["article"] if c["nid"] == 273320)
    data = DnnPortal(TZ).article(page(case["file"], case["path"]), ArticleRef(key(273320), ""))
    assert "&gt; 35°C" in data.body_html or "&lt;" in data.body_html
    assert "Q&amp;A" in data.body_html
    assert "<script" not in data.body_html


def test_script_style_iframe_and_table() -> None:
    case = next(c for c in EXPECTED["article"] if c["nid"] == 269010)
    data = DnnPortal(TZ).article(page(case["file"], case["path"]), ArticleRef(key(269010), ""))
    for junk in ("function", "{", "iframe", "youtube"):
        assert junk not in data.body_html.lower()
    assert " | " in data.body_text  # table rows become lines with cells separated


@pytest.mark.parametrize("case", EXPECTED["list"], ids=lambda c: c["path"] + c["query"])
def test_list_pages(case: dict[str, Any]) -> None:
    address = case["path"] + (f"?{case['query']}" if case["query"] else "")
    content_type = "application/rss+xml" if case["file"].endswith(".xml") else "text/html"
    kind = Feed(TZ) if case["file"].endswith(".xml") else DnnPortal(TZ)
    listing = kind.listing(page(case["file"], address, content_type))
    if isinstance(kind, Feed):
        nids = [a.external_ids[0].rpartition(":")[2] for a in listing.articles]
    else:
        nids = [ref.external_id.rpartition(":")[2] for ref in listing.refs]
    # The list's own items come first, in order (widgets may add more after them).
    items = [str(nid) for nid in case["items"]]
    assert [nid for nid in nids if nid in items] == items
    if case["next_page"]:
        assert listing.next_page == ROOT + case["next_page"]
    else:
        assert listing.next_page is None


def test_list_dates_and_unquoted_links() -> None:
    listing = DnnPortal(TZ).listing(page("home.html", "/"))
    by_id = {ref.external_id: ref for ref in listing.refs}
    for case in EXPECTED["article"]:
        ref = by_id.get(key(case["nid"]))
        if ref is not None and ref.listed_at is not None:
            # Some widgets show only the day: the day must be right, the time when shown.
            assert ref.listed_at.astimezone(TZ).date() == case["listed"].date()
    # The "Tin mới" widget's unquoted href= values are read too (268455 is only there).
    assert key(268455) in by_id
    assert by_id[key(268455)].title == "Thông báo tạm ngưng cung cấp nước sạch ngày 04/3/2021"


@pytest.mark.parametrize("case", EXPECTED["feed"], ids=lambda c: c["path"])
def test_feeds(case: dict[str, Any]) -> None:
    feed_page = page(case["path"].lstrip("/"), case["path"], case["content_type"])
    assert Feed.recognises(feed_page)
    assert not Feed.recognises(page("home.html", "/"))
    listing = Feed(TZ).listing(feed_page)
    assert [a.external_ids[0] for a in listing.articles] == [key(nid) for nid in case["items"]]
    for article in listing.articles:
        assert article.title
        assert article.published_at is not None
        assert unicodedata.is_normalized("NFC", article.title)
        parse_html(article.body_html or "x")


@pytest.mark.parametrize("case", EXPECTED["page"], ids=lambda c: c["path"])
def test_pages_that_are_not_articles(case: dict[str, Any]) -> None:
    with pytest.raises(NotAnArticle):
        DnnPortal(TZ).article(page(case["file"], case["path"]), ArticleRef(key(1), ""))


def test_malformed_pages() -> None:
    truncated, garbage = EXPECTED["malformed"]
    data = DnnPortal(TZ).article(
        page(truncated["file"], truncated["path"]), ArticleRef(key(274001), "")
    )
    assert data.title == truncated["title"]  # from og:title
    assert data.body_text.startswith(truncated["body_starts"])
    with pytest.raises(NotAnArticle):
        DnnPortal(TZ).article(page(garbage["file"], garbage["path"]), ArticleRef(key(2), ""))


def test_adapters_are_discovered_from_their_modules() -> None:
    assert list(adapters()) == ["feed", "dnn"]  # feeds are tried first when detecting


def test_feed_adapter_reads_no_article_pages() -> None:
    with pytest.raises(NotAnArticle, match="hold whole articles"):
        Feed(TZ).article(page("home.html", "/"), ArticleRef("feed:x", ROOT + "/"))
