"""The Zalo webhook: Zalo posts the OA's events here, signed; nothing unsigned gets through.

`ZaloWebhook` listens on `ZALO_WEBHOOK_LISTEN` at `/zalo/webhook` (a small tornado app on
bot/streaming.py, as bot/webhook.py for Telegram). A request without `X-ZEvent-Signature` is
answered 401 from its headers; a body over `MAX_BODY_BYTES` gets 413; then the signature is
checked against the raw body (`mac=` SHA-256 of app id + body + the body's timestamp + the OA
secret key) before anything else is done with it: wrong, 401, and nothing is stored. A good event
is answered 200 at once (Zalo wants an answer within seconds) and handed to `receive` after the
answer, with its key for deduplication (`event_key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.streaming import Application, BodyHandler
from bot.zalo.messages import ZaloEvent

__all__ = [
    "MAX_BODY_BYTES",
    "PATH",
    "SIGNATURE_HEADER",
    "WebhookListenError",
    "ZaloWebhook",
    "event_key",
    "parse",
    "signed",
]

log = logging.getLogger(__name__)

PATH = "/zalo/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
# An event is a few kilobytes (a text of 2,000 characters, a few attachments' addresses).
MAX_BODY_BYTES = 256 << 10
# How long stopping waits for the events being handled (their replies) before cancelling them.
STOP_SECONDS = 10.0

Receive = Callable[[ZaloEvent, str], Awaitable[None]]


class WebhookListenError(Exception):
    """The webhook cannot take its address; the message says what to do."""


def signed(app_id: str, oa_secret_key: str, body: bytes, header: str) -> bool:
    """Whether `header` is Zalo's signature of `body` (its JSON's timestamp is part of it)."""
    if not header.startswith("mac="):
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict) or str(data.get("app_id", "")) != app_id:
        return False
    stamp = data.get("timestamp")
    if not isinstance(stamp, (str, int)) or isinstance(stamp, bool):
        return False
    digest = hashlib.sha256(
        app_id.encode() + body + str(stamp).encode() + oa_secret_key.encode()
    ).hexdigest()
    # compare_digest: how long the comparison takes says nothing about the right signature.
    return hmac.compare_digest(header[4:].encode(), digest.encode())


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        found = value.get("id")
        if isinstance(found, (str, int)) and not isinstance(found, bool) and str(found):
            return str(found)
    return None


def parse(data: Mapping[str, Any]) -> ZaloEvent | None:
    """The event a webhook body holds, or None if it is not one the bot acts on.

    Acted on: `follow`, `unfollow` (the user is `follower.id`) and every `user_send_*` (the
    user is `sender.id`). Receipts (`user_received_message`, `user_seen_message`), the echoes of
    the OA's own messages (`oa_send_*`) and anything else are not.
    """
    name = data.get("event_name")
    if not isinstance(name, str):
        return None
    if name in ("follow", "unfollow"):
        user = _id(data.get("follower"))
    elif name.startswith("user_send_"):
        user = _id(data.get("sender"))
    else:
        return None
    if user is None:
        return None
    try:
        stamp = int(str(data.get("timestamp")))
    except ValueError:
        stamp = 0
    message = data.get("message")
    message = message if isinstance(message, Mapping) else {}
    msg_id = message.get("msg_id")
    text = message.get("text")
    attachments = message.get("attachments")
    return ZaloEvent(
        name=name,
        user_id=user,
        timestamp_ms=stamp,
        msg_id=str(msg_id) if isinstance(msg_id, (str, int)) and str(msg_id) else None,
        text=text if isinstance(text, str) else "",
        attachments=tuple(a for a in attachments if isinstance(a, Mapping))
        if isinstance(attachments, list)
        else (),
    )


def event_key(app_id: str, event: ZaloEvent) -> str:
    """What makes an event the same event when Zalo sends it again: its message id, or for an
    event without one (follow, unfollow) the app, its name, its moment and its user."""
    if event.msg_id:
        return f"msg:{event.msg_id}"
    return f"{event.name}:{app_id}:{event.timestamp_ms}:{event.user_id}"


class _EventHandler(BodyHandler):
    """POST an event: the signature header, the size, the signature, then 200 and the work."""

    max_body = MAX_BODY_BYTES

    def initialize(self, webhook: ZaloWebhook) -> None:
        self.webhook = webhook
        self.start_body()

    def prepare(self) -> None:
        """Runs with the headers only: refuse here and the body is never read."""
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isascii() or not declared.isdigit()):
            self._refuse(HTTPStatus.BAD_REQUEST)
        elif declared is not None and int(declared) > MAX_BODY_BYTES:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        elif not self.request.headers.get(SIGNATURE_HEADER):
            self.refuse_from_headers(HTTPStatus.UNAUTHORIZED, declared)

    def post(self) -> None:
        """The whole body arrived: checked, answered, then handled."""
        if self.settled():
            return
        raw = bytes(self.body)
        webhook = self.webhook
        header = self.request.headers.get(SIGNATURE_HEADER, "")
        if not signed(webhook.app_id, webhook.oa_secret_key, raw, header):
            log.warning("the Zalo webhook refused a request whose signature is wrong")
            self._refuse(HTTPStatus.UNAUTHORIZED)
            return
        self.set_status(HTTPStatus.OK)
        self.finish()
        event = parse(json.loads(raw))
        if event is None:
            log.debug("a Zalo event the bot does not act on")
            return
        webhook.hand_over(event)

    def log_exception(self, *args: Any) -> None:
        """Tornado's own report would show the request's headers and body."""
        log.warning("the Zalo webhook could not handle a request")

    def check_xsrf_cookie(self) -> None:
        """A webhook: the signature is its protection."""


class ZaloWebhook:
    """Listens for Zalo's POSTs on `listen:port` at `/zalo/webhook`; hands each good event to
    `receive(event, key)` after answering."""

    def __init__(
        self, listen: str, port: int, *, app_id: str, oa_secret_key: str, receive: Receive
    ) -> None:
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.listen = listen
        self.port = port
        self._receive = receive
        routes = [(PATH, _EventHandler, {"webhook": self})]
        self._server = HTTPServer(Application(routes, log, "Zalo webhook"))
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    def start(self) -> None:
        """Begin accepting requests (port 0: a free port, then read `port`)."""
        try:
            sockets = bind_sockets(self.port, address=self.listen)
        except OSError as exc:
            raise WebhookListenError(
                f"cannot listen on ZALO_WEBHOOK_LISTEN {self.listen}:{self.port} "
                f"({exc.strerror or exc}): choose a free port on this machine's own address"
            ) from None
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("Zalo webhook listening on %s:%d%s", self.listen, self.port, PATH)

    def hand_over(self, event: ZaloEvent) -> None:
        """Handle `event` in the background (the request is answered already)."""
        if self._stopped:
            return
        task = asyncio.get_running_loop().create_task(self._work(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, event: ZaloEvent) -> None:
        try:
            await self._receive(event, event_key(self.app_id, event))
        except Exception:  # one event's failure is logged; the webhook goes on
            log.exception("a Zalo event (%s) could not be handled", event.name)

    async def idle(self) -> None:
        """Wait until every event taken so far is handled (for tests and for stopping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Stop accepting requests, let the events being handled finish (a while), and close."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await self.idle()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._server.close_all_connections()
