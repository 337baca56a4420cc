"""Fetching the site: one shared httpx client, retries with backoff, a concurrency cap,
conditional requests so a poll with nothing new costs a few 304s, and limits no page can
escape: a deadline per request, a size cap, redirects only within the site."""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin

import httpx

from storage.ingest import Validators

__all__ = ["FetchError", "Fetcher", "Page", "decode", "make_client", "user_agent"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 10
# Where a page may declare its encoding: <meta charset="x"> or <meta http-equiv=... content=
# "text/html; charset=x">, looked for in the first bytes as browsers do (a little more
# generously: DNN heads are long).
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_META_SCAN = 16 * 1024
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def user_agent() -> str:
    """Tells the site's administrators who is reading and why."""
    try:
        release = version("commune-bot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        release = "dev"
    return f"commune-bot/{release} (Telegram news bot for the commune's residents)"


def make_client(timeout: float, concurrency: int, agent: str) -> httpx.AsyncClient:
    """The one client the news reader uses for the life of the bot.

    Redirects are followed by the `Fetcher`, hop by hop, so each hop can be checked.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": agent},
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


class FetchError(Exception):
    """A page could not be fetched; `reason` says why in a few words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class _Retry(Exception):
    """A failure worth trying again (5xx, timeout, connection error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Page:
    """A fetched page."""

    url: str  # after redirects
    content_type: str
    content: bytes
    text: str  # decoded (see `decode`) and in NFC
    validators: Validators


class Fetcher:
    """GETs pages with retries, at most `concurrency` at a time.

    Each request, redirects and body included, must end within `deadline` seconds and bring
    at most `max_bytes` bytes (after decompression); a page that does not is a `FetchError`,
    not retried, since it would do the same again.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        concurrency: int = 4,
        retries: int = 3,
        backoff: float = 0.5,
        deadline: float = 60.0,
        max_bytes: int = 5 * 1024 * 1024,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.requests = 0  # how many requests were sent, for the poll's report

    async def get(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        allowed: Callable[[str], bool] | None = None,
    ) -> Page | None:
        """The page, or None if the site says it has not changed (304).

        `allowed` says which addresses may be asked for: a redirect anywhere else is a
        `FetchError` and is not followed.
        """
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
                    return await self._once(url, headers, allowed)
            except _Retry as retry:
                reason = retry.reason
            attempt += 1
            if attempt > self._retries:
                raise FetchError(url, reason)
            delay = self._backoff * 2 ** (attempt - 1)
            log.info("%s: %s; trying again in %.1fs", url, reason, delay)
            await self._sleep(delay)

    async def _once(
        self, url: str, headers: dict[str, str], allowed: Callable[[str], bool] | None
    ) -> Page | None:
        """One attempt: the request and its redirects, within the deadline and the size cap."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._follow(url, headers, allowed)
        except TimeoutError:
            raise FetchError(
                url, f"the page took longer than {self.deadline:g} s to arrive (trickling?)"
            ) from None
        except httpx.TimeoutException:
            raise _Retry("the site did not answer in time") from None
        except httpx.TransportError as exc:
            raise _Retry(f"cannot connect to the site ({type(exc).__name__})") from None
        except httpx.DecodingError:
            raise FetchError(url, "the page's compressed body is damaged") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise FetchError(url, f"cannot fetch this address ({type(exc).__name__})") from None

    async def _follow(
        self, url: str, headers: dict[str, str], allowed: Callable[[str], bool] | None
    ) -> Page | None:
        address = url
        for _ in range(_MAX_REDIRECTS + 1):
            if allowed is not None and not allowed(address):
                raise FetchError(url, f"{address} is not on the configured site")
            self.requests += 1
            async with self._client.stream(
                "GET", address, headers=headers, follow_redirects=False
            ) as response:
                status = response.status_code
                if status in _REDIRECT_STATUS and "Location" in response.headers:
                    address = urljoin(address, response.headers["Location"])
                    continue
                if status == 304:
                    return None
                reason = f"the site answered {status} {response.reason_phrase}"
                if status in _RETRY_STATUS:
                    raise _Retry(reason)
                if status >= 300:
                    raise FetchError(url, reason)
                content = await self._body(url, response)
                return _page(str(response.url), response.headers, content)
        raise FetchError(url, f"more than {_MAX_REDIRECTS} redirects (a redirect loop?)")

    async def _body(self, url: str, response: httpx.Response) -> bytes:
        """The body, read until it ends or passes `max_bytes`."""
        too_big = f"the page is larger than {self.max_bytes:,} bytes"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(url, too_big)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():  # decompressed: a zip bomb stops here too
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(url, too_big)
            chunks.append(chunk)
        return b"".join(chunks)


def _codec(name: str | None) -> str | None:
    """The Python codec for a charset label, or None if unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode(content: bytes, content_type: str) -> str:
    """The page's text: the charset of the HTTP header, else a byte order mark, else the one
    its <meta> declares, else UTF-8 (bad bytes replaced); in NFC, because some encodings
    (windows-1258) write tone marks as separate combining characters."""
    declared = None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            declared = _codec(value)
    if declared is None:
        for bom, name in _BOMS:
            if content.startswith(bom):
                declared = name
                break
    if declared is None:
        match = _META_CHARSET.search(content[:_META_SCAN])
        declared = _codec(match[1].decode("ascii")) if match else None
        if declared is not None and declared.startswith("utf-16"):
            declared = "utf-8"  # a page that could say so in ASCII is not UTF-16 (as browsers)
    text = content.decode(declared or "utf-8", errors="replace")
    return unicodedata.normalize("NFC", text.removeprefix("\ufeff"))


def _page(url: str, headers: httpx.Headers, content: bytes) -> Page:
    content_type = headers.get("Content-Type", "")
    return Page(
        url=url,
        content_type=content_type,
        content=content,
        text=decode(content, content_type),
        validators=Validators(headers.get("ETag"), headers.get("Last-Modified")),
    )
