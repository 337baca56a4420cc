"""What both webhooks (bot/webhook.py for Telegram, bot/zalo/webhook.py for Zalo) share.

`BodyHandler` streams a POST's body: a refusal made from the headers answers before a byte of the
body is read (a small declared body is read and dropped first, see `DRAIN_BYTES`), and the body
is counted against the handler's `max_body` as it comes (413 once it is over). `NotFound` answers
any other address 404 from the headers; `Application` logs one DEBUG line per request, without
its address, headers or body.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import tornado.web

__all__ = ["DRAIN_BYTES", "Application", "BodyHandler", "NotFound"]

# A refused request with a small declared body has that body read and dropped before the answer:
# closing a connection with unread bytes makes the kernel reset it, and the client may then see
# the reset instead of the refusal. Anything larger is cut off at once.
DRAIN_BYTES = 64 << 10


@tornado.web.stream_request_body
class BodyHandler(tornado.web.RequestHandler):
    """A POST whose body is streamed, capped at `max_body`; subclasses call `start_body()` in
    their `initialize`, refuse in `prepare` and begin `post` with `if self.settled(): return`."""

    SUPPORTED_METHODS = ("POST",)
    max_body = 0

    def start_body(self) -> None:
        self.body = bytearray()
        self.answered = False  # refused already: the rest of the body is not ours to read
        self.refusal: HTTPStatus | None = None  # to answer once a small body has been dropped

    def refuse_from_headers(self, status: HTTPStatus, declared: str | None) -> None:
        """Refuse with `status`: at once, or after dropping a small declared body."""
        length = declared or ""
        if length.isascii() and length.isdigit() and int(length) <= DRAIN_BYTES:
            self.refusal = status  # dropped as it comes, answered in post()
        else:
            self._refuse(status)

    def data_received(self, chunk: bytes) -> None:
        """A piece of the body (a chunked body declares no length: it is counted)."""
        if self.answered or self.refusal is not None:
            return
        self.body += chunk
        if len(self.body) > self.max_body:
            self.body.clear()
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def settled(self) -> bool:
        """Whether the request is answered already (a refusal kept for the body's end is sent)."""
        if self.answered:
            return True
        if self.refusal is not None:
            self._refuse(self.refusal)
            return True
        return False

    def _refuse(self, status: HTTPStatus) -> None:
        # Finishing before the body is read makes tornado close the connection once the answer
        # is sent, instead of reading (and discarding) the rest of the body.
        self.answered = True
        self.set_status(status)
        self.finish()


@tornado.web.stream_request_body
class NotFound(tornado.web.RequestHandler):
    """Any other address: 404 from the headers (tornado's own 404 reads the body first)."""

    def prepare(self) -> None:
        self.set_status(HTTPStatus.NOT_FOUND)
        self.finish()


class Application(tornado.web.Application):
    """A webhook's app: `NotFound` for other addresses, one DEBUG line per request on `log`."""

    def __init__(self, routes: Any, log: logging.Logger, name: str) -> None:
        super().__init__(routes, default_handler_class=NotFound)
        self._log = log
        self._name = name

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        self._log.debug("%s request answered %d", self._name, handler.get_status())
