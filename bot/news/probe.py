"""One look at the portal, storing nothing: its first list page and one article (for doctor)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.news.adapters import Adapter, adapters
from bot.news.fetch import Fetcher, FetchError, Page
from bot.news.models import NotAnArticle
from bot.news.sites import Sites

__all__ = ["Probe", "ProbeError", "probe"]


class ProbeError(Exception):
    """The portal could not be read (`unreachable`) or not understood; says which page and why."""

    def __init__(self, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class Probe:
    """What one look found."""

    list_url: str
    adapter: str
    listed: int  # articles the list page shows
    title: str  # the title of one article read in full


async def probe(settings: Settings, client: httpx.AsyncClient) -> Probe:
    """Read the first source's list page and its first article as the reader would."""
    sources = settings.news_sources()
    if not sources:
        raise ValueError("NEWS_SITE_URL is not set")
    url, named = sources[0]
    sites = Sites(address for address, _ in sources)
    fetcher = Fetcher(
        client,
        concurrency=1,
        retries=min(settings.NEWS_RETRIES, 1),
        deadline=settings.NEWS_PAGE_DEADLINE_SECONDS,
        max_bytes=settings.NEWS_MAX_PAGE_BYTES,
    )
    readers = {name: kind(settings.tz, sites) for name, kind in adapters().items()}
    page = await _get(fetcher, sites, url)
    adapter = readers[named] if named is not None else _adapter_for(readers, page)
    if adapter is None:
        raise ProbeError(f"{url}: no adapter reads this page", unreachable=False)
    try:
        listing = adapter.listing(page)
    except NotAnArticle as exc:
        raise ProbeError(f"{url}: not a list of news: {exc}", unreachable=False) from None
    if listing.articles:  # a feed holds whole articles
        return Probe(url, adapter.name, len(listing.articles), listing.articles[0].title)
    if not listing.refs:
        raise ProbeError(f"{url}: the list page shows no articles", unreachable=False)
    ref = listing.refs[0]
    article = await _get(fetcher, sites, ref.url)
    try:
        data = adapter.article(article, ref)
    except NotAnArticle as exc:
        raise ProbeError(f"{ref.url}: not an article: {exc}", unreachable=False) from None
    return Probe(url, adapter.name, len(listing.refs), data.title)


async def _get(fetcher: Fetcher, sites: Sites, url: str) -> Page:
    try:
        page = await fetcher.get(url, allowed=sites.allows)
    except FetchError as exc:
        raise ProbeError(str(exc), unreachable=True) from None
    except httpx.HTTPError as exc:
        raise ProbeError(f"{url}: {exc}", unreachable=True) from None
    assert page is not None  # only a conditional request gets 304
    return page


def _adapter_for(readers: dict[str, Adapter], page: Page) -> Adapter | None:
    return next((a for a in readers.values() if a.recognises(page)), None)
