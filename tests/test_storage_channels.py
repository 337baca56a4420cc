"""Storage by (channel, chat): migration 0016, ids that never collide across channels, rows read by
name, updates through an allow-list, and /forget as one transaction over every table."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import Database
from storage.audit import AuditLog
from storage.broadcasts import UPDATABLE, BroadcastStore
from storage.chats import ChatStore
from storage.migrate import bundled_migrations
from storage.outbox import OutboxStore
from storage.polls import PollStore
from storage.privacy import forget
from storage.stats import Interaction, InteractionLog, user_key
from storage.subscriptions import DigestReader, Subscription, SubscriptionStore
from storage.users import UserStore
from tests.conftest import TZ

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MESSAGE = {"method": "sendMessage", "params": {"text": "Tin mới"}}

# Every table 0016 rebuilt or extended, with the columns it had before (the new one is `channel`).
CHANNELLED = {
    "subscriptions": "chat_id, mode, hour, weekday, all_categories, language, created_at,"
    " updated_at, digest_cursor, digest_slot",
    "subscription_categories": "chat_id, category_id",
    "chats": "chat_id, active, reason, changed_at",
    "chat_moves": "old_chat_id, new_chat_id, moved_at",
    "outbox": "outbox_id, delivery_id, chat_id, message_key, state, attempts, not_before,"
    " sent_message_id, reason, detail, updated_at",
    "poll_votes": "poll_id, user_id, option_id, seq, voted_at",
    "users": "user_id, language, first_seen, last_seen",
    "interactions": "event_id, at, day, kind, target, chat_type, user_key, update_id, words,"
    " results",
}

# What a bot at schema 13 held: two subscribers (one with chosen categories), an unreachable
# chat, a group that moved, a job half sent, votes, logged events (one of them a search).
PREVIOUS_ROWS = """
INSERT INTO categories (category_id, name) VALUES (1, 'Thông báo'), (2, 'Tin tức');
INSERT INTO subscriptions (chat_id, mode, hour, weekday, all_categories, language, created_at,
                           updated_at, digest_cursor, digest_slot)
VALUES (101, 'daily', 7, 0, 1, 'vi', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00',
        5, '2026-02-01T00:00:00+00:00'),
       (102, 'weekly', 18, 3, 0, 'en', '2026-01-02T00:00:00+00:00', '2026-01-03T00:00:00+00:00',
        0, NULL);
INSERT INTO subscription_categories (chat_id, category_id) VALUES (102, 1), (102, 2);
INSERT INTO chats (chat_id, active, reason, changed_at)
VALUES (103, 0, 'blocked', '2026-01-05T00:00:00+00:00'),
       (101, 1, NULL, '2026-01-01T00:00:00+00:00');
INSERT INTO chat_moves (old_chat_id, new_chat_id, moved_at)
VALUES (-5, -1005, '2026-01-06T00:00:00+00:00');
INSERT INTO deliveries (delivery_id, kind, label, created_at, total)
VALUES (1, 'broadcast', 'Họp dân', '2026-01-07T00:00:00+00:00', 3);
INSERT INTO delivery_messages (message_key, delivery_id, body) VALUES (1, 1, '{"method": "x"}');
INSERT INTO outbox (outbox_id, delivery_id, chat_id, message_key, state, attempts, sent_message_id,
                    updated_at)
VALUES (1, 1, 101, 1, 'sent', 1, 77, 1.5), (2, 1, 102, 1, 'pending', 0, NULL, NULL),
       (3, 1, 103, 1, 'skipped', 0, NULL, 2.5);
INSERT INTO polls (poll_id, question, created_at)
VALUES (1, 'Hài lòng?', '2026-01-01T00:00:00+00:00');
INSERT INTO poll_options (option_id, poll_id, position, label)
VALUES (1, 1, 0, 'Có'), (2, 1, 1, 'Không');
INSERT INTO poll_votes (poll_id, user_id, option_id, seq, voted_at)
VALUES (1, 101, 1, 10, '2026-01-08T00:00:00+00:00'),
       (1, 102, 2, 11, '2026-01-08T00:00:00+00:00');
INSERT INTO interactions (at, day, kind, target, chat_type, user_key, update_id, words, results)
VALUES ('2026-01-08T00:00:00+00:00', '2026-01-08', 'vote', 1, 'private', 'k101', 10, NULL, NULL),
       ('2026-01-08T00:01:00+00:00', '2026-01-08', 'search', NULL, 'private', 'k102', 12, 'họp', 0);
INSERT INTO users (user_id, language, first_seen, last_seen)
VALUES (101, 'vi', '2026-01-01T00:00:00+00:00', '2026-01-08T00:00:00+00:00');
"""


async def table_rows(db: Database, table: str, columns: str) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(f"SELECT {columns} FROM {table} ORDER BY {columns}")
    return [tuple(row) for row in rows]


async def test_a_database_at_the_previous_schema_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    previous = [m for m in bundled_migrations() if m.version < 16]
    async with await Database.open(path, previous) as db:
        await db.conn.executescript(PREVIOUS_ROWS)
        before = {table: await table_rows(db, table, cols) for table, cols in CHANNELLED.items()}
        counts_before = await table_rows(db, "daily_counts", "day, interactions, residents")
    assert all(before.values())

    async with await Database.open(path) as db:
        assert await db.schema_version() >= 16
        for table, columns in CHANNELLED.items():
            # Nothing lost, nothing changed, and every row is Telegram's.
            assert await table_rows(db, table, columns) == before[table], table
            channels = await db.fetchall(f"SELECT DISTINCT channel FROM {table}")
            assert [row["channel"] for row in channels] == ["telegram"], table
        assert await table_rows(db, "daily_counts", "day, interactions, residents") == (
            counts_before
        )
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        assert (await db.fetchone("PRAGMA integrity_check"))["integrity_check"] == "ok"

        # The stores read the upgraded rows as before.
        subscriptions = SubscriptionStore(db, TZ)
        chosen = await subscriptions.get(102)
        assert chosen == Subscription(102, "weekly", 18, 3, False, frozenset({1, 2}), "en")
        assert await DigestReader(db).audience() == [101, 102]  # 103 is not subscribed
        polls = PollStore(db)
        results = await polls.results(1, 101)
        assert results is not None
        assert (results.counts, results.choice) == ((1, 1), 1)
        assert not await ChatStore(db).is_active(103)
        assert await ChatStore(db).moved_to(-5) == -1005
        due = await OutboxStore(db).due(now=10.0, limit=10)
        assert [(p.outbox_id, p.channel, p.chat_id) for p in due] == [(2, "telegram", 102)]
        # The poll's triggers came back: a poll with votes keeps its options.
        with pytest.raises(sqlite3.IntegrityError, match="poll has votes"):
            await db.write("DELETE FROM poll_options WHERE option_id = 2")
        # The keys of the rebuilt tables include the channel.
        assert await db.fetchall("SELECT 1 FROM pragma_index_list('outbox')") != []


async def test_the_same_chat_id_on_two_channels_never_collides(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        await db.write("INSERT INTO categories (category_id, name) VALUES (1, 'Thông báo')")
        subscriptions = SubscriptionStore(db, TZ)
        on_telegram = Subscription(42, "daily", hour=6)
        on_zalo = Subscription(42, "weekly", all_categories=False, category_ids=frozenset({1}),
                               channel="zalo")  # fmt: skip
        await subscriptions.save(on_telegram, NOW)
        await subscriptions.save(on_zalo, NOW)
        assert await subscriptions.get(42) == on_telegram
        assert await subscriptions.get(42, "zalo") == on_zalo
        assert await subscriptions.count() == 2
        # Each channel's engine reaches its own chats only.
        reader = DigestReader(db)
        assert [s.subscription for s in await reader.subscribers("daily", "weekly")] == [
            on_telegram
        ]
        assert [s.channel for s in await reader.subscribers("weekly", channel="zalo")] == ["zalo"]
        assert await reader.audience(channel="zalo") == [42]
        # A digest run moves its own channel's bookmark only.
        (zalo_subscriber,) = await reader.subscribers("weekly", channel="zalo")
        async with db.transaction() as conn:
            await SubscriptionStore.save_bookmarks(conn, [zalo_subscriber.bookmark(99, NOW)])
        cursors = {
            subscriber.channel: subscriber.cursor
            for channel in ("telegram", "zalo")
            for subscriber in await reader.subscribers("daily", "weekly", channel=channel)
        }
        assert cursors == {"telegram": 0, "zalo": 99}
        # A Zalo chat that blocked the bot is not the Telegram chat with the same number.
        chats = ChatStore(db)
        await chats.set_active(42, False, "blocked", channel="zalo")
        assert await chats.is_active(42)
        assert not await chats.is_active(42, "zalo")
        assert await reader.audience() == [42]
        assert await reader.audience(channel="zalo") == []
        assert await subscriptions.delete(42, NOW, channel="zalo")
        assert await subscriptions.get(42) == on_telegram

        # Two people, each with their own language.
        users = UserStore(db)
        await users.set_language(42, "en", NOW)
        await users.set_language(42, "vi", NOW, channel="zalo")
        assert (await users.language(42), await users.language(42, "zalo")) == ("en", "vi")

        # One vote each: the same number on two channels is two people.
        polls = PollStore(db)
        poll = await polls.create("Hài lòng?", ["Có", "Không"], now=NOW)
        yes, no = (option.option_id for option in poll.options)
        await polls.vote(poll.poll_id, 42, yes, seq=1, now=NOW)
        await polls.vote(poll.poll_id, 42, no, seq=1, now=NOW, channel="zalo")
        telegram_view = await polls.results(poll.poll_id, 42)
        zalo_view = await polls.results(poll.poll_id, 42, channel="zalo")
        assert telegram_view is not None
        assert zalo_view is not None
        assert telegram_view.counts == zalo_view.counts == (1, 1)
        assert (telegram_view.choice, zalo_view.choice) == (yes, no)

        # One job reaching both: two recipients, and forgetting one leaves the other.
        outbox = OutboxStore(db)
        job = await outbox.create("broadcast", [MESSAGE], [(42, 0), ("zalo", 42, 0), (42, 0)])
        assert job is not None
        due = await outbox.due(now=NOW.timestamp(), limit=10, channels=("telegram", "zalo"))
        assert sorted((p.channel, p.chat_id) for p in due) == [("telegram", 42), ("zalo", 42)]
        # The Telegram engine (the default) never gets the Zalo chat's row.
        assert [p.channel for p in await outbox.due(now=NOW.timestamp(), limit=10)] == ["telegram"]
        assert await outbox.forget_chat(42, channel="zalo") == 1
        progress = await outbox.progress(job)
        assert progress is not None
        assert (progress.total, progress.pending) == (1, 1)


def test_privacy_keys_are_per_person_and_per_channel() -> None:
    secret = b"s" * 32
    # Telegram keys are what they always were: the HMAC of the id alone.
    assert user_key(secret, 42) == hmac.new(secret, b"42", hashlib.sha256).hexdigest()[:32]
    assert user_key(secret, 42, "telegram") == user_key(secret, 42)
    assert user_key(secret, 42, "zalo") != user_key(secret, 42)
    assert user_key(secret, 42, "zalo") != user_key(secret, 43, "zalo")


async def test_storage_rows_are_read_by_name(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        row = await db.fetchone("SELECT 1 AS one, 2 AS two")
        assert row is not None
        assert (row["one"], row["two"]) == (1, 2)
        quick = await db.quick_read("SELECT 3 AS three")
        assert quick[0]["three"] == 3
    # No store reads a row by position.
    storage = Path(__file__).parents[1] / "storage"
    positional = re.compile(r"\b(?:row|rows\[0\]|r|first|job|active|votes)\[\d+\]")
    found = [
        f"{path.name}:{number}"
        for path in sorted(storage.glob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if positional.search(line)
    ]
    assert found == []


async def test_a_broadcast_updates_only_the_columns_it_allows(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        store = BroadcastStore(db)
        draft = await store.begin(created_by=7, chat_id=7)
        assert await store.update(draft.broadcast_id, state="choosing", channel=True)
        for wrong in ({"created_by": 8}, {"state = 'done', created_by": 8}, {"nope": 1}):
            with pytest.raises(TypeError, match="updatable"):
                await store.update(draft.broadcast_id, state="queued", **wrong)
        after = await store.get(draft.broadcast_id)
        assert after is not None
        # Nothing of the refused updates was written, not even their allowed part.
        assert (after.created_by, after.state, after.channel) == (7, "choosing", True)
        assert {"broadcast_id", "created_by", "created_at", "updated_at"}.isdisjoint(UPDATABLE)


async def a_remembered_resident(db: Database, log: InteractionLog, user_id: int) -> int:
    """Everything the bot can hold about a resident; returns the poll they voted in."""
    await db.write("INSERT INTO categories (category_id, name) VALUES (1, 'Thông báo')")
    await UserStore(db).set_language(user_id, "en", NOW)
    await SubscriptionStore(db, TZ).save(Subscription(user_id, "instant"), NOW)
    await ChatStore(db).set_active(user_id, False, "blocked", NOW)
    await OutboxStore(db).create("broadcast", [MESSAGE], [(user_id, 0), (999, 0)])
    poll = await PollStore(db).create("Hài lòng?", ["Có", "Không"], now=NOW)
    await PollStore(db).vote(poll.poll_id, user_id, poll.options[0].option_id, seq=1, now=NOW)
    await log.record(Interaction("vote", poll.poll_id, "private", 5), user_id, NOW)
    await log.record(Interaction("message", None, "private", 6), user_id, NOW)
    await log.searched(6, "số 0912345678", 0, NOW)
    await log.flush()
    key = log.key_of(user_id)
    await db.write(
        "INSERT INTO searches (query, fts, created_at, user_key) VALUES ('x', 'x', ?, ?)",
        (NOW.isoformat(), key),
    )
    await AuditLog(db).record(key, "refused", {"command": "staff"}, NOW)
    return poll.poll_id


async def everything_about(db: Database, user_id: int, key: str) -> dict[str, Any]:
    """What each table holds about the person (by id or by key)."""
    queries = {
        "users": ("SELECT * FROM users WHERE user_id = ?", user_id),
        "subscriptions": ("SELECT * FROM subscriptions WHERE chat_id = ?", user_id),
        "subscription_events": ("SELECT event FROM subscription_events", None),
        "chats": ("SELECT * FROM chats WHERE chat_id = ?", user_id),
        "outbox": ("SELECT chat_id FROM outbox ORDER BY chat_id", None),
        "deliveries": ("SELECT total FROM deliveries", None),
        "poll_votes": ("SELECT * FROM poll_votes WHERE user_id = ?", user_id),
        "interactions": ("SELECT kind, words FROM interactions WHERE user_key = ?", key),
        "daily_users": ("SELECT * FROM daily_users WHERE user_key = ?", key),
        "stats_residents": ("SELECT * FROM stats_residents WHERE user_key = ?", key),
        "searches": ("SELECT * FROM searches WHERE user_key = ?", key),
        "audit": ("SELECT action FROM audit WHERE actor = ?", key),
        "daily_counts": ("SELECT day, interactions, residents FROM daily_counts", None),
    }
    found = {}
    for name, (sql, value) in queries.items():
        rows = await db.fetchall(sql, () if value is None else (value,))
        found[name] = sorted(tuple(row) for row in rows)
    return found


async def test_forget_is_one_transaction_over_every_table(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        log = await InteractionLog.open(db, TZ, "a secret")
        user_id = 4242
        await a_remembered_resident(db, log, user_id)
        key = log.key_of(user_id)
        before = await everything_about(db, user_id, key)
        assert all(before[name] for name in before if name != "subscription_events")

        # A failure at the last table: nothing of the earlier ones may stay deleted.
        await db.write(
            "CREATE TEMP TRIGGER forget_fails BEFORE UPDATE OF actor ON audit"
            " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
        )
        with pytest.raises(sqlite3.IntegrityError, match="the disk is full"):
            await log.forget(user_id)
        assert await everything_about(db, user_id, key) == before

        await db.write("DROP TRIGGER forget_fails")
        forgotten = await log.forget(user_id)
        assert (forgotten.profile, forgotten.subscription, forgotten.votes, forgotten.events) == (
            True, True, 1, 2,
        )  # fmt: skip
        after = await everything_about(db, user_id, key)
        for name in ("users", "subscriptions", "chats", "poll_votes", "interactions",
                     "daily_users", "stats_residents", "searches", "audit"):  # fmt: skip
            assert after[name] == [], name
        # Gone from the job, which counts one recipient less; the other stays.
        assert after["outbox"] == [(999,)]
        assert after["deliveries"] == [(1,)]
        # The counts are as they were, and the vote still counts, nobody's.
        assert after["daily_counts"] == before["daily_counts"]
        assert after["subscription_events"] == [("subscribe",), ("unsubscribe",)]
        results = await PollStore(db).results(1, user_id)
        assert results is not None
        assert (results.counts, results.choice) == ((1, 0), None)
        await log.close()


async def test_forget_on_another_channel_leaves_telegram_alone(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        log = await InteractionLog.open(db, TZ, "a secret")
        await a_remembered_resident(db, log, 42)
        telegram = await everything_about(db, 42, log.key_of(42))
        await SubscriptionStore(db, TZ).save(Subscription(42, "daily", channel="zalo"), NOW)
        zalo_key = log.key_of(42, "zalo")
        forgotten = await forget(db, "zalo", 42, zalo_key, tz=TZ, now=NOW + timedelta(hours=1))
        assert (forgotten.profile, forgotten.subscription, forgotten.votes) == (False, True, 0)
        assert await SubscriptionStore(db, TZ).get(42, "zalo") is None
        after = await everything_about(db, 42, log.key_of(42))
        assert after.pop("subscription_events") == [("subscribe",)] * 2 + [("unsubscribe",)]
        telegram.pop("subscription_events")
        assert after == telegram
        await log.close()
