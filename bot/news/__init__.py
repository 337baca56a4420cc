"""The news reader: fetches the commune portal (or a feed) and keeps a copy in the database.

It knows nothing of Telegram: the bot's job and the `ingest` command drive it, and listeners
(digests, alerts) are handed each run's report.
"""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.news.fetch import Fetcher, make_client, user_agent
from bot.news.reader import NewsReader, Progress, RunReport, Source
from storage import Database

__all__ = ["NewsReader", "Progress", "RunReport", "Source", "news_client", "reader_for"]


def news_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client the reader uses, sized and timed by the settings."""
    return make_client(settings.NEWS_TIMEOUT_SECONDS, settings.NEWS_MAX_CONCURRENCY, user_agent())


def reader_for(settings: Settings, db: Database, client: httpx.AsyncClient) -> NewsReader:
    """A reader of the sources the settings name."""
    return NewsReader(
        db,
        Fetcher(
            client,
            concurrency=settings.NEWS_MAX_CONCURRENCY,
            retries=settings.NEWS_RETRIES,
            deadline=settings.NEWS_PAGE_DEADLINE_SECONDS,
            max_bytes=settings.NEWS_MAX_PAGE_BYTES,
        ),
        [Source(url, adapter) for url, adapter in settings.news_sources()],
        settings.tz,
        backfill_pages=settings.NEWS_BACKFILL_PAGES,
    )
