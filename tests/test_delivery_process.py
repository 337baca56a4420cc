"""A large send survives `kill -9`: the bot as a process, killed midway and started again."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.standins.telegram import FakeTelegram, FloodLimits
from storage import Database
from storage.outbox import OutboxStore
from tests.test_delivery import until
from tests.test_process import bot_env

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

    second = await start_bot(telegram, database, log)
    try:
        state = f"SELECT state FROM deliveries WHERE delivery_id = {delivery_id}"
        await until(lambda: query(database, state) == [("done",)], timeout=60, step=0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()

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
