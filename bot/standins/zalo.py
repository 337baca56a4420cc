"""A stand-in Zalo Official Account API on loopback, with Zalo's rules, that can fail on cue.

The bot reaches it through its real client (`ZALO_API_URL` and `ZALO_OAUTH_URL` point here). It
serves the consultation message (`POST /v3.0/oa/message/cs`: text, a buttons template, an image
media template), the OAuth refresh (`POST /v4/oa/access_token`), which rotates single-use
refresh tokens, and the OA's profile (`GET /v2.0/oa/getoa`, unverified, for doctor). Tests
make followers, send signed webhook events to the bot in Zalo's JSON shape (a text, a photo, a
location), read every call the bot made (`calls`, `sent`, `wait_for`, `wait_sent`), and make
the API answer each of Zalo's errors, expire access tokens, refuse a refresh token, and enforce
the interaction window and a rate. The error
codes and shapes are those of ZALO.md (a secondary source): the stand-in holds what the bot is
written against, nothing more certain.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

__all__ = [
    "ARTICLE_CREATE_PATH",
    "ARTICLE_VERIFY_PATH",
    "BROADCAST_PATH",
    "ERRORS",
    "MESSAGE_PATH",
    "OAUTH_PATH",
    "PROFILE_PATH",
    "FakeZalo",
    "SentMessage",
    "ZaloCall",
    "signature",
    "user_ids",
]

WAIT_SECONDS = 30.0
MESSAGE_PATH = "/v3.0/oa/message/cs"
OAUTH_PATH = "/v4/oa/access_token"
ARTICLE_CREATE_PATH = "/v2.0/article/create"
ARTICLE_VERIFY_PATH = "/v2.0/article/verify"
BROADCAST_PATH = "/v2.0/oa/message"  # unverified in the real API (see bot.zalo.api)
PROFILE_PATH = "/v2.0/oa/getoa"  # the OA's profile, GET; unverified in the real API too
MAX_TEXT = 2000
ACCESS_SECONDS = 90_000  # 25 hours, as Zalo gives

# Zalo's error codes and words, as ZALO.md lists them (unverified there, so the bot keeps them
# in one table too: bot.zalo.api).
ERRORS: dict[int, str] = {
    -32: "The request has exceeded the limit of requests per second",
    -201: "Parameters are invalid",
    -211: "Out of quota",
    -213: "User has not followed the OA",
    -216: "Access token is invalid",
    -220: "Access token has expired",
    -224: "The OA has to upgrade its package",
    -230: "User has not interacted with the OA in the last 7 days",
    -234: "The OA cannot send messages at night",
}
REFRESH_REFUSED = -14014  # the OAuth answer to a spent or revoked refresh token


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The `X-ZEvent-Signature` of a webhook body: mac=SHA-256(app_id + body + timestamp + key)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


@dataclass
class ZaloCall:
    """One request the bot made, as the stand-in read it, with its answer."""

    path: str
    access_token: str | None
    body: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> int:
        """Zalo's error code in the answer (0: success)."""
        return int(self.response.get("error", 0))

    @property
    def user_id(self) -> str | None:
        recipient = self.body.get("recipient")
        return str(recipient.get("user_id")) if isinstance(recipient, dict) else None


@dataclass(frozen=True)
class SentMessage:
    """A message the OA delivered to a follower."""

    user_id: str
    message_id: str
    text: str
    buttons: tuple[dict[str, Any], ...] = ()
    image_url: str | None = None


@dataclass
class _Fault:
    code: int  # Zalo's error code, or an HTTP status >= 500
    times: int
    user_id: str | None
    path: str | None

    def matches(self, path: str, user_id: str | None) -> bool:
        return (self.path is None or self.path == path) and (
            self.user_id is None or self.user_id == user_id
        )


class FakeZalo:
    """The stand-in OA API and OAuth server, and Zalo's side of the webhook."""

    def __init__(
        self,
        app_id: str = "4512893018273645123",
        app_secret: str = "standinAPPsecret0123456789",
        oa_secret_key: str = "standinOAsecretKEY98765",
        oa_id: str = "2736451289301827364",
        oa_name: str = "UBND xã Tân Hòa",
    ) -> None:
        self.app_id = app_id
        self.oa_name = oa_name  # what the OA's profile (PROFILE_PATH) says
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.calls: list[ZaloCall] = []
        self.articles: dict[str, dict[str, Any]] = {}  # OA articles, by token and by id
        self.broadcasts: list[str] = []  # article ids broadcast to the followers
        self.sent: list[SentMessage] = []
        self.followers: set[str] = set()
        self.refreshes = 0  # refresh tokens exchanged
        self.refused_refreshes = 0
        self.access_seconds = ACCESS_SECONDS
        self.accept_buttons = True  # False: a buttons template is refused (-201)
        self.night = False  # True: every send is refused with -234
        self.webhook_url: str | None = None
        self.webhook_answers: list[int] = []  # HTTP status of each event posted
        self.observers: list[Callable[[ZaloCall], None]] = []  # called with every answered call
        self._refresh_tokens: set[str] = set()  # unspent ones (one, normally)
        self._spent: set[str] = set()
        self._access: dict[str, float] = {}  # token -> expiry (monotonic)
        self._refuse_refresh = False
        self._window: tuple[float, int] | None = None  # (hours, messages)
        self._last_inbound: dict[str, float] = {}
        self._window_sent: dict[str, int] = {}
        self._rate: float | None = None
        self._sent_at: deque[float] = deque()
        self._faults: list[_Fault] = []
        self._delays: list[tuple[float, int]] = []
        self._message_ids = itertools.count(1)
        self._msg_ids = itertools.count(1)
        self._clock = itertools.count(int(time.time() * 1000))
        self._changed = asyncio.Condition()
        self._server: tornado.httpserver.HTTPServer | None = None
        self._port = 0
        self._client: httpx.AsyncClient | None = None
        self.refresh_token = self.issue_refresh_token()

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> FakeZalo:
        """Listen on a free loopback port."""
        app = tornado.web.Application(
            [
                (MESSAGE_PATH, _MessageHandler, {"api": self}),
                (OAUTH_PATH, _OAuthHandler, {"api": self}),
                (ARTICLE_CREATE_PATH, _ArticleHandler, {"api": self, "path": ARTICLE_CREATE_PATH}),
                (ARTICLE_VERIFY_PATH, _ArticleHandler, {"api": self, "path": ARTICLE_VERIFY_PATH}),
                (BROADCAST_PATH, _ArticleHandler, {"api": self, "path": BROADCAST_PATH}),
                (PROFILE_PATH, _ProfileHandler, {"api": self}),
            ],
            log_function=lambda handler: None,  # no access log: it would not help the tests
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Stop listening and close connections."""
        if self._client is not None:
            await self._client.aclose()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    async def __aenter__(self) -> FakeZalo:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The root to give the bot as ZALO_API_URL and ZALO_OAUTH_URL."""
        return f"http://127.0.0.1:{self._port}"

    def settings(self) -> dict[str, str]:
        """The ZALO_* settings that point a bot at this stand-in."""
        return {
            "ZALO_APP_ID": self.app_id,
            "ZALO_APP_SECRET": self.app_secret,
            "ZALO_OA_SECRET_KEY": self.oa_secret_key,
            "ZALO_REFRESH_TOKEN": self.refresh_token,
            "ZALO_API_URL": self.url,
            "ZALO_OAUTH_URL": self.url,
        }

    # -- tokens -----------------------------------------------------------------------------

    def issue_refresh_token(self) -> str:
        """A new valid refresh token (as after the OA admin authorises the app again)."""
        token = "rt-" + secrets.token_urlsafe(24)
        self._refresh_tokens.add(token)
        self.refresh_token = token
        return token

    def issue_access_token(self) -> str:
        """A valid access token, as a refresh would give."""
        token = "at-" + secrets.token_urlsafe(24)
        self._access[token] = time.monotonic() + self.access_seconds
        return token

    def expire_access_tokens(self) -> None:
        """Every access token given so far expires now (-220 from then on)."""
        now = time.monotonic()
        for token in self._access:
            self._access[token] = min(self._access[token], now)

    def revoke_access_tokens(self) -> None:
        """Every access token given so far becomes invalid (-216)."""
        self._access.clear()

    def refuse_refresh(self, refuse: bool = True) -> None:
        """Refuse every refresh token from now on (the authorisation was revoked)."""
        self._refuse_refresh = refuse

    # -- followers and rules ----------------------------------------------------------------

    def follower(self, user_id: str) -> str:
        """A Zalo user following the OA (no window open yet)."""
        self.followers.add(user_id)
        return user_id

    def enforce_window(self, hours: float = 48, messages: int = 8) -> None:
        """Refuse (-230) a message to a follower more than `hours` after their last message, or
        beyond `messages` since it. A follow counts as an interaction."""
        self._window = (hours, messages)

    def enforce_rate(self, per_second: float | None) -> None:
        """Refuse (-32) a send beyond `per_second` in any second (None: no limit)."""
        self._rate = per_second

    def fail(
        self, code: int, *, times: int = 1, user_id: str | None = None, path: str | None = None
    ) -> None:
        """The next `times` matching calls get Zalo's error `code` (a negative number), or an
        HTTP status (500 and above) with an HTML page."""
        self._faults.append(_Fault(code, times, user_id, path))

    def slow(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` calls only after `seconds`."""
        self._delays.append((seconds, times))

    def reset_faults(self) -> None:
        self._faults.clear()
        self._delays.clear()

    # -- reading what the bot did -----------------------------------------------------------

    def mark(self) -> int:
        """A position in the call log; pass it as `after` to look only at later calls."""
        return len(self.calls)

    def calls_to(self, path: str, after: int = 0) -> list[ZaloCall]:
        return [call for call in self.calls[after:] if call.path == path]

    def messages_to(self, user_id: str) -> list[SentMessage]:
        """What the OA delivered to `user_id`, oldest first."""
        return [message for message in self.sent if message.user_id == user_id]

    async def wait_until(self, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        """Wait until `check()` holds (it is looked at after every call)."""
        async with asyncio.timeout(timeout), self._changed:
            while not check():
                await self._changed.wait()

    async def wait_for(
        self,
        path: str,
        after: int = 0,
        timeout: float = WAIT_SECONDS,
        where: Callable[[ZaloCall], bool] | None = None,
    ) -> ZaloCall:
        """The first call of `path` after `after` that satisfies `where`; waits for it."""
        found: list[ZaloCall] = []

        def check() -> bool:
            found[:] = [
                c for c in self.calls[after:] if c.path == path and (where is None or where(c))
            ][:1]
            return bool(found)

        await self.wait_until(check, timeout)
        return found[0]

    async def wait_sent(
        self, user_id: str, count: int = 1, timeout: float = WAIT_SECONDS
    ) -> list[SentMessage]:
        """Wait until `user_id` has received `count` messages in all; returns them all."""
        await self.wait_until(lambda: len(self.messages_to(user_id)) >= count, timeout)
        return self.messages_to(user_id)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the webhook: Zalo -> the bot -------------------------------------------------------

    def sign(self, body: bytes, timestamp: str) -> str:
        """The signature Zalo would put on `body`."""
        return signature(self.app_id, body, timestamp, self.oa_secret_key)

    def event(self, name: str, user_id: str, **fields: Any) -> dict[str, Any]:
        """A webhook event in Zalo's shape (a follow names the user as `follower`)."""
        stamp = str(next(self._clock))
        payload: dict[str, Any] = {"app_id": self.app_id, "event_name": name, "timestamp": stamp}
        if name in ("follow", "unfollow"):
            payload.update(oa_id=self.oa_id, follower={"id": user_id}, source="oa_profile")
        else:
            payload.update(sender={"id": user_id}, recipient={"id": self.oa_id})
        payload["user_id_by_app"] = "app" + user_id[-8:]
        payload.update(fields)
        return payload

    async def post(
        self,
        payload: dict[str, Any] | bytes,
        *,
        signed: bool | str = True,
        headers: dict[str, str] | None = None,
    ) -> int:
        """POST an event to the bot's webhook; returns the HTTP status. `signed` False sends no
        signature, a string sends that signature instead of the right one."""
        if self.webhook_url is None:
            raise RuntimeError("set webhook_url to the bot's webhook address first")
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent_headers = {"Content-Type": "application/json", **(headers or {})}
        if signed is True:
            stamp = "" if isinstance(payload, bytes) else str(payload.get("timestamp", ""))
            sent_headers["X-ZEvent-Signature"] = self.sign(body, stamp)
        elif isinstance(signed, str):
            sent_headers["X-ZEvent-Signature"] = signed
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10)
        response = await self._client.post(self.webhook_url, content=body, headers=sent_headers)
        self.webhook_answers.append(response.status_code)
        return response.status_code

    def _opened(self, user_id: str) -> None:
        """The user follows and wrote (or followed) just now: their window opens."""
        self.followers.add(user_id)
        self._last_inbound[user_id] = time.monotonic()
        self._window_sent[user_id] = 0

    def _message_id(self, given: str | None = None) -> str:
        return given or f"msg{next(self._msg_ids):012d}"

    async def follow(self, user_id: str) -> int:
        """The user follows the OA: Zalo posts `follow`."""
        self._opened(user_id)
        return await self.post(self.event("follow", user_id))

    async def unfollow(self, user_id: str) -> int:
        """The user stops following: Zalo posts `unfollow`."""
        self.followers.discard(user_id)
        return await self.post(self.event("unfollow", user_id))

    def text_event(self, user_id: str, text: str, msg_id: str | None = None) -> dict[str, Any]:
        """A `user_send_text` event, not yet posted (post it twice to repeat it)."""
        message = {"msg_id": self._message_id(msg_id), "text": text}
        return self.event("user_send_text", user_id, message=message)

    async def say(self, user_id: str, text: str, msg_id: str | None = None) -> int:
        """The user writes `text` to the OA: the window opens, Zalo posts `user_send_text`."""
        self._opened(user_id)
        return await self.post(self.text_event(user_id, text, msg_id))

    async def send_image(
        self, user_id: str, url: str, caption: str = "", msg_id: str | None = None
    ) -> int:
        """The user sends a photo (with an optional caption): Zalo posts `user_send_image`,
        the picture as an attachment holding its address on Zalo's servers."""
        self._opened(user_id)
        attachment = {"type": "image", "payload": {"url": url, "thumbnail": url + "?thumb"}}
        message = {
            "msg_id": self._message_id(msg_id),
            "text": caption,
            "attachments": [attachment],
        }
        return await self.post(self.event("user_send_image", user_id, message=message))

    async def send_location(self, user_id: str, latitude: float, longitude: float) -> int:
        """The user shares a location: Zalo posts `user_send_location`, its coordinates in the
        attachment's payload."""
        self._opened(user_id)
        coordinates = {"latitude": str(latitude), "longitude": str(longitude)}
        attachment = {"type": "location", "payload": {"coordinates": coordinates}}
        message = {"msg_id": self._message_id(), "attachments": [attachment]}
        return await self.post(self.event("user_send_location", user_id, message=message))

    # -- answering the bot ------------------------------------------------------------------

    async def handle_message(
        self, access_token: str | None, raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer one consultation-message request."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        call = ZaloCall(MESSAGE_PATH, access_token, body if isinstance(body, dict) else {},
                        time.monotonic())  # fmt: skip
        await self._delay()
        call.status, call.response = self._answer_message(call)
        await self._record(call)
        return call.status, call.response

    def _answer_message(self, call: ZaloCall) -> tuple[int, dict[str, Any]]:
        fault = self._take_fault(MESSAGE_PATH, call.user_id)
        if fault is not None and fault.code >= 500:
            return fault.code, {}
        token_error = self._token_error(call.access_token)
        if token_error:
            return 200, _error(token_error)
        if fault is not None:
            return 200, _error(fault.code)
        parsed = self._parse_message(call.body)
        if isinstance(parsed, int):
            return 200, _error(parsed)
        user_id, text, buttons, image = parsed
        if self._rate is not None:
            now = time.monotonic()
            while self._sent_at and self._sent_at[0] <= now - 1:
                self._sent_at.popleft()
            if len(self._sent_at) >= self._rate:
                return 200, _error(-32)
            self._sent_at.append(now)
        if user_id not in self.followers:
            return 200, _error(-213)
        if self.night:
            return 200, _error(-234)
        if self._window is not None:
            hours, messages = self._window
            opened = self._last_inbound.get(user_id)
            used = self._window_sent.get(user_id, 0)
            if opened is None or time.monotonic() - opened > hours * 3600 or used >= messages:
                return 200, _error(-230)
            self._window_sent[user_id] = used + 1
        message_id = f"{next(self._message_ids):032x}"
        self.sent.append(SentMessage(user_id, message_id, text, buttons, image))
        return 200, {"error": 0, "message": "Success",
                     "data": {"message_id": message_id, "user_id": user_id}}  # fmt: skip

    def _parse_message(
        self, body: dict[str, Any]
    ) -> tuple[str, str, tuple[dict[str, Any], ...], str | None] | int:
        """(user, text, buttons, image) of a well-formed message, or Zalo's error code."""
        recipient = body.get("recipient")
        message = body.get("message")
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            return -201
        user_id = recipient.get("user_id")
        text = message.get("text", "")
        if not isinstance(user_id, str) or not user_id or not isinstance(text, str):
            return -201
        if len(text) > MAX_TEXT:
            return -201
        buttons: tuple[dict[str, Any], ...] = ()
        image: str | None = None
        attachment = message.get("attachment")
        if attachment is not None:
            payload = attachment.get("payload") if isinstance(attachment, dict) else None
            if not isinstance(payload, dict) or attachment.get("type") != "template":
                return -201
            if payload.get("template_type") == "media":
                elements = payload.get("elements")
                if not isinstance(elements, list) or len(elements) != 1:
                    return -201
                element = elements[0]
                if element.get("media_type") != "image" or not str(
                    element.get("url", "")
                ).startswith(("http://", "https://")):
                    return -201
                image = str(element["url"])
            elif "buttons" in payload:
                if not self.accept_buttons:
                    return -201
                found = payload["buttons"]
                if not isinstance(found, list) or not found:
                    return -201
                for button in found:
                    if not _button_ok(button):
                        return -201
                buttons = tuple(found)
            else:
                return -201
        if not text and image is None:
            return -201
        return user_id, text, buttons, image

    def _token_error(self, token: str | None) -> int:
        if not token or token not in self._access:
            return -216
        if self._access[token] <= time.monotonic():
            return -220
        return 0

    def _take_fault(self, path: str, user_id: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(path, user_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _delay(self) -> None:
        if self._delays:
            seconds, times = self._delays[0]
            if times <= 1:
                self._delays.pop(0)
            else:
                self._delays[0] = (seconds, times - 1)
            await asyncio.sleep(seconds)

    async def _record(self, call: ZaloCall) -> None:
        self.calls.append(call)
        for observer in self.observers:
            observer(call)
        await self._notify()

    async def handle_oauth(
        self, secret_key: str | None, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one token request: a refresh token for a new pair, each usable once."""
        call = ZaloCall(OAUTH_PATH, None, {k: v for k, v in form.items() if k != "refresh_token"},
                        time.monotonic())  # fmt: skip
        await self._delay()
        fault = self._take_fault(OAUTH_PATH, None)
        used = form.get("refresh_token", "")
        if fault is not None and fault.code >= 500:
            call.status, call.response = fault.code, {}
        elif secret_key != self.app_secret or form.get("app_id") != self.app_id:
            call.response = {"error": -14002, "error_name": "Invalid app",
                             "error_description": "app_id or secret_key is wrong"}  # fmt: skip
        elif form.get("grant_type") != "refresh_token":
            call.response = {"error": -14003, "error_name": "Invalid grant_type"}
        elif self._refuse_refresh or used not in self._refresh_tokens:
            self.refused_refreshes += 1
            call.response = {
                "error": REFRESH_REFUSED,
                "error_name": "Invalid refresh token",
                "error_description": "the refresh token is invalid, expired or already used",
            }
        else:
            self._refresh_tokens.discard(used)
            self._spent.add(used)
            self.refreshes += 1
            self.refresh_token = "rt-" + secrets.token_urlsafe(24)
            self._refresh_tokens.add(self.refresh_token)
            call.response = {
                "access_token": self.issue_access_token(),
                "refresh_token": self.refresh_token,
                "expires_in": str(self.access_seconds),  # Zalo writes it as a string
            }
        await self._record(call)
        return call.status, call.response

    async def handle_article(
        self, path: str, access_token: str | None, raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer an article's creation, its verification, or its broadcast to the followers.
        Created articles are in `articles` (by token, then by id once verified); broadcasts in
        `broadcasts` (article ids, in order)."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        call = ZaloCall(path, access_token, body if isinstance(body, dict) else {},
                        time.monotonic())  # fmt: skip
        await self._delay()
        call.status, call.response = self._answer_article(path, call)
        await self._record(call)
        return call.status, call.response

    def _answer_article(self, path: str, call: ZaloCall) -> tuple[int, dict[str, Any]]:
        fault = self._take_fault(path, None)
        if fault is not None and fault.code >= 500:
            return fault.code, {}
        token_error = self._token_error(call.access_token)
        if token_error:
            return 200, _error(token_error)
        if fault is not None:
            return 200, _error(fault.code)
        body = call.body
        if path == ARTICLE_CREATE_PATH:
            title, parts = body.get("title"), body.get("body")
            if not isinstance(title, str) or not 0 < len(title) < 150 or not parts:
                return 200, _error(-201)
            token = f"article-token-{next(self._message_ids)}"
            self.articles[token] = body
            return 200, {"error": 0, "message": "Success", "data": {"token": token}}
        if path == ARTICLE_VERIFY_PATH:
            article = self.articles.get(str(body.get("token")))
            if article is None:
                return 200, _error(-201)
            article_id = f"{next(self._message_ids):024x}"
            self.articles[article_id] = article
            return 200, {"error": 0, "message": "Success", "data": {"id": article_id}}
        try:
            element = body["message"]["attachment"]["payload"]["elements"][0]
        except (KeyError, IndexError, TypeError):
            return 200, _error(-201)
        if element.get("media_type") != "article" or element.get("attachment_id") not in (
            self.articles
        ):
            return 200, _error(-201)
        self.broadcasts.append(str(element["attachment_id"]))
        message_id = f"{next(self._message_ids):032x}"
        return 200, {"error": 0, "message": "Success", "data": {"message_id": message_id}}

    async def handle_profile(self, access_token: str | None) -> tuple[int, dict[str, Any]]:
        """Answer GET PROFILE_PATH: the OA's profile, for a valid access token."""
        call = ZaloCall(PROFILE_PATH, access_token, {}, time.monotonic())
        await self._delay()
        fault = self._take_fault(PROFILE_PATH, None)
        token_error = self._token_error(access_token)
        if fault is not None and fault.code >= 500:
            call.status, call.response = fault.code, {}
        elif token_error:
            call.status, call.response = 200, _error(token_error)
        elif fault is not None:
            call.status, call.response = 200, _error(fault.code)
        else:
            profile = {"oa_id": self.oa_id, "name": self.oa_name, "description": "",
                       "num_follower": len(self.followers)}  # fmt: skip
            call.status, call.response = 200, {"error": 0, "message": "Success", "data": profile}
        await self._record(call)
        return call.status, call.response

    def spent(self, refresh_token: str) -> bool:
        """Whether `refresh_token` was exchanged already."""
        return refresh_token in self._spent


def _error(code: int) -> dict[str, Any]:
    return {"error": code, "message": ERRORS.get(code, "Unknown error")}


def _button_ok(button: Any) -> bool:
    if not isinstance(button, dict) or not isinstance(button.get("title"), str):
        return False
    kind, payload = button.get("type"), button.get("payload")
    if kind in ("oa.query.hide", "oa.query.show"):
        return isinstance(payload, str) and 0 < len(payload) <= 1000
    if kind == "oa.open.url":
        return isinstance(payload, dict) and str(payload.get("url", "")).startswith(
            ("http://", "https://")
        )
    return False


def _oops(handler: tornado.web.RequestHandler, status: int) -> None:
    handler.set_status(status)
    handler.set_header("Content-Type", "text/html")
    handler.finish("<html><body><h1>502 Bad Gateway</h1></body></html>")


class _ApiHandler(tornado.web.RequestHandler):
    """One of the stand-in's API addresses: `answer` sends what `FakeZalo.handle_*` decided."""

    def initialize(self, api: FakeZalo, path: str = "") -> None:
        self.api = api
        self.path = path  # for the handler that serves several addresses

    def answer(self, status: int, body: dict[str, Any]) -> None:
        """A 5xx as the HTML page a proxy would give, anything else as Zalo's JSON."""
        if status >= 500:
            _oops(self, status)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def check_xsrf_cookie(self) -> None:
        """An API: no XSRF protection."""


class _MessageHandler(_ApiHandler):
    """POST /v3.0/oa/message/cs."""

    async def post(self) -> None:
        self.answer(
            *await self.api.handle_message(
                self.request.headers.get("access_token"), self.request.body
            )
        )


class _OAuthHandler(_ApiHandler):
    """POST /v4/oa/access_token (form-encoded, header secret_key)."""

    async def post(self) -> None:
        form = {name: values[-1].decode() for name, values in self.request.body_arguments.items()}
        self.answer(*await self.api.handle_oauth(self.request.headers.get("secret_key"), form))


def user_ids(count: int, start: int = 0) -> Iterable[str]:
    """Zalo-shaped user ids (19 digits) for tests."""
    return (f"{8_000_000_000_000_000_000 + start + i}" for i in range(count))


class _ArticleHandler(_ApiHandler):
    """POST /v2.0/article/create, /v2.0/article/verify, and the (unverified) broadcast."""

    async def post(self) -> None:
        self.answer(
            *await self.api.handle_article(
                self.path, self.request.headers.get("access_token"), self.request.body
            )
        )


class _ProfileHandler(_ApiHandler):
    """GET /v2.0/oa/getoa (unverified in the real API)."""

    async def get(self) -> None:
        self.answer(*await self.api.handle_profile(self.request.headers.get("access_token")))
