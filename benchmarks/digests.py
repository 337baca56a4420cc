"""Preparing digests: 10,000 subscribers over 500 new articles, before anything is sent.

Run: python -m benchmarks.digests [--subscribers 10000] [--articles 500]

A fresh database holds 500 articles over six categories and 10,000 daily subscribers at 07:00:
a third take all news, the rest follow one to three categories, in Vietnamese or English,
a few in groups. `Pusher.digests` then runs for the 07:00 slot: it reads the subscribers and the
new articles, renders each distinct digest once, and writes the outbox job (a row per
subscriber) with every bookmark in one transaction. Measured: wall time and peak Python memory
(tracemalloc) of that call. Baseline, in the same run: writing the same number of outbox rows
for one shared message (`OutboxStore.create`, what any broadcast costs), the least a digest run
must do.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.delivery import outgoing
from bot.i18n import Catalog
from bot.push import Pusher
from storage import Database
from storage.outbox import OutboxStore

CATEGORIES = ["Tin tức – Sự kiện", "Thông báo", "Phổ biến pháp luật", "Kinh tế – Đời sống",
              "Y tế – Giáo dục", "An ninh trật tự"]  # fmt: skip
TOKEN = "123456789:AAHbenchmarkTOKENabcdefghijklmnopqrst"


async def fill(db: Database, subscribers: int, articles: int) -> None:
    rng = random.Random(5)
    sunday = datetime(2026, 11, 22, 13, 0, tzinfo=UTC).isoformat()
    async with db.transaction() as conn:
        for index, name in enumerate(CATEGORIES, start=1):
            await conn.execute(
                "INSERT INTO categories (category_id, name) VALUES (?, ?)", (index, name)
            )
        for chat in range(1, subscribers + 1):
            chat_id = -chat if chat % 50 == 0 else 1_000_000 + chat  # one in fifty is a group
            every = chat % 3 == 0
            await conn.execute(
                "INSERT INTO subscriptions (chat_id, mode, hour, all_categories, language,"
                " created_at, updated_at, digest_cursor, digest_slot)"
                " VALUES (?, 'daily', 7, ?, ?, ?, ?, 0, ?)",
                (chat_id, int(every), "en" if chat % 10 == 0 else "vi", sunday, sunday, sunday),
            )
            if not every:
                for category in rng.sample(range(1, 7), rng.randint(1, 3)):
                    await conn.execute(
                        "INSERT INTO subscription_categories (chat_id, category_id) VALUES (?, ?)",
                        (chat_id, category),
                    )
        start = datetime(2026, 11, 22, tzinfo=UTC)
        for n in range(1, articles + 1):
            title = f"Thông báo số {n} của UBND xã về kế hoạch triển khai công việc tháng {n % 12}"
            when = (start + timedelta(minutes=n)).isoformat(timespec="seconds")
            category = 1 + n % len(CATEGORIES)
            await conn.execute(
                "INSERT INTO articles (article_id, url, title, title_key, published_at,"
                " category_id, content_hash, first_seen_at, updated_at, checked_at, announced)"
                " VALUES (?, ?, ?, ?, ?, ?, 'x', ?, ?, ?, 1)",
                (n, f"https://xa.example.vn/tin/{n}", title, title.lower(), when, category,
                 when, when, when),
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO article_categories (article_id, category_id) VALUES (?, ?)",
                (n, category),
            )


async def measure(folder: Path, subscribers: int, articles: int) -> None:
    settings = load_settings(env_file=None, BOT_TOKEN=TOKEN, DATABASE_PATH=folder / "d.sqlite3")
    async with await Database.open(settings.DATABASE_PATH) as db:
        await fill(db, subscribers, articles)
        pusher = Pusher(db, Catalog.load("vi"), settings, "tinxa_bot", lambda: None)
        slot = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội

        tracemalloc.start()
        started = time.perf_counter()
        run = await pusher.digests(slot)
        ours = time.perf_counter() - started
        _, ours_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        outbox = OutboxStore(db)
        body = outgoing("send_message", text="<b>Thông báo</b> chung", parse_mode="HTML")
        tracemalloc.start()
        started = time.perf_counter()
        await outbox.create("broadcast", [body], [(1_000_000 + n, 0) for n in range(subscribers)])
        base = time.perf_counter() - started
        _, base_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        bodies = await db.fetchone(
            "SELECT COUNT(*) FROM delivery_messages WHERE delivery_id = ?", (run.delivery_id,)
        )
    assert bodies is not None
    print(f"{subscribers:,} daily subscribers, {articles} new articles, 6 categories")
    print(
        f"digest run: {ours * 1000:,.0f} ms, peak {ours_peak / 2**20:.1f} MiB; "
        f"{run.recipients:,} digests written, {bodies[0]} distinct messages rendered"
    )
    print(
        f"baseline (outbox rows for one shared message): {base * 1000:,.0f} ms, "
        f"peak {base_peak / 2**20:.1f} MiB"
    )
    print(f"digest run / baseline: {ours / base:.2f}x time, {ours_peak / base_peak:.2f}x memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(Path(folder), args.subscribers, args.articles))


if __name__ == "__main__":
    main()
