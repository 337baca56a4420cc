"""What subscribers get without asking: instant alerts, the channel mirror and digests.

Both write to the outbox and leave the sending to the delivery engine. Each is written in one
transaction with the bookkeeping that says it was written (an article marked announced, a
subscriber's digest bookmark moved), so a crash either loses nothing or repeats nothing:

- an article the news reader stores is announced once: one alert job per article
  (deduplicated by the article's id), to its instant subscribers and the channel;
- a digest lists the articles stored after the subscriber's bookmark, and moves the bookmark
  past them in the same transaction as the digest is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from bot import formats
from bot.config import Settings
from bot.delivery import outgoing
from bot.i18n import Catalog
from bot.keyboard import for_telegram
from bot.reading import render_alert, render_digest
from bot.views import View
from bot.views.polls import vote_view
from bot.zalo.messages import MAX_TEXT
from bot.zalo.messages import outgoing as zalo_outgoing
from bot.zalo.poll import poll_body
from bot.zalo.render import one_message
from storage.articles import ArticleStore
from storage.db import Database
from storage.outbox import OutboxStore
from storage.polls import PollResults, sent_key
from storage.subscriptions import (
    MODES,
    DigestBookmark,
    DigestReader,
    NewArticle,
    Subscriber,
    Subscription,
    SubscriptionStore,
)
from storage.zalo import CHANNEL as ZALO
from storage.zalo import ZaloPeople

__all__ = ["DigestRun", "PollSent", "Pusher", "last_slot"]

log = logging.getLogger(__name__)

ALERT_PRIORITY = 3  # before digests: an alert is about now
DIGEST_PRIORITY = 6
POLL_PRIORITY = 4  # after broadcasts and alerts, before digests
# Of a Zalo message's 2,000 characters, what a digest leaves for its last lines and the hint.
ZALO_DIGEST_ROOM = 400


def last_slot(subscription: Subscription, now: datetime, tz: ZoneInfo) -> datetime:
    """The latest scheduled time of the subscription's digest at or before `now` (in UTC)."""
    local = now.astimezone(tz)
    day = local.date()
    if subscription.mode == "weekly":
        day -= timedelta(days=(day.weekday() - subscription.weekday) % 7)
    slot = datetime.combine(day, time(subscription.hour), tzinfo=tz)
    if slot > local:
        slot -= timedelta(days=7 if subscription.mode == "weekly" else 1)
    return slot.astimezone(UTC)


@dataclass(frozen=True)
class DigestRun:
    """What a digest run wrote."""

    due: int  # subscribers whose digest was due
    recipients: int  # of them, those who had something new
    articles: int  # distinct articles in the run's digests
    delivery_id: int | None  # the job sending them, if any


@dataclass(frozen=True)
class PollSent:
    """What /sendpoll wrote: a job (None: this poll was sent before) and who it is for."""

    delivery_id: int | None
    telegram: int  # Telegram's subscribers
    zalo_now: int = 0  # Zalo's inside their window: a message now
    zalo_waiting: int = 0  # Zalo's outside it: their next message brings it

    @property
    def total(self) -> int:
        """Everyone it is for."""
        return self.telegram + self.zalo_now + self.zalo_waiting

    @property
    def by_channel(self) -> dict[str, int]:
        """Who it is for, on each channel (for the audit log)."""
        return {"telegram": self.telegram, ZALO: self.zalo_now + self.zalo_waiting}


def _body(view: View) -> dict[str, Any]:
    rendered = for_telegram(view)
    return outgoing(
        "send_message",
        text=rendered.text,
        parse_mode="HTML",
        reply_markup=rendered.keyboard,
        link_preview_options=rendered.preview,
    )


class Pusher:
    """Turns new articles into alerts and digests in the outbox."""

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        settings: Settings,
        bot_username: str,
        wake: Callable[[], None],
        channel: Callable[[], int | None] | None = None,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._settings = settings
        self._username = bot_username
        self._wake = wake
        # The channel's numeric id, once known (CHANNEL_ID may be an @username looked up later).
        self._channel = channel or (
            lambda: settings.CHANNEL_ID if isinstance(settings.CHANNEL_ID, int) else None
        )
        self._reader = DigestReader(db)
        self._articles = ArticleStore(db)
        self._outbox = OutboxStore(db)
        self._zalo = ZaloPeople(db)
        self._lock = asyncio.Lock()  # one announcement or digest run at a time

    # -- instant alerts and the channel ---------------------------------------------------

    async def announce(self, *, backfill: bool = False) -> list[int]:
        """Write an alert job for each article not announced yet; returns the jobs written.

        After a backfill (the first reading of the site) the articles are old news: they are
        marked announced and nobody is alerted.
        """
        async with self._lock:
            ids = await self._reader.unannounced()
            if not ids:
                return []
            if backfill:
                await self._articles.mark_announced(ids)
                log.info("%d articles from the first reading of the site: not alerted", len(ids))
                return []
            subscribers = await self._reader.subscribers("instant")
            zalo = await self._reachable_on_zalo(
                await self._reader.subscribers("instant", channel=ZALO)
            )
            infos = {a.article_id: a for a in await self._reader.articles_after(0, only=ids)}
            articles = await self._articles.get_many(ids)
            jobs: list[int] = []
            for article_id in ids:
                job = await self._alert(
                    article_id, articles.get(article_id), infos, subscribers, zalo
                )
                if job is not None:
                    jobs.append(job)
        if jobs:
            self._wake()
        return jobs

    async def _alert(
        self,
        article_id: int,
        article: Any,
        infos: dict[int, NewArticle],
        subscribers: list[Subscriber],
        zalo: Sequence[Subscriber] = (),
    ) -> int | None:
        marks: list[DigestBookmark] = []

        async def mark(conn: aiosqlite.Connection) -> None:
            await self._articles.mark_announced([article_id], conn)
            # Zalo subscribers written to: their bookmark moves past this article.
            await SubscriptionStore.save_bookmarks(conn, marks)

        info = infos.get(article_id)
        if article is None or info is None:
            await self._articles.mark_announced([article_id])
            return None
        tz = self._settings.tz
        messages: list[dict[str, Any]] = []
        variants: dict[tuple[str, bool], int] = {}
        recipients: list[tuple[int, int] | tuple[str, int, int]] = []

        def variant(language: str, private: bool) -> int:
            key = (language, private)
            if key not in variants:
                variants[key] = len(messages)
                rendered = render_alert(
                    article, self._catalog, language, tz, self._username, private=private
                )
                messages.append(_body(rendered))
            return variants[key]

        for subscriber in subscribers:
            if subscriber.wants(info.categories):
                chat = subscriber.chat_id
                recipients.append((chat, variant(subscriber.subscription.language, chat > 0)))
        channel = self._channel()
        if channel is not None:
            recipients.append((channel, variant(self._settings.DEFAULT_LANGUAGE, False)))
        zalo_variants: dict[str, int] = {}
        for subscriber in zalo:
            if not subscriber.wants(info.categories) or article_id <= subscriber.cursor:
                continue  # not theirs, or brought already with their last message
            language = subscriber.subscription.language
            if language not in zalo_variants:
                zalo_variants[language] = len(messages)
                view = render_alert(article, self._catalog, language, tz, "", private=True)
                messages.append(self._zalo_body(view, language))
            recipients.append((ZALO, subscriber.chat_id, zalo_variants[language]))
            marks.append(subscriber.bookmark(article_id, None))
        if not recipients:
            await self._articles.mark_announced([article_id])
            return None
        return await self._outbox.create(
            "alert",
            messages,
            recipients,
            label=info.title,
            dedupe_key=f"alert:{article_id}",
            priority=ALERT_PRIORITY,
            also=mark,
        )

    # -- digests --------------------------------------------------------------------------

    async def digests(self, now: datetime | None = None, *, everyone: bool = False) -> DigestRun:
        """Write the digests due at `now` (or, with `everyone`, every digest subscriber's now).

        A digest missed while the bot was down is written once, if its time is less than
        DIGEST_GRACE_HOURS ago; an older one is skipped, and its articles wait for the next.
        """
        now = (now or datetime.now(UTC)).astimezone(UTC)
        grace = timedelta(hours=self._settings.DIGEST_GRACE_HOURS)
        tz = self._settings.tz
        async with self._lock:
            due: list[tuple[Subscriber, datetime | None]] = []
            marks: list[DigestBookmark] = []
            telegram = await self._reader.subscribers("daily", "weekly")
            zalo = await self._reader.subscribers("daily", "weekly", channel=ZALO)
            open_on_zalo = {s.chat_id for s in await self._reachable_on_zalo(zalo)}
            for subscriber in telegram + zalo:
                if subscriber.channel == ZALO and subscriber.chat_id not in open_on_zalo:
                    # Outside Zalo's window: nothing written, the bookmark stays; the slot is
                    # served, and the resident's next message brings the news (bot.zalo.held).
                    if not everyone:
                        slot = last_slot(subscriber.subscription, now, tz)
                        if subscriber.slot is None or subscriber.slot < slot:
                            marks.append(subscriber.bookmark(subscriber.cursor, slot))
                    continue
                if everyone:
                    due.append((subscriber, None))
                    continue
                slot = last_slot(subscriber.subscription, now, tz)
                if subscriber.slot is not None and subscriber.slot >= slot:
                    continue  # served already, or subscribed after this slot
                if now - slot > grace:
                    marks.append(subscriber.bookmark(subscriber.cursor, slot))
                    continue
                due.append((subscriber, slot))
            messages: list[dict[str, Any]] = []
            recipients: list[tuple[int, int] | tuple[str, int, int]] = []
            shown: set[int] = set()
            if due:
                articles = await self._reader.articles_after(min(s.cursor for s, _ in due))
                rendered: dict[tuple[Any, ...], int] = {}
                chosen: dict[tuple[Any, ...], list[NewArticle]] = {}
                for subscriber, serving in due:
                    sub = subscriber.subscription
                    newer = [a for a in articles if a.article_id > subscriber.cursor]
                    top = newer[-1].article_id if newer else subscriber.cursor
                    marks.append(subscriber.bookmark(top, serving))
                    what = (subscriber.cursor, sub.all_categories, sub.category_ids)
                    if what not in chosen:
                        chosen[what] = [a for a in newer if subscriber.wants(a.categories)]
                    mine = chosen[what]
                    if not mine:
                        continue  # nothing new: nothing sent
                    key = (*what, sub.language, sub.mode, subscriber.channel)
                    if key not in rendered:
                        rendered[key] = len(messages)
                        on_zalo = subscriber.channel == ZALO
                        digest = render_digest(
                            mine, self._catalog, sub.language, tz,
                            "" if on_zalo else self._username,
                            weekly=sub.mode == "weekly",
                            commune=self._settings.COMMUNE_NAME,
                            today=serving or now,
                            **({"limit": MAX_TEXT - ZALO_DIGEST_ROOM} if on_zalo else {}),
                        )  # fmt: skip
                        messages.append(self._zalo_body(digest, sub.language) if on_zalo
                                        else _body(digest))  # fmt: skip
                        shown.update(a.article_id for a in mine)
                    recipients.append((subscriber.channel, subscriber.chat_id, rendered[key]))

            async def save(conn: aiosqlite.Connection) -> None:
                await SubscriptionStore.save_bookmarks(conn, marks)

            delivery_id = None
            if recipients:
                label = formats.stamp_day_first(now, tz)
                delivery_id = await self._outbox.create(
                    "digest",
                    messages,
                    recipients,
                    label=label,
                    priority=DIGEST_PRIORITY,
                    also=save,
                )
            elif marks:
                async with self._db.transaction() as conn:
                    await save(conn)
        if delivery_id is not None:
            self._wake()
            log.info("digests written for %d subscribers (%d due)", len(recipients), len(due))
        return DigestRun(len(due), len(recipients), len(shown), delivery_id)

    # -- the poll (/sendpoll) ---------------------------------------------------------------

    async def send_poll(self, results: PollResults, created_by: int | None = None) -> PollSent:
        """Write the poll for every subscriber, once per poll: on Telegram with its buttons;
        on Zalo for each subscriber who follows the OA, with its numbered choices
        (`bot.zalo.poll`). The engine sends it to the Zalo residents inside their window and
        skips the others ("window"): for them it waits, and their next message brings it
        (`bot.zalo.held.take_held_poll`)."""
        bodies: list[dict[str, Any]] = []
        variants: dict[tuple[str, str], int] = {}
        recipients: list[tuple[int, int] | tuple[str, int, int]] = []

        def variant(channel: str, language: str) -> int:
            if (channel, language) not in variants:
                variants[channel, language] = len(bodies)
                if channel == ZALO:
                    bodies.append(poll_body(self._catalog, language, results))
                else:
                    bodies.append(_body(vote_view(self._catalog, language, results)))
            return variants[channel, language]

        telegram = await self._reader.subscribers(*MODES)
        for subscriber in telegram:
            language = subscriber.subscription.language
            recipients.append(("telegram", subscriber.chat_id, variant("telegram", language)))
        inside: list[int] = []
        outside: list[int] = []
        if self._settings.zalo_enabled:
            on_zalo = {s.chat_id: s for s in await self._reader.subscribers(*MODES, channel=ZALO)}
            inside, outside = await self._zalo.windows(
                list(on_zalo),
                timedelta(hours=self._settings.ZALO_WINDOW_HOURS),
                self._settings.ZALO_WINDOW_MESSAGES,
            )
            for person in inside + outside:
                language = on_zalo[person].subscription.language
                recipients.append((ZALO, person, variant(ZALO, language)))
        delivery_id = await self._outbox.create(
            "poll",
            bodies,
            recipients,
            label=results.poll.question[:60],
            dedupe_key=sent_key(results.poll.poll_id),
            priority=POLL_PRIORITY,
            created_by=created_by,
        )
        if delivery_id is not None:
            self._wake()
            log.info("poll %s queued for %d subscribers (on Zalo %d now, %d waiting)",
                     results.poll.poll_id, len(recipients), len(inside), len(outside))  # fmt: skip
        return PollSent(delivery_id, len(telegram), len(inside), len(outside))

    # -- Zalo: only inside the interaction window ------------------------------------------

    async def _reachable_on_zalo(self, subscribers: list[Subscriber]) -> list[Subscriber]:
        """The Zalo subscribers the OA may write to now (ZaloPeople's window). The others get
        nothing written and keep their bookmark: their next message brings what they missed."""
        inside, _ = await self._zalo.windows(
            [subscriber.chat_id for subscriber in subscribers],
            timedelta(hours=self._settings.ZALO_WINDOW_HOURS),
            self._settings.ZALO_WINDOW_MESSAGES,
        )
        reachable = set(inside)
        return [subscriber for subscriber in subscribers if subscriber.chat_id in reachable]

    def _zalo_body(self, view: View, language: str) -> dict[str, Any]:
        hint = self._catalog.text("zalo.alert_hint", language)
        return zalo_outgoing(one_message(view, self._catalog, language, hint))
