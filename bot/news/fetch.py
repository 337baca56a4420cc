"""Fetching the site: one shared httpx client, retries with backoff, a concurrency cap, and
conditional requests so a poll with nothing new costs a few 304s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import httpx

from storage.ingest import Validators

__all__ = ["FetchError", "Fetcher", "Page", "make_client", "user_agent"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}


def user_agent() -> str:
    """Tells the site's administrators who is reading and why."""
    try:
        release = version("commune-bot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        release = "dev"
    return f"commune-bot/{release} (Telegram news bot for the commune's residents)"


def make_client(timeout: float, concurrency: int, agent: str) -> httpx.AsyncClient:
    """The one client the news reader uses for the life of the bot."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": agent},
        follow_redirects=True,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


class FetchError(Exception):
    """A page could not be fetched; `reason` says why in a few words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Page:
    """A fetched page."""

    url: str  # after redirects
    content_type: str
    content: bytes
    text: str
    validators: Validators


class Fetcher:
    """GETs pages with retries, at most `concurrency` at a time."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        concurrency: int = 4,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.requests = 0  # how many requests were sent, for the poll's report

    async def get(self, url: str, validators: Validators | None = None) -> Page | None:
        """The page, or None if the site says it has not changed (304)."""
        headers: dict[str, str] = {}
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        attempt = 0
        while True:
            try:
                async with self._slots:
                    self.requests += 1
                    response = await self._client.get(url, headers=headers)
            except httpx.TimeoutException:
                reason = "the site did not answer in time"
            except httpx.TransportError as exc:
                reason = f"cannot connect to the site ({type(exc).__name__})"
            else:
                if response.status_code == 304:
                    return None
                if response.status_code < 300:
                    return _page(response)
                reason = f"the site answered {response.status_code} {response.reason_phrase}"
                if response.status_code not in _RETRY_STATUS:
                    raise FetchError(url, reason)
            attempt += 1
            if attempt > self._retries:
                raise FetchError(url, reason)
            delay = self._backoff * 2 ** (attempt - 1)
            log.info("%s: %s; trying again in %.1fs", url, reason, delay)
            await self._sleep(delay)


def _page(response: httpx.Response) -> Page:
    content_type = response.headers.get("Content-Type", "")
    try:
        text = response.text
    except (LookupError, UnicodeDecodeError):
        text = response.content.decode("utf-8", errors="replace")
    return Page(
        url=str(response.url),
        content_type=content_type,
        content=response.content,
        text=text,
        validators=Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
    )
