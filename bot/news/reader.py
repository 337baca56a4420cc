"""The news reader: poll the sources, store what is new or changed, tell whoever listens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from bot.news.adapters import Adapter, adapters
from bot.news.fetch import Fetcher, FetchError, Page
from bot.news.models import ArticleData, ArticleRef, Listing, NotAnArticle
from bot.news.sites import Sites
from bot.news.text import fold
from storage import Database
from storage.articles import ArticleStore
from storage.ingest import HttpCache, IngestLog, RunSummary, Validators

__all__ = ["NewsReader", "Progress", "RunReport", "Source"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what, done, total)
Listener = Callable[["RunReport"], Awaitable[None]]


@dataclass(frozen=True)
class Source:
    """A page to watch: a list page of the portal or a feed, with its adapter (None: detect)."""

    url: str
    adapter: str | None = None


@dataclass
class RunReport:
    """What one poll did."""

    run_id: int
    backfill: bool
    new: list[int] = field(default_factory=list)  # article ids, oldest first
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    site_error: str | None = None  # set when no source could be read at all
    requests: int = 0
    new_keys: set[str] = field(default_factory=set)  # keys of the articles stored as new
    sites_with_news: set[str] = field(default_factory=set)  # sites whose lists held articles
    sites_named: set[str] = field(default_factory=set)  # sites that showed category names

    @property
    def ok(self) -> bool:
        """The site could be read (some pages may still have failed)."""
        return self.site_error is None

    @property
    def unnamed_sites(self) -> set[str]:
        """Sites that yielded articles but no category name: their articles are filed under
        the headings they were found under, and staff should know the adapter missed them."""
        return self.sites_with_news - self.sites_named


class NewsReader:
    """Reads the sources into the article store, once per `run()`."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        sources: Sequence[Source],
        tz: ZoneInfo,
        *,
        backfill_pages: int = 5,
        recheck_every: timedelta = timedelta(hours=24),
        recheck_within: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.articles = ArticleStore(db)
        self.cache = HttpCache(db)
        self.log = IngestLog(db)
        self.fetcher = fetcher
        self.sources = list(sources)
        self.backfill_pages = backfill_pages
        self.recheck_every = recheck_every
        self.recheck_within = recheck_within
        self.clock = clock
        # Links are followed, and redirects too, only to the hosts of the configured sources.
        self.sites = Sites(source.url for source in self.sources)
        self._adapters = {name: kind(tz, self.sites) for name, kind in adapters().items()}
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    def add_listener(self, listener: Listener) -> None:
        """Call `listener` with the report after every run (digests and alerts use this)."""
        self._listeners.append(listener)

    async def run(self, progress: Progress | None = None) -> RunReport:
        """Poll every source once; never raises for what the site does."""
        async with self._lock:  # a manual `ingest` and the scheduled job never overlap
            report = await self._run(progress or (lambda what, done, total: None))
        for listener in self._listeners:
            try:
                await listener(report)
            except Exception:
                log.exception("a news listener failed on run %s", report.run_id)
        return report

    async def _run(self, progress: Progress) -> RunReport:
        backfill = not await self.log.has_finished_run()
        started = self.clock()
        report = RunReport(await self.log.start(started, backfill), backfill)
        requests_before = self.fetcher.requests
        readable = 0
        seen: set[str] = set()
        for source in self.sources:
            if await self._source(source, report, seen, progress):
                readable += 1
        await self._recheck(report)
        if readable == 0 and self.sources:
            report.site_error = report.failures[0][1] if report.failures else "nothing readable"
        report.requests = self.fetcher.requests - requests_before
        for site in sorted(report.unnamed_sites):
            log.warning(
                "news: %s yields articles but no category names; they are filed under the"
                " headings they were listed under",
                site or "the site",
            )
        await self.log.finish(
            RunSummary(
                report.run_id, report.ok, len(report.new), len(report.updated),
                report.unchanged, len(report.failures), report.site_error,
            ),
            self.clock(),
        )  # fmt: skip
        return report

    async def _fail(self, report: RunReport, url: str, reason: str | Exception) -> None:
        """Record one page's failure; the run goes on."""
        if isinstance(reason, Exception):
            reason = _reason(reason)
        log.warning("news: %s: %s", url, reason)
        report.failures.append((url, reason))
        await self.log.failure(report.run_id, url, reason)

    async def _get(self, url: str, validators: Validators | None = None) -> Page | None:
        """Fetch a page of the configured sites (redirects elsewhere are refused)."""
        return await self.fetcher.get(url, validators, allowed=self.sites.allows)

    def _adapter_for(self, source: Source, page: Page) -> Adapter:
        if source.adapter is not None:
            return self._adapters[source.adapter]
        for adapter in self._adapters.values():
            if adapter.recognises(page):
                return adapter
        raise NotAnArticle(f"no adapter reads this page ({page.content_type or 'no type'})")

    async def _source(
        self, source: Source, report: RunReport, seen: set[str], progress: Progress
    ) -> bool:
        """Read one source, following its pages while they hold news; False if unreadable."""
        url: str | None = source.url
        pages = 0
        while url is not None and pages < max(1, self.backfill_pages):
            pages += 1
            try:
                page = await self._get(url, await self.cache.get(url))
                if page is None:  # 304: nothing changed on this page, nor below it
                    return True
                adapter = self._adapter_for(source, page)
                listing = adapter.listing(page)
            except NotAnArticle as exc:
                await self._fail(report, url, f"not a list of news: {exc}")
                return pages > 1
            except Exception as exc:  # whatever one page does, the run goes on
                await self._fail(report, url, exc)
                return pages > 1
            site = self.sites.of(page.url) or ""
            if listing.refs or listing.articles:
                report.sites_with_news.add(site)
            if listing.categories:
                report.sites_named.add(site)
            failures_before = len(report.failures)
            try:
                all_new = await self._listing(adapter, listing, report, seen, progress, site)
            except Exception as exc:
                await self._fail(report, url, exc)
                return True
            # Remember the page's version only if all it links to was stored: otherwise the next
            # poll must read it again to retry what failed.
            if len(report.failures) == failures_before:
                await self.cache.put(url, page.validators, self.clock())
            # Later runs stop at the first page that holds an article already known.
            if not report.backfill and not all_new:
                break
            url = _next(page.url, listing.next_page)
            if url is not None and not self.sites.allows(url):
                url = None
        return True

    async def _listing(
        self,
        adapter: Adapter,
        listing: Listing,
        report: RunReport,
        seen: set[str],
        progress: Progress,
        site: str,
    ) -> bool:
        """Store what a list page holds; True if none of its articles was known before."""
        for data in listing.articles:
            if data.external_ids[0] in seen:
                continue
            seen.add(data.external_ids[0])
            if _named(data, listing.heading):
                report.sites_named.add(site)
            try:
                await self._store(data, report)
            except Exception as exc:
                await self._fail(report, data.url, exc)
        # Articles this run already stored as new do not count as known: the site may list
        # them on several pages, and older news may still follow.
        stored = await self.articles.known([ref.external_id for ref in listing.refs])
        known_before = set(stored) - report.new_keys
        refs = [ref for ref in listing.refs if ref.external_id not in seen]
        seen.update(ref.external_id for ref in refs)
        known = {
            ref.external_id: stored[ref.external_id] for ref in refs if ref.external_id in stored
        }
        titles = await self.articles.titles(list(known.values()))
        to_fetch: list[ArticleRef] = []
        for ref in refs:
            article_id = known.get(ref.external_id)
            if article_id is None or not _same_title(ref.title, titles.get(article_id, "")):
                to_fetch.append(ref)  # new, or its title changed on the site: read it again
            else:
                report.unchanged += 1
        done = 0

        async def fetch(ref: ArticleRef) -> tuple[ArticleRef, Page | Exception | None]:
            try:
                return ref, await self._get(ref.url)
            except Exception as exc:  # recorded as this article's failure below
                return ref, exc

        # Pages download concurrently (the fetcher caps how many at once); storing stays in
        # list order so ids follow the site's order.
        for ref, result in await asyncio.gather(*(fetch(ref) for ref in to_fetch)):
            done += 1
            progress("articles", done, len(to_fetch))
            if isinstance(result, Exception):
                await self._fail(report, ref.url, result)
                continue
            if result is None:
                report.unchanged += 1
                continue
            try:
                data = adapter.article(result, ref)
                await self._store(data, report)
                for address in {result.url, data.url}:
                    await self.cache.put(address, result.validators, self.clock())
            except NotAnArticle as exc:
                await self._fail(report, ref.url, f"not an article: {exc}")
                continue
            except Exception as exc:
                await self._fail(report, ref.url, exc)
                continue
            if _named(data, ref.found_under):
                report.sites_named.add(site)
        await self._link_categories(listing, stored)
        return not known_before

    async def _link_categories(self, listing: Listing, stored: dict[str, int]) -> None:
        """An article listed under another category (DNN group) belongs to that one too.

        Only articles stored before this page are linked here: a new one got the category of
        the link it was read through from the adapter.
        """
        for ref in listing.refs:
            name = listing.categories.get(ref.category_key or "")
            article_id = stored.get(ref.external_id)
            if name and article_id is not None:
                await self.articles.link_category(article_id, name, ref.category_key)

    async def _store(self, data: ArticleData, report: RunReport) -> None:
        article_id, outcome = await self.articles.upsert(data, self.clock())
        if outcome == "new":
            report.new.append(article_id)
            report.new_keys.update(data.external_ids)
        elif outcome == "updated":
            report.updated.append(article_id)
        else:
            report.unchanged += 1

    async def _recheck(self, report: RunReport) -> None:
        """Ask again for recent articles not checked for a while: the site may have edited them."""
        now = self.clock()
        portal = self._adapters.get("dnn")
        if portal is None:
            return
        due = await self.articles.due_for_recheck(
            now, self.recheck_every, self.recheck_within, key_prefix="dnn:"
        )
        for article_id, url in due:
            if not self.sites.allows(url):
                continue  # stored before the reader kept to its sites: never fetched again
            try:
                page = await self._get(url, await self.cache.get(url))
                if page is None:
                    await self.articles.mark_checked(article_id, now)
                    report.unchanged += 1
                    continue
                data = portal.article(page, ArticleRef(f"id:{article_id}", url))
                await self._store(data, report)
                await self.cache.put(url, page.validators, now)
            except NotAnArticle as exc:
                await self._fail(report, url, f"not an article: {exc}")
            except Exception as exc:
                await self._fail(report, url, exc)


def _reason(exc: Exception) -> str:
    """A failure in a few words; an unexpected one is logged with its traceback."""
    if isinstance(exc, FetchError):
        return exc.reason
    log.warning("news: unexpected %s while reading a page", type(exc).__name__, exc_info=exc)
    return f"unexpected error ({type(exc).__name__}: {str(exc)[:200]})"


def _next(base: str, address: str | None) -> str | None:
    """The next list page's address, if there is one and it is well formed."""
    if not address:
        return None
    try:
        return urljoin(base, address)
    except ValueError:
        return None


def _named(data: ArticleData, fallback: str | None) -> bool:
    """True if the article got a category name from the site, not only where it was found."""
    return any(key is not None or name != fallback for name, key in data.categories)


def _same_title(listed: str, stored: str) -> bool:
    """A list may shorten a title ("…"); only a real difference means the article was edited."""
    if not listed:
        return True
    listed_key, stored_key = fold(listed).rstrip(".… "), fold(stored)
    return stored_key == listed_key or (
        listed.rstrip().endswith(("…", "...")) and stored_key.startswith(listed_key)
    )
