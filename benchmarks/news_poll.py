"""What a poll costs when the site has nothing new, against a first (backfill) poll.

Run: python -m benchmarks.news_poll [--polls 20]

Starts the stand-in website on loopback, reads it once into a fresh database (the baseline:
every list and article page downloaded and stored), then polls it again `--polls` times with
nothing new. Prints time, requests and bytes per poll, and the ratio to the first poll.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bot.news.fetch import Fetcher
from bot.news.reader import NewsReader, Source
from bot.standins.website import FakePortal
from storage import Database
from tests.fixtures import PORTAL

SOURCES = ("/", "/tin-tuc-su-kien", "/thong-bao")


async def measure(polls: int) -> None:
    async with FakePortal(PORTAL) as portal, httpx.AsyncClient(timeout=10) as client:
        with tempfile.TemporaryDirectory() as folder:
            async with await Database.open(Path(folder) / "bench.sqlite3") as db:
                reader = NewsReader(
                    db,
                    Fetcher(client),
                    [Source(portal.url_for(path)) for path in SOURCES],
                    ZoneInfo("Asia/Ho_Chi_Minh"),
                )
                start = time.perf_counter()
                first = await reader.run()
                first_seconds = time.perf_counter() - start
                first_requests = len(portal.requests)
                portal.requests.clear()
                timings = []
                for _ in range(polls):
                    start = time.perf_counter()
                    report = await reader.run()
                    timings.append(time.perf_counter() - start)
                    if report.new or report.updated:
                        raise SystemExit("the site changed during the benchmark")
                statuses = {r.status for r in portal.requests}
                per_poll = len(portal.requests) / polls
    median = statistics.median(timings)
    print(
        f"first poll (backfill): {len(first.new)} articles, {first_requests} requests, "
        f"{first_seconds * 1000:.0f} ms"
    )
    print(
        f"poll with nothing new: {per_poll:.0f} requests (statuses {sorted(statuses)}), "
        f"median {median * 1000:.1f} ms over {polls} polls"
    )
    print(
        f"nothing-new poll / backfill poll: {median / first_seconds:.3f} of the time, "
        f"{per_poll / first_requests:.3f} of the requests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    asyncio.run(measure(parser.parse_args().polls))


if __name__ == "__main__":
    main()
