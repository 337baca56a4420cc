"""How the bot talks to the Bot API: one httpx client, parameters sent as a JSON body.

python-telegram-bot's own `HTTPXRequest` sends every call as a URL-encoded form. That quotes each
byte of non-ASCII text as `%XX`: an article view of 3,000 Vietnamese characters becomes about
12 KB on the wire, and quoting it byte by byte is the largest part of preparing the request. The
Bot API takes the same parameters as a JSON body, which keeps the text as UTF-8 (about 4 KB) and
is encoded in C. Calls that upload files still go as a multipart form, exactly as PTB sends them.

This is PTB's documented way to change the networking backend: a `BaseRequest` subclass given to
the `ApplicationBuilder` (and to the delivery engine's `Bot`). Timeouts, pool size and the errors
raised are those of PTB's `HTTPXRequest`.
"""

from __future__ import annotations

import json

import httpx
from telegram._utils.types import ODVInput  # the type BaseRequest.do_request is declared with
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["JsonRequest"]

_POOL_FULL = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


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
    ) -> None:
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        )
        self._media_write_timeout = media_write_timeout
        self._limits = httpx.Limits(max_connections=connection_pool_size)
        self._client = self._new_client()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._timeout, limits=self._limits)

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of requests that do not set their own (PTB asks for it)."""
        return self._timeout.read

    async def initialize(self) -> None:
        """Open a new client if this request was shut down before (PTB may re-initialize)."""
        if self._client.is_closed:
            self._client = self._new_client()

    async def shutdown(self) -> None:
        """Close the connections."""
        if not self._client.is_closed:
            await self._client.aclose()

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
        if self._client.is_closed:
            raise RuntimeError("This JsonRequest is not initialized!")
        headers = {"User-Agent": self.USER_AGENT}
        content: bytes | None = None
        files = None
        form = None
        if request_data is not None and request_data.contains_files:
            files = request_data.multipart_data
            form = request_data.json_parameters
        elif request_data is not None:
            content = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        written = self._media_write_timeout if files else self._timeout.write
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, self._timeout.connect),
            read=_given(read_timeout, self._timeout.read),
            write=_given(write_timeout, written),
            pool=_given(pool_timeout, self._timeout.pool),
        )
        try:
            response = await self._client.request(
                method,
                url,
                headers=headers,
                content=content,
                data=form,
                files=files,
                timeout=timeout,
            )
        except httpx.PoolTimeout as exc:
            raise TimedOut(_POOL_FULL) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut from exc
        except httpx.HTTPError as exc:  # the base of httpx's errors: last
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc
        return response.status_code, response.content


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout the call set (None: none at all), or this request's own if it set none."""
    if value is None or isinstance(value, int | float):
        return value
    return default  # left at PTB's DefaultValue
