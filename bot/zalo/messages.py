"""What passes between Zalo and the bot, as values: an event in, a message out.

The webhook turns Zalo's JSON into a `ZaloEvent`; the conversation answers with `ZaloMessage`s
(plain text, at most `MAX_TEXT` characters, with numbered choices and, where the OA accepts
them, the same choices as buttons); the client turns a `ZaloMessage` into the OA API's JSON.
The outbox keeps a message for Zalo as `outgoing(message)` and the delivery engine reads it
back with `from_body`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_TEXT",
    "ZaloButton",
    "ZaloEvent",
    "ZaloMessage",
    "choices_of",
    "from_body",
    "outgoing",
]

MAX_TEXT = 2000  # characters of a consultation message's text


@dataclass(frozen=True, slots=True)
class ZaloButton:
    """A button under a message: a query (its payload comes back as the resident's text,
    `oa.query.hide`) or a link (`oa.open.url`)."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ZaloMessage:
    """One message to a resident."""

    text: str
    buttons: tuple[ZaloButton, ...] = ()
    image_url: str | None = None  # sent as an image message, `text` as its caption


@dataclass(frozen=True, slots=True)
class ZaloEvent:
    """One webhook event, checked and parsed."""

    name: str  # Zalo's event_name: user_send_text, follow, unfollow, ...
    user_id: str  # the resident: sender.id, or follower.id for follow/unfollow
    timestamp_ms: int
    msg_id: str | None = None
    text: str = ""
    attachments: tuple[Mapping[str, Any], ...] = field(default=())


def outgoing(
    message: ZaloMessage,
    *,
    choices: Mapping[int, str] | None = None,
    busy: ZaloMessage | None = None,
) -> dict[str, Any]:
    """A message as the outbox keeps it (JSON).

    With `choices` (number → packed action), a message sent unasked whose numbers are to
    become the resident's when it is sent (`bot.zalo.delivery`); `busy` is the same message
    without numbers, sent instead to a resident in the middle of a dialog, whose numbers it
    must not take over."""
    body: dict[str, Any] = {"method": "zalo", "text": message.text}
    if message.buttons:
        body["buttons"] = [
            {k: v for k, v in (("title", b.title), ("payload", b.payload), ("url", b.url)) if v}
            for b in message.buttons
        ]
    if message.image_url:
        body["image_url"] = message.image_url
    if choices:
        body["choices"] = {str(number): action for number, action in choices.items()}
        if busy is not None:
            body["busy"] = outgoing(busy)
    return body


def choices_of(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The numbers an outbox body's message offers (number → packed action), or None."""
    choices = body.get("choices")
    if not isinstance(choices, dict) or not choices:
        return None
    return {str(number): str(action) for number, action in choices.items()}


def from_body(body: Mapping[str, Any], *, busy: bool = False) -> ZaloMessage:
    """The message an outbox body written by `outgoing` holds (with `busy`, its variant
    without numbers, if it has one); ValueError if it is not one."""
    if busy and isinstance(body.get("busy"), dict):
        return from_body(body["busy"])
    if body.get("method") != "zalo" or not isinstance(body.get("text"), str):
        raise ValueError("not a Zalo message")
    buttons = tuple(
        ZaloButton(str(b["title"]), b.get("payload"), b.get("url")) for b in body.get("buttons", ())
    )
    return ZaloMessage(body["text"], buttons, body.get("image_url"))
