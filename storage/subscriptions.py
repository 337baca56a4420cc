"""Subscriptions to the commune's news: one per chat, what it follows, and anonymous events."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_HOUR",
    "MODES",
    "DayEvents",
    "DigestBookmark",
    "DigestReader",
    "Mode",
    "NewArticle",
    "Saved",
    "Subscriber",
    "Subscription",
    "SubscriptionCounts",
    "SubscriptionStore",
]

Mode = Literal["instant", "daily", "weekly"]
MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT_HOUR = 7  # local time of a digest when nobody chose another
_LANGUAGES = ("vi", "en")

_SELECT = (
    "SELECT s.channel, s.chat_id, s.mode, s.hour, s.weekday, s.all_categories, s.language,"
    " group_concat(sc.category_id) AS category_ids FROM subscriptions AS s"
    " LEFT JOIN subscription_categories AS sc USING (channel, chat_id)"
    " WHERE s.channel = ? AND s.chat_id = ? GROUP BY s.channel, s.chat_id"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """How one chat receives the news: all of it or some categories, at once or as a digest."""

    chat_id: int
    mode: Mode
    hour: int = DEFAULT_HOUR  # local hour of a daily or weekly digest
    weekday: int = 0  # 0 = Monday; the day of a weekly digest
    all_categories: bool = True
    category_ids: frozenset[int] = field(default_factory=frozenset)  # when not all categories
    language: str = "vi"  # the language digests are written in
    channel: str = DEFAULT_CHANNEL  # the messenger the chat is on

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0-23, not {self.hour}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0-6, not {self.weekday}")
        if self.language not in _LANGUAGES:
            raise ValueError(f"language must be one of {_LANGUAGES}, not {self.language!r}")
        if self.all_categories and self.category_ids:
            raise ValueError("a subscription to all categories lists no categories")
        if not self.all_categories and not self.category_ids:
            raise ValueError("a subscription to chosen categories needs at least one")


class Saved(enum.Enum):
    """What `save` did."""

    NEW = "subscribe"
    CHANGED = "change"
    SAME = "same"  # the chat already had exactly this subscription: nothing written


@dataclass(frozen=True, slots=True)
class SubscriptionCounts:
    """Current subscriptions, by mode and by category."""

    total: int
    by_mode: dict[str, int]  # every mode, zeros included
    all_categories: int  # subscriptions that take all news
    by_category: list[tuple[int, str, int]]  # (category id, name, subscriptions), most first


@dataclass(frozen=True, slots=True)
class DayEvents:
    """Subscriptions started, changed and stopped on one local day."""

    day: date
    subscribed: int
    changed: int
    unsubscribed: int


def _subscription(row: aiosqlite.Row) -> Subscription:
    listed = row["category_ids"]
    ids = frozenset(int(part) for part in str(listed).split(",")) if listed else frozenset()
    return Subscription(
        chat_id=int(row["chat_id"]),
        mode=row["mode"],
        hour=int(row["hour"]),
        weekday=int(row["weekday"]),
        all_categories=bool(row["all_categories"]),
        category_ids=ids,
        language=str(row["language"]),
        channel=str(row["channel"]),
    )


class SubscriptionStore:
    """Reads and writes `subscriptions`, `subscription_categories` and `subscription_events`."""

    def __init__(self, db: Database, tz: ZoneInfo) -> None:
        self._db = db
        self._tz = tz

    async def get(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> Subscription | None:
        """The chat's subscription, or None."""
        row = await self._db.fetchone(_SELECT, (channel, chat_id))
        return None if row is None else _subscription(row)

    async def save(self, subscription: Subscription, now: datetime | None = None) -> Saved:
        """Subscribe the chat, or replace its subscription (categories included) in one go.

        A category id the database does not know is refused (sqlite3.IntegrityError) and
        nothing changes.
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        stamp = moment.isoformat(timespec="seconds")
        async with self._db.transaction() as conn:
            before = await _read(conn, subscription.channel, subscription.chat_id)
            if before == subscription:
                return Saved.SAME
            await conn.execute(
                # Digests start from the articles stored after subscribing; so does one
                # after instant alerts, which have already brought the earlier ones.
                # The first digest comes at the first chosen hour after subscribing ...
                "INSERT INTO subscriptions (channel, chat_id, mode, hour, weekday,"
                " all_categories, language, created_at, updated_at, digest_cursor, digest_slot)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " (SELECT COALESCE(MAX(article_id), 0) FROM articles), ?)"
                " ON CONFLICT (channel, chat_id) DO UPDATE SET mode = excluded.mode,"
                " hour = excluded.hour, weekday = excluded.weekday,"
                " all_categories = excluded.all_categories, language = excluded.language,"
                " updated_at = excluded.updated_at,"
                # ... and after instant alerts, which brought the earlier articles already.
                " digest_cursor = CASE WHEN subscriptions.mode = 'instant'"
                " THEN excluded.digest_cursor ELSE subscriptions.digest_cursor END,"
                " digest_slot = CASE WHEN subscriptions.mode = 'instant'"
                " THEN excluded.digest_slot ELSE subscriptions.digest_slot END",
                (
                    subscription.channel,
                    subscription.chat_id,
                    subscription.mode,
                    subscription.hour,
                    subscription.weekday,
                    int(subscription.all_categories),
                    subscription.language,
                    stamp,
                    stamp,
                    stamp,
                ),
            )
            await conn.execute(
                "DELETE FROM subscription_categories WHERE channel = ? AND chat_id = ?",
                (subscription.channel, subscription.chat_id),
            )
            await conn.executemany(
                "INSERT INTO subscription_categories (channel, chat_id, category_id)"
                " VALUES (?, ?, ?)",
                [
                    (subscription.channel, subscription.chat_id, category)
                    for category in sorted(subscription.category_ids)
                ],
            )
            saved = Saved.NEW if before is None else Saved.CHANGED
            await self._event(conn, moment, saved.value, subscription.mode)
        return saved

    async def delete(
        self, chat_id: int, now: datetime | None = None, channel: str = DEFAULT_CHANNEL
    ) -> bool:
        """Stop the chat's subscription; False if it had none."""
        async with self._db.transaction() as conn:
            return await self.delete_in(conn, channel, chat_id, now)

    async def delete_in(
        self,
        conn: aiosqlite.Connection,
        channel: str,
        chat_id: int,
        now: datetime | None = None,
    ) -> bool:
        """`delete`, inside the caller's transaction on `conn` (see storage.privacy)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        async with conn.execute(
            "DELETE FROM subscriptions WHERE channel = ? AND chat_id = ? RETURNING mode",
            (channel, chat_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await self._event(conn, moment, "unsubscribe", str(row["mode"]))
        return True

    @staticmethod
    async def follow_move(
        conn: aiosqlite.Connection, channel: str, old_chat_id: int, new_chat_id: int
    ) -> None:
        """A group got a new id: its subscription follows it (its categories follow by ON
        UPDATE CASCADE), inside the caller's transaction; one the new id has already stays."""
        await conn.execute(
            "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE channel = ? AND chat_id = ?",
            (new_chat_id, channel, old_chat_id),
        )

    @staticmethod
    async def save_bookmarks(conn: aiosqlite.Connection, marks: Sequence[DigestBookmark]) -> None:
        """Move subscribers' digest bookmarks, inside the transaction that writes the digests."""
        await conn.executemany(
            "UPDATE subscriptions SET digest_cursor = MAX(digest_cursor, ?),"
            " digest_slot = COALESCE(?, digest_slot) WHERE channel = ? AND chat_id = ?",
            [
                (
                    mark.cursor,
                    None if mark.slot is None else mark.slot.astimezone(UTC).isoformat(),
                    mark.channel,
                    mark.chat_id,
                )
                for mark in marks
            ],
        )

    async def count(self, channel: str | None = None) -> int:
        """How many chats are subscribed now, on every channel or on `channel`."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM subscriptions WHERE ? IS NULL OR channel = ?",
            (channel, channel),
        )
        return int(row["n"]) if row else 0

    async def counts(self) -> SubscriptionCounts:
        """Current subscriptions in total, by mode, and by category."""
        modes = await self._db.fetchall(
            "SELECT mode, COUNT(*) AS n, SUM(all_categories) AS all_news FROM subscriptions"
            " GROUP BY mode"
        )
        by_mode: dict[str, int] = {mode: 0 for mode in MODES}
        every = 0
        for row in modes:
            by_mode[str(row["mode"])] = int(row["n"])
            every += int(row["all_news"])
        categories = await self._db.fetchall(
            "SELECT c.category_id, c.name, COUNT(*) AS n FROM subscription_categories AS sc"
            " JOIN categories AS c USING (category_id)"
            " GROUP BY c.category_id ORDER BY n DESC, c.name"
        )
        return SubscriptionCounts(
            total=sum(by_mode.values()),
            by_mode=by_mode,
            all_categories=every,
            by_category=[
                (int(row["category_id"]), str(row["name"]), int(row["n"])) for row in categories
            ],
        )

    async def events(self, first: date, last: date) -> list[DayEvents]:
        """Subscriptions started, changed and stopped on each local day from first to last."""
        rows = await self._db.fetchall(
            "SELECT day, COUNT(*) FILTER (WHERE event = 'subscribe') AS subscribed,"
            " COUNT(*) FILTER (WHERE event = 'change') AS changed,"
            " COUNT(*) FILTER (WHERE event = 'unsubscribe') AS unsubscribed"
            " FROM subscription_events WHERE day >= ? AND day <= ? GROUP BY day",
            (first.isoformat(), last.isoformat()),
        )
        found = {
            date.fromisoformat(str(row["day"])): (
                int(row["subscribed"]),
                int(row["changed"]),
                int(row["unsubscribed"]),
            )
            for row in rows
        }
        days = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            days.append(DayEvents(day, *found.get(day, (0, 0, 0))))
        return days

    async def _event(
        self, conn: aiosqlite.Connection, moment: datetime, event: str, mode: str
    ) -> None:
        await conn.execute(
            "INSERT INTO subscription_events (at, day, event, mode) VALUES (?, ?, ?, ?)",
            (
                moment.isoformat(timespec="seconds"),
                moment.astimezone(self._tz).date().isoformat(),
                event,
                mode,
            ),
        )


async def _read(conn: aiosqlite.Connection, channel: str, chat_id: int) -> Subscription | None:
    """The chat's subscription, read on the connection of the caller's transaction."""
    async with conn.execute(_SELECT, (channel, chat_id)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _subscription(row)


# -- what subscribers get ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscription as the senders need it: who, what, when, and where its digests stand."""

    subscription: Subscription
    cursor: int  # articles up to this id were offered already
    slot: datetime | None  # the last digest slot served (UTC)

    @property
    def chat_id(self) -> int:
        """The subscribed chat."""
        return self.subscription.chat_id

    @property
    def channel(self) -> str:
        """The messenger the subscribed chat is on."""
        return self.subscription.channel

    def bookmark(self, cursor: int, slot: datetime | None) -> DigestBookmark:
        """Where this subscriber's digests will stand after a run (on its own channel)."""
        return DigestBookmark(self.chat_id, cursor, slot, self.channel)

    def wants(self, categories: frozenset[int]) -> bool:
        """Whether an article in `categories` belongs in this subscriber's news."""
        sub = self.subscription
        return sub.all_categories or not sub.category_ids.isdisjoint(categories)


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article as a line of a digest or the subject of an alert."""

    article_id: int
    title: str
    published_at: datetime
    category: str | None  # its main category's name
    categories: frozenset[int]  # every category it is in


@dataclass(frozen=True, slots=True)
class DigestBookmark:
    """Where a subscriber's digests stand after a run."""

    chat_id: int
    cursor: int
    slot: datetime | None
    channel: str = DEFAULT_CHANNEL


_SUBSCRIBERS = (
    "SELECT s.channel, s.chat_id, s.mode, s.hour, s.weekday, s.all_categories, s.language,"
    " (SELECT group_concat(category_id) FROM subscription_categories AS sc"
    "  WHERE sc.channel = s.channel AND sc.chat_id = s.chat_id) AS category_ids,"
    " s.digest_cursor, s.digest_slot"
    " FROM subscriptions AS s LEFT JOIN chats AS c USING (channel, chat_id)"
    " WHERE s.channel = ? AND COALESCE(c.active, 1) = 1 AND s.mode IN ({modes})"
)


def _subscriber(row: aiosqlite.Row) -> Subscriber:
    slot = row["digest_slot"]
    return Subscriber(
        _subscription(row),
        int(row["digest_cursor"]),
        None if slot is None else datetime.fromisoformat(str(slot)),
    )


class DigestReader:
    """The queries alerts and digests need (subscribers that can be reached, new articles).

    It only reads: the writes that go with a run belong to the tables' own stores
    (`ArticleStore.mark_announced`, `SubscriptionStore.save_bookmarks`).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def subscribers(self, *modes: Mode, channel: str = DEFAULT_CHANNEL) -> list[Subscriber]:
        """Subscribers of these modes on `channel` whose chat can be reached (blocked ones
        wait)."""
        rows = await self._db.fetchall(
            _SUBSCRIBERS.format(modes=",".join("?" * len(modes))), (channel, *modes)
        )
        return [_subscriber(row) for row in rows]

    async def subscriber(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> Subscriber | None:
        """One chat's subscription as the senders see it, or None (none, or unreachable)."""
        rows = await self._db.fetchall(
            _SUBSCRIBERS.format(modes=",".join("?" * len(MODES))) + " AND s.chat_id = ?",
            (channel, *MODES, chat_id),
        )
        return _subscriber(rows[0]) if rows else None

    async def audience(
        self, categories: frozenset[int] = frozenset(), channel: str = DEFAULT_CHANNEL
    ) -> list[int]:
        """Reachable subscribed chats; with `categories`, those that take all news or follow one
        of them. Every mode counts: an announcement is for everyone who asked for news."""
        where = ""
        parameters: tuple[int, ...] = ()
        if categories:
            marks = ",".join("?" * len(categories))
            where = (
                " AND (s.all_categories = 1 OR EXISTS (SELECT 1 FROM subscription_categories"
                " AS sc WHERE sc.channel = s.channel AND sc.chat_id = s.chat_id"
                f" AND sc.category_id IN ({marks})))"
            )
            parameters = tuple(sorted(categories))
        rows = await self._db.fetchall(
            "SELECT s.chat_id FROM subscriptions AS s LEFT JOIN chats AS c USING (channel, chat_id)"
            f" WHERE s.channel = ? AND COALESCE(c.active, 1) = 1{where} ORDER BY s.chat_id",
            (channel, *parameters),
        )
        return [int(row["chat_id"]) for row in rows]

    async def articles_after(
        self,
        article_id: int,
        *,
        only: Sequence[int] = (),
        announced: bool = False,
        stored_by: datetime | None = None,
    ) -> list[NewArticle]:
        """Articles stored after `article_id` (or just those listed in `only`), oldest first;
        with `announced`, only those alerts have had; with `stored_by`, only those stored by
        then (what a Zalo resident outside the window missed: bot.zalo.held)."""
        where = f"a.article_id IN ({','.join('?' * len(only))})" if only else "a.article_id > ?"
        parameters: tuple[Any, ...] = tuple(only) if only else (article_id,)
        if announced:
            where += " AND a.announced = 1"
        if stored_by is not None:
            where += " AND a.first_seen_at <= ?"
            parameters += (stored_by.astimezone(UTC).isoformat(timespec="seconds"),)
        rows = await self._db.fetchall(
            "SELECT a.article_id, a.title, a.published_at, c.name AS category,"
            " (SELECT group_concat(category_id) FROM article_categories AS ac"
            "  WHERE ac.article_id = a.article_id) AS category_ids, a.category_id"
            f" FROM articles AS a LEFT JOIN categories AS c USING (category_id) WHERE {where}"
            " ORDER BY a.article_id",
            parameters,
        )
        found = []
        for row in rows:
            listed = row["category_ids"]
            ids = {int(part) for part in str(listed).split(",")} if listed else set()
            if row["category_id"] is not None:
                ids.add(int(row["category_id"]))
            found.append(
                NewArticle(
                    article_id=int(row["article_id"]),
                    title=str(row["title"]),
                    published_at=datetime.fromisoformat(str(row["published_at"])),
                    category=None if row["category"] is None else str(row["category"]),
                    categories=frozenset(ids),
                )
            )
        return found

    async def unannounced(self) -> list[int]:
        """Articles the news reader stored that alerts and the channel have not had yet."""
        rows = await self._db.fetchall(
            "SELECT article_id FROM articles WHERE announced = 0 ORDER BY article_id"
        )
        return [int(row["article_id"]) for row in rows]
