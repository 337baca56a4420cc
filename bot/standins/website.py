"""A stand-in commune website: a folder of pages (DotNetNuke portal pages) over loopback HTTP.

The tests serve tests/fixtures/portal, saved-copy-like pages of the Bình Chánh portal (see the
README there); the demo serves its own sample site (bot/demo/site). `routes.toml` in the folder
maps each decoded URL path, and optionally a query, to a file. Absolute links in the files use
the real site root; the server rewrites it to its own address, so every link the bot follows
comes back here. Tests (and the demo) can edit, add, remove, fail, slow down or take down pages,
and read every request the bot made.

Notes for tests:
- `set_down(True)` keeps accepting connections and answers 503; for a refused connection, `stop()`.
- A request is recorded when it is answered: a delayed one appears after faster later ones, and
  one whose client gave up is recorded when its delay ends or the portal stops.
- `replace()` with the same bytes changes nothing; other bytes get a new ETag (a hash of the
  content) and a Last-Modified strictly newer than before. `reset()` restores the files.
- Hostile pages, each at one path: `trickle()` (a byte every few tenths of a second, forever),
  `oversized()` (a huge body streamed in chunks, never held in memory), `redirect()` (to any
  Location, so loops and malformed targets), `corrupt_gzip()` (Content-Encoding: gzip over
  garbage). `transform()` rewrites every page, for variants of the portal.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import http
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes

import tornado.httpserver
import tornado.httputil
import tornado.iostream
import tornado.netutil
import tornado.web

__all__ = ["FakePortal", "PortalRequest", "Route"]

HTML = "text/html; charset=utf-8"
# Last-Modified of every page as loaded: the day the fixture pages were "saved" from the site.
FIXTURE_TIME = 1618531200  # 2021-04-16 00:00:00 UTC

_Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Route:
    """One `[[route]]` or `[[spare]]` of routes.toml: a decoded path and optional query."""

    path: str
    query: str
    file: str
    content_type: str
    spare_set: str = ""  # `[[spare]]` only: the name of the pages that change together

    @property
    def address(self) -> str:
        """The path with its query, as `replace()` and `url_for()` take it."""
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class PortalRequest:
    """One request the portal answered; `path` is percent-decoded, `query` as sent."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    status: int


@dataclass(frozen=True)
class _Page:
    """Content served at one address, with its validators."""

    raw: bytes
    content_type: str
    etag: str
    modified: int  # Last-Modified, whole seconds since the epoch


@dataclass(frozen=True)
class _Hostile:
    """A hostile answer at one path: `kind` is trickle, oversized, redirect or gzip."""

    kind: str
    body: bytes = b""
    interval: float = 0.0
    size: int = 0
    declare_length: bool = False
    location: str = ""
    status: int = 302


@dataclass
class _Failure:
    """A pending `fail()` order."""

    path: str | None
    status: int
    times: int


def _route(item: dict[str, Any]) -> Route:
    """A Route from one table of routes.toml."""
    return Route(
        path=item["path"],
        query=item.get("query", ""),
        file=item["file"],
        content_type=item.get("content_type", HTML),
        spare_set=item.get("set", ""),
    )


def _query_key(query: str) -> tuple[tuple[str, str], ...]:
    """Order-insensitive form of a query string, for matching routes."""
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def _split(path: str) -> tuple[str, str]:
    """Split "path?query" as tests write it."""
    path, _, query = path.partition("?")
    return path, query


def _check_bare(path: str | None) -> None:
    """Failures and delays match the decoded path alone."""
    if path is not None and "?" in path:
        raise ValueError("give the path without a query")


def _etag(raw: bytes) -> str:
    """A strong validator derived from the content."""
    return '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'


def _error_page(status: int) -> bytes:
    """A short IIS-style error body for injected failures."""
    reason = _reason(status)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8" /><title>'
        f"{status} - {reason}</title></head>\n<body><h1>{reason}</h1><hr />"
        f"<p>HTTP Error {status}. {reason}.</p></body></html>\n"
    ).encode()


def _reason(status: int) -> str:
    """The standard reason phrase of a status code."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class FakePortal:
    """Stand-in commune website: fixture pages served over loopback HTTP."""

    def __init__(self, root: Path) -> None:
        self.root = root
        manifest: dict[str, Any] = tomllib.loads((root / "routes.toml").read_text("utf-8"))
        self.fixture_root: str = manifest["site"]["root"]
        self.routes: tuple[Route, ...] = tuple(_route(item) for item in manifest["route"])
        self.spares: tuple[Route, ...] = tuple(_route(item) for item in manifest.get("spare", []))
        self._not_found = (root / manifest["site"]["not_found"]).read_bytes()
        self._original: dict[_Key, _Page] = {}
        for route in self.routes:
            raw = (root / route.file).read_bytes()
            key = (route.path, _query_key(route.query))
            self._original[key] = _Page(raw, route.content_type, _etag(raw), FIXTURE_TIME)
        self.requests: list[PortalRequest] = []
        self._pages = dict(self._original)
        self._failures: list[_Failure] = []
        self._delays: dict[str | None, float] = {}
        self._hostile: dict[str, _Hostile] = {}
        self._down = False
        self._server: tornado.httpserver.HTTPServer | None = None
        self._port = 0
        self._active = 0
        self.peak_in_flight = 0  # the most requests answered at the same time
        # Made in start(): asyncio events belong to the loop that first waits on them.
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port in the running event loop."""
        if self._server is not None:
            raise RuntimeError("FakePortal is already started")
        app = tornado.web.Application(
            [(r".*", _PortalHandler, {"portal": self})],
            log_function=lambda handler: None,  # requests are recorded in self.requests
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._active = 0
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening, wake delayed answers and close every connection."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.stop()
        await self._server.close_all_connections()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._idle.wait()
        self._server = None

    async def __aenter__(self) -> FakePortal:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The site root to configure the bot with, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("FakePortal is not started")
        return f"http://127.0.0.1:{self._port}"

    def url_for(self, path: str) -> str:
        """The absolute, percent-encoded address of a decoded path (with optional "?query")."""
        path, query = _split(path)
        return self.url + quote(path, safe="/") + (f"?{query}" if query else "")

    # -- steering ---------------------------------------------------------------------------

    def replace(
        self,
        path: str,
        fixture_file: str | None = None,
        body: str | bytes | None = None,
        *,
        content_type: str | None = None,
    ) -> None:
        """Serve other content at path ("path" or "path?query"): an edit, or a new page."""
        if fixture_file is not None and body is None:
            raw = (self.root / fixture_file).read_bytes()
        elif isinstance(body, str) and fixture_file is None:
            raw = body.encode()
        elif isinstance(body, bytes) and fixture_file is None:
            raw = body
        else:
            raise ValueError("give exactly one of fixture_file and body")
        p, q = _split(path)
        key = (p, _query_key(q))
        old = self._pages.get(key)
        if old is not None and old.raw == raw and content_type in (None, old.content_type):
            return  # unchanged content keeps its validators
        kind = content_type or (old.content_type if old is not None else HTML)
        # Last-Modified has whole seconds: an edit must look strictly newer than what it replaces.
        modified = int(time.time())
        if old is not None:
            modified = max(modified, old.modified + 1)
        self._pages[key] = _Page(raw, kind, _etag(raw), modified)

    def use_spares(self, spare_set: str) -> None:
        """Swap in every `[[spare]]` page of one set, e.g. "new-article-273402"."""
        chosen = [spare for spare in self.spares if spare.spare_set == spare_set]
        if not chosen:
            raise KeyError(f"no [[spare]] set {spare_set!r} in routes.toml")
        for spare in chosen:
            self.replace(spare.address, spare.file, content_type=spare.content_type)

    def remove(self, path: str) -> None:
        """Answer 404 at path from now on (a deleted article)."""
        p, q = _split(path)
        self._pages.pop((p, _query_key(q)), None)

    def fail(self, path: str | None, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` requests to path (any path if None) with an error status."""
        _check_bare(path)
        if not 400 <= status <= 599:
            raise ValueError("fail() takes a 4xx or 5xx status")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(_Failure(path, status, times))

    def set_down(self, down: bool) -> None:
        """While down, answer every request 503 Service Unavailable (the server stays up)."""
        self._down = down

    def delay(self, seconds: float, path: str | None = None) -> None:
        """Hold every answer to path (any path if None) for `seconds`; 0 removes the delay."""
        _check_bare(path)
        if seconds > 0:
            self._delays[path] = seconds
        else:
            self._delays.pop(path, None)

    def transform(self, change: Callable[[bytes], bytes] | tuple[str, str]) -> None:
        """Rewrite every page served now: `change` maps its bytes, or is a (pattern,
        replacement) pair for `re.sub` over the text. For variants of the portal."""
        if isinstance(change, tuple):
            pattern, replacement = (part.encode() for part in change)
            rewrite: Callable[[bytes], bytes] = lambda raw: re.sub(pattern, replacement, raw)  # noqa: E731
        else:
            rewrite = change
        for key, page in list(self._pages.items()):
            raw = rewrite(page.raw)
            if raw != page.raw:
                modified = max(int(time.time()), page.modified + 1)
                self._pages[key] = _Page(raw, page.content_type, _etag(raw), modified)

    def trickle(self, path: str, body: bytes = b"<html><body>", interval: float = 0.2) -> None:
        """Answer 200 at path and send `body` a byte every `interval` seconds, then dots,
        forever: until the client leaves or the portal stops."""
        _check_bare(path)
        self._hostile[path] = _Hostile("trickle", body=body, interval=interval)

    def oversized(self, path: str, size: int, *, declare_length: bool = False) -> None:
        """Answer 200 at path with a `size`-byte HTML page, streamed in 64 KiB chunks (never
        held in memory); with `declare_length`, Content-Length says so up front."""
        _check_bare(path)
        self._hostile[path] = _Hostile("oversized", size=size, declare_length=declare_length)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer path with a redirect to `location`, sent as it is (relative, absolute,
        malformed): two redirects to each other make a loop."""
        _check_bare(path)
        self._hostile[path] = _Hostile("redirect", location=location, status=status)

    def corrupt_gzip(self, path: str) -> None:
        """Answer 200 at path with Content-Encoding: gzip over bytes that are not gzip."""
        _check_bare(path)
        self._hostile[path] = _Hostile("gzip", body=b"\x1f\x8bnot really gzip at all" * 20)

    def reset(self) -> None:
        """Forget edits, failures, delays, hostile pages, downtime and recorded requests."""
        self._pages = dict(self._original)
        self._failures.clear()
        self._delays.clear()
        self._hostile.clear()
        self._down = False
        self.requests.clear()

    def requests_to(self, path: str) -> list[PortalRequest]:
        """The recorded requests for one decoded path (query ignored)."""
        return [r for r in self.requests if r.path == path]

    # -- answering --------------------------------------------------------------------------

    async def _hold(self, path: str) -> None:
        """Wait for the delay configured for path, or until the portal stops."""
        seconds = self._delays.get(path, self._delays.get(None, 0.0))
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._stopping.wait()

    def _take_failure(self, path: str) -> int | None:
        """The status of the first pending failure that matches path, if any."""
        for failure in self._failures:
            if failure.path is None or failure.path == path:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure.status
        return None

    def _lookup(self, path: str, query: str) -> _Page | None:
        """The page for path and query, falling back to the path's page without query."""
        page = self._pages.get((path, _query_key(query)))
        if page is None and query:
            page = self._pages.get((path, ()))
        return page

    def _served(self, raw: bytes) -> bytes:
        """Content with the fixture root rewritten to this server's root."""
        return raw.replace(self.fixture_root.encode(), self.url.encode())

    def _record(self, request: PortalRequest) -> None:
        """Keep one answered request."""
        self.requests.append(request)

    def _enter(self) -> None:
        """Count a request in progress, so that stop() can wait for it."""
        self._active += 1
        self.peak_in_flight = max(self.peak_in_flight, self._active)
        self._idle.clear()

    def _leave(self) -> None:
        """Count a request done."""
        self._active -= 1
        if self._active == 0:
            self._idle.set()


def _not_modified(page: _Page, headers: tornado.httputil.HTTPHeaders) -> bool:
    """Whether the request's validators still match page (RFC 9110 section 13.2.2)."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or page.etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and page.modified <= since.timestamp()


class _PortalHandler(tornado.web.RequestHandler):
    """Answers every path from the portal's pages."""

    portal: FakePortal

    def initialize(self, portal: FakePortal) -> None:
        """Keep the portal whose pages this handler serves."""
        self.portal = portal
        self._decoded = ""

    def set_default_headers(self) -> None:
        """Look like the real site, which is DNN on IIS."""
        self.set_header("Server", "Microsoft-IIS/10.0")
        self.set_header("X-Powered-By", "ASP.NET")
        self.set_header("Cache-Control", "private")

    def compute_etag(self) -> str | None:
        """No automatic ETag: validators come from the page."""
        return None

    async def get(self) -> None:
        """Answer a GET."""
        await self._answer(send_body=True)

    async def head(self) -> None:
        """Answer a HEAD: the headers of GET, no body."""
        await self._answer(send_body=False)

    def on_finish(self) -> None:
        """Record the request with the status it got (also 404, 405 and failures)."""
        request = self.request
        self.portal._record(
            PortalRequest(
                method=request.method or "",
                path=self._decoded or self._decode_path(),
                query=request.query,
                headers={name.lower(): value for name, value in request.headers.items()},
                status=self.get_status(),
            )
        )

    def _decode_path(self) -> str:
        """The percent-decoded UTF-8 path of the request."""
        # Tornado hands the request line over as latin-1 text: recover the bytes, then decode.
        raw = unquote_to_bytes(self.request.path.encode("latin-1"))
        return raw.decode("utf-8", errors="replace")

    async def _answer(self, send_body: bool) -> None:
        """Delay, then downtime, then injected failures, then the page (or 304, or 404)."""
        portal = self.portal
        self._decoded = path = self._decode_path()
        portal._enter()
        try:
            await portal._hold(path)
            status = 503 if portal._down else portal._take_failure(path)
            if status is not None:
                self._send(status, _error_page(status), HTML, send_body)
                return
            hostile = portal._hostile.get(path)
            if hostile is not None:
                await self._hostile(hostile, send_body)
                return
            page = portal._lookup(path, self.request.query)
            if page is None:
                self._send(404, portal._served(portal._not_found), HTML, send_body)
                return
            self.set_header("ETag", page.etag)
            self.set_header("Last-Modified", email.utils.formatdate(page.modified, usegmt=True))
            if _not_modified(page, self.request.headers):
                self.set_status(304)
                return
            self._send(200, portal._served(page.raw), page.content_type, send_body)
        finally:
            portal._leave()

    async def _hostile(self, hostile: _Hostile, send_body: bool) -> None:
        """Answer as a hostile page does."""
        if hostile.kind == "redirect":
            self.set_status(hostile.status, _reason(hostile.status))
            self.set_header("Location", hostile.location)
            return
        if hostile.kind == "gzip":
            self.set_header("Content-Encoding", "gzip")
            self._send(200, hostile.body, HTML, send_body)
            return
        self.set_status(200)
        self.set_header("Content-Type", HTML)
        if not send_body:
            return
        stopping = self.portal._stopping
        try:
            if hostile.kind == "trickle":
                data = hostile.body
                sent = 0
                while not stopping.is_set():
                    self.write(data[sent : sent + 1] if sent < len(data) else b".")
                    sent += 1
                    await self.flush()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(hostile.interval):
                            await stopping.wait()
            else:  # oversized
                if hostile.declare_length:
                    self.set_header("Content-Length", str(hostile.size))
                chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
                head = b"<html><body>"
                self.write(head)
                left = hostile.size - len(head)
                while left > 0 and not stopping.is_set():
                    self.write(chunk[:left])
                    left -= min(left, len(chunk))
                    await self.flush()
        except tornado.iostream.StreamClosedError:
            pass  # the client gave up, as it should

    def _send(self, status: int, body: bytes, content_type: str, send_body: bool) -> None:
        """Set status and representation headers, and the body unless HEAD."""
        self.set_status(status, _reason(status))
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Length", str(len(body)))
        if send_body:
            self.write(body)
