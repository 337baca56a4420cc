"""A large send survives `kill -9`: the bot as a process, killed midway and started again, on
Telegram alone, on Telegram and Zalo in one process, and on Zalo alone."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.standins.telegram import FakeTelegram, FloodLimits
from bot.standins.zalo import FakeZalo
from bot.zalo.messages import ZaloMessage
from bot.zalo.messages import outgoing as zalo_outgoing
from storage import Database
from storage.outbox import OutboxStore
from storage.zalo import ZaloPeople
from tests.test_delivery import until
from tests.test_process import bot_env
from tests.test_zalo_process import bot_run

RECIPIENTS = 1500
RATE = 150  # messages a second: the whole send takes about ten seconds


async def start_bot(
    telegram: FakeTelegram, database: Path, log: Path, **settings: str
) -> asyncio.subprocess.Process:
    """`python -m bot run`, returned once it is ready."""
    mark = telegram.mark()
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=database.parent,
            env=bot_env(
                BOT_TOKEN=telegram.token,
                TELEGRAM_API_URL=telegram.url,
                DATABASE_PATH=str(database),
                SEND_RATE_PER_SECOND=str(RATE),
                **settings,
            ),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    try:
        await telegram.wait_for("setMyCommands", after=mark, timeout=30, language_code="en")
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the bot's database as another process would."""
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


async def finish_after_restart(
    telegram: FakeTelegram,
    database: Path,
    log: Path,
    delivery_id: int | None,
    timeout: float,
    **settings: str,
) -> None:
    """Start the bot again and wait until the job it resumes is done; then stop it."""
    second = await start_bot(telegram, database, log, **settings)
    try:
        state = f"SELECT state FROM deliveries WHERE delivery_id = {delivery_id}"
        await until(lambda: query(database, state) == [("done",)], timeout=timeout, step=0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()


@pytest.mark.timeout(120)
async def test_send_survives_sigkill(telegram: FakeTelegram, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    ids = list(range(100_001, 100_001 + RECIPIENTS))
    for user_id in ids:
        telegram.user(user_id)
    telegram.enforce_flood_limits(FloodLimits(overall_per_second=RATE))
    async with await Database.open(database) as db:
        delivery_id = await OutboxStore(db).create(
            "broadcast",
            [{"method": "send_message", "params": {"text": "Lịch cắt điện ngày mai"}}],
            [(user_id, 0) for user_id in ids],
        )

    def delivered() -> int:
        return sum(1 for call in telegram.calls_to("sendMessage") if call.ok)

    first = await start_bot(telegram, database, log)
    try:
        await until(lambda: delivered() >= RECIPIENTS // 3, timeout=60, step=0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    in_flight = query(database, "SELECT COUNT(*) FROM outbox WHERE state = 'sending'")[0][0]
    assert isinstance(in_flight, int)
    sent_before = delivered()
    assert sent_before < RECIPIENTS  # killed midway indeed

    await finish_after_restart(telegram, database, log, delivery_id, 60)

    got = Counter(call.chat_id for call in telegram.calls_to("sendMessage") if call.ok)
    assert set(got) == set(ids)  # every recipient got the message
    duplicates = sum(count - 1 for count in got.values())
    print(
        f"\nkilled after {sent_before} of {RECIPIENTS} sends; {in_flight} were in flight; "
        f"{duplicates} recipients got the message twice; "
        f"{telegram.flood_violations} sends met a 429"
    )
    assert duplicates <= in_flight
    rows = query(database, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
    assert rows == [("sent", RECIPIENTS)]
    assert (
        "were being sent when the bot stopped" in log.read_text(encoding="utf-8") or not in_flight
    )


ZALO_RECIPIENTS = 150
# Zalo's pace: its rows take about fifteen seconds, so that however busy the machine, Telegram's
# first third goes out (the moment of the kill) well before Zalo's last row.
ZALO_RATE = 10


@pytest.mark.timeout(150)
async def test_both_channels_survive_sigkill(
    telegram: FakeTelegram, zalo: FakeZalo, tmp_path: Path
) -> None:
    """One job for Telegram's chats and Zalo's residents, the bot killed midway on both and
    started again: everyone gets it, nobody twice but what was in flight, on either channel."""
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    chats = list(range(100_001, 100_001 + RECIPIENTS))
    for chat_id in chats:
        telegram.user(chat_id)
    telegram.enforce_flood_limits(FloodLimits(overall_per_second=RATE))
    residents = [f"87{n:017d}" for n in range(ZALO_RECIPIENTS)]
    async with await Database.open(database) as db:
        people = ZaloPeople(db)
        persons = []
        for uid in residents:
            zalo.follower(uid)
            person = await people.person(uid)
            await people.inbound(person)  # each wrote to the OA lately: their window is open
            persons.append(person)
        delivery_id = await OutboxStore(db).create(
            "broadcast",
            [
                {"method": "send_message", "params": {"text": "Lịch cắt điện ngày mai"}},
                zalo_outgoing(ZaloMessage("Lịch cắt điện ngày mai")),
            ],
            [("telegram", chat_id, 0) for chat_id in chats]
            + [("zalo", person, 1) for person in persons],
        )

    def on_telegram() -> int:
        return sum(1 for call in telegram.calls_to("sendMessage") if call.ok)

    zalo_settings = {
        **zalo.settings(),
        "ZALO_SEND_RATE_PER_SECOND": str(ZALO_RATE),
        "ZALO_WEBHOOK_LISTEN": "127.0.0.1:0",  # any free port: tests run side by side
    }
    first = await start_bot(telegram, database, log, **zalo_settings)
    try:
        await until(
            lambda: on_telegram() >= RECIPIENTS // 3 and len(zalo.sent) >= ZALO_RECIPIENTS // 10,
            timeout=60, step=0.01,
        )  # fmt: skip
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    sending = "SELECT channel, COUNT(*) FROM outbox WHERE state = 'sending' GROUP BY channel"
    in_flight = dict(query(database, sending))
    before = (on_telegram(), len(zalo.sent))
    assert before[0] < RECIPIENTS  # killed midway indeed, on both channels
    assert before[1] < ZALO_RECIPIENTS

    await finish_after_restart(telegram, database, log, delivery_id, 90, **zalo_settings)

    got = Counter(call.chat_id for call in telegram.calls_to("sendMessage") if call.ok)
    assert set(got) == set(chats)  # every chat got the message
    on_zalo = Counter(message.user_id for message in zalo.sent)
    assert set(on_zalo) == set(residents)  # every resident too
    assert {message.text for message in zalo.sent} == {"Lịch cắt điện ngày mai"}
    twice = (sum(n - 1 for n in got.values()), sum(n - 1 for n in on_zalo.values()))
    print(
        f"\nkilled after {before[0]} of {RECIPIENTS} Telegram and {before[1]} of "
        f"{ZALO_RECIPIENTS} Zalo sends; in flight {in_flight}; got it twice: {twice}"
    )
    assert twice[0] <= in_flight.get("telegram", 0)
    assert twice[1] <= in_flight.get("zalo", 0)
    rows = query(database, "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state")
    assert sorted(rows) == [("telegram", "sent", RECIPIENTS), ("zalo", "sent", ZALO_RECIPIENTS)]


@pytest.mark.timeout(150)
async def test_zalo_alone_survives_sigkill(zalo: FakeZalo, tmp_path: Path) -> None:
    """The bot on Zalo alone (no BOT_TOKEN), killed midway through a job and started again:
    every resident gets it, nobody twice but what was in flight."""
    database = tmp_path / "bot.sqlite3"
    residents = [f"89{n:017d}" for n in range(ZALO_RECIPIENTS)]
    async with await Database.open(database) as db:
        people = ZaloPeople(db)
        persons = []
        for uid in residents:
            zalo.follower(uid)
            person = await people.person(uid)
            await people.inbound(person)
            persons.append(person)
        delivery_id = await OutboxStore(db).create(
            "alert", [zalo_outgoing(ZaloMessage("Tin mới: lịch tiêm chủng"))],
            [(person, 0) for person in persons], channel="zalo",
        )  # fmt: skip
        # A Telegram subscriber from before: with Telegram off, their message waits, unfailed.
        await OutboxStore(db).create(
            "alert", [{"method": "send_message", "params": {"text": "Tin mới"}}], [(100_001, 0)]
        )
    env = {
        **zalo.settings(),
        "DATABASE_PATH": str(database),
        "ZALO_SEND_RATE_PER_SECOND": str(ZALO_RATE),
    }
    async with bot_run(tmp_path, "first", **env) as first:
        await until(lambda: len(zalo.sent) >= ZALO_RECIPIENTS // 3, timeout=60, step=0.01)
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()
    in_flight = query(database, "SELECT COUNT(*) FROM outbox WHERE state = 'sending'")[0][0]
    assert isinstance(in_flight, int)
    before = len(zalo.sent)
    assert before < ZALO_RECIPIENTS  # killed midway indeed

    async with bot_run(tmp_path, "second", **env) as second:
        state = f"SELECT state FROM deliveries WHERE delivery_id = {delivery_id}"
        await until(lambda: query(database, state) == [("done",)], timeout=90, step=0.1)
        await second.stop()

    on_zalo = Counter(message.user_id for message in zalo.sent)
    assert set(on_zalo) == set(residents)
    twice = sum(n - 1 for n in on_zalo.values())
    print(f"\nkilled after {before} of {ZALO_RECIPIENTS}; {in_flight} in flight; {twice} twice")
    assert twice <= in_flight
    rows = query(database, "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state")
    assert sorted(rows) == [("telegram", "pending", 1), ("zalo", "sent", ZALO_RECIPIENTS)]
    untried = "SELECT attempts, reason FROM outbox WHERE channel = 'telegram'"
    assert query(database, untried) == [(0, None)]  # never tried: nothing to retry or fail
