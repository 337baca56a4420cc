"""The delivery engine on Zalo: the window, Zalo's pace, Zalo's errors told apart, and one job
reaching both channels — through the real client against the stand-in OA API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.context import Services
from bot.delivery import outgoing
from bot.i18n import Catalog
from bot.standins.telegram import FakeTelegram
from bot.standins.zalo import MESSAGE_PATH, FakeZalo
from bot.zalo.delivery import ZaloPace
from bot.zalo.held import take_held
from bot.zalo.messages import ZaloMessage
from bot.zalo.messages import outgoing as zalo_outgoing
from storage.subscriptions import Subscription
from tests.conftest import make_settings
from tests.test_delivery import wait_done
from tests.test_zalo_chat import add_article, pusher

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def services(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> AsyncIterator[Services]:
    """Both channels' senders in one started engine; Zalo's pace fast for the tests."""
    settings = make_settings(
        tmp_path, telegram, SEND_RATE_PER_SECOND=300, ZALO_SEND_RATE_PER_SECOND=50,
        **zalo.settings(),
    )  # fmt: skip
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    engine = await services.start_delivery()
    engine.retry_delays = (0.2, 0.4, 0.8)
    try:
        yield services
    finally:
        await services.close()


async def resident(services: Services, zalo: FakeZalo, user_id: str, *, wrote: bool = True) -> int:
    """A follower of the OA, known to the bot by a local number; `wrote`: their window is open."""
    zalo.follower(user_id)
    assert services.zalo is not None
    person = await services.zalo.people.person(user_id)
    if wrote:
        await services.zalo.people.inbound(person)
    return person


def zalo_text(words: str) -> dict[str, object]:
    return zalo_outgoing(ZaloMessage(words))


def texts(zalo: FakeZalo, user_id: str) -> list[str]:
    return [message.text for message in zalo.messages_to(user_id)]


async def test_one_job_reaches_both_channels_inside_the_window_only(
    telegram: FakeTelegram, zalo: FakeZalo, services: Services
) -> None:
    """Telegram's chats and Zalo's residents in one job: each gets it once; Zalo's residents
    outside their window are skipped ("window") without a request; ids may be alike."""
    tg = [telegram.user(i).id for i in (1, 2, 3)]
    inside = [f"80000000000000000{i:02d}" for i in range(1, 4)]
    outside = [f"80000000000000000{i:02d}" for i in range(11, 13)]
    near = [await resident(services, zalo, uid) for uid in inside]
    far = [await resident(services, zalo, uid, wrote=False) for uid in outside]
    assert set(near) & set(tg)  # person 1 on Zalo and chat 1 on Telegram are two recipients
    delivery_id = await services.outbox.create(
        "broadcast",
        [outgoing("send_message", text="Họp thôn tối nay"), zalo_text("Họp thôn tối nay")],
        [("telegram", chat, 0) for chat in tg] + [("zalo", p, 1) for p in near + far],
    )
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)

    for chat in tg:
        assert [m["text"] for m in telegram.chat_messages(chat)] == ["Họp thôn tối nay"]
    for uid in inside:
        assert texts(zalo, uid) == ["Họp thôn tối nay"]
    message_calls = zalo.calls_to(MESSAGE_PATH)
    assert {call.user_id for call in message_calls} == set(inside)  # none outside the window
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert (progress.total, progress.sent, progress.skipped) == (8, 6, {"window": 2})
    # Zalo's message id is a string: kept beside Telegram's numbers.
    rows = await services.db.fetchall(
        "SELECT channel, COUNT(sent_message_id) AS numbers, COUNT(sent_message_ref) AS refs"
        " FROM outbox WHERE state = 'sent' GROUP BY channel ORDER BY channel"
    )
    assert [tuple(row) for row in rows] == [("telegram", 3, 0), ("zalo", 0, 3)]
    assert services.zalo is not None
    for person in near:
        got = await services.zalo.people.get(person)
        assert got is not None
        assert got.sent_in_window == 1


async def test_zalo_errors_are_told_apart(zalo: FakeZalo, services: Services) -> None:
    """Not following → gone; quota, package, window, night → skipped with the reason and the
    window's message given back; a 5xx → retried, bounded; a bad message → failed."""
    cases = {
        "unfollowed": -213, "quota": -211, "package": -224, "window": -230, "night": -234,
        "flaky": 502, "down": 503, "refused": -201,
    }  # fmt: skip
    people: dict[str, int] = {}
    for n, (name, code) in enumerate(cases.items()):
        uid = f"81000000000000000{n:02d}"
        people[name] = await resident(services, zalo, uid)
        zalo.fail(code, user_id=uid, times=10 if name == "down" else 1)
    fine = await resident(services, zalo, "8100000000000000099")
    delivery_id = await services.outbox.create(
        "alert", [zalo_text("Tin mới")], [(p, 0) for p in [*people.values(), fine]],
        channel="zalo",
    )  # fmt: skip
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)

    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.sent == 2  # the one without a fault, and "flaky" on its second try
    assert progress.failed == {"unfollowed": 1, "network": 1, "zalo_refused": 1}
    assert progress.skipped == {"quota": 1, "package": 1, "window": 1, "night": 1}
    assert progress.blocked == 1  # not following the OA is being gone
    assert services.zalo is not None
    store = services.zalo.people
    gone = await store.get(people["unfollowed"])
    assert gone is not None
    assert not gone.following
    for name in ("quota", "package", "window", "night", "refused"):
        person = await store.get(people[name])
        assert person is not None
        assert person.sent_in_window == 0, name  # given back
    down = zalo.calls_to(MESSAGE_PATH)
    assert sum(1 for c in down if c.user_id == "8100000000000000005") == 2  # flaky: 5xx, then ok
    assert sum(1 for c in down if c.user_id == "8100000000000000006") == 4  # 1 + 3 retries
    # Skipped rows are never tried again: a second look at the outbox sends nothing.
    calls = len(zalo.calls)
    services.delivery.wake()
    await wait_done(services, delivery_id)
    assert len(zalo.calls) == calls


async def test_unfollowed_or_forgotten_residents_are_not_sent_to(
    zalo: FakeZalo, services: Services
) -> None:
    """Known not to follow the OA (an unfollow event): skipped without a request."""
    assert services.zalo is not None
    left = await resident(services, zalo, "8200000000000000001")
    await services.zalo.people.following(left, False)
    used_up = await resident(services, zalo, "8200000000000000002")
    for _ in range(services.settings.ZALO_WINDOW_MESSAGES):
        assert await services.zalo.people.take_window(
            used_up, services.zalo.window, services.zalo.window_messages
        )
    delivery_id = await services.outbox.create(
        "digest", [zalo_text("Bản tin")], [(left, 0), (used_up, 0)], channel="zalo"
    )
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.skipped == {"unfollowed": 1, "window": 1}
    assert zalo.calls_to(MESSAGE_PATH) == []


async def test_rate_limited_backs_off_and_sends_each_once(
    zalo: FakeZalo, services: Services
) -> None:
    """-32 holds every Zalo send for a while; the rows go again without losing an attempt."""
    ids = [f"83000000000000000{i:02d}" for i in range(6)]
    people = [await resident(services, zalo, uid) for uid in ids]
    zalo.fail(-32, times=3, path=MESSAGE_PATH)
    delivery_id = await services.outbox.create(
        "alert", [zalo_text("Cắt điện")], [(p, 0) for p in people], channel="zalo"
    )
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    for uid in ids:
        assert texts(zalo, uid) == ["Cắt điện"]
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.sent == 6
    assert sum(1 for call in zalo.calls_to(MESSAGE_PATH) if call.error == -32) == 3


async def test_zalo_pace_keeps_to_its_setting(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    """ZALO_SEND_RATE_PER_SECOND=5 against a stand-in that refuses a sixth in a second: none is
    refused, and 15 messages take at least two seconds."""
    settings = make_settings(tmp_path, telegram, ZALO_SEND_RATE_PER_SECOND=5, **zalo.settings())
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        await services.start_delivery()
        ids = [f"84000000000000000{i:02d}" for i in range(15)]
        people = [await resident(services, zalo, uid) for uid in ids]
        zalo.enforce_rate(5)
        started = time.monotonic()
        delivery_id = await services.outbox.create(
            "alert", [zalo_text("Tin mới")], [(p, 0) for p in people], channel="zalo"
        )
        assert delivery_id is not None
        services.delivery.wake()
        await wait_done(services, delivery_id)
        took = time.monotonic() - started
    finally:
        await services.close()
    assert all(call.error == 0 for call in zalo.calls_to(MESSAGE_PATH))
    assert len(zalo.sent) == 15
    assert took >= 2.0


async def test_zalo_pace_below_one_a_second() -> None:
    """A rate under one a second spaces sends by its inverse (here two seconds)."""
    now = [0.0]
    pace = ZaloPace(0.5, clock=lambda: now[0])
    assert pace.budget == 0.5
    await pace.acquire(1)
    pace.release(1)  # answered at 0.0: the next slot is free from 2.0
    now[0] = 1.9
    waiting = asyncio.create_task(pace.acquire(2))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    now[0] = 2.0
    await asyncio.wait_for(waiting, timeout=5)
    pace.release(2)


async def test_a_slow_channel_never_holds_the_other_back(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    """An urgent Zalo job at one message a second, then a Telegram job: Telegram's rows go at
    Telegram's pace meanwhile, each channel in its own loop."""
    settings = make_settings(
        tmp_path, telegram, SEND_RATE_PER_SECOND=300, ZALO_SEND_RATE_PER_SECOND=1,
        **zalo.settings(),
    )  # fmt: skip
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        await services.start_delivery()
        people = [await resident(services, zalo, f"86000000000000000{i:02d}") for i in range(8)]
        slow = await services.outbox.create(
            "broadcast", [zalo_text("Khẩn")], [(p, 0) for p in people], channel="zalo",
            priority=1,
        )  # fmt: skip
        chats = [telegram.user(i).id for i in range(5001, 5101)]
        quick = await services.outbox.create(
            "digest", [outgoing("send_message", text="Bản tin")], [(c, 0) for c in chats]
        )
        assert slow is not None
        assert quick is not None
        services.delivery.wake()
        await wait_done(services, quick, timeout=20)
        zalo_progress = await services.outbox.progress(slow)
        assert zalo_progress is not None
        assert zalo_progress.pending > 0  # Zalo's job, first in line, is still going
        assert sum(1 for c in telegram.calls_to("sendMessage") if c.ok) == 100
    finally:
        await services.close()


async def test_token_expiring_midway_is_refreshed_once_and_nothing_is_lost(
    zalo: FakeZalo, services: Services
) -> None:
    """The access token expires while a job is being sent: the client refreshes it once (-220),
    every resident gets the message once, and none is counted as failed."""
    ids = [f"88000000000000000{i:02d}" for i in range(30)]
    people = [await resident(services, zalo, uid) for uid in ids]
    zalo.slow(0.2, times=5)  # the first sends are in flight when the token dies
    delivery_id = await services.outbox.create(
        "alert", [zalo_text("Tin mới")], [(p, 0) for p in people], channel="zalo"
    )
    assert delivery_id is not None
    services.delivery.wake()
    await zalo.wait_until(lambda: len(zalo.sent) >= 3)
    refreshes = zalo.refreshes  # (the first send fetched the first access token)
    zalo.expire_access_tokens()
    await wait_done(services, delivery_id)
    for uid in ids:
        assert texts(zalo, uid) == ["Tin mới"]
    assert zalo.refreshes == refreshes + 1
    assert any(call.error == -220 for call in zalo.calls_to(MESSAGE_PATH))
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert (progress.sent, progress.failed, progress.skipped) == (30, {}, {})


async def test_a_refused_refresh_token_fails_rows_after_bounded_retries(
    zalo: FakeZalo, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """The OA's authorisation was revoked: each row is tried a bounded number of times, then
    fails with "token", its window's message given back; the log says it once, not per row."""
    ids = [f"89500000000000000{i:02d}" for i in range(4)]
    people = [await resident(services, zalo, uid) for uid in ids]
    zalo.revoke_access_tokens()
    zalo.refuse_refresh()
    delivery_id = await services.outbox.create(
        "alert", [zalo_text("Tin mới")], [(p, 0) for p in people], channel="zalo"
    )
    assert delivery_id is not None
    services.delivery.wake()
    await wait_done(services, delivery_id)
    progress = await services.outbox.progress(delivery_id)
    assert progress is not None
    assert progress.failed == {"token": 4}
    assert zalo.sent == []
    assert services.zalo is not None
    for person in people:
        got = await services.zalo.people.get(person)
        assert got is not None
        assert got.sent_in_window == 0
    said = [r for r in caplog.records if "access token even after a refresh" in r.getMessage()]
    assert len(said) == 1


async def test_an_alert_skipped_for_the_window_is_brought_with_the_next_message(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    """Two articles come at once for Lan, who takes alerts and has one message of her window
    left: both alerts are written for her (she is inside it), the engine sends one and skips
    the other. Her bookmark moved past both when they were written, so the skipped row itself
    must bring its article with her next message (bot.zalo.held.take_held), once."""
    settings = make_settings(tmp_path, telegram, ZALO_SEND_RATE_PER_SECOND=50, **zalo.settings())
    services = Services(settings, Catalog.load("vi"))
    await services.open()
    try:
        lan = await resident(services, zalo, "8300000000000000001")
        await services.subscriptions.save(Subscription(lan, "instant", channel="zalo"))
        written = await services.db.write(
            "INSERT INTO categories (name) VALUES ('Tin tức') RETURNING category_id"
        )
        category = int(written.rows[0]["category_id"])
        titles = ("Lịch tiếp công dân tháng 12", "Kế hoạch ra quân vệ sinh môi trường")
        for title in titles:
            await add_article(services, title, category)
        await services.db.write(  # as if the OA had written to her all but once since her message
            "UPDATE zalo_people SET sent_in_window = ? WHERE person_id = ?",
            (settings.ZALO_WINDOW_MESSAGES - 1, lan),
        )
        jobs = await pusher(services).announce()  # written while no engine runs: both rows
        assert len(jobs) == 2
        await services.start_delivery()
        for job in jobs:
            await wait_done(services, job)
        [sent] = texts(zalo, "8300000000000000001")
        [skipped] = [title for title in titles if title not in sent]
        held = await take_held(services.db, lan)
        assert [article.title for article in held] == [skipped]
        assert await take_held(services.db, lan) == []  # brought once
    finally:
        await services.close()
