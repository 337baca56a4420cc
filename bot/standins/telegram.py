"""A stand-in Telegram Bot API on loopback, strict where Telegram is strict, that can fail on cue.

The bot reaches it through python-telegram-bot's real request path (`TELEGRAM_API_URL` points
here). Tests create users and chats, inject messages, commands, button presses and other updates,
read every call the bot made, and make the API answer 429, 403, 5xx or slowly. The demo's chat
page (bot.demo) injects what its visitor does the same way and follows the bot's calls through
`observers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import secrets
import struct
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.standins.tghtml import EntityParseError, parse_html, utf16_len


def button_url_ok(url: str) -> bool:
    """What Telegram accepts as a URL button: tg:// links, and http(s) addresses with a valid
    host and port and no spaces or control characters (relative, protocol-relative, other
    schemes and malformed hosts are refused, and with them the whole message)."""
    if url.startswith("tg://"):
        return True
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


__all__ = ["MESSAGE_KINDS", "ApiCall", "ApiError", "Chat", "FakeTelegram", "FloodLimits", "User"]

# How long a wait for the bot's answer lasts before it fails. It only matters when something is
# wrong: on a busy two-core machine a first chart or a cold import can take several seconds.
WAIT_SECONDS = 30.0

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200

# Parameters whose values are free text: never JSON-decoded, whatever they look like.
_TEXT_PARAMS = {
    "text",
    "caption",
    "query",
    "callback_query_id",
    "inline_query_id",
    "url",
    "secret_token",
    "description",
    "short_description",
    "name",
    "title",
    "question",
    "next_offset",
    "parse_mode",
    "language_code",
    "file_id",
    "photo",
    "document",
    "emoji",
    "explanation",
}
_SEND_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "copyMessage",
    "forwardMessage",
    "sendPoll",
    "sendMediaGroup",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendSticker",
}
_EDIT_METHODS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}
_COMMAND_SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}


class ApiError(Exception):
    """An error answer: Telegram's status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    """A 400 with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {what}")


@dataclass
class User:
    """A Telegram user known to the stand-in."""

    id: int
    first_name: str
    language_code: str | None = "vi"
    username: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Chat:
    """A chat known to the stand-in: private (id = the user's id), group, supergroup or channel."""

    id: int
    type: str
    title: str | None = None
    user: User | None = None
    admins: set[int] = field(default_factory=set)
    username: str | None = None  # a public chat's @username, without the @

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            data["first_name"] = self.user.first_name
        if self.title:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class ApiCall:
    """One request the bot made, as decoded by the stand-in, with the answer it got."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass
class Fault:
    """A scripted failure: the next `times` matching calls get this answer (or delay)."""

    method: str | None
    chat_id: int | str | None
    times: int
    error: ApiError | None
    delay: float = 0.0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id


@dataclass
class FloodLimits:
    """Telegram's flood limits as the stand-in enforces them (429 with retry_after)."""

    overall_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20


@dataclass
class StoredMessage:
    """A message as the stand-in holds it: its API form and the HTML the bot sent."""

    data: dict[str, Any]
    html: str | None = None
    deleted: bool = False
    edits: int = 0


class FakeTelegram:
    """The stand-in Bot API server and its state (users, chats, messages, updates, calls)."""

    def __init__(self, token: str = "123456789:AAHstandinTOKENabcdefghijklmnopqrstu") -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Tin Xã",
            "username": "tinxa_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[ApiCall] = []
        self.get_updates_calls = 0
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.flood: FloodLimits | None = None
        self.flood_violations = 0
        self.busy_until = 0.0  # until then (monotonic) every send gets a 429
        self.webhook: dict[str, Any] | None = None
        # The operator's reverse proxy: the public https origin of WEBHOOK_URL -> where the bot
        # listens on this machine (Telegram posts only to https; the bot serves plain http).
        self.reverse_proxy: dict[str, str] = {}
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        # What getWebhookInfo reports of the last failed delivery: (Unix time, Telegram's words).
        self.webhook_last_error: tuple[int, str] | None = None
        self.files: dict[str, bytes] = {}
        # What Telegram can fetch from the internet when a photo or document is given by its
        # address (another messenger's picture): address -> content. Any other address is
        # refused as Telegram refuses one it cannot read.
        self.web: dict[str, bytes] = {}
        self.answered_queries: dict[str, dict[str, Any]] = {}
        self.issued_queries: set[str] = set()
        self.keyboards: dict[int, dict[str, Any]] = {}  # reply keyboard each chat shows now
        # Called with every answered call, in order (the demo's chat page follows the bot so).
        self.observers: list[Callable[[ApiCall], None]] = []
        self._faults: list[Fault] = []
        self._hooks: list[tuple[str, Callable[[ApiCall], None]]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._last_update_id = 0  # the newest update queued for the bot
        self._confirmed_id = 0  # the newest update the bot confirmed it has taken
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._query_ids = itertools.count(1)
        self._media_groups = itertools.count(13_000_000_000_000_001)
        self._sent_at: dict[int | str, deque[float]] = defaultdict(deque)
        self._sent_overall: deque[float] = deque()
        self._changed = asyncio.Condition()
        self._closing = False
        self._server: tornado.httpserver.HTTPServer | None = None
        self._port = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_client: httpx.AsyncClient | None = None

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on a free loopback port."""
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z]+)", _MethodHandler, {"api": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self}),
            ],
            # Tornado's access log would print request paths, which carry the token, into the
            # very logs the token-leak tests inspect.
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Wake pending long polls, stop listening and close connections."""
        self._closing = True
        await self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The root to give the bot as TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self._port}"

    # -- people and chats -------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Lan", language_code: str | None = "vi") -> User:
        """A resident with a private chat with the bot."""
        user = User(user_id, first_name, language_code)
        self.users[user_id] = user
        self.chats[user_id] = Chat(user_id, "private", user=user)
        return user

    def group(self, chat_id: int, title: str = "Thôn Mỹ Trà", admins: Iterable[int] = ()) -> Chat:
        """A group (negative id) the bot is a member of."""
        chat = Chat(chat_id, "supergroup" if str(chat_id).startswith("-100") else "group", title)
        chat.admins = set(admins)
        self.chats[chat_id] = chat
        return chat

    def channel(self, chat_id: int, title: str = "Tin tức xã", username: str | None = None) -> Chat:
        """A channel where the bot is an administrator (public when it has a `username`)."""
        chat = Chat(chat_id, "channel", title, username=username)
        self.chats[chat_id] = chat
        return chat

    # -- scripted failures ------------------------------------------------------------------

    def fail(
        self,
        method: str | None,
        code: int = 500,
        description: str = "Internal Server Error",
        *,
        times: int = 1,
        chat_id: int | str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """The next `times` calls of `method` (any method if None) get this error answer."""
        self._faults.append(Fault(method, chat_id, times, ApiError(code, description, parameters)))

    def fail_flood(
        self, method: str | None, retry_after: int, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        """429 Too Many Requests with `retry_after` seconds."""
        self.fail(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            chat_id=chat_id,
            parameters={"retry_after": retry_after},
        )

    def fail_server(self, method: str | None, code: int = 502, *, times: int = 1) -> None:
        """A 5xx answer."""
        self.fail(
            method, code, "Bad Gateway" if code == 502 else "Internal Server Error", times=times
        )

    def slow(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`."""
        self._faults.append(Fault(method, None, times, None, delay=seconds))

    def block(self, user_id: int) -> None:
        """The user blocked the bot: every send to them is refused with 403."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocked the bot."""
        self.blocked.discard(user_id)

    def migrate(self, old_chat_id: int, new_chat_id: int) -> Chat:
        """The group became a supergroup with a new id; sends to the old id are refused."""
        old = self.chats[old_chat_id]
        self.migrated[old_chat_id] = new_chat_id
        return self.group(new_chat_id, old.title or "", old.admins)

    def busy(self, seconds: float) -> None:
        """For the next `seconds`, every send gets a 429 whose retry_after covers the rest."""
        self.busy_until = time.monotonic() + seconds

    def before_answering(self, method: str, hook: Callable[[ApiCall], None]) -> None:
        """Run `hook(call)` once, when a call of `method` has been handled and recorded but its
        answer has not left yet: the bot cannot act on the answer before the hook ran."""
        self._hooks.append((method, hook))

    def enforce_flood_limits(self, limits: FloodLimits | None = None) -> None:
        """Answer 429 to sends beyond Telegram's flood limits (per chat and overall)."""
        self.flood = limits or FloodLimits()

    def reset_faults(self) -> None:
        """Forget scripted failures, blocks and flood limits."""
        self._faults.clear()
        self.blocked.clear()
        self.flood = None

    # -- updates the bot receives -----------------------------------------------------------

    async def send(
        self,
        user: User,
        text: str,
        chat: Chat | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user writes `text` (a /command gets its bot_command entity); returns the message.

        `entities` are formatting the user applied (bold, links...), as the Bot API gives them.
        """
        chat = chat or self.chats[user.id]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        if entities:
            message["entities"] = [*message.get("entities", []), *entities]
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def send_media(
        self,
        user: User,
        kind: str,
        content: bytes,
        caption: str = "",
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo or a document (with a caption) in their chat with the bot."""
        chat = self.chats[user.id]
        file_id = f"{kind}-{secrets.token_hex(6)}"
        self.files[file_id] = content
        media = _media(kind, file_id, content, "thong-bao.pdf")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            kind: media,
        }
        if caption:
            message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def send_kind(
        self,
        user: User,
        kind: str,
        caption: str = "",
        *,
        media_group_id: str | None = None,
        content: bytes = b"",
    ) -> dict[str, Any]:
        """The user sends a message of any other kind (see MESSAGE_KINDS): a sticker, a video,
        a voice note, a location, a poll... with the fields Telegram gives it; returns it."""
        chat = self.chats[user.id]
        file_id = f"{kind}-{secrets.token_hex(6)}"
        if kind in _FILE_KINDS:
            self.files[file_id] = content or PNG_HEADER
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            **_message_kind(kind, file_id, self.files.get(file_id, b""), chat),
        }
        if caption:
            message["caption"] = caption
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def send_album(
        self, user: User, kinds: Iterable[str] = ("photo", "photo", "photo"), caption: str = ""
    ) -> list[dict[str, Any]]:
        """The user sends an album: as Telegram does, one message per item, back to back, with
        the same `media_group_id` (the caption on the first)."""
        group = str(next(self._media_groups))
        return [
            await self.send_kind(user, kind, caption if index == 0 else "", media_group_id=group)
            for index, kind in enumerate(kinds)
        ]

    async def send_location(self, user: User, latitude: float, longitude: float) -> dict[str, Any]:
        """The user shares a location (the attachment menu's, or a `request_location` button's)."""
        return await self._send_fields(
            user, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    async def send_contact(
        self, user: User, phone_number: str, *, own: bool = True
    ) -> dict[str, Any]:
        """The user sends a contact: their own through a `request_contact` button (Telegram then
        adds their user id), or someone else's from their address book."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user.first_name}
        if own:
            contact["user_id"] = user.id
        return await self._send_fields(user, {"contact": contact})

    async def _send_fields(self, user: User, fields: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats[user.id]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            **fields,
        }
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def press(self, user: User, message: dict[str, Any] | int, data: str) -> str:
        """The user taps a button carrying `data` under a message; returns the query id."""
        if isinstance(message, int):
            message = self.message(user.id, message)
        query_id = str(next(self._query_ids))
        self.issued_queries.add(query_id)
        await self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_api(),
                    "message": message,
                    "chat_instance": f"ci{message['chat']['id']}",
                    "data": data,
                }
            }
        )
        return query_id

    async def inline_query(self, user: User, query: str, offset: str = "") -> str:
        """The user types `@bot query` in some chat; returns the inline query id."""
        query_id = str(next(self._query_ids))
        await self.push(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user.to_api(),
                    "query": query,
                    "offset": offset,
                    "chat_type": "private",
                }
            }
        )
        return query_id

    async def send_reply(
        self, user: User, text: str, reply_to: dict[str, Any], chat: Chat | None = None
    ) -> dict[str, Any]:
        """The user answers the message `reply_to` with `text` (a /command gets its entity)."""
        chat = chat or self.chats[user.id]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            "text": text,
            # Telegram includes the message answered, without the one that one answered.
            "reply_to_message": {k: v for k, v in reply_to.items() if k != "reply_to_message"},
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def forward(
        self, user: User, text: str, origin: User | str, chat: Chat | None = None
    ) -> dict[str, Any]:
        """The user forwards to the bot a message `origin` wrote: a User, or the name shown for
        someone who hides their account in forwards. Returns the forwarded message."""
        chat = chat or self.chats[user.id]
        now = int(time.time())
        forward_origin: dict[str, Any] = (
            {"type": "user", "sender_user": origin.to_api(), "date": now - 60}
            if isinstance(origin, User)
            else {"type": "hidden_user", "sender_user_name": origin, "date": now - 60}
        )
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat.id]),
            "date": now,
            "chat": chat.to_api(),
            "from": user.to_api(),
            "forward_origin": forward_origin,
            "text": text,
        }
        self.messages[(chat.id, message["message_id"])] = StoredMessage(message)
        await self.push({"message": message})
        return message

    async def member_status(self, user: User, status: str) -> None:
        """A my_chat_member update: the user blocked ("kicked") or unblocked ("member") the bot."""
        old = "member" if status == "kicked" else "kicked"
        if status == "kicked":
            self.block(user.id)
        else:
            self.unblock(user.id)
        await self.push(
            {
                "my_chat_member": {
                    "chat": self.chats[user.id].to_api(),
                    "from": user.to_api(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": old, "user": self.bot_user, "until_date": 0},
                    "new_chat_member": {"status": status, "user": self.bot_user, "until_date": 0},
                }
            }
        )

    async def make_bot_admin(self, chat: Chat, by: User) -> None:
        """A my_chat_member update: `by` made the bot an administrator who may post in `chat`."""
        rights = {"can_be_edited": False, "can_manage_chat": True, "can_change_info": True,
                  "can_post_messages": True, "can_delete_messages": True,
                  "can_invite_users": True, "can_restrict_members": True,
                  "can_promote_members": False, "can_manage_video_chats": True,
                  "can_manage_voice_chats": True, "is_anonymous": False,
                  "can_post_stories": True, "can_edit_stories": True,
                  "can_delete_stories": True}  # fmt: skip
        await self.push(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": by.to_api(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": self.bot_user},
                    "new_chat_member": {"status": "administrator", "user": self.bot_user, **rights},
                }
            }
        )

    async def push(self, payload: dict[str, Any]) -> int:
        """Queue any update for the bot; returns its update_id."""
        update = {"update_id": next(self._update_ids), **payload}
        self._last_update_id = update["update_id"]
        self._updates.append(update)
        await self._notify()
        if self.webhook is not None:
            self._ensure_webhook_delivery()
        return int(update["update_id"])

    @property
    def all_taken(self) -> bool:
        """Whether the bot has taken every update queued so far (confirmed by its next offset)."""
        return self._confirmed_id >= self._last_update_id

    # -- reading what the bot did -----------------------------------------------------------

    def mark(self) -> int:
        """A position in the call log; pass it as `after` to look only at later calls."""
        return len(self.calls)

    def calls_to(self, method: str, after: int = 0, **params: Any) -> list[ApiCall]:
        """Calls of `method` (from position `after`) whose parameters include `params`."""
        return [
            call
            for call in self.calls[after:]
            if call.method == method and all(call.params.get(k) == v for k, v in params.items())
        ]

    async def wait_for(
        self,
        method: str | Iterable[str],
        after: int = 0,
        timeout: float = WAIT_SECONDS,
        where: Callable[[ApiCall], bool] | None = None,
        **params: Any,
    ) -> ApiCall:
        """The first call of `method` after `after` matching `params` and `where`; waits."""
        methods = {method} if isinstance(method, str) else set(method)

        def found() -> ApiCall | None:
            for call in self.calls[after:]:
                if (
                    call.method in methods
                    and all(call.params.get(k) == v for k, v in params.items())
                    and (where is None or where(call))
                ):
                    return call
            return None

        async with asyncio.timeout(timeout):
            async with self._changed:
                while (call := found()) is None:
                    await self._changed.wait()
        return call

    async def reply_to(self, user: User, text: str, timeout: float = WAIT_SECONDS) -> ApiCall:
        """Send `text` as the user and wait for the bot's first message back to that chat."""
        start = self.mark()
        await self.send(user, text)
        return await self.wait_for(_SEND_METHODS, after=start, timeout=timeout, chat_id=user.id)

    async def tap(
        self, user: User, message_id: int, data: str, timeout: float = WAIT_SECONDS
    ) -> ApiCall:
        """Press a button as the user and wait for the bot's answerCallbackQuery."""
        start = self.mark()
        query_id = await self.press(user, message_id, data)
        return await self.wait_for(
            "answerCallbackQuery", after=start, timeout=timeout, callback_query_id=query_id
        )

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message as it stands now (after edits)."""
        return self.messages[(chat_id, message_id)].data

    def html_of(self, chat_id: int, message_id: int) -> str | None:
        """The HTML the bot last sent for a message."""
        return self.messages[(chat_id, message_id)].html

    def chat_messages(self, chat_id: int, from_bot: bool = True) -> list[dict[str, Any]]:
        """The chat's messages (by default only the bot's), oldest first, without deleted ones."""
        return [
            stored.data
            for (cid, _), stored in sorted(self.messages.items())
            if cid == chat_id
            and not stored.deleted
            and (not from_bot or stored.data.get("from", {}).get("id") == self.bot_id)
        ]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- answering requests -----------------------------------------------------------------

    async def handle(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, bytes]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API request; returns HTTP status and JSON body."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "getUpdates":
            self.get_updates_calls += 1
            try:
                return 200, {"ok": True, "result": await self._get_updates(params)}
            except ApiError as exc:
                return exc.code, exc.body()
        call = ApiCall(method, params, files, time.monotonic())
        fault = self._take_fault(method, params)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            result = await self._dispatch(method, params, files)
            call.status, call.response = 200, {"ok": True, "result": result}
        except ApiError as exc:
            call.status, call.response = exc.code, exc.body()
        self.calls.append(call)
        for observer in self.observers:
            observer(call)
        for hooked in [h for h in self._hooks if h[0] == method][:1]:
            self._hooks.remove(hooked)
            hooked[1](call)
        await self._notify()
        return call.status, call.response

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        if offset:
            # The bot asks past an update only once it has queued it for its handlers.
            self._confirmed_id = max(self._confirmed_id, offset - 1)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._updates and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._changed.wait()
        return self._updates[:limit]

    async def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        if method in _SEND_METHODS or method in _EDIT_METHODS:
            self._check_recipient(params)
            self._check_flood(method, params)
        return await handler(params, files)

    def _chat(self, chat_id: Any) -> Chat:
        """The chat a `chat_id` parameter names: its number, or "@username" for a public chat."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name and chat.type != "private":
                    return chat
            raise bad_request("chat not found")
        try:
            return self.chats[int(chat_id)]
        except (KeyError, ValueError, TypeError):
            raise bad_request("chat not found") from None

    def _check_recipient(self, params: dict[str, Any]) -> None:
        chat = self._chat(params.get("chat_id"))
        if chat.id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat.id]},
            )
        if chat.id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        now = time.monotonic()
        if now < self.busy_until:
            retry_after = max(1, math.ceil(self.busy_until - now))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        if self.flood is None:
            return
        chat = self._chat(params["chat_id"])
        private = chat.type == "private"
        window = 1.0 if private else 60.0
        per_chat_limit = self.flood.private_per_second if private else self.flood.group_per_minute
        sent = self._sent_at[chat.id]
        while sent and now - sent[0] >= window:
            sent.popleft()
        while self._sent_overall and now - self._sent_overall[0] >= 1.0:
            self._sent_overall.popleft()
        wait = 0.0
        if len(sent) >= per_chat_limit:
            wait = window - (now - sent[0])
        if len(self._sent_overall) >= self.flood.overall_per_second:
            wait = max(wait, 1.0 - (now - self._sent_overall[0]))
        if wait > 0:
            self.flood_violations += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        sent.append(now)
        self._sent_overall.append(now)

    def _format(
        self, params: dict[str, Any], key: str, limit: int
    ) -> tuple[str, list[Any], str | None]:
        """Text and entities of a text or caption field, validated as Telegram does."""
        source = str(params.get(key) or "")
        parse_mode = str(params.get("parse_mode") or "").upper()
        if parse_mode == "HTML":
            try:
                text, entities = parse_html(source)
            except EntityParseError as exc:
                raise bad_request(str(exc).removeprefix("Bad Request: ")) from None
            html: str | None = source
        elif parse_mode:
            raise bad_request(f"unsupported parse_mode {parse_mode!r} in this stand-in")
        else:
            text, entities, html = (
                source,
                list(params.get(f"{key}_entities") or params.get("entities") or []),
                None,
            )
        if key == "text" and not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > limit:
            raise bad_request(
                "message is too long" if key == "text" else "message caption is too long"
            )
        return text, entities, html

    def _check_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if not markup:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if sum(len(row) for row in rows) > 100:
            raise bad_request("too many inline keyboard buttons")
        for row in rows:
            if len(row) > 8:
                raise bad_request("too many buttons in a row")
            for button in row:
                if not button.get("text"):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not button_url_ok(str(button["url"])):
                    raise bad_request(
                        f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
                    )
        return markup

    def _new_message(self, chat: Chat, **content: Any) -> dict[str, Any]:
        markup = content.get("reply_markup")
        if markup is not None and "inline_keyboard" not in markup:
            # A reply keyboard (or its removal) changes the user's keyboard; like Telegram, the
            # message itself carries only inline keyboards.
            self.keyboards[chat.id] = markup
            content["reply_markup"] = None
        return {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": self.bot_user,
            **{k: v for k, v in content.items() if v not in (None, [], "")},
        }

    def _store(self, message: dict[str, Any], html: str | None) -> dict[str, Any]:
        self.messages[(message["chat"]["id"], message["message_id"])] = StoredMessage(message, html)
        return message

    def _stored(self, params: dict[str, Any]) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by this stand-in")
        chat = self._chat(params.get("chat_id"))
        stored = self.messages.get((chat.id, int(params.get("message_id") or 0)))
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if stored.data.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return stored

    # -- methods ----------------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.bot_user

    async def _api_logOut(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _api_close(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        """The stored menu a *MyCommands call names: its scope and language, checked."""
        scope = dict(params.get("scope") or {"type": "default"})
        kind = scope.get("type")
        if kind not in _COMMAND_SCOPES:
            raise bad_request("wrong bot command scope type specified")
        if kind in ("chat", "chat_administrators", "chat_member"):
            # Like Telegram: a chat the bot has never been in (a user who never started it) is
            # not found.
            scope["chat_id"] = self._chat(scope.get("chat_id")).id
        if kind == "chat_member":
            scope["user_id"] = int(scope.get("user_id") or 0)
        language = str(params.get("language_code") or "")
        if language and not (len(language) == 2 and language.isalpha() and language.islower()):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def menu(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[str]:
        """The command names set for a scope (default scope if None) and language code."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [str(command["command"]) for command in self.commands.get(key, [])]

    async def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = params.get("commands") or []
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = str(command.get("command", ""))
            if not (
                1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _api_getMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.commands.get(self._commands_key(params), [])

    async def _api_deleteMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _api_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deleteWebhook(params, files)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (80, 88, 443, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        self.webhook = {"url": url, "secret_token": params.get("secret_token")}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._ensure_webhook_delivery()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    async def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._chat(params.get("chat_id"))
        return True

    async def _api_getChat(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        return {**chat.to_api(), "accent_color_id": 0, "max_reaction_count": 11}

    async def _api_getChatMember(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params["user_id"])
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = "administrator" if user_id in chat.admins else "member"
        if chat.type == "private":
            status = "member"
        member: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        return member

    async def _api_getChatAdministrators(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        chat = self._chat(params.get("chat_id"))
        return [
            await self._api_getChatMember({"chat_id": chat.id, "user_id": uid}, files)
            for uid in sorted(chat.admins)
            if uid in self.users
        ]

    async def _api_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        text, entities, html = self._format(params, "text", MAX_TEXT)
        markup = self._check_markup(params)
        message = self._new_message(chat, text=text, entities=entities, reply_markup=markup)
        return self._store(message, html)

    async def _media(
        self, kind: str, params: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        caption, entities, html = self._format(params, "caption", MAX_CAPTION)
        markup = self._check_markup(params)
        if kind in files:
            content = files[kind]
            limit = 10 * 1024 * 1024 if kind == "photo" else 50 * 1024 * 1024
            if len(content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            file_id = f"{kind}-{secrets.token_hex(6)}"
            self.files[file_id] = content
        else:
            file_id = self._fetched(str(params.get(kind) or ""))
            if file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            content = self.files[file_id]
        media = _media(kind, file_id, content, "file")
        message = self._new_message(
            chat, caption=caption, caption_entities=entities, reply_markup=markup, **{kind: media}
        )
        return self._store(message, html)

    def _fetched(self, reference: str) -> str:
        """A file id, or a web address Telegram fetches (`web`) as a new file's id."""
        if not reference.startswith(("http://", "https://")):
            return reference
        if reference not in self.web:
            raise bad_request("failed to get HTTP URL content")
        file_id = f"web-{secrets.token_hex(6)}"
        self.files[file_id] = self.web[reference]
        return file_id

    async def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return await self._media("photo", params, files)

    async def _api_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return await self._media("document", params, files)

    async def _api_sendMediaGroup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        media = params.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of messages in the media group")
        sent = []
        for item in media:
            kind = item.get("type")
            file_id = self._fetched(str(item.get("media") or ""))
            if kind not in ("photo", "document") or file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            caption, entities, html = self._format(item, "caption", MAX_CAPTION)
            message = self._new_message(
                chat,
                caption=caption,
                caption_entities=entities,
                media_group_id=f"g{id(media)}",
                **{kind: _media(kind, file_id, self.files[file_id], "file")},
            )
            sent.append(self._store(message, html))
        return sent

    async def _api_sendLocation(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        latitude, longitude = float(params["latitude"]), float(params["longitude"])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong coordinates")
        markup = self._check_markup(params)
        place = {"latitude": latitude, "longitude": longitude}
        return self._store(self._new_message(chat, location=place, reply_markup=markup), None)

    async def _api_copyMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        source = self.messages.get((int(params["from_chat_id"]), int(params["message_id"])))
        if source is None or source.deleted:
            raise bad_request("message to copy not found")
        content = {
            k: v for k, v in source.data.items() if k not in ("message_id", "date", "chat", "from")
        }
        if "reply_markup" in params:
            content["reply_markup"] = self._check_markup(params)
        message = self._new_message(chat, **content)
        self._store(message, source.html)
        return {"message_id": message["message_id"]}

    async def _api_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._stored(params)
        if "text" not in stored.data:
            raise bad_request("there is no text in the message to edit")
        text, entities, html = self._format(params, "text", MAX_TEXT)
        markup = self._check_markup(params)
        return self._edit(
            stored, {"text": text, "entities": entities, "reply_markup": markup}, html
        )

    async def _api_editMessageCaption(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._stored(params)
        caption, entities, html = self._format(params, "caption", MAX_CAPTION)
        markup = self._check_markup(params)
        return self._edit(
            stored, {"caption": caption, "caption_entities": entities, "reply_markup": markup}, html
        )

    async def _api_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        stored = self._stored(params)
        return self._edit(stored, {"reply_markup": self._check_markup(params)}, stored.html)

    def _edit(self, stored: StoredMessage, changes: dict[str, Any], html: str | None) -> Any:
        updated = dict(stored.data)
        for key, value in changes.items():
            if value in (None, [], ""):
                updated.pop(key, None)
            else:
                updated[key] = value
        comparable = {k: v for k, v in updated.items() if k != "edit_date"}
        if comparable == {k: v for k, v in stored.data.items() if k != "edit_date"}:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        updated["edit_date"] = int(time.time())
        stored.data, stored.html = updated, html
        stored.edits += 1
        return updated

    async def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params.get("chat_id"))
        stored = self.messages.get((chat.id, int(params.get("message_id") or 0)))
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found")
        stored.deleted = True
        return True

    async def _api_answerCallbackQuery(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self.issued_queries or query_id in self.answered_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > MAX_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        self.answered_queries[query_id] = params
        return True

    async def _api_answerInlineQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        results = params.get("results") or []
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        for result in results:
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._format(
                    {"text": content["message_text"], "parse_mode": content.get("parse_mode")},
                    "text",
                    MAX_TEXT,
                )
        return True

    async def _api_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": file_id,
            "file_unique_id": file_id[-8:],
            "file_size": len(self.files[file_id]),
            "file_path": f"files/{file_id}",
        }

    # -- webhook delivery -------------------------------------------------------------------

    def _ensure_webhook_delivery(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())

    def _through_proxy(self, url: str) -> str:
        """Where a post to the public `url` lands: through the reverse proxy, if one is set."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin in self.reverse_proxy:
            return self.reverse_proxy[origin] + url[len(origin) :]
        return url

    async def _deliver_webhook(self) -> None:
        """Post queued updates to the webhook, as Telegram does, until none is left."""
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=5)
        while self.webhook is not None and self._updates and not self._closing:
            update = self._updates[0]
            headers = {"Content-Type": "application/json"}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
            try:
                response = await self._webhook_client.post(
                    self._through_proxy(self.webhook["url"]),
                    content=json.dumps(update),
                    headers=headers,
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            self.webhook_deliveries.append((int(update["update_id"]), status))
            if status != 200:  # as Telegram words it in getWebhookInfo
                words = (
                    f"Wrong response from the webhook: {status} {_status_phrase(status)}"
                    if status
                    else "Connection refused"
                )
                self.webhook_last_error = (int(time.time()), words)
            if status == 200:
                self._confirmed_id = max(self._confirmed_id, int(update["update_id"]))
                self._updates.pop(0)
            else:
                await asyncio.sleep(0.2)


# Kinds of messages `send_kind` makes, besides text; the first ones carry a file.
_FILE_KINDS = ("photo", "document", "sticker", "video", "voice", "video_note", "audio", "animation")
MESSAGE_KINDS = (*_FILE_KINDS, "location", "venue", "contact", "dice", "poll", "story")
PNG_HEADER = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")


def _message_kind(kind: str, file_id: str, content: bytes, chat: Chat) -> dict[str, Any]:
    """The fields of a message of `kind`, as the Bot API gives them."""
    file = {"file_id": file_id, "file_unique_id": file_id[-8:], "file_size": len(content)}
    place = {"latitude": 15.5736, "longitude": 108.4740}
    fields: dict[str, dict[str, Any]] = {
        "sticker": {"sticker": {**file, "width": 512, "height": 512, "is_animated": False,
                                "is_video": False, "type": "regular", "emoji": "👍"}},
        "video": {"video": {**file, "width": 640, "height": 360, "duration": 12,
                            "mime_type": "video/mp4"}},
        "voice": {"voice": {**file, "duration": 4, "mime_type": "audio/ogg"}},
        "video_note": {"video_note": {**file, "length": 240, "duration": 6}},
        "audio": {"audio": {**file, "duration": 180, "title": "Quốc ca"}},
        # A GIF comes as an animation and, for older clients, as a document too.
        "animation": {
            "animation": {**file, "width": 320, "height": 240, "duration": 3},
            "document": {**file, "file_name": "vui.gif.mp4", "mime_type": "video/mp4"},
        },
        "location": {"location": place},
        "venue": {"location": place, "venue": {"location": place, "title": "Nhà văn hóa thôn",
                                               "address": "Thôn Mỹ Trà, xã Bình Chánh"}},
        "contact": {"contact": {"phone_number": "+84235123456", "first_name": "Minh"}},
        "dice": {"dice": {"emoji": "🎲", "value": 4}},
        "poll": {"poll": {"id": "5001", "question": "Họp lúc mấy giờ?", "options": [
            {"text": "7 giờ", "voter_count": 0, "persistent_id": "a"},
            {"text": "19 giờ", "voter_count": 0, "persistent_id": "b"}],
            "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}},
        "story": {"story": {"chat": chat.to_api(), "id": 7}},
    }  # fmt: skip
    if kind in ("photo", "document"):
        return {kind: _media(kind, file_id, content, "thong-bao.pdf")}
    return fields[kind]


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _media(kind: str, file_id: str, content: bytes, file_name: str) -> Any:
    """A photo (as its list of sizes) or a document, as the Bot API shows it in a message."""
    info: dict[str, Any] = {
        "file_id": file_id,
        "file_unique_id": file_id[-8:],
        "file_size": len(content),
    }
    if kind == "photo":
        width, height = _png_size(content)
        return [{**info, "width": width, "height": height}]
    return {**info, "file_name": file_name}


def _png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (Telegram reports them); zeros for other formats."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    return 0, 0


def _decode(name: str, value: str) -> Any:
    """A form value as PTB encoded it: JSON for non-strings, raw for free-text parameters."""
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class _MethodHandler(tornado.web.RequestHandler):
    """POST/GET /bot<token>/<method>."""

    def initialize(self, api: FakeTelegram) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        content_type = self.request.headers.get("Content-Type", "")
        params: dict[str, Any]
        files: dict[str, bytes] = {}
        if content_type.startswith("application/json"):
            params = json.loads(self.request.body or b"{}")
        else:
            params = {
                name: _decode(name, values[-1].decode())
                for name, values in self.request.body_arguments.items()
            }
            params.update(
                {
                    name: _decode(name, values[-1].decode())
                    for name, values in self.request.query_arguments.items()
                }
            )
            for name, uploads in self.request.files.items():
                files[name] = uploads[0]["body"]
        status, body = await self.api.handle(token, method, params, files)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    def check_xsrf_cookie(self) -> None:
        """The Bot API has no XSRF protection."""


class _FileHandler(tornado.web.RequestHandler):
    """GET /file/bot<token>/<path>: downloads of files the bot uploaded."""

    def initialize(self, api: FakeTelegram) -> None:
        self.api = api

    def get(self, token: str, path: str) -> None:
        file_id = path.removeprefix("files/")
        if token != self.api.token or file_id not in self.api.files:
            self.set_status(404)
            self.finish("Not Found")
            return
        self.finish(self.api.files[file_id])
