"""The client of the Zalo OA API: one httpx client, a consultation message per call.

`ZaloClient.send(user_id, message)` sends one `ZaloMessage` as Zalo's consultation message
("tin tư vấn", `POST <ZALO_API_URL>/v3.0/oa/message/cs`, header `access_token`) and returns
Zalo's message id. Text only, text with buttons (a template of `oa.query.hide` and
`oa.open.url` buttons: whether Zalo accepts it there is unverified, so a refused template is
sent again as the text alone and buttons are not tried again; `ZALO_BUTTONS=false` never tries),
or a picture (a media template, the text as its caption; buttons are left off, the text's
numbered choices remain). Nothing is split: a text over `MAX_TEXT` characters is a ValueError.
Every failure is a `ZaloError` with its kind; an invalid or expired token is refreshed once and
the message sent again, inside the client.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.zalo.errors import Kind, ZaloError
from bot.zalo.messages import MAX_TEXT, ZaloButton, ZaloMessage
from bot.zalo.tokens import Tokens

__all__ = [
    "ARTICLE_CREATE_PATH",
    "ARTICLE_VERIFY_PATH",
    "MESSAGE_PATH",
    "UNVERIFIED_BROADCAST_PATH",
    "UNVERIFIED_PROFILE_PATH",
    "ZaloClient",
    "article_json",
    "message_json",
    "oa_profile",
]

log = logging.getLogger(__name__)

MESSAGE_PATH = "/v3.0/oa/message/cs"
# An OA article: created, then verified (ZALO.md); its title under 150 characters.
ARTICLE_CREATE_PATH = "/v2.0/article/create"
ARTICLE_VERIFY_PATH = "/v2.0/article/verify"
ARTICLE_TITLE_MAX = 149
# UNVERIFIED: the broadcast of an article to the OA's followers. No source we could read names
# the endpoint of today's API; this is the v2.0 one older SDKs used (a media template of
# `media_type: article`, the recipient a `target` rather than a user). If Zalo refuses it, the
# staff are told Zalo's words and nothing is counted against the month.
UNVERIFIED_BROADCAST_PATH = "/v2.0/oa/message"
# UNVERIFIED: the OA's profile, read with GET (SDKs name `/v2.0/oa/getoa`; no current document
# we could read confirms it). Only doctor calls it; a refusal there is reported, nothing more.
UNVERIFIED_PROFILE_PATH = "/v2.0/oa/getoa"
TIMEOUT = httpx.Timeout(15.0, connect=10.0)


def _button(button: ZaloButton) -> dict[str, Any]:
    if button.url:
        return {"title": button.title, "type": "oa.open.url", "payload": {"url": button.url}}
    return {"title": button.title, "type": "oa.query.hide", "payload": button.payload or ""}


def message_json(user_id: str, message: ZaloMessage, *, buttons: bool = True) -> dict[str, Any]:
    """The request body for `message` to `user_id` (ValueError if the text is too long)."""
    if len(message.text) > MAX_TEXT:
        raise ValueError(
            f"a Zalo message holds at most {MAX_TEXT} characters; this one has "
            f"{len(message.text)}: cut it before sending"
        )
    body: dict[str, Any] = {"text": message.text}
    if message.image_url:
        body["attachment"] = {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": message.image_url}],
            },
        }
        if not message.text:
            del body["text"]
    elif buttons and message.buttons:
        body["attachment"] = {
            "type": "template",
            "payload": {"buttons": [_button(b) for b in message.buttons]},
        }
    return {"recipient": {"user_id": user_id}, "message": body}


class ZaloClient:
    """Sends messages to residents through the commune's Official Account."""

    def __init__(
        self, http: httpx.AsyncClient, api_url: str, tokens: Tokens, *, buttons: bool = True
    ) -> None:
        self._http = http
        self._root = api_url.rstrip("/")
        self._url = self._root + MESSAGE_PATH
        self.tokens = tokens
        self.buttons = buttons  # turned off for good once Zalo refuses the buttons template

    async def send(self, user_id: str, message: ZaloMessage) -> str:
        """Send `message` to `user_id`; Zalo's message id. ZaloError when Zalo does not take it."""
        with_buttons = self.buttons and bool(message.buttons) and not message.image_url
        body = message_json(user_id, message, buttons=with_buttons)
        try:
            return await self._send_refreshing(body)
        except ZaloError as exc:
            # Only Zalo's own refusal (a negative code) says the template was not taken; an
            # answer we could not read may hide a delivered message: never sent twice.
            if not (with_buttons and exc.kind is Kind.FAILED and exc.code < 0):
                raise
        # Zalo refused the buttons template: the numbered text alone says the same.
        self.buttons = False
        log.warning(
            "Zalo refused a message with buttons; sending texts without buttons from now on "
            "(set ZALO_BUTTONS=false to stop trying them at start)"
        )
        return await self._send_refreshing(message_json(user_id, message, buttons=False))

    async def create_article(self, title: str, text: str) -> str:
        """Create an OA article of plain text (paragraphs by blank lines) and verify it; Zalo's
        id of the article. The title is cut to Zalo's limit."""
        body = article_json(title, text)
        token = await self._send_refreshing(body, ARTICLE_CREATE_PATH, "token")
        return await self._send_refreshing({"token": token}, ARTICLE_VERIFY_PATH, "id")

    async def broadcast_article(self, article_id: str) -> str:
        """UNVERIFIED endpoint (`UNVERIFIED_BROADCAST_PATH`): send the article to every follower
        of the OA as a broadcast, which Zalo counts against the package's monthly quota."""
        body = {
            "recipient": {"target": {}},  # no filter: every follower
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "media",
                        "elements": [{"media_type": "article", "attachment_id": article_id}],
                    },
                }
            },
        }
        return await self._send_refreshing(body, UNVERIFIED_BROADCAST_PATH)

    async def _send_refreshing(
        self, body: dict[str, Any], path: str = MESSAGE_PATH, want: str = "message_id"
    ) -> str:
        token = await self.tokens.access()
        try:
            return await self._post(token, body, path, want)
        except ZaloError as exc:
            if exc.kind is not Kind.TOKEN:
                raise
        # Invalid or expired: refresh once (once for every sender that saw the same token),
        # then send again; a second refusal is the operator's to solve.
        token = await self.tokens.refresh(token)
        return await self._post(token, body, path, want)

    async def _post(
        self, token: str, body: dict[str, Any], path: str = MESSAGE_PATH, want: str = "message_id"
    ) -> str:
        """One call; `want` is the field of Zalo's `data` to return."""
        url = self._url if path == MESSAGE_PATH else self._root + path
        try:
            response = await self._http.post(
                url, json=body, headers={"access_token": token}, timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise ZaloError(0, f"cannot reach Zalo: {type(exc).__name__}", Kind.RETRY) from None
        data = _answered(response).get("data")
        message_id = data.get(want) if isinstance(data, dict) else None
        if not message_id:
            raise ZaloError(0, f"Zalo accepted the request but gave no {want}", Kind.FAILED)
        return str(message_id)


def _answered(response: httpx.Response) -> dict[str, Any]:
    """Zalo's answer, if it says yes; ZaloError with its kind otherwise."""
    status = response.status_code
    if status >= 500 or status == 429:
        raise ZaloError(status, f"Zalo answered HTTP {status}",
                        Kind.RETRY if status >= 500 else Kind.RATE)  # fmt: skip
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("error", 0), int):
        kind = Kind.FAILED if status >= 400 else Kind.RETRY
        words = f"not an answer of Zalo's OA API (HTTP {status}): check ZALO_API_URL"
        raise ZaloError(status, words, kind)
    code = int(answer.get("error", 0))
    if code != 0:
        raise ZaloError(code, str(answer.get("message") or "no reason given")[:300])
    return answer


async def oa_profile(http: httpx.AsyncClient, api_url: str, access_token: str) -> dict[str, Any]:
    """UNVERIFIED endpoint (`UNVERIFIED_PROFILE_PATH`): the OA's profile (`name`, ...), one
    read-only call with `access_token` as it is — never refreshed here, so nothing is spent
    (doctor's check). ZaloError as for a send."""
    url = api_url.rstrip("/") + UNVERIFIED_PROFILE_PATH
    try:
        response = await http.get(url, headers={"access_token": access_token}, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise ZaloError(0, f"cannot reach Zalo: {type(exc).__name__}", Kind.RETRY) from None
    data = _answered(response).get("data")
    if not isinstance(data, dict):
        raise ZaloError(0, "Zalo accepted the request but gave no profile", Kind.FAILED)
    return data


def article_json(title: str, text: str) -> dict[str, Any]:
    """The request body of an OA article: a normal article of text paragraphs, shown."""
    if len(title) > ARTICLE_TITLE_MAX:
        title = title[: ARTICLE_TITLE_MAX - 1].rstrip() + "…"
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()] or [text]
    return {
        "type": "normal",
        "title": title,
        "author": "",
        "description": paragraphs[0][:300],
        "body": [{"type": "text", "content": part} for part in paragraphs],
        "status": "show",
        "comment": "hide",
    }
