"""The webhook server: Telegram posts updates here, and nothing else gets through.

python-telegram-bot's own webhook server reads a request's whole body (tornado allows 100 MB)
before it looks at the secret token. This one is a small tornado app that streams the body: the
secret header is checked as soon as the headers arrive, and a request without it is answered
403 and its connection closed before a byte of the body is read; an update larger than
`MAX_BODY_BYTES` gets 413 as soon as that is known. Good updates go to the application's
`update_queue`, where PTB's own handling takes them, as from long polling.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from http import HTTPStatus
from typing import Any

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.routing import PathMatches, Rule

from bot.context import BotApplication
from bot.streaming import Application, BodyHandler

__all__ = ["MAX_BODY_BYTES", "SECRET_HEADER", "WebhookServer"]

log = logging.getLogger(__name__)

# An update is a few kilobytes (a message of 4,096 characters with its entities and a reply is
# under 100 kB); 1 MiB leaves room for anything Telegram sends and no more.
MAX_BODY_BYTES = 1 << 20
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _UpdateHandler(BodyHandler):
    """POST an update: the secret first, then the size, then the body."""

    max_body = MAX_BODY_BYTES

    def initialize(self, bot_app: BotApplication, secret: bytes) -> None:
        self.bot_app = bot_app
        self.secret = secret
        self.start_body()

    def prepare(self) -> None:
        """Runs with the headers only: refuse here and the body is never read."""
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        # compare_digest: how long the comparison takes says nothing about the secret.
        declared = self.request.headers.get("Content-Length")
        if not hmac.compare_digest(given, self.secret):
            self.refuse_from_headers(HTTPStatus.FORBIDDEN, declared)
            return
        if declared is not None and (not declared.isascii() or not declared.isdigit()):
            self._refuse(HTTPStatus.BAD_REQUEST)
        elif declared is not None and int(declared) > MAX_BODY_BYTES:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    async def post(self) -> None:
        """The whole body arrived: an update for the application, or 400."""
        if self.settled():
            return
        try:
            data = json.loads(bytes(self.body))
            update = Update.de_json(data, self.bot_app.bot) if isinstance(data, dict) else None
        except Exception:  # whatever the JSON holds, a bad update is the sender's problem
            update = None
        if update is None:
            log.warning("the webhook got a request with the right secret that is not an update")
            self._refuse(HTTPStatus.BAD_REQUEST)
            return
        await self.bot_app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)
        self.finish()

    def log_exception(self, *args: Any) -> None:
        """Tornado's own report would show the request's headers, the secret among them."""
        log.warning("the webhook could not handle a request")


class WebhookServer:
    """Listens for Telegram's POSTs on `listen:port` at `path` and feeds the update queue."""

    def __init__(
        self, application: BotApplication, listen: str, port: int, path: str, secret: str
    ) -> None:
        rule = Rule(
            PathMatches(re.escape("/" + path.strip("/")) + "/?"),
            _UpdateHandler,
            {"bot_app": application, "secret": secret.encode()},
        )
        self._server = HTTPServer(Application([rule], log, "webhook"))
        self.listen = listen
        self.port = port
        self._stopped = False

    def start(self) -> None:
        """Begin accepting requests."""
        self._server.listen(self.port, address=self.listen)
        log.info("webhook server listening on %s:%d", self.listen, self.port)

    async def stop(self) -> None:
        """Stop accepting requests and close the open connections (once; again does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        await self._server.close_all_connections()
