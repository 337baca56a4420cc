"""The interaction log and its counts, with a controlled clock, in Asia/Ho_Chi_Minh (UTC+7)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage.stats
from storage import AuditLog, Database
from storage.articles import ArticleReader
from storage.channels import DEFAULT_CHANNEL
from storage.stats import (
    FLUSH_AFTER,
    FLUSH_AT,
    Counter,
    Interaction,
    InteractionLog,
    mask_numbers,
    user_key,
)
from tests.conftest import TZ

OPEN = Interaction("article_open", 7, "private")
LOG_TABLES = ("interactions", "daily_counts", "daily_users", "stats_residents", "audit", "searches")
# The audit log names staff by their Telegram id on purpose (staff are accountable for what they
# do); only its rows about residents, their refused attempts at staff commands, must hold no id.
LOG_ROWS = {"audit": "action = 'refused' AND json_extract(detail, '$.role') = 'resident'"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "stats.sqlite3") as database:
        yield database


@pytest.fixture
async def stats(db: Database) -> InteractionLog:
    return await InteractionLog.open(db, TZ, None)


async def record_at(stats: InteractionLog, *moments: str, user: int = 501) -> None:
    for moment in moments:
        await stats.record(OPEN, user, now=utc(moment))


async def test_year_boundary_is_local_midnight(stats: InteractionLog) -> None:
    # 16:59Z on 31 December is 23:59 in Hanoi: still 2026. 17:00Z is 00:00 on 1 January 2027.
    await record_at(stats, "2026-12-31T16:59:00", "2026-12-31T17:00:00")
    just_before = await stats.counter(utc("2026-12-31T16:59:30"))
    assert just_before == Counter(total=2, today=1, week=1, month=1, year=1, residents=1)
    # 1 January 2027 is a Friday: the week began on Monday 28 December, in 2026.
    new_year = await stats.counter(utc("2027-01-01T01:00:00"))
    assert new_year == Counter(total=2, today=1, week=2, month=1, year=1, residents=1)


async def test_week_starts_on_monday_at_local_midnight(stats: InteractionLog) -> None:
    # Sunday 29 November 2026, 23:59 in Hanoi; then Monday 30 November, 00:00.
    await record_at(stats, "2026-11-23T02:00:00", "2026-11-29T16:59:00", "2026-11-29T17:00:00")
    sunday = await stats.counter(utc("2026-11-29T16:59:59"))
    assert sunday == Counter(total=3, today=1, week=2, month=2, year=2, residents=1)
    monday = await stats.counter(utc("2026-11-30T03:00:00"))
    assert monday == Counter(total=3, today=1, week=1, month=3, year=3, residents=1)


async def test_month_boundary_is_local_midnight(stats: InteractionLog) -> None:
    # Monday 30 November 2026, 23:59 in Hanoi; then Tuesday 1 December, 00:00: same week.
    await record_at(stats, "2026-11-30T16:59:00", "2026-11-30T17:00:00", "2026-11-30T17:05:00")
    december = await stats.counter(utc("2026-12-01T02:00:00"))
    assert december == Counter(total=3, today=2, week=3, month=2, year=3, residents=1)


async def test_midnight_utc_is_not_midnight_in_hanoi(stats: InteractionLog) -> None:
    # 23:30Z and 00:30Z fall on different UTC dates but the same Hanoi morning.
    await record_at(stats, "2026-06-14T23:30:00", "2026-06-15T00:30:00")
    morning = await stats.counter(utc("2026-06-15T01:00:00"))
    assert morning.today == 2


async def test_residents_are_counted_once_each(stats: InteractionLog) -> None:
    await record_at(stats, "2026-06-15T01:00:00", "2026-06-16T01:00:00", user=1)
    await record_at(stats, "2026-06-16T02:00:00", user=2)
    await stats.record(Interaction("membership"), None, now=utc("2026-06-16T03:00:00"))
    counter = await stats.counter(utc("2026-06-16T04:00:00"))
    assert (counter.total, counter.today, counter.residents) == (4, 3, 2)


async def test_no_raw_telegram_id_is_stored(db: Database, stats: InteractionLog) -> None:
    telegram_id = 5555123456
    await stats.record(Interaction("cmd:search", None, "private", 77), telegram_id)
    await stats.searched(77, "lịch tiêm chủng", 0)
    await stats.record(Interaction("vote", 1, "group"), telegram_id)
    await stats.record(OPEN, telegram_id)
    await stats.flush()  # events are queued for a moment before they are written
    assert await _cells_holding(db, telegram_id) == []
    assert await _cells_holding(db, stats.key_of(telegram_id))  # the scan does find what is there


def test_the_key_is_a_truncated_hmac() -> None:
    assert user_key(b"k", 42) == user_key(b"k", 42) != user_key(b"other", 42)
    assert len(user_key(b"k", 42)) == 32


async def test_a_persons_key_is_computed_once(
    stats: InteractionLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every update is logged under its sender's key: the HMAC is computed once per person."""
    computed: list[tuple[int, str]] = []
    real = storage.stats.user_key

    def counting(secret: bytes, user_id: int, channel: str = DEFAULT_CHANNEL) -> str:
        computed.append((user_id, channel))
        return real(secret, user_id, channel)

    monkeypatch.setattr(storage.stats, "user_key", counting)
    first = stats.key_of(4242)
    assert stats.key_of(4242) == first
    assert stats.key_of(4242, "zalo") != first  # the same number on another channel: another
    assert stats.key_of(4242, "zalo") == stats.key_of(4242, "zalo")
    assert computed == [(4242, "telegram"), (4242, "zalo")]


async def test_the_generated_key_is_kept(db: Database) -> None:
    first = await InteractionLog.open(db, TZ, None)
    second = await InteractionLog.open(db, TZ, None)
    assert first.key_of(42) == second.key_of(42)
    configured = await InteractionLog.open(db, TZ, "a configured secret")
    assert configured.key_of(42) != first.key_of(42)


async def test_forget_keeps_totals_and_removes_the_key(db: Database, stats: InteractionLog) -> None:
    await record_at(stats, "2026-06-15T01:00:00", "2026-06-16T01:00:00", user=1)
    await record_at(stats, "2026-06-16T02:00:00", user=2)
    refusal = {"command": "newpoll", "role": "resident"}
    await AuditLog(db).record(stats.key_of(1), "refused", refusal)
    await AuditLog(db).record(stats.key_of(2), "refused", refusal)
    now = utc("2026-06-16T04:00:00")
    before = await stats.counter(now)
    forgotten = await stats.forget(1)
    assert forgotten.events == 2
    assert await stats.counter(now) == before
    assert await _cells_holding(db, stats.key_of(1)) == []
    assert await _cells_holding(db, stats.key_of(2))
    assert ("audit", "actor") in await _cells_holding(db, stats.key_of(2))
    assert await _logged_total(db) == before.total
    assert [e.actor for e in await AuditLog(db).recent(2)] == [stats.key_of(2), None]


async def test_retention_deletes_old_events_but_not_their_counts(
    db: Database, stats: InteractionLog
) -> None:
    now = utc("2027-06-15T03:00:00")
    await stats.record(OPEN, 1, now=now - timedelta(days=401))
    await stats.record(OPEN, 1, now=now - timedelta(days=399))
    before = await stats.counter(now)
    assert await stats.prune(400, now=now) == 1
    assert await stats.counter(now) == before
    row = await db.fetchone("SELECT COUNT(*) FROM interactions")
    assert row is not None
    assert row[0] == 1


async def test_staff_figures(stats: InteractionLog) -> None:
    now = utc("2026-11-26T05:00:00")  # Thursday
    await stats.record(OPEN, 1, now=now)
    await stats.record(OPEN, 2, now=now)
    await stats.record(Interaction("article_open", 9), 1, now=now - timedelta(days=5))
    for update_id, user in ((5, 3), (6, 1), (7, 2)):
        await stats.record(
            Interaction("cmd:search", update_id=update_id), user, now=now - timedelta(days=20)
        )
        await stats.searched(update_id, "Cấp Nước", 0, now=now - timedelta(days=20))
    await stats.record(Interaction("vote", 1), 2, now=now)
    figures = await stats.staff_figures(now)
    assert (figures.dau, figures.wau, figures.mau) == (2, 2, 3)
    assert figures.top_week == [(7, 2)]  # the opening of 9 was the Saturday before
    assert figures.top_month == [(7, 2), (9, 1)]
    assert figures.not_found == [("cấp nước", 3)]
    assert (figures.votes_month, figures.voters_month) == (1, 1)
    assert len(figures.daily) == 30
    assert figures.daily[-1][1:] == (3, 2)


async def test_staff_see_searches_three_residents_typed_with_numbers_masked(
    stats: InteractionLog,
) -> None:
    now = utc("2026-11-26T05:00:00")
    update_ids = iter(range(100, 200))

    async def search(user: int, words: str, results: int = 0) -> None:
        update_id = next(update_ids)
        await stats.record(Interaction("message", update_id=update_id), user, now=now)
        await stats.searched(update_id, words, results, now=now)

    await search(11, "Nguyễn Văn An 0912 345 678")  # one resident's name and phone number
    await search(11, "Nguyễn Văn An 0912 345 678")
    await search(11, "Nguyễn Văn An 0912 345 678")
    for user, words in ((1, "Cấp nước"), (2, "CẤP NƯỚC"), (3, "cấp nước"), (1, "cấp nước")):
        await search(user, words)
    # The same question with different numbers (any script) is one, and shows no number.
    for user, words in (
        (4, "học phí lớp 10"),
        (5, "Học phí lớp 079.123.456"),
        (6, "học phí lớp ١٢"),
    ):
        await search(user, words)
    await search(7, "lịch tiêm", results=4)  # found something: not a "not found"
    await search(8, "lịch tiêm", results=4)
    await search(9, "lịch tiêm", results=4)
    figures = await stats.staff_figures(now)
    assert figures.not_found == [("cấp nước", 4), ("học phí lớp ***", 3)]


def test_mask_numbers() -> None:
    assert mask_numbers("gọi 0912 345 678 hoặc 0912-345-678 nhé") == "gọi *** hoặc *** nhé"
    assert mask_numbers("CCCD 079123456789, số nhà 12/3") == "CCCD ***, số nhà ***"
    assert mask_numbers("x²٣３ y") == "x*** y"
    assert mask_numbers("không có số") == "không có số"


async def test_forget_removes_the_words_a_resident_searched(
    db: Database, stats: InteractionLog
) -> None:
    now = utc("2026-11-26T05:00:00")
    for update_id, user, words in ((1, 11, "Nguyễn Văn An 0912345678"), (2, 12, "cấp nước")):
        await stats.record(Interaction("message", update_id=update_id), user, now=now)
        await stats.searched(update_id, words, 0, now=now)
    reader = ArticleReader(db)
    kept = await reader.save_search("Nguyễn Văn An", '"nguyen"', now, stats.key_of(11))
    other = await reader.save_search("cấp nước", '"cap"', now, stats.key_of(12))
    await stats.forget(11)
    assert await _cells_holding(db, "Nguyễn") == []
    assert await _cells_holding(db, "0912345678") == []
    assert await reader.saved_search(kept) is None
    assert await reader.saved_search(other) == ("cấp nước", '"cap"')
    assert await stats.counter(now) == Counter(2, 2, 2, 2, 2, residents=2)


async def _cells_holding(db: Database, value: int | str) -> list[tuple[str, str]]:
    """(table, column) of every log cell equal to `value` or holding it as text."""
    found = []
    for table in LOG_TABLES:
        columns = [row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")]
        rows_about_residents = LOG_ROWS.get(table, "1")
        for column in columns:
            rows = await db.fetchall(
                f"SELECT 1 FROM {table} WHERE ({rows_about_residents})"
                f" AND ({column} = ? OR CAST({column} AS TEXT) LIKE ?)",
                (value, f"%{value}%"),
            )
            if rows:
                found.append((table, column))
    return found


async def _logged_total(db: Database) -> int:
    row = await db.fetchone("SELECT SUM(interactions) FROM daily_counts")
    assert row is not None
    return int(row[0])


async def _logged(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM interactions")
    assert row is not None
    return int(row[0])


async def test_events_are_written_in_batches_soon_after(
    db: Database, stats: InteractionLog
) -> None:
    await stats.record(OPEN, 1)
    await stats.record(OPEN, 2)
    assert await _logged(db) == 0  # queued: the reply did not wait for a write
    async with asyncio.timeout(30):  # written by itself, with no reply waiting for it
        while await _logged(db) != 2:  # noqa: ASYNC110 - the state is the database's
            await asyncio.sleep(FLUSH_AFTER / 10)


async def test_a_full_queue_is_written_at_once(db: Database, stats: InteractionLog) -> None:
    for user in range(FLUSH_AT):
        await stats.record(OPEN, user)
    assert await _logged(db) == FLUSH_AT


async def test_closing_writes_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    async with await Database.open(path) as db:
        log = await InteractionLog.open(db, TZ, "k")
        await log.record(OPEN, 1)
        await log.close()
    async with await Database.open(path) as db:
        assert await _logged(db) == 1


async def test_a_number_sqlite_cannot_hold_costs_no_one_their_interactions(
    db: Database, stats: InteractionLog
) -> None:
    now = utc("2026-11-26T05:00:00")
    for user in (1, 2, 3):
        await stats.record(OPEN, user, now=now)
    # Out of SQLite's 64 bits: such a value made the whole batch, everyone's, fail.
    await stats.record(Interaction("article_open", 2**64, "private", 10**20), 4, now=now)
    await stats.record(Interaction("vote", -(2**63) - 1, "private", 2**63), 5, now=now)
    await stats.searched(2**63, "x", 0, now=now)  # nothing to mark, and no error
    assert await stats.counter(now) == Counter(5, 5, 5, 5, 5, residents=5)
    rows = await db.fetchall("SELECT kind, target, update_id FROM interactions ORDER BY event_id")
    assert [tuple(row) for row in rows][3:] == [("article_open", None, None), ("vote", None, None)]


async def test_a_row_the_database_refuses_costs_only_itself(
    db: Database, stats: InteractionLog, caplog: pytest.LogCaptureFixture
) -> None:
    # Whatever makes one row fail (here a trigger of the test's own), the others are written.
    await db.write(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON interactions WHEN NEW.kind = 'poison'"
        " BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
    )
    now = utc("2026-11-26T05:00:00")
    await stats.record(OPEN, 1, now=now)
    await stats.record(Interaction("poison"), 2, now=now)
    await stats.record(OPEN, 3, now=now)
    with caplog.at_level(logging.ERROR, logger="storage.stats"):
        await stats.flush()
    assert await stats.counter(now) == Counter(2, 2, 2, 2, 2, residents=2)
    assert [r.getMessage() for r in caplog.records] == [
        "left out one poison interaction the log could not store: poisoned row"
    ]
