"""/cases and a case's view for staff with 10,000 residents' reports stored.

Run: python -m benchmarks.cases [--cases 10000] [--repeat 2000]

Fills a fresh database (migrations applied, as the bot makes it) with `--cases` reports over
two years: one in ten still open (received, assigned or reopened), the rest answered, closed,
duplicate or spam; a third with photos, a fifth with two internal notes. Then times, on the
bot's own services (the handlers' own functions, everything but the Telegram request), each
against a bare query measured in the same run:

- the first page of /cases (the counts of the filter, the page's eight cases, the view and its
  keyboard as Telegram gets it) against a bare SELECT of eight open cases' ids by deadline;
- a case's view (the case with its photos, its notes, its topic, the staff's names, the view
  and its keyboard) against a bare SELECT of one case's row by id;
- for information, a page of one topic's overdue cases, and the figures of /staffstats.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.stats import timed
from bot.app import build_application
from bot.callbacks import CaseList
from bot.config import load_settings
from bot.keyboard import markup
from handlers import casework

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
STAFF = [2001, 2002, 2003, 2004, 2005]
OPEN_SHARE = 0.1
TARGET = 50.0  # ms at p99: a staff member's tap feels immediate


def rows(count: int) -> Iterator[tuple[object, ...]]:
    """`count` plausible cases, oldest first, with their numbers per year."""
    rng = random.Random(19)
    start = NOW - timedelta(days=730)
    step = (NOW - start) / count
    seqs: dict[int, int] = {}
    for n in range(count):
        created = start + step * n
        seqs[created.year] = seqs.get(created.year, 0) + 1
        deadline = (created + timedelta(days=14)).date().isoformat()
        assignee = rng.choice(STAFF) if rng.random() < 0.8 else None
        if rng.random() < OPEN_SHARE:
            state = "assigned" if assignee else "received"
            answered = None
        else:
            state = rng.choice(["answered", "closed", "closed", "closed", "duplicate", "spam"])
            answered = (created + timedelta(hours=rng.randrange(2, 400))).isoformat()
        rating = rng.choice([None, "satisfied", "unsatisfied"]) if state == "closed" else None
        yield (
            created.year, seqs[created.year], "telegram", 100_000 + n % 3000, 100_000 + n % 3000,
            "vi", 1 + n % 6, f"Phản ánh số {n}: đường thôn {n % 12} hư hỏng, xin xã xem giúp.",
            15.5 + rng.random() / 10 if rng.random() < 0.3 else None, 108.4, state,
            n if state == "duplicate" and n > 1 else None, assignee, deadline,
            "Xã đã xử lý." if answered else None, assignee if answered else None, rating,
            created.isoformat(), answered, created.isoformat(),
        )  # fmt: skip


async def main(count: int, repeat: int) -> None:
    """Fill, then time each view against its bare query, and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            env_file=None,
            BOT_TOKEN="123456789:AAHbenchmarkTOKENabcdefghijklmnopqrst",
            DATABASE_PATH=Path(folder) / "bench.sqlite3",
            ADMIN_IDS="1001",
        )
        application = build_application(settings)
        services = application.bot_data.services
        await services.open()
        try:
            db = services.db
            for user_id in STAFF:
                await services.staff.add(user_id, f"Cán bộ {user_id}", 1001)
            begin = time.perf_counter()
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO cases (year, seq, channel, chat_id, person_id, language,"
                    " topic_id, description, latitude, longitude, state, duplicate_of,"
                    " assignee, deadline, answer, answered_by, rating, created_at, answered_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?)",
                    rows(count),
                )
                await conn.execute(
                    "INSERT INTO case_photos (case_id, position, file_ref)"
                    " SELECT case_id, 1, 'AgACAgUAAxkBAAIB' || case_id FROM cases"
                    " WHERE case_id % 3 = 0"
                )
                await conn.execute(
                    "INSERT INTO case_notes (case_id, author, body, at)"
                    " SELECT case_id, 2001, 'Đã xem hiện trường', created_at FROM cases"
                    " WHERE case_id % 5 = 0 UNION ALL SELECT case_id, 2002, 'Chờ đội giao"
                    " thông', created_at FROM cases WHERE case_id % 5 = 0"
                )
            filled = time.perf_counter() - begin
            opened = await db.fetchone(
                "SELECT count(*) AS n FROM cases WHERE state IN ('received', 'assigned')"
            )
            assert opened is not None
            print(f"{count:,} cases over 2 years, {opened['n']:,} open; filled in {filled:.1f} s")
            # A case with photos and notes, open and overdue: the largest view there is.
            chosen = await db.fetchone(
                "SELECT case_id FROM cases WHERE state = 'assigned' AND case_id % 15 = 0"
                " ORDER BY case_id LIMIT 1"
            )
            assert chosen is not None
            case_id = int(chosen["case_id"])
            context = application.context_types.context(application)

            async def cases_page() -> None:
                view = await casework.cases_view(services, "vi", CaseList())
                assert view is not None
                markup(view).to_dict()  # type: ignore[union-attr]

            async def overdue_page() -> None:
                view = await casework.cases_view(services, "vi", CaseList("3", "late"))
                assert view is not None

            async def case_page() -> None:
                case = await services.cases.get(case_id)
                assert case is not None
                view = await casework.case_page(context, "vi", case)  # type: ignore[arg-type]
                markup(view).to_dict()  # type: ignore[union-attr]

            list_base = await timed(
                lambda: db.fetchall(
                    "SELECT case_id FROM cases WHERE state IN ('received', 'assigned',"
                    " 'reopened') ORDER BY deadline LIMIT 8"
                ),
                repeat,
            )
            listing = await timed(cases_page, repeat)
            one_base = await timed(
                lambda: db.fetchone("SELECT * FROM cases WHERE case_id = ?", (case_id,)), repeat
            )
            one = await timed(case_page, repeat)
            overdue = await timed(overdue_page, max(repeat // 4, 20))
            since = NOW - timedelta(days=92)
            figures = await timed(
                lambda: services.casework.store.figures(since, settings.tz), max(repeat // 20, 20)
            )
        finally:
            await services.close()

    def line(name: str, figures: tuple[float, float]) -> str:
        return f"{name:<44} p50 {figures[0]:7.3f} ms   p99 {figures[1]:7.3f} ms"

    print(line("baseline: SELECT 8 open cases' ids", list_base))
    print(line("/cases, first page (queries + view + keyboard)", listing))
    print(f"  /cases / baseline, p50: {listing[0] / list_base[0]:.1f}x")
    print(line("baseline: SELECT one case by id", one_base))
    print(line("a case's view (queries + view + keyboard)", one))
    print(f"  case view / baseline, p50: {one[0] / one_base[0]:.1f}x")
    print(line("/cases, one topic's overdue", overdue))
    print(line("figures of 3 months (/staffstats)", figures))
    worst = max(listing[1], one[1])
    print("target met" if worst < TARGET else "target NOT met", f"(p99 < {TARGET:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.cases, arguments.repeat))
