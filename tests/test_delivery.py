"""The delivery engine: the outbox, pacing, Telegram's errors told apart, control, priority."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app import build_application, running
from bot.context import Services
from bot.delivery import outgoing
from bot.i18n import Catalog
from bot.ratelimit import FloodControl
from bot.standins.telegram import FakeTelegram, FloodLimits
from tests.conftest import make_settings, settled

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def services(tmp_path: Path, telegram: FakeTelegram) -> AsyncIterator[Services]:
    """The bot's services with a started engine, sending fast (the stand-in allows 300/s)."""
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=300)
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    engine = await services.start_delivery()
    engine.retry_delays = (0.2, 0.4, 0.8)
    try:
        yield services
    finally:
        await services.close()


def text(words: str) -> dict[str, object]:
    return outgoing("send_message", text=words, parse_mode="HTML")


async def wait_done(services: Services, delivery_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = await services.outbox.progress(delivery_id)
        assert progress is not None
        if progress.state in ("done", "cancelled"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} did not finish: {progress}")


async def until(check: Callable[[], bool], timeout: float = 30, step: float = 0.02) -> None:
    """Wait for `check()` to hold."""
    for _ in range(int(timeout / step)):
        if check():
            return
        await asyncio.sleep(step)
    raise AssertionError("timed out waiting")


def sends(telegram: FakeTelegram) -> int:
    return len(telegram.calls_to("sendMessage"))


def received(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in telegram.chat_messages(chat_id)]


async def test_thousand_recipients_each_get_it_once(
    telegram: FakeTelegram, services: Services
) -> None:
    """10% blocked, 5% answer 5xx once, bursts of 429: every reachable recipient gets it once."""
    ids = list(range(10_001, 11_001))
    for user_id in ids:
        telegram.user(user_id)
    blocked = set(ids[::10])
    flaky = set(ids[5::20])
    for user_id in blocked:
        telegram.block(user_id)
    for user_id in flaky:
        telegram.fail("sendMessage", 502, "Bad Gateway", chat_id=user_id)
    telegram.enforce_flood_limits(FloodLimits(overall_per_second=300))
    telegram.fail_flood("sendMessage", retry_after=1, times=5)  # a burst at the start

    delivery_id = await services.outbox.create(
        "broadcast", [text("Thông báo <b>cắt nước</b> ngày mai")], [(i, 0) for i in ids]
    )
    assert delivery_id is not None
    services.delivery.wake()
    # Another burst of 429s midway.
    await telegram.wait_for("sendMessage")
    await until(lambda: sends(telegram) >= 500)
    telegram.fail_flood("sendMessage", retry_after=1, times=8)
    await wait_done(services, delivery_id)

    for user_id in ids:
        expected = [] if user_id in blocked else ["Thông báo cắt nước ngày mai"]
        assert received(telegram, user_id) == expected, user_id
    assert await services.chats.inactive(ids) == blocked
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.state == "done"
    assert (progress.total, progress.sent, progress.pending) == (1000, 900, 0)
    assert progress.failed == {"blocked": 100}
    assert progress.blocked == 100
    rows = await services.db.fetchall(
        "SELECT state, COUNT(*), COUNT(sent_message_id), COUNT(reason) FROM outbox GROUP BY state"
    )
    assert {tuple(row) for row in rows} == {("sent", 900, 900, 0), ("failed", 100, 0, 100)}
    # Each 5xx'd recipient was tried twice, and 429'd sends waited and went again.
    assert len(telegram.calls_to("sendMessage", chat_id=next(iter(flaky)))) == 2
    statuses = [call.status for call in telegram.calls_to("sendMessage")]
    assert statuses.count(429) >= 13


async def test_blocked_seen_early_are_skipped_and_come_back(
    telegram: FakeTelegram, services: Services
) -> None:
    """A chat known to be unreachable is skipped without a request; unblocking restores it."""
    lan, minh = telegram.user(2001), telegram.user(2002)
    await services.chats.set_active(minh.id, False, "blocked")
    first = await services.outbox.create("alert", [text("Tin 1")], [(lan.id, 0), (minh.id, 0)])
    assert first is not None
    services.delivery.wake()
    await wait_done(services, first)
    assert telegram.calls_to("sendMessage", chat_id=minh.id) == []
    progress = await services.outbox.progress(first)
    assert progress is not None
    assert progress.skipped == {"blocked": 1}
    assert progress.sent == 1

    await services.chats.set_active(minh.id, True)
    second = await services.outbox.create("alert", [text("Tin 2")], [(lan.id, 0), (minh.id, 0)])
    assert second is not None
    services.delivery.wake()
    await wait_done(services, second)
    assert received(telegram, minh.id) == ["Tin 2"]


async def test_error_classes(telegram: FakeTelegram, services: Services) -> None:
    """Deactivated, kicked, chat not found, a bad message, a moved group, lasting 5xx."""
    gone = telegram.user(3001)
    kicked_from = telegram.group(-3002)
    moved = telegram.group(-3003)
    refused = telegram.user(3004)
    flaky = telegram.user(3005)
    telegram.fail("sendMessage", 403, "Forbidden: user is deactivated", chat_id=gone.id)
    telegram.fail(
        "sendMessage", 403, "Forbidden: bot was kicked from the group chat", chat_id=-3002
    )
    telegram.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=refused.id)
    telegram.fail("sendMessage", 502, "Bad Gateway", chat_id=flaky.id, times=10)
    supergroup = telegram.migrate(moved.id, -1003003)
    delivery_id = await services.outbox.create(
        "broadcast",
        [text("Họp thôn")],
        [(gone.id, 0), (kicked_from.id, 0), (moved.id, 0), (refused.id, 0), (flaky.id, 0),
         (-3999, 0)],
    )  # fmt: skip
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)

    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.sent == 1
    assert progress.failed == {
        "deactivated": 1, "kicked": 1, "bad_request": 1, "network": 1, "chat_not_found": 1,
    }  # fmt: skip
    assert received(telegram, supergroup.id) == ["Họp thôn"]
    assert await services.chats.moved_to(moved.id) == supergroup.id
    assert await services.chats.inactive([gone.id, -3002, -3999, refused.id, flaky.id]) == {
        gone.id, -3002, -3999,
    }  # fmt: skip
    # A 5xx is retried a bounded number of times: the first try and three retries.
    assert len(telegram.calls_to("sendMessage", chat_id=flaky.id)) == 4
    detail = await services.db.fetchone(
        "SELECT detail FROM outbox WHERE chat_id = ?", (refused.id,)
    )
    assert detail is not None
    assert detail[0] == "Message is too long"


async def test_keyboards_and_photos_go_out_as_written(
    telegram: FakeTelegram, services: Services
) -> None:
    """A message's keyboard and a photo with a caption survive the outbox's JSON."""
    lan = telegram.user(4001)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đọc tin", callback_data="a:1")]])
    photo_id = "AgACAgIAAxkBAAI"  # a file id Telegram gave earlier
    telegram.files[photo_id] = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    delivery_id = await services.outbox.create(
        "broadcast",
        [
            outgoing("send_message", text="<b>Tin</b> &amp; ảnh", parse_mode="HTML",
                     reply_markup=keyboard),
        ],
        [(lan.id, 0)],
    )  # fmt: skip
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    (message,) = telegram.chat_messages(lan.id)
    assert message["text"] == "Tin & ảnh"
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:1"
    assert telegram.html_of(lan.id, message["message_id"]) == "<b>Tin</b> &amp; ảnh"


async def test_pause_resume_cancel_and_progress(tmp_path: Path, telegram: FakeTelegram) -> None:
    """A job can be paused, resumed and cancelled; progress and time left are readable."""
    settings = make_settings(tmp_path, telegram, SEND_RATE_PER_SECOND=20)
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        engine = await services.start_delivery()
        ids = list(range(5001, 5201))
        for user_id in ids:
            telegram.user(user_id)
        delivery_id = await services.outbox.create("broadcast", [text("Lịch tiêm")], [
            (i, 0) for i in ids
        ])  # fmt: skip
        assert delivery_id is not None
        engine.wake()
        await until(lambda: sends(telegram) >= 20)
        estimate = await engine.estimate(delivery_id)
        assert estimate is not None
        assert estimate.progress.total == 200
        assert 0 < estimate.progress.sent < 200
        # 19 a second for the ~180 left: roughly ten seconds, never zero.
        assert estimate.seconds_left is not None
        assert 5 < estimate.seconds_left < 15

        assert await engine.pause(delivery_id)

        async def in_flight() -> int:
            row = await services.db.fetchone(
                "SELECT COUNT(*) FROM outbox WHERE delivery_id = ? AND state = 'sending'",
                (delivery_id,),
            )
            assert row is not None
            return int(row[0])

        async with asyncio.timeout(30):  # what was in flight lands
            while await in_flight():  # noqa: ASYNC110 - the state is the database's
                await asyncio.sleep(0.02)
        paused_at = len(telegram.calls_to("sendMessage"))
        await asyncio.sleep(0.6)
        assert len(telegram.calls_to("sendMessage")) == paused_at
        paused = await engine.estimate(delivery_id)
        assert paused is not None
        assert paused.progress.state == "paused"
        assert paused.seconds_left is None

        assert await engine.resume(delivery_id)
        await until(lambda: sends(telegram) >= paused_at + 10)
        assert await engine.cancel(delivery_id)
        assert not await engine.resume(delivery_id)

        async def closed() -> bool:
            row = await services.db.fetchone(
                "SELECT summary FROM deliveries WHERE delivery_id = ?", (delivery_id,)
            )
            return row is not None and row[0] is not None

        async with asyncio.timeout(30):
            while not await closed():  # noqa: ASYNC110 - the state is the database's
                await asyncio.sleep(0.02)
        final = await services.outbox.progress(delivery_id)
        assert final is not None
        assert final.state == "cancelled"
        sent = len(telegram.calls_to("sendMessage"))
        assert final.sent == sent
        assert final.skipped == {"cancelled": 200 - sent}
        assert final.pending == 0
        await asyncio.sleep(0.5)
        assert len(telegram.calls_to("sendMessage")) == sent
    finally:
        await services.close()


async def test_same_dedupe_key_makes_one_job(services: Services) -> None:
    """Creating the same alert twice (say, after a restart) writes it once."""
    first = await services.outbox.create("alert", [text("a")], [(1, 0)], dedupe_key="alert:9")
    second = await services.outbox.create("alert", [text("a")], [(1, 0)], dedupe_key="alert:9")
    assert first is not None
    assert second is None


async def test_scheduled_job_waits_for_its_time(telegram: FakeTelegram, services: Services) -> None:
    """A job with a start time sends nothing before it."""
    lan = telegram.user(6001)
    start_at = time.time() + 1.0
    due = time.monotonic() + 1.0  # the same moment on the stand-in's clock
    delivery_id = await services.outbox.create(
        "broadcast", [text("Sáng mai")], [(lan.id, 0)], start_at=start_at
    )
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    assert received(telegram, lan.id) == ["Sáng mai"]
    (sent,) = telegram.calls_to("sendMessage", chat_id=lan.id)
    assert sent.at >= due - 0.05  # not before its time, however busy the machine


async def test_private_chats_get_one_bulk_message_a_second(
    telegram: FakeTelegram, services: Services
) -> None:
    """Two jobs for the same resident: the second waits its turn instead of meeting a 429."""
    lan = telegram.user(7001)
    telegram.enforce_flood_limits(FloodLimits(overall_per_second=300))
    first = await services.outbox.create("alert", [text("Một")], [(lan.id, 0)])
    second = await services.outbox.create("alert", [text("Hai")], [(lan.id, 0)])
    assert first is not None
    assert second is not None
    services.delivery.wake()
    await wait_done(services, second)
    calls = telegram.calls_to("sendMessage", chat_id=lan.id)
    assert [call.status for call in calls] == [200, 200]
    assert calls[1].at - calls[0].at >= 0.95
    assert received(telegram, lan.id) == ["Một", "Hai"]


async def test_flood_control_keeps_the_window() -> None:
    """Never more than the budget started or answered within one second."""
    clock = [0.0]
    flood = FloodControl(5, reserve=1, clock=lambda: clock[0])
    for chat in (1, 2, 3, 4):
        await flood.acquire(chat)
    assert flood.in_flight == 4
    assert flood.chat_wait(4) == pytest.approx(1.0)  # in flight: the next waits
    waiter = asyncio.create_task(flood.acquire(5))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # four in flight: the fifth slot is the replies' reserve
    flood.release(1)
    await asyncio.sleep(0.01)
    assert not waiter.done()  # answered at t = 0, its slot stays taken until t = 1
    clock[0] = 1.0
    await asyncio.wait_for(waiter, 2)
    flood.note(6)  # a reply to chat 6, at t = 1
    assert flood.chat_wait(6) == pytest.approx(1.0)
    assert flood.chat_wait(1) == 0.0  # answered at t = 0: free again at t = 1
    assert flood.busy_chat(6)
    assert not flood.busy_chat(3)
    flood.pause_chat(-5, 7)
    assert flood.chat_wait(-5) == pytest.approx(7)


def test_replies_alone_do_not_pile_up() -> None:
    """A day of replies and no broadcast: only the last window's sends are remembered."""
    clock = [0.0]
    flood = FloodControl(30, clock=lambda: clock[0])
    for second in range(3 * 3600):  # three hours, a reply a second to one of 50 residents
        clock[0] = float(second)
        flood.note(1000 + second % 50)
    # White-box on purpose: memory is what is tested. The last second's sends, and per chat
    # its sends of the last minute (one or two here), not 216 each.
    assert len(flood._answered) == 1
    assert len(flood._chats) == 50
    assert max(len(sent) for sent in flood._chats.values()) <= 2
    assert flood.chat_wait(1000 + (3 * 3600 - 1) % 50) == pytest.approx(1.0)


async def test_my_chat_member_marks_the_chat(telegram: FakeTelegram, tmp_path: Path) -> None:
    """Blocking the bot marks the resident unreachable at once; unblocking restores them."""
    application = build_application(make_settings(tmp_path, telegram))
    async with running(application):
        services = application.bot_data.services
        lan = telegram.user(8001)
        await telegram.member_status(lan, "kicked")
        await settled(telegram, application)
        assert await services.chats.reason(lan.id) == "blocked"
        await telegram.member_status(lan, "member")
        await settled(telegram, application)
        assert await services.chats.is_active(lan.id)


async def test_reply_during_a_large_send_is_quick(telegram: FakeTelegram, tmp_path: Path) -> None:
    """A resident's /start does not wait behind 2,000 messages going out: fewer than two
    seconds' worth of them (at Telegram's 30 a second) go out before its answer. Counted in
    messages, not seconds, so a slow machine slows both sides alike."""
    telegram.enforce_flood_limits()  # Telegram's own numbers: 30 a second
    application = build_application(make_settings(tmp_path, telegram))
    async with running(application):
        services = application.bot_data.services
        ids = list(range(20_001, 22_001))
        for user_id in ids:
            telegram.user(user_id)
        delivery_id = await services.outbox.create(
            "broadcast", [text("Bão số 5")], [(i, 0) for i in ids]
        )
        assert delivery_id is not None
        services.delivery.wake()
        await until(lambda: sends(telegram) >= 60)  # two seconds of sending
        lan = telegram.user(1)
        asked = telegram.mark()
        reply = await telegram.reply_to(lan, "/start")
        assert reply.ok
        answered = next(i for i, call in enumerate(telegram.calls) if call is reply)
        ahead = [c for c in telegram.calls[asked:answered] if c.method == "sendMessage"]
        assert len(ahead) < 60, f"{len(ahead)} bulk messages went out before the reply"
        assert await services.delivery.cancel(delivery_id)
    # The replies' reserve held: Telegram never had to refuse a message.
    assert telegram.flood_violations == 0


async def test_finished_jobs_lose_their_rows_after_a_month_not_their_counts(
    telegram: FakeTelegram, services: Services
) -> None:
    lan = telegram.user(9001)
    delivery_id = await services.outbox.create("alert", [text("Tin")], [(lan.id, 0)])
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    assert await services.outbox.prune(31) == 0
    later = datetime.now(UTC) + timedelta(days=32)
    assert await services.outbox.prune(31, now=later) == 1
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert (progress.total, progress.sent, progress.state) == (1, 1, "done")


class _LockedDatabase(logging.Handler):
    """A second connection that holds the database's write lock (as a backup or a second
    process would) from a given moment until the engine logs a line containing `until`."""

    def __init__(self, path: Path, until: str) -> None:
        super().__init__(logging.WARNING)
        self.until = until
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.held = False
        self.released = False  # (`lock` and `release` are logging.Handler's own)
        self.warnings: list[str] = []

    def seize(self, call: object = None) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        self.held = True

    def free(self) -> None:
        if self.held:
            self.connection.execute("ROLLBACK")
            self.held, self.released = False, True

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())
        if self.until in record.getMessage():
            self.free()


@pytest.mark.parametrize(
    ("until", "kept"),
    [
        ("could not record", False),  # released after the first refusal: the retry records it
        ("refused to record", True),  # held through every retry: kept in memory, recorded later
    ],
)
async def test_a_sent_message_is_never_sent_again_when_the_database_is_locked(
    telegram: FakeTelegram, services: Services, until: str, kept: bool
) -> None:
    """'database is locked' while recording a send: each recipient still gets it exactly once."""
    ids = [4101, 4102, 4103]
    for user_id in ids:
        telegram.user(user_id)
    engine = services.delivery
    engine.record_delays = (0.05, 0.1)
    # Give up waiting for the lock after 0.1 s rather than SQLite's 5 s: the same refusal, sooner.
    await services.db.conn.execute("PRAGMA busy_timeout = 100")
    lock = _LockedDatabase(services.db.path, until)
    logger = logging.getLogger("bot.delivery")
    logger.addHandler(lock)
    try:
        # The lock is taken when Telegram has accepted the first message, before its answer
        # reaches the engine: the engine's record of that send is refused.
        telegram.before_answering("sendMessage", lock.seize)
        delivery_id = await services.outbox.create(
            "broadcast", [text("Thông báo họp thôn")], [(i, 0) for i in ids]
        )
        assert delivery_id is not None
        engine.wake()
        await until_released(lock)
        await wait_done(services, delivery_id, timeout=30)
    finally:
        lock.free()
        logger.removeHandler(lock)
        lock.connection.close()
    for user_id in ids:
        assert received(telegram, user_id) == ["Thông báo họp thôn"], user_id
    assert len(telegram.calls_to("sendMessage")) == len(ids)
    rows = await services.db.fetchall(
        "SELECT state, COUNT(*), COUNT(sent_message_id) FROM outbox WHERE delivery_id = ?"
        " GROUP BY state",
        (delivery_id,),
    )
    assert [tuple(row) for row in rows] == [("sent", 3, 3)]
    assert any("refused to record" in line for line in lock.warnings) is kept, lock.warnings


async def until_released(lock: _LockedDatabase) -> None:
    await until(lambda: lock.released, timeout=20)
