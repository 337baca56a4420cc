"""/stats with a long interaction log, and the cost of recording one interaction.

Run: python -m benchmarks.stats [--events 1000000] [--repeat 2000]

Fills a fresh database with `--events` interactions spread over 400 days and 5,000 residents
(one executemany in one transaction; the triggers keep the daily counts as the bot does), then
times, on the bot's own connection and each against a baseline measured in the same run:
- the /stats query (`InteractionLog.counter`) against a bare `SELECT 1` round trip;
- recording one interaction (`InteractionLog.record`: the insert, its indexes and triggers)
  against a bare one-row insert into a table without index or trigger;
- for information, the staff figures (`/staffstats`), which do read the last 30 days of the log.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from storage import Database
from storage.stats import Interaction, InteractionLog

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
DAYS = 400
RESIDENTS = 5000
KINDS = ["cmd:latest"] * 3 + ["article_open"] * 4 + ["search", "vote", "inline_query"]
TARGET = 50.0  # ms, /stats at 1,000,000 events


def events(log: InteractionLog, count: int) -> Iterator[tuple[object, ...]]:
    """`count` plausible interactions, oldest first."""
    rng = random.Random(9)
    keys = [log.key_of(100_000 + n) for n in range(RESIDENTS)]
    start = NOW - timedelta(days=DAYS)
    step = (NOW - start) / count
    for n in range(count):
        at = start + step * n
        kind = rng.choice(KINDS)
        target = rng.randrange(1, 3000) if kind in ("article_open", "vote") else None
        words = "lịch tiếp dân" if kind == "search" else None
        results = rng.randrange(0, 5) if kind == "search" else None
        yield (
            at.isoformat(timespec="seconds"),
            log.local_day(at).isoformat(),
            kind,
            target,
            "private",
            rng.choice(keys),
            n,
            words,
            results,
        )


async def timed(run: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    """Median and 99th percentile of `repeat` runs, in milliseconds."""
    for _ in range(20):  # warm the page cache and the statement cache
        await run()
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - begin) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=100)[98]


async def main(count: int, repeat: int) -> None:
    """Fill, then time each query against its baseline, and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        async with await Database.open(Path(folder) / "bench.sqlite3") as db:
            log = await InteractionLog.open(db, TZ, "benchmark key")
            begin = time.perf_counter()
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO interactions (at, day, kind, target, chat_type, user_key,"
                    " update_id, words, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    events(log, count),
                )
            filled = time.perf_counter() - begin
            await db.write("CREATE TABLE bench_plain (at TEXT, kind TEXT)")
            size = (Path(folder) / "bench.sqlite3").stat().st_size / 1e6
            print(f"{count:,} interactions over {DAYS} days, {RESIDENTS:,} residents")
            print(f"filled in {filled:.1f} s (one transaction, triggers on); file {size:.0f} MB")

            select_one = await timed(lambda: db.fetchone("SELECT 1"), repeat)
            counter = await timed(lambda: log.counter(NOW), repeat)
            counted = await log.counter(NOW)
            assert counted.total == count, counted
            event = Interaction("article_open", 12, "private")
            plain = await timed(
                lambda: db.write(
                    "INSERT INTO bench_plain (at, kind) VALUES (?, ?)", (NOW.isoformat(), "x")
                ),
                repeat,
            )
            record = await timed(lambda: log.record(event, 4242, now=NOW), repeat)
            staff = await timed(lambda: log.staff_figures(NOW), max(repeat // 100, 5))

    def line(name: str, figures: tuple[float, float]) -> str:
        return f"{name:<42} p50 {figures[0]:7.3f} ms   p99 {figures[1]:7.3f} ms"

    print(line("baseline: SELECT 1 round trip", select_one))
    print(line("/stats counter", counter))
    print(f"  /stats over baseline, p50: {counter[0] - select_one[0]:.3f} ms (target p99 < 50 ms)")
    print(line("baseline: bare one-row INSERT", plain))
    print(line("record one interaction", record))
    print(f"  recording over baseline, p50: {record[0] - plain[0]:.3f} ms")
    print(line("staff figures (reads 30 days of the log)", staff))
    print("target met" if counter[1] < TARGET else "target NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.repeat))
