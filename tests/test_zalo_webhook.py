"""Zalo's webhook and the front end behind it, with the bot started as in production.

The bot runs through `bot.app.running` against the stand-in Zalo OA API (and, where both front
ends are meant, the stand-in Telegram); the stand-in posts signed events to the bot's webhook
over loopback. The conversation itself is another part's: these tests give a small handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_application, running
from bot.config import load_settings
from bot.context import BotApplication, Services
from bot.standins.telegram import FakeTelegram
from bot.standins.zalo import MESSAGE_PATH, OAUTH_PATH, FakeZalo, ZaloCall
from bot.zalo.front import EventHandler
from bot.zalo.messages import ZaloEvent, ZaloMessage
from bot.zalo.webhook import MAX_BODY_BYTES, ZaloWebhook, event_key, parse
from tests.conftest import make_settings

LAN = "8000000000000000001"
MINH = "8000000000000000002"


@dataclass
class Handler:
    """A small conversation for these tests: what it was asked, and its replies."""

    seen: list[tuple[int, ZaloEvent]] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set, a text waits for it before answering

    def factory(self, services: Services) -> EventHandler:
        async def handle(person: int, event: ZaloEvent) -> Sequence[ZaloMessage]:
            self.seen.append((person, event))
            if event.name == "follow":
                return [ZaloMessage("Chào mừng bà con đến với Tin Xã")]
            if event.name != "user_send_text":
                return []
            if event.text == "hỏng":
                raise RuntimeError("the conversation failed")
            if event.text.startswith("nhiều "):
                count = int(event.text.split()[1])
                return [ZaloMessage(f"tin {i + 1}") for i in range(count)]
            if self.gate is not None and event.text == "chậm":
                await self.gate.wait()
            return [ZaloMessage(f"Bạn viết: {event.text}")]

        return handle


def zalo_settings(tmp_path: Path, zalo: FakeZalo, **overrides: Any) -> Any:
    values = {
        "DATABASE_PATH": tmp_path / "bot.sqlite3",
        "ZALO_WEBHOOK_LISTEN": "127.0.0.1:0",
        **zalo.settings(),
        **overrides,
    }
    return load_settings(env_file=None, **values)


@pytest.fixture
def handler() -> Handler:
    return Handler()


@contextlib.asynccontextmanager
async def start(settings: Any, handler: Handler, zalo: FakeZalo) -> AsyncIterator[BotApplication]:
    application = build_application(settings, zalo_handler=handler.factory)
    async with running(application):
        webhook = application.bot_data.services.zalo_webhook
        assert webhook is not None
        zalo.webhook_url = f"http://127.0.0.1:{webhook.port}/zalo/webhook"
        yield application


@pytest.fixture
async def zalo_bot(
    tmp_path: Path, zalo: FakeZalo, handler: Handler
) -> AsyncIterator[BotApplication]:
    """The bot on Zalo alone: no BOT_TOKEN."""
    async with start(zalo_settings(tmp_path, zalo), handler, zalo) as application:
        yield application


def webhook_of(application: BotApplication) -> ZaloWebhook:
    webhook = application.bot_data.services.zalo_webhook
    assert webhook is not None
    return webhook


async def count(application: BotApplication, table: str) -> int:
    row = await application.bot_data.services.db.fetchone(f"SELECT count(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def test_zalo_alone_answers_a_signed_follow_through_the_handler(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    services = zalo_bot.bot_data.services
    assert not services.settings.telegram_enabled
    assert zalo_bot.job_queue is not None
    assert zalo_bot.job_queue.scheduler.running  # the one scheduler runs without Telegram
    assert await zalo.follow(LAN) == 200
    [greeting] = await zalo.wait_sent(LAN)
    assert greeting.text == "Chào mừng bà con đến với Tin Xã"
    [(person, event)] = handler.seen
    assert event.name == "follow"
    assert event.user_id == LAN
    assert person == await services.zalo_people.person(LAN)
    stored = await services.zalo_people.get(person)
    assert stored is not None
    assert stored.following
    assert stored.sent_in_window == 1  # the greeting used the window a follow opened


async def test_messages_open_the_window_and_come_in_order(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    zalo.enforce_window(hours=48, messages=8)
    for text in ("một", "hai", "ba"):
        assert await zalo.say(LAN, text) == 200
    sent = await zalo.wait_sent(LAN, 3)
    assert [m.text for m in sent] == ["Bạn viết: một", "Bạn viết: hai", "Bạn viết: ba"]
    assert [e.text for _, e in handler.seen] == ["một", "hai", "ba"]


async def test_a_forged_or_unsigned_event_is_refused_and_nothing_stored(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    event = zalo.text_event(LAN, "tin mới", msg_id="forged1")
    body = json.dumps(event).encode()
    assert await zalo.post(event, signed=False) == 401
    assert await zalo.post(event, signed="mac=" + "0" * 64) == 401
    assert await zalo.post(event, signed="sha256=" + zalo.sign(body, event["timestamp"])) == 401
    # Signed with another OA's key, or for another app, or with the timestamp changed after.
    other = FakeZalo(oa_secret_key="anotherOAkey")
    assert await zalo.post(event, signed=other.sign(body, event["timestamp"])) == 401
    alien = {**event, "app_id": "999"}
    alien_body = json.dumps(alien).encode()
    assert await zalo.post(alien_body, signed=zalo.sign(alien_body, event["timestamp"])) == 401
    moved = json.dumps({**event, "timestamp": "1"}).encode()
    assert await zalo.post(moved, signed=zalo.sign(moved, event["timestamp"])) == 401
    assert await zalo.post(b"not json", signed=zalo.sign(b"not json", "")) == 401
    # A good one after them is handled: the refused ones left nothing behind.
    assert await zalo.say(MINH, "xin chào") == 200
    await zalo.wait_sent(MINH)
    await webhook_of(zalo_bot).idle()
    assert [e.user_id for _, e in handler.seen] == [MINH]
    assert await count(zalo_bot, "zalo_people") == 1
    assert await count(zalo_bot, "zalo_events") == 1
    assert zalo.messages_to(LAN) == []


async def test_an_oversized_body_is_refused(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    event = zalo.text_event(LAN, "x" * (MAX_BODY_BYTES + 1))
    assert await zalo.post(event) == 413
    # Without a declared length (chunked), it is counted as it comes.
    body = json.dumps(event).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    assert zalo.webhook_url is not None
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            response = await client.post(
                zalo.webhook_url,
                content=chunks(),
                headers={"X-ZEvent-Signature": zalo.sign(body, event["timestamp"])},
            )
            status = response.status_code
        except httpx.HTTPError:  # the server may close while the client still sends
            status = 413
    assert status == 413
    assert await zalo.post(zalo.text_event(LAN, "vừa")) == 200
    await webhook_of(zalo_bot).idle()
    assert [e.text for _, e in handler.seen] == ["vừa"]


async def test_a_repeated_event_is_handled_once(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    zalo.follower(LAN)
    event = zalo.text_event(LAN, "tin mới", msg_id="m-42")
    statuses = await asyncio.gather(*(zalo.post(event) for _ in range(3)))
    assert statuses == [200, 200, 200]  # Zalo must not send it yet again
    zalo.follower(MINH)
    follow = zalo.event("follow", MINH)
    assert await zalo.post(follow) == 200
    assert await zalo.post(follow) == 200
    await webhook_of(zalo_bot).idle()
    assert sorted((e.name, e.user_id) for _, e in handler.seen) == [
        ("follow", MINH),
        ("user_send_text", LAN),
    ]
    assert [m.text for m in zalo.messages_to(LAN)] == ["Bạn viết: tin mới"]
    assert len(zalo.messages_to(MINH)) == 1


async def test_a_failing_handler_gets_the_resident_one_polite_message(
    zalo: FakeZalo, zalo_bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert await zalo.say(LAN, "hỏng") == 200
        [sorry] = await zalo.wait_sent(LAN)
        await webhook_of(zalo_bot).idle()
    assert sorry.text == "Xin lỗi, bot đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."
    failures = [r for r in caplog.records if "failed" in r.getMessage() and r.exc_info]
    assert len(failures) == 1
    services = zalo_bot.bot_data.services
    person = await services.zalo_people.person(LAN)
    assert services.who(person, "zalo") in failures[0].getMessage()
    # No raw Zalo id at INFO or above.
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and LAN in r.getMessage()]


async def test_replies_stay_inside_the_window(
    tmp_path: Path, zalo: FakeZalo, handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    settings = zalo_settings(tmp_path, zalo, ZALO_WINDOW_MESSAGES="3")
    async with start(settings, handler, zalo) as application:
        people = application.bot_data.services.zalo_people
        with caplog.at_level(logging.INFO):
            assert await zalo.say(LAN, "nhiều 5") == 200
            await zalo.wait_sent(LAN, 3)
            await webhook_of(application).idle()
        assert [m.text for m in zalo.messages_to(LAN)] == ["tin 1", "tin 2", "tin 3"]
        assert caplog.text.count("outside Zalo's window") == 2
        person = await people.person(LAN)
        # Zalo refusing one (its window, night...) gives the message back to the window.
        assert await zalo.say(LAN, "nhiều 2") == 200
        zalo.fail(-234, path=MESSAGE_PATH)
        await zalo.wait_sent(LAN, 4)
        await webhook_of(application).idle()
        stored = await people.get(person)
        assert stored is not None
        assert stored.sent_in_window == 1
        # A resident Zalo says does not follow the OA any more is marked so.
        zalo.fail(-213, path=MESSAGE_PATH)
        assert await zalo.say(LAN, "còn đó không") == 200
        await zalo.wait_for(MESSAGE_PATH, where=lambda call: call.error == -213)
        await webhook_of(application).idle()
        stored = await people.get(person)
        assert stored is not None
        assert not stored.following


async def test_a_token_expiring_while_replies_go_out_is_refreshed_once_and_nothing_lost(
    zalo: FakeZalo, zalo_bot: BotApplication
) -> None:
    refreshes_at_start = zalo.refreshes  # the check at start-up
    delivered = 0

    def expire_after_second(call: ZaloCall) -> None:
        nonlocal delivered
        if call.path == MESSAGE_PATH and call.error == 0:
            delivered += 1
            if delivered == 2:
                zalo.expire_access_tokens()

    zalo.observers.append(expire_after_second)
    assert await zalo.say(LAN, "nhiều 4") == 200
    assert await zalo.say(MINH, "nhiều 4") == 200
    await zalo.wait_sent(LAN, 4)
    await zalo.wait_sent(MINH, 4)
    await webhook_of(zalo_bot).idle()
    assert zalo.refreshes == refreshes_at_start + 1
    assert [m.text for m in zalo.messages_to(LAN)] == ["tin 1", "tin 2", "tin 3", "tin 4"]
    assert [m.text for m in zalo.messages_to(MINH)] == ["tin 1", "tin 2", "tin 3", "tin 4"]
    refused = [c for c in zalo.calls_to(MESSAGE_PATH) if c.error]
    assert refused
    assert {c.error for c in refused} == {-220}


async def test_a_passing_failure_is_sent_again(
    tmp_path: Path, zalo: FakeZalo, handler: Handler
) -> None:
    settings = zalo_settings(tmp_path, zalo)
    async with start(settings, handler, zalo) as application:
        zalo.fail(502, path=MESSAGE_PATH)
        zalo.fail(-32, path=MESSAGE_PATH)
        assert await zalo.say(LAN, "mạng chập chờn") == 200
        [reply] = await zalo.wait_sent(LAN)
        await webhook_of(application).idle()
        assert reply.text == "Bạn viết: mạng chập chờn"
        assert len(zalo.calls_to(MESSAGE_PATH)) == 3


async def test_telegram_and_zalo_in_one_process(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo, handler: Handler
) -> None:
    settings = make_settings(
        tmp_path, telegram, ZALO_WEBHOOK_LISTEN="127.0.0.1:0", **zalo.settings()
    )
    async with start(settings, handler, zalo):
        lan = telegram.user(701, "Lan")
        reply = await telegram.reply_to(lan, "/start", timeout=15)
        assert reply.params["text"].startswith("Xin chào Lan!")
        assert await zalo.follow(LAN) == 200
        [greeting] = await zalo.wait_sent(LAN)
        assert greeting.text.startswith("Chào mừng")


async def test_a_refused_refresh_token_at_start_tells_the_owners_on_telegram(
    tmp_path: Path,
    telegram: FakeTelegram,
    zalo: FakeZalo,
    handler: Handler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    zalo.refuse_refresh()
    settings = make_settings(
        tmp_path, telegram, ZALO_WEBHOOK_LISTEN="127.0.0.1:0", **zalo.settings()
    )
    telegram.user(1001, "Chủ")  # the owner (ADMIN_IDS)
    with caplog.at_level(logging.INFO):
        async with start(settings, handler, zalo):
            told = await telegram.wait_for("sendMessage", chat_id=1001)
            assert "developers.zalo.me" in told.params["text"]
            # /audit keeps it, naming Zalo and the bot (no person did it).
            audit = await telegram.reply_to(telegram.user(1001, "Chủ"), "/audit")
            assert "— bot: Zalo từ chối mã làm mới (refresh token) của OA" in audit.params["text"]
    lines = [
        r.getMessage() for r in caplog.records if "refused the refresh token" in r.getMessage()
    ]
    assert len(lines) == 1
    assert "ZALO_REFRESH_TOKEN" in lines[0]
    assert zalo.calls_to(OAUTH_PATH)


async def test_the_token_job_keeps_the_token_and_its_refresh_chain_alive(
    tmp_path: Path, zalo: FakeZalo, handler: Handler
) -> None:
    zalo.access_seconds = 5 * 60  # under the refresh margin: always due
    async with start(zalo_settings(tmp_path, zalo), handler, zalo) as application:
        assert zalo.refreshes == 1  # at start
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("zalo-token")
        await job.run(application)
        assert zalo.refreshes == 2
        (prune,) = application.job_queue.get_jobs_by_name("zalo-prune-events")
        await prune.run(application)


async def test_the_webhook_answers_before_the_work_is_done(
    zalo: FakeZalo, zalo_bot: BotApplication, handler: Handler
) -> None:
    handler.gate = asyncio.Event()
    async with asyncio.timeout(5):  # Zalo wants its answer within seconds
        assert await zalo.say(LAN, "chậm") == 200
    assert zalo.messages_to(LAN) == []  # the handler is still at work
    handler.gate.set()
    [reply] = await zalo.wait_sent(LAN)
    assert reply.text == "Bạn viết: chậm"


def test_events_are_parsed_from_zalo_s_shape() -> None:
    zalo = FakeZalo()
    picture = zalo.event(
        "user_send_image",
        LAN,
        message={
            "msg_id": "m7",
            "attachments": [{"type": "image", "payload": {"url": "https://x/a.jpg"}}, "bad"],
        },
    )
    event = parse(picture)
    assert event is not None
    assert (event.name, event.user_id, event.msg_id, event.text) == (
        "user_send_image",
        LAN,
        "m7",
        "",
    )
    assert event.attachments == ({"type": "image", "payload": {"url": "https://x/a.jpg"}},)
    assert event.timestamp_ms == int(picture["timestamp"])
    follow = parse(zalo.event("follow", LAN))
    assert follow is not None
    assert (follow.user_id, follow.msg_id) == (LAN, None)
    assert event_key(zalo.app_id, follow) == f"follow:{zalo.app_id}:{follow.timestamp_ms}:{LAN}"
    assert event_key(zalo.app_id, event) == "msg:m7"
    # Receipts, the OA's own echoes, and events without their user are not acted on.
    assert parse(zalo.event("user_seen_message", LAN)) is None
    assert parse(zalo.event("oa_send_text", LAN)) is None
    assert parse({**zalo.text_event(LAN, "x"), "sender": {}}) is None
    assert parse({"event_name": 3}) is None
