"""Bulk sending at Telegram's flood limits: our delivery engine against a plain loop.

Run: python -m benchmarks.delivery [--recipients 3000]

The stand-in Bot API on loopback enforces Telegram's limits (30 messages a second overall, one a
second per private chat: a 429 with retry_after beyond them) and, every 1,000 messages, refuses
every message for one second (429, retry_after 1), as Telegram does when it is busy. Both
senders get the same recipients and the same closures:

- ours: the bot's services with the delivery engine (outbox in SQLite, FloodControl pacing);
- baseline: a plain loop over `send_message` behind python-telegram-bot's `AIORateLimiter`
  (30 a second overall, its defaults otherwise), counting what the loop could not send.

Printed per sender: sustained rate (messages Telegram accepted over the time from the first to
the last, less the seconds Telegram was closed: no sender can use those; the plain rate is
printed too), recipients reached, lost, duplicated, and the 429s met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.cli import opt_in_to_ptb_timedelta
from bot.config import load_settings
from bot.context import Services
from bot.delivery import outgoing
from bot.i18n import Catalog
from bot.standins.telegram import FakeTelegram, FloodLimits

BURST_EVERY = 1000  # messages between two closures the stand-in adds on its own
CLOSED = 1.0  # seconds each closure lasts
TEXT = "<b>Thông báo</b>: lịch cắt điện ngày mai, từ 7 giờ đến 11 giờ."


@dataclass
class Result:
    name: str
    rate: float  # over the time Telegram was open
    plain_rate: float  # over the whole time
    reached: int
    lost: int
    duplicates: int
    refused_429: int
    seconds: float


async def bursts(telegram: FakeTelegram, stop: asyncio.Event) -> None:
    """Every BURST_EVERY accepted messages, Telegram refuses everything for CLOSED seconds."""
    next_at = BURST_EVERY
    while not stop.is_set():
        if _accepted(telegram) >= next_at:
            telegram.busy(CLOSED)
            next_at += BURST_EVERY
        await asyncio.sleep(0.05)


def _accepted(telegram: FakeTelegram) -> int:
    return sum(1 for call in telegram.calls if call.method == "sendMessage" and call.ok)


def measure(name: str, telegram: FakeTelegram, ids: list[int], seconds: float) -> Result:
    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    accepted = [call for call in sends if call.ok]
    span = accepted[-1].at - accepted[0].at if len(accepted) > 1 else 0.0
    got = Counter(call.chat_id for call in accepted)
    closed = CLOSED * ((len(accepted) - 1) // BURST_EVERY)
    return Result(
        name=name,
        rate=(len(accepted) - 1) / (span - closed) if span > closed else 0.0,
        plain_rate=(len(accepted) - 1) / span if span else 0.0,
        reached=len(got),
        lost=sum(1 for user_id in ids if user_id not in got),
        duplicates=sum(count - 1 for count in got.values()),
        refused_429=sum(1 for call in sends if call.status == 429),
        seconds=seconds,
    )


async def ours(ids: list[int], folder: Path) -> Result:
    async with FakeTelegram() as telegram:
        for user_id in ids:
            telegram.user(user_id)
        telegram.enforce_flood_limits(FloodLimits())
        settings = load_settings(
            env_file=None,
            BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.url,
            DATABASE_PATH=folder / "ours.sqlite3",
        )
        services = Services(settings, Catalog.load("vi"))
        await services.open()
        stop = asyncio.Event()
        extra = asyncio.create_task(bursts(telegram, stop))
        try:
            engine = await services.start_delivery()
            started = time.monotonic()
            delivery_id = await services.outbox.create(
                "broadcast",
                [outgoing("send_message", text=TEXT, parse_mode="HTML")],
                [(user_id, 0) for user_id in ids],
            )
            assert delivery_id is not None
            engine.wake()
            while True:
                progress = await services.outbox.progress(delivery_id)
                assert progress is not None
                if progress.state == "done":
                    break
                await asyncio.sleep(0.2)
            seconds = time.monotonic() - started
        finally:
            stop.set()
            await extra
            await services.close()
        return measure("delivery engine", telegram, ids, seconds)


async def baseline(ids: list[int]) -> Result:
    async with FakeTelegram() as telegram:
        for user_id in ids:
            telegram.user(user_id)
        telegram.enforce_flood_limits(FloodLimits())
        bot = ExtBot(
            telegram.token,
            base_url=f"{telegram.url}/bot",
            rate_limiter=AIORateLimiter(overall_max_rate=30, overall_time_period=1),
        )
        stop = asyncio.Event()
        extra = asyncio.create_task(bursts(telegram, stop))
        try:
            async with bot:
                started = time.monotonic()
                for user_id in ids:
                    # A plain loop has nowhere to put a message that failed: it is lost.
                    with contextlib.suppress(TelegramError):
                        await bot.send_message(user_id, TEXT, parse_mode="HTML")
                seconds = time.monotonic() - started
        finally:
            stop.set()
            await extra
        return measure("plain loop + AIORateLimiter", telegram, ids, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=3000)
    args = parser.parse_args()
    opt_in_to_ptb_timedelta(os.environ)
    # The baseline logs each 429 it gives up on with a traceback; the counts say the same.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    logging.getLogger("bot.delivery").setLevel(logging.ERROR)
    ids = list(range(1_000_001, 1_000_001 + args.recipients))
    with tempfile.TemporaryDirectory() as folder:
        results = [asyncio.run(ours(ids, Path(folder))), asyncio.run(baseline(ids))]
    print(f"{args.recipients} recipients; stand-in limit 30/s overall, 1/s per chat; "
          f"closed for {CLOSED:g} s every {BURST_EVERY} messages")  # fmt: skip
    for r in results:
        print(
            f"{r.name:28} {r.rate:5.2f} msg/s sustained while open "
            f"({r.plain_rate:5.2f} over all {r.seconds:5.1f} s); "
            f"reached {r.reached}, lost {r.lost}, duplicated {r.duplicates}, "
            f"429s met {r.refused_429}"
        )
    ratio = results[0].rate / results[1].rate if results[1].rate else float("inf")
    print(f"engine rate / baseline rate: {ratio:.2f}")
    target = 28.5
    verdict = "met" if results[0].rate >= target and results[0].lost == 0 else "NOT met"
    print(f"target {target}/s with nothing lost: {verdict}")


if __name__ == "__main__":
    main()
