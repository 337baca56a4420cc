"""How the bot talks to the Bot API: JSON bodies, straight through httpx's connection pool.

python-telegram-bot's own `HTTPXRequest` does three things that cost this bot on every call:

- It sends parameters as a URL-encoded form, which quotes each byte of non-ASCII text as `%XX`:
  an article view of 3,000 Vietnamese characters becomes about 12 KB, and quoting it byte by
  byte is the largest part of preparing the request. The Bot API takes the same parameters as a
  JSON body, which keeps the text as UTF-8 (about 4 KB) and is encoded in C. Calls that upload
  files still go as a multipart form, exactly as PTB sends them.
- It goes through `httpx.AsyncClient`, whose cookie jar, authentication and redirect machinery
  cost about a fifth of each call's CPU time. The Bot API sets no cookies, takes the token in the
  path and does not redirect, so requests go straight to `httpx.AsyncHTTPTransport`, the
  client's own connection pool (a public httpx interface).
- It keeps open as many connections as were ever busy at once (see `IDLE_CONNECTIONS`), in one
  pool that httpcore checks whole, with system calls, at the start and the end of every request
  (see `LANES`).

This is PTB's documented way to change the networking backend: a `BaseRequest` subclass given to
the `ApplicationBuilder` (and to the delivery engine's `Bot`). Timeouts, pool size and the errors
raised are those of PTB's `HTTPXRequest`; like it, an `HTTPS_PROXY` (or `ALL_PROXY`) in the
environment is used unless `NO_PROXY` names Telegram's host.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    # The type BaseRequest.do_request is declared with: PTB keeps it in a private module, so it
    # is read by the type checker only, never at run time; tests/test_imports.py checks that
    # PTB still declares it there (a release that moves it fails that test, not the bot).
    from telegram._utils.types import ODVInput

__all__ = ["OFFLINE_TOKEN", "JsonRequest", "NotBotApi", "OfflineRequest", "proxy_from_environment"]

log = logging.getLogger(__name__)

# Connections kept open once the requests on them are done (httpx's own default). PTB keeps as
# many as were ever open at once, and httpcore checks every one of them, with system calls, at
# each request: after a burst of 50 taps, every later call paid for 50 connections until they
# expired. Above this many, a connection is closed when its request ends. Telegram at 30
# messages a second and a 250 ms round trip keeps about 15 busy.
IDLE_CONNECTIONS = 20

# httpcore's pool, at the start and at the end of every request, checks each connection it holds
# (an idle one with two system calls, to see whether the server closed it) and, for each idle
# one, walks all of them again: the cost of a request grows with the connections open times the
# idle ones. With 50 residents tapping at once that was the largest part of the bot's CPU time
# per update (see docs/benchmarks.md). Connections are therefore held in several smaller pools
# ("lanes") that share out one pool's limits: a request goes to the first lane with fewer
# requests under way than it keeps idle connections (so a quiet bot uses the first lane alone,
# reusing its connections), else to the least busy lane (so a request waits for a connection
# only when every lane is full, as in one pool). A pool smaller than LANES * LANE_MIN (the long
# poll's two connections) is one lane.
LANES = 4
LANE_MIN = 4

_POOL_FULL = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class NotBotApi(NetworkError):
    """Something other than the Bot API answered: a wrong address, a proxy, a captive portal.

    PTB would take an HTML 404 for a refused token (it maps 401 and 404 to InvalidToken) and
    dump a 200 page it cannot parse; only an answer in the Bot API's JSON is Telegram's. A
    NetworkError, so a passing proxy error while running is retried like any other.
    """

    def __init__(self, root: str, status: int, content_type: str) -> None:
        kind = content_type.split(";")[0].strip() or "no content type"
        super().__init__(
            f"{root} answered HTTP {status} ({kind}), which is not the Telegram Bot API: "
            "check TELEGRAM_API_URL and HTTPS_PROXY"
        )
        self.root = root
        self.status = status


# The Bot API's every answer is a JSON object whose first field is "ok" (then "result", or
# "error_code" and "description"); checked on the first bytes only, as this runs on every call.
_BOT_API_ANSWER = re.compile(rb'\s*\{\s*"ok"\s*:')


def _is_bot_api_answer(content: bytes) -> bool:
    """Whether a body is the Bot API's JSON (not a proxy's page, nor some other JSON)."""
    return _BOT_API_ANSWER.match(content, 0, 64) is not None


def proxy_from_environment(url: str) -> str | None:
    """The proxy the environment sets for `url` (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`...)."""
    parts = urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


class JsonRequest(BaseRequest):
    """A `BaseRequest` on httpx that posts parameters as JSON (multipart when there are files)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        )
        self._media_write_timeout = media_write_timeout
        lanes = LANES if connection_pool_size >= LANES * LANE_MIN else 1
        idle = min(IDLE_CONNECTIONS, connection_pool_size)
        # The pool size and the idle connections shared out: the lanes hold what one pool would.
        self._limits = [
            httpx.Limits(
                max_connections=_share(connection_pool_size, lanes, lane),
                max_keepalive_connections=_share(idle, lanes, lane),
            )
            for lane in range(lanes)
        ]
        self._proxy = proxy
        self._transports = self._new_transports()
        self._busy = [0] * lanes  # requests under way (or waiting for a connection) per lane
        # A lane takes requests until this many are under way before the next is used.
        self._fill = [max(1, limits.max_keepalive_connections or 0) for limits in self._limits]
        self._open = True

    def _new_transports(self) -> list[httpx.AsyncBaseTransport]:
        try:
            return [
                httpx.AsyncHTTPTransport(limits=limits, proxy=self._proxy)
                for limits in self._limits
            ]
        except ImportError as exc:  # a socks5:// proxy without httpx's optional support
            raise NetworkError(
                f"the proxy needs an extra package: python3 -m pip install 'httpx[socks]' ({exc})"
            ) from exc

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of requests that do not set their own (PTB asks for it)."""
        return self._timeout.read

    async def initialize(self) -> None:
        """Open new connections if this request was shut down before (PTB may re-initialize)."""
        if not self._open:
            self._transports = self._new_transports()
            self._open = True

    async def shutdown(self) -> None:
        """Close the connections."""
        if self._open:
            self._open = False
            for transport in self._transports:
                await transport.aclose()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one Bot API call; returns the HTTP status and the body."""
        if not self._open:
            raise RuntimeError("This JsonRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        written = self._media_write_timeout if files else self._timeout.write
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, self._timeout.connect),
            read=_given(read_timeout, self._timeout.read),
            write=_given(write_timeout, written),
            pool=_given(pool_timeout, self._timeout.pool),
        )
        headers = {"User-Agent": self.USER_AGENT}
        extensions = {"timeout": timeout.as_dict()}
        address = _parsed(url)
        if request_data is None:
            request = httpx.Request(method, address, headers=headers, extensions=extensions)
        elif files:
            request = httpx.Request(
                method,
                address,
                headers=headers,
                data=request_data.json_parameters,
                files=files,
                extensions=extensions,
            )
        else:
            headers["Content-Type"] = "application/json"
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            request = httpx.Request(
                method, address, headers=headers, content=body, extensions=extensions
            )
        busy = self._busy
        lane = 0
        while lane < len(busy) and busy[lane] >= self._fill[lane]:
            lane += 1
        if lane == len(busy):  # every lane as busy as its share: the least busy one
            lane = busy.index(min(busy))
        busy[lane] += 1
        try:
            response = await self._transports[lane].handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.PoolTimeout as exc:
            raise TimedOut(_POOL_FULL) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut from exc
        except httpx.HTTPError as exc:  # the base of httpx's errors: last
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc
        finally:
            busy[lane] -= 1
        # At DEBUG, each call is logged as httpx's client would (the token is masked by bot.logs).
        if log.isEnabledFor(logging.DEBUG):
            log.debug("HTTP Request: %s %s %d", method, url, response.status_code)
        # Bot API methods are POSTed; a GET is a file download, whose body is the file.
        if method == "POST" and not _is_bot_api_answer(content):
            raise NotBotApi(
                url.rsplit("/bot", 1)[0],  # the API root: the token follows "/bot"
                response.status_code,
                response.headers.get("content-type", ""),
            )
        return response.status_code, content


def _share(total: int, parts: int, part: int) -> int:
    """Part `part` of `total` shared out as evenly as can be (the first parts take the rest)."""
    return total // parts + (1 if part < total % parts else 0)


@functools.lru_cache(maxsize=64)
def _parsed(url: str) -> httpx.URL:
    """A Bot API address, parsed once: the bot calls the same few methods again and again."""
    return httpx.URL(url)


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout the call set (None: none at all), or this request's own if it set none."""
    if value is None or isinstance(value, int | float):
        return value
    return default  # left at PTB's DefaultValue


# The token of a bot that never reaches Telegram (Zalo alone): any text PTB accepts as a token.
OFFLINE_TOKEN = "0:telegram-not-configured"
_OFFLINE_BOT = {
    "id": 1,
    "is_bot": True,
    "first_name": "commune-bot",
    "username": "telegram_not_configured_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class OfflineRequest(BaseRequest):
    """The networking backend of a bot that never talks to Telegram (BOT_TOKEN not set).

    With Zalo alone, the process still runs python-telegram-bot's `Application`: its JobQueue is
    the one scheduler, and `initialize`/`start`/`stop` are the one start-up and shut-down path.
    `Application.initialize` asks Telegram who the bot is (`getMe`); this backend answers that
    question itself, and refuses every other call with a `NetworkError` naming the reason, so no
    request ever leaves the machine. It is PTB's documented hook, as `JsonRequest` is.
    """

    @property
    def read_timeout(self) -> float | None:
        """No network: nothing to wait for."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """getMe from memory; anything else is refused."""
        if url.rstrip("/").rsplit("/", 1)[-1] == "getMe":
            return 200, json.dumps({"ok": True, "result": _OFFLINE_BOT}).encode()
        raise NetworkError("Telegram is not used: BOT_TOKEN is not set (Zalo alone)")
