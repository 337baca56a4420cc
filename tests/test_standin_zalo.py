"""The stand-in Zalo OA API itself: what it enforces, so tests against it mean something."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.standins.zalo import MESSAGE_PATH, OAUTH_PATH, FakeZalo, signature

LAN = "8000000000000000001"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def refresh(zalo: FakeZalo, http: httpx.AsyncClient, token: str, **headers: str) -> Any:
    response = await http.post(
        zalo.url + OAUTH_PATH,
        data={"refresh_token": token, "app_id": zalo.app_id, "grant_type": "refresh_token"},
        headers={"secret_key": zalo.app_secret, **headers},
    )
    return response.json()


async def send(zalo: FakeZalo, http: httpx.AsyncClient, token: str, text: str = "Chào") -> Any:
    response = await http.post(
        zalo.url + MESSAGE_PATH,
        json={"recipient": {"user_id": LAN}, "message": {"text": text}},
        headers={"access_token": token},
    )
    return response.json()


def test_the_signature_is_sha256_of_app_id_body_timestamp_and_key() -> None:
    body = b'{"event_name":"follow","timestamp":"1700000000000"}'
    expected = hashlib.sha256(b"123" + body + b"1700000000000" + b"key").hexdigest()
    assert signature("123", body, "1700000000000", "key") == "mac=" + expected


async def test_a_refresh_token_works_once_and_rotates(
    zalo: FakeZalo, http: httpx.AsyncClient
) -> None:
    first = zalo.refresh_token
    answer = await refresh(zalo, http, first)
    assert set(answer) == {"access_token", "refresh_token", "expires_in"}
    assert answer["expires_in"] == "90000"
    assert answer["refresh_token"] != first
    again = await refresh(zalo, http, first)  # spent
    assert again["error"] == -14014
    assert "access_token" not in again
    assert (await refresh(zalo, http, answer["refresh_token"]))["access_token"]
    # A wrong app secret is refused whatever the token.
    wrong = await refresh(zalo, http, zalo.refresh_token, secret_key="nope")
    assert wrong["error"] == -14002
    assert zalo.refreshes == 2
    # Refused on cue, and the secret form field is not kept in the call log.
    zalo.refuse_refresh()
    assert (await refresh(zalo, http, zalo.refresh_token))["error"] == -14014
    assert all("refresh_token" not in call.body for call in zalo.calls)


async def test_access_tokens_expire_and_are_revoked_on_cue(
    zalo: FakeZalo, http: httpx.AsyncClient
) -> None:
    zalo.follower(LAN)
    token = (await refresh(zalo, http, zalo.refresh_token))["access_token"]
    assert (await send(zalo, http, token))["error"] == 0
    assert (await send(zalo, http, "made-up"))["error"] == -216
    zalo.expire_access_tokens()
    assert (await send(zalo, http, token))["error"] == -220
    zalo.revoke_access_tokens()
    assert (await send(zalo, http, token))["error"] == -216
    assert len(zalo.sent) == 1


async def test_the_window_counts_messages_after_the_resident_s_last_one(
    zalo: FakeZalo, http: httpx.AsyncClient, webhook_sink: list[bytes]
) -> None:
    token = zalo.issue_access_token()
    zalo.enforce_window(hours=48, messages=2)
    zalo.follower(LAN)
    assert (await send(zalo, http, token))["error"] == -230  # never wrote
    await zalo.say(LAN, "tin mới")
    assert [(await send(zalo, http, token))["error"] for _ in range(3)] == [0, 0, -230]
    await zalo.say(LAN, "thêm")  # writing again opens it anew
    assert (await send(zalo, http, token))["error"] == 0
    zalo.enforce_window(hours=0, messages=8)  # a window already over
    assert (await send(zalo, http, token))["error"] == -230


async def test_rate_text_length_and_followers_are_enforced(
    zalo: FakeZalo, http: httpx.AsyncClient
) -> None:
    token = zalo.issue_access_token()
    assert (await send(zalo, http, token))["error"] == -213  # not following
    zalo.follower(LAN)
    assert (await send(zalo, http, token, "x" * 2001))["error"] == -201
    zalo.enforce_rate(2)
    errors = [(await send(zalo, http, token))["error"] for _ in range(3)]
    assert errors == [0, 0, -32]


async def test_errors_and_server_failures_on_cue(zalo: FakeZalo, http: httpx.AsyncClient) -> None:
    token = zalo.issue_access_token()
    zalo.follower(LAN)
    for code in (-211, -224, -234):
        zalo.fail(code)
        assert (await send(zalo, http, token))["error"] == code
    zalo.fail(502)
    response = await http.post(zalo.url + MESSAGE_PATH, json={}, headers={"access_token": token})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert (await send(zalo, http, token))["error"] == 0  # the fault was used up


@pytest.fixture
async def webhook_sink(zalo: FakeZalo) -> AsyncIterator[list[bytes]]:
    """A tiny receiver for the stand-in's webhook posts: keeps each body with its headers."""
    received: list[bytes] = []

    class Sink(tornado.web.RequestHandler):
        def post(self) -> None:
            received.append(
                json.dumps(
                    {"body": self.request.body.decode(),
                     "signature": self.request.headers.get("X-ZEvent-Signature")}
                ).encode()
            )  # fmt: skip

        def check_xsrf_cookie(self) -> None:
            """No XSRF on a webhook."""

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([("/zalo/webhook", Sink)]))
    server.add_sockets(sockets)
    zalo.webhook_url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/zalo/webhook"
    yield received
    server.stop()
    await server.close_all_connections()


async def test_events_are_posted_in_zalo_s_shape_and_signed(
    zalo: FakeZalo, webhook_sink: list[bytes]
) -> None:
    assert await zalo.follow(LAN) == 200
    assert await zalo.say(LAN, "tin mới", msg_id="m1") == 200
    assert await zalo.post(zalo.text_event(LAN, "x"), signed=False) == 200
    follow, text, unsigned = (json.loads(item) for item in webhook_sink)
    body = json.loads(follow["body"])
    assert body["event_name"] == "follow"
    assert body["follower"] == {"id": LAN}
    assert body["app_id"] == zalo.app_id
    assert isinstance(body["timestamp"], str)
    assert follow["signature"] == signature(
        zalo.app_id, follow["body"].encode(), body["timestamp"], zalo.oa_secret_key
    )
    body = json.loads(text["body"])
    assert body["sender"] == {"id": LAN}
    assert body["recipient"] == {"id": zalo.oa_id}
    assert body["message"] == {"msg_id": "m1", "text": "tin mới"}
    assert unsigned["signature"] is None
