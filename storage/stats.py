"""The interaction log, the daily counts /stats reads, and forgetting a resident."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database, fits_integer

__all__ = [
    "KEY_STATE",
    "Counter",
    "Forgotten",
    "Interaction",
    "InteractionLog",
    "StaffFigures",
    "mask_numbers",
    "user_key",
]

log = logging.getLogger(__name__)

# An event waits at most this long before it is written, or until this many are queued: the log
# costs one transaction per burst of updates rather than a write per tap. A crash loses at
# most these; the counts stay consistent because events and counts are written together.
FLUSH_AFTER = 0.5
FLUSH_AT = 200

_INSERT = (
    "INSERT INTO interactions (at, day, kind, target, chat_type, user_key, update_id, words,"
    " results, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Where each value of a queued event sits in its row of _INSERT's parameters.
_KIND, _UPDATE, _WORDS, _RESULTS, _CHANNEL = 2, 6, 7, 8, 9

# Staff see a search that found nothing only once this many residents typed it: what one
# person typed may be their name or their phone number; what three typed is a topic.
MIN_SEARCHERS = 3
NOT_FOUND_SHOWN = 10
# A run of digits, with the spaces, dots, dashes or slashes people put inside phone and ID
# numbers ("0912 345 678", "079.123.456"); every digit was made "0" first (see mask_numbers).
_NUMBER_RUN = re.compile(r"0+(?:[ .\-/]+0+)*")
NUMBER_MASK = "***"

KEY_STATE = "stats_key"  # the bot_state row holding the generated key
KEY_HEX_CHARS = 32  # 128 bits of the HMAC: no collisions among a commune's residents
KEYS_KEPT = 10_000  # people whose key is kept in memory (a commune's active residents)


def mask_numbers(text: str) -> str:
    """`text` with every run of digits (of any script: "٣", "３", "²") replaced by a mask."""
    plain = "".join("0" if char.isnumeric() else char for char in text)
    return _NUMBER_RUN.sub(NUMBER_MASK, plain)


def user_key(secret: bytes, user_id: int, channel: str = DEFAULT_CHANNEL) -> str:
    """The pseudonymous key of a person on a channel: HMAC-SHA256 with the bot's secret,
    truncated.

    Telegram ids are hashed alone, as they always were, so the keys already stored stay valid;
    another channel's ids are hashed with the channel's name ("zalo:123"), so the same number
    on two channels is two people.
    """
    subject = str(user_id) if channel == DEFAULT_CHANNEL else f"{channel}:{user_id}"
    digest = hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()
    return digest[:KEY_HEX_CHARS]


@dataclass(frozen=True, slots=True)
class Interaction:
    """One update the bot handled, as it is logged (the Telegram id is never part of it)."""

    kind: str
    target: int | None = None
    chat_type: str | None = None
    update_id: int | None = None


@dataclass(frozen=True, slots=True)
class Counter:
    """The public counter: interactions in each period of the local calendar, and residents."""

    total: int
    today: int
    week: int  # since Monday
    month: int
    year: int
    residents: int  # distinct residents ever reached


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What /forget removed."""

    profile: bool  # the users row (with the chosen language)
    votes: int  # votes kept in the results but no longer linked to the person
    events: int  # logged interactions whose key was removed (they stay in the totals)
    subscription: bool = False  # the subscription of the person's private chat was stopped


@dataclass(frozen=True, slots=True)
class StaffFigures:
    """What staff see: active residents, what was read and searched, poll participation."""

    dau: int
    wau: int  # the last 7 local days, today included
    mau: int  # the last 30 local days, today included
    top_week: list[tuple[int, int]]  # (article id, opens)
    top_month: list[tuple[int, int]]
    # (words, times) of searches with no result in the last 30 days that at least MIN_SEARCHERS
    # residents typed, digits masked
    not_found: list[tuple[str, int]]
    votes_month: int  # votes cast in the last 30 days
    voters_month: int  # distinct residents who voted in the last 30 days
    daily: list[tuple[date, int, int]]  # (day, interactions, residents), the last 30 days
    # channel → (dau, wau, mau) on that channel alone (the figures above are every channel's)
    by_channel: dict[str, tuple[int, int, int]] = field(default_factory=dict)


class InteractionLog:
    """Records interactions and reads the counts kept alongside them."""

    def __init__(self, db: Database, tz: ZoneInfo, secret: bytes) -> None:
        self._db = db
        self.tz = tz
        self._secret = secret
        self._keys: dict[tuple[str, int], str] = {}  # (channel, id) → key, see key_of
        # Events wait here for a moment and are written together: one transaction for many
        # updates instead of a write on every resident's tap (see FLUSH_AFTER).
        self._pending: list[list[Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._flushing = asyncio.Lock()

    @classmethod
    async def open(cls, db: Database, tz: ZoneInfo, configured: str | None) -> InteractionLog:
        """The log with the configured key, or the key generated once and kept in bot_state."""
        if configured:
            return cls(db, tz, configured.encode())
        # Two first updates at once may both generate a key: only the first one stored counts.
        await db.write(
            "INSERT INTO bot_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (KEY_STATE, secrets.token_hex(32)),
        )
        row = await db.fetchone("SELECT value FROM bot_state WHERE key = ?", (KEY_STATE,))
        assert row is not None
        return cls(db, tz, str(row["value"]).encode())

    def key_of(self, user_id: int, channel: str = DEFAULT_CHANNEL) -> str:
        """The pseudonymous key of a person on a channel (a Telegram id by default)."""
        # Every update is logged under its sender's key: an HMAC computed once per person.
        key = self._keys.get((channel, user_id))
        if key is None:
            if len(self._keys) >= KEYS_KEPT:  # a bound, not an LRU: recomputing is cheap
                self._keys.clear()
            key = self._keys[channel, user_id] = user_key(self._secret, user_id, channel)
        return key

    def local_day(self, now: datetime) -> date:
        """The date `now` falls on in the configured time zone."""
        return now.astimezone(self.tz).date()

    async def record(
        self,
        event: Interaction,
        user_id: int | None,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        """Log one interaction: queued, and written with others within FLUSH_AFTER seconds."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        key = None if user_id is None else self.key_of(user_id, channel)
        # Checked before queueing: the queue is written as one batch, and a value SQLite cannot
        # take would fail everyone's interactions of that moment. The event still counts; only
        # what cannot be stored is left out.
        self._pending.append(
            [
                now.isoformat(timespec="seconds"),
                self.local_day(now).isoformat(),
                str(event.kind),
                event.target if fits_integer(event.target) else None,
                event.chat_type if isinstance(event.chat_type, str) else None,
                key,
                event.update_id if fits_integer(event.update_id) else None,
                None,
                None,
                channel,
            ]
        )
        if len(self._pending) >= FLUSH_AT:
            await self.flush()
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Wait FLUSH_AFTER, or less if close() wants the queue written now.
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_AFTER):
                await self._closing.wait()
        self._flusher = None  # events arriving from now on schedule the next write
        await self.flush()

    async def flush(self) -> None:
        """Write the queued events (the triggers update the daily counts); never raises."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        # Held while writing, so close() waits for a write a handler started (at FLUSH_AT).
        async with self._flushing:
            try:
                async with self._db.transaction() as conn:
                    await conn.executemany(_INSERT, rows)
            except Exception:
                await self._write_one_by_one(rows)

    async def _write_one_by_one(self, rows: list[list[Any]]) -> None:
        """After a batch failed: each row on its own, so one bad row costs only itself."""
        dropped: list[tuple[str, Exception]] = []
        try:
            async with self._db.transaction() as conn:
                for row in rows:
                    try:
                        await conn.execute(_INSERT, row)
                    except Exception as exc:  # a statement that fails changes nothing
                        dropped.append((str(row[_KIND]), exc))
        except Exception:
            # The replies never wait for the log: losing these events is the lesser harm.
            log.exception("could not write %d interactions to the log", len(rows))
            return
        if len(dropped) == len(rows):
            log.error("could not write %d interactions to the log: %s", len(rows), dropped[0][1])
            return
        for kind, reason in dropped:
            log.error("left out one %s interaction the log could not store: %s", kind, reason)

    async def close(self) -> None:
        """Write what is queued; called before the database closes."""
        if self._flusher is not None:
            # Wake a scheduled write and let it finish, rather than cancel it half-way through
            # its transaction (its events would be lost).
            self._closing.set()
            await self._flusher
        await self.flush()
        async with self._flushing:  # a write a handler started is finished too
            pass

    async def searched(
        self,
        update_id: int,
        words: str,
        results: int,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        """Mark the update's logged event as a search with its words and number of results
        (update ids are the channel's own: only its events are looked at)."""
        if not fits_integer(update_id) or not fits_integer(results):
            return  # no event of this update could have been stored under that id
        for row in reversed(self._pending):
            if row[_UPDATE] == update_id and row[_CHANNEL] == channel:  # still queued
                row[_KIND], row[_WORDS], row[_RESULTS] = "search", words, results
                return
        now = (now or datetime.now(UTC)).astimezone(UTC)
        # Telegram may reuse update ids after a quiet week: only this update's recent event.
        since = (now - timedelta(hours=1)).isoformat(timespec="seconds")
        await self._db.write(
            "UPDATE interactions SET kind = 'search', words = ?, results = ?"
            " WHERE event_id = (SELECT MAX(event_id) FROM interactions"
            " WHERE update_id = ? AND channel = ? AND at >= ?)",
            (words, results, update_id, channel, since),
        )

    async def counter(self, now: datetime | None = None, channel: str | None = None) -> Counter:
        """The public counter, read from the daily counts only (never the log): every
        channel's together, or one `channel`'s (migration 0024)."""
        await self.flush()  # count what is still queued
        today = self.local_day(now or datetime.now(UTC))
        source = (
            "daily_counts" if channel is None else "daily_channel_counts WHERE channel = :channel"
        )
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(interactions), 0) AS total,"
            " COALESCE(SUM(interactions) FILTER (WHERE day = :today), 0) AS today,"
            " COALESCE(SUM(interactions) FILTER (WHERE day >= :week AND day <= :today), 0)"
            " AS week,"
            " COALESCE(SUM(interactions) FILTER (WHERE day >= :month AND day <= :today), 0)"
            " AS month,"
            " COALESCE(SUM(interactions) FILTER (WHERE day >= :year AND day <= :today), 0)"
            " AS year,"
            " COALESCE(SUM(new_residents), 0) AS residents"
            f" FROM {source}",
            {
                "channel": channel,
                "today": today.isoformat(),
                "week": (today - timedelta(days=today.weekday())).isoformat(),
                "month": today.replace(day=1).isoformat(),
                "year": today.replace(month=1, day=1).isoformat(),
            },
        )
        assert row is not None
        return Counter(**{name: int(row[name]) for name in Counter.__slots__})

    async def staff_figures(self, now: datetime | None = None) -> StaffFigures:
        """Active residents, most read articles, searches with no result, poll participation."""
        await self.flush()  # count what is still queued
        today = self.local_day(now or datetime.now(UTC))
        days = {
            "today": today.isoformat(),
            "week": (today - timedelta(days=6)).isoformat(),
            "monday": (today - timedelta(days=today.weekday())).isoformat(),
            "month": (today - timedelta(days=29)).isoformat(),
            "first": today.replace(day=1).isoformat(),
        }
        active = await self._db.fetchone(
            "SELECT COUNT(DISTINCT user_key) FILTER (WHERE day = :today) AS dau,"
            " COUNT(DISTINCT user_key) FILTER (WHERE day >= :week) AS wau,"
            " COUNT(DISTINCT user_key) AS mau"
            " FROM daily_users WHERE day >= :month AND day <= :today",
            days,
        )
        assert active is not None
        channels = await self._db.fetchall(
            "SELECT channel, COUNT(DISTINCT user_key) FILTER (WHERE day = :today) AS dau,"
            " COUNT(DISTINCT user_key) FILTER (WHERE day >= :week) AS wau,"
            " COUNT(DISTINCT user_key) AS mau"
            " FROM daily_users WHERE day >= :month AND day <= :today"
            " GROUP BY channel ORDER BY channel",
            days,
        )
        top = (
            "SELECT target, COUNT(*) AS opens FROM interactions"
            " WHERE kind = 'article_open' AND day >= ? AND day <= ? AND target IS NOT NULL"
            " GROUP BY target ORDER BY opens DESC, target DESC LIMIT 5"
        )
        top_week = await self._db.fetchall(top, (days["monday"], days["today"]))
        top_month = await self._db.fetchall(top, (days["first"], days["today"]))
        not_found = await self._db.fetchall(
            "SELECT words, user_key FROM interactions WHERE kind = 'search' AND day >= ?"
            " AND results = 0 AND words IS NOT NULL AND user_key IS NOT NULL",
            (days["month"],),
        )
        votes = await self._db.fetchone(
            "SELECT COUNT(*) AS votes, COUNT(DISTINCT user_key) AS voters FROM interactions"
            " WHERE kind = 'vote' AND day >= ?",
            (days["month"],),
        )
        assert votes is not None
        daily = await self._db.fetchall(
            "SELECT day, interactions, residents FROM daily_counts"
            " WHERE day >= ? AND day <= ? ORDER BY day",
            (days["month"], days["today"]),
        )
        found = {
            date.fromisoformat(str(row["day"])): (int(row["interactions"]), int(row["residents"]))
            for row in daily
        }
        start = today - timedelta(days=29)
        series = []
        for offset in range(30):
            day = start + timedelta(days=offset)
            count, people = found.get(day, (0, 0))
            series.append((day, count, people))
        return StaffFigures(
            dau=int(active["dau"]),
            wau=int(active["wau"]),
            mau=int(active["mau"]),
            top_week=[(int(row["target"]), int(row["opens"])) for row in top_week],
            top_month=[(int(row["target"]), int(row["opens"])) for row in top_month],
            not_found=_common_searches(not_found),
            votes_month=int(votes["votes"]),
            voters_month=int(votes["voters"]),
            daily=series,
            by_channel={
                str(row["channel"]): (int(row["dau"]), int(row["wau"]), int(row["mau"]))
                for row in channels
            },
        )

    async def forget(self, user_id: int, channel: str = DEFAULT_CHANNEL) -> Forgotten:
        """Remove what the bot holds about a person, in one transaction over every table
        (storage.privacy.forget); the counts stay as they were."""
        from storage.privacy import forget  # privacy builds on this module: imported here

        await self.flush()  # what is still queued is written first, then unlinked with the rest
        return await forget(self._db, channel, user_id, self.key_of(user_id, channel), tz=self.tz)

    @staticmethod
    async def forget_key_in(conn: aiosqlite.Connection, key: str) -> int:
        """Unlink a person's key from the log, inside the caller's transaction (see
        storage.privacy); returns how many logged events had it. The counts stay."""
        # Their search words go too: what they typed may be their name or phone number.
        async with conn.execute(
            "UPDATE interactions SET user_key = NULL, words = NULL WHERE user_key = ?", (key,)
        ) as cursor:
            events = cursor.rowcount
        await conn.execute("DELETE FROM daily_users WHERE user_key = ?", (key,))
        await conn.execute("DELETE FROM stats_residents WHERE user_key = ?", (key,))
        return events

    async def prune(self, keep_days: int, now: datetime | None = None) -> int:
        """Delete raw events older than `keep_days` local days; the daily counts keep them."""
        await self.flush()  # count what is still queued
        cutoff = (self.local_day(now or datetime.now(UTC)) - timedelta(days=keep_days)).isoformat()
        async with self._db.transaction() as conn:
            async with conn.execute("DELETE FROM interactions WHERE day < ?", (cutoff,)) as cursor:
                removed = cursor.rowcount
            # Who was active on a day that long ago is no longer needed either.
            await conn.execute("DELETE FROM daily_users WHERE day < ?", (cutoff,))
        return removed


def _common_searches(rows: list[aiosqlite.Row]) -> list[tuple[str, int]]:
    """(words, times) of the searches at least MIN_SEARCHERS residents typed, most asked first.

    Searches are told apart as staff will read them: in lower case, digits masked, so the same
    question with different phone numbers is one search and no number is shown.
    """
    times: Tally[str] = Tally()
    people: dict[str, set[str]] = {}
    for row in rows:
        asked = mask_numbers(unicodedata.normalize("NFC", str(row["words"])).lower())
        times[asked] += 1
        people.setdefault(asked, set()).add(str(row["user_key"]))
    common = [
        (asked, count) for asked, count in times.items() if len(people[asked]) >= MIN_SEARCHERS
    ]
    common.sort(key=lambda item: (-item[1], item[0]))
    return common[:NOT_FOUND_SHOWN]
