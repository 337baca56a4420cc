"""Telegram's side of the delivery engine: outbox bodies as Bot API calls, and Telegram's answers
told apart.

- 429 waits exactly `retry_after` — for that chat if it had just had a message, otherwise for
  every bulk send;
- blocked, deactivated or kicked recipients, and "chat not found", are unreachable;
- a migrated group is followed to its new id;
- other 400s fail the row with Telegram's words;
- 5xx, timeouts and network errors are retried with backoff, a bounded number of times.

It sends with its own `telegram.Bot` (its own connection pool), so a large job never takes a
connection a reply to a resident needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    TelegramObject,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.ratelimit import FloodControl, retry_after_seconds
from bot.sending import Failed, Moved, Outcome, Retry
from storage.channels import DEFAULT_CHANNEL
from storage.outbox import Pending

__all__ = ["TelegramSender", "forwardable", "outgoing", "send"]

log = logging.getLogger("bot.delivery")  # the engine's log: one place for bulk sends' lines

# Bot methods a job may use, and the parameters that are Telegram objects rather than plain JSON.
_METHODS = frozenset({"send_message", "send_photo", "send_document", "copy_message"})
_OBJECTS: dict[str, Callable[[Any, Bot], Any]] = {
    "reply_markup": InlineKeyboardMarkup.de_json,
    "link_preview_options": LinkPreviewOptions.de_json,
    "entities": MessageEntity.de_list,
    "caption_entities": MessageEntity.de_list,
}

# Telegram's words for "this recipient is gone", by the reason recorded.
_GONE_WORDS = (
    ("blocked", "blocked"),
    ("deactivated", "deactivated"),
    ("kicked", "kicked"),
    ("not a member", "kicked"),
    ("have no rights", "no_rights"),
    ("not enough rights", "no_rights"),
)


def outgoing(method: str, **params: Any) -> dict[str, Any]:
    """A message as the outbox keeps it: a Bot method and its parameters, as JSON.

    Telegram objects (a keyboard, link preview options, entities) are stored in their API form.
    """
    if method not in _METHODS:
        raise ValueError(f"the outbox cannot send with {method!r}")
    plain: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, TelegramObject):
            plain[key] = value.to_dict()
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], TelegramObject):
            plain[key] = [item.to_dict() for item in value]
        else:
            plain[key] = value
    return {"method": method, "params": plain}


def forwardable(message: Message) -> tuple[str, str, dict[str, Any]] | None:
    """A message someone sent, as the outbox would send it on: its kind ("text", "photo",
    "document"), its text or caption as Telegram HTML (their formatting kept), and the body.
    None for any other kind of message (a sticker, a video, a location...)."""
    if message.photo:
        kind = "photo"
        text_html = message.caption_html or ""
        body = outgoing(
            "send_photo", photo=message.photo[-1].file_id, caption=text_html or None,
            parse_mode="HTML",
        )  # fmt: skip
    elif message.document is not None and message.animation is None:
        # (A GIF comes with a `document` too, but it is an animation.)
        kind = "document"
        text_html = message.caption_html or ""
        body = outgoing(
            "send_document", document=message.document.file_id,
            caption=text_html or None, parse_mode="HTML",
        )  # fmt: skip
    elif message.text:
        kind = "text"
        text_html = message.text_html
        body = outgoing("send_message", text=text_html, parse_mode="HTML")
    else:
        return None
    body["params"] = {k: v for k, v in body["params"].items() if v is not None}
    return kind, text_html, body


async def send(bot: Bot, chat_id: int, body: Mapping[str, Any]) -> int:
    """Send one outbox message to `chat_id`; returns Telegram's message id."""
    method = body.get("method")
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}")
    params = dict(body.get("params") or {})
    for key, parse in _OBJECTS.items():
        if params.get(key) is not None:
            params[key] = parse(params[key], bot)
    result = await getattr(bot, method)(chat_id=chat_id, **params)
    return int(result.message_id)


class TelegramSender:
    """Sends outbox rows on Telegram with its own `Bot`, paced by the shared `FloodControl`."""

    channel = DEFAULT_CHANNEL

    def __init__(self, bot: Bot, flood: FloodControl) -> None:
        self.bot = bot
        self.flood = flood

    @property
    def pace(self) -> FloodControl:
        """Telegram's flood limits, shared with the replies to residents."""
        return self.flood

    async def admit(self, row: Pending) -> str | None:
        """Telegram sets no rule of its own on who may get a bulk message: always."""
        return None

    async def give_back(self, row: Pending) -> None:
        """Nothing was taken."""

    async def send(self, row: Pending, body: Mapping[str, Any]) -> int:
        """The Bot API call itself."""
        return await send(self.bot, row.chat_id, body)

    async def refused(self, row: Pending, error: Exception) -> Outcome:
        """Telegram's answer in the engine's terms (the slot was already given back)."""
        if isinstance(error, RetryAfter):
            wait = retry_after_seconds(error)
            if self.flood.busy_chat(row.chat_id):
                self.flood.pause_chat(row.chat_id, wait)
            else:
                self.flood.pause_all(wait)
            log.warning("Telegram asked to wait %.0f s (flood limit); bulk sends wait", wait)
            return Retry("flood", None, after=wait)
        if isinstance(error, ChatMigrated):
            return Moved(error.new_chat_id)
        if isinstance(error, Forbidden):
            return Failed(_gone_reason(error.message), error.message, gone=True)
        if isinstance(error, BadRequest):
            if "chat not found" in error.message.lower():
                return Failed("chat_not_found", error.message, gone=True)
            log.warning("Telegram refused a bulk message: %s", error.message)
            return Failed("bad_request", error.message)
        if isinstance(error, NetworkError):  # 5xx, timeouts, connection errors
            return Retry("network", error.message)
        if isinstance(error, (TelegramError, ValueError, TypeError, KeyError)):
            log.error("a bulk message cannot be sent as written: %s", error)
            return Failed("invalid", str(error))
        raise error


def _gone_reason(message: str) -> str:
    """Why a 403 says the recipient is gone, in one word."""
    lowered = message.lower()
    for words, reason in _GONE_WORDS:
        if words in lowered:
            return reason
    return "forbidden"
