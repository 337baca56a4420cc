"""Prometheus metrics of one running bot, in a registry of its own (never the global one).

No label carries personal data: update kinds are the interaction log's kinds (the bot's own
command names, "cmd:other" for anything else), job kinds, outcomes and priorities.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from telegram import Update

from bot.updates import ChatOrder

if TYPE_CHECKING:
    from bot.context import Services
    from bot.news import RunReport

__all__ = ["CONTENT_TYPE", "MeasuredUpdates", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Handler latencies: a tap is answered in milliseconds, a search or a chart may take a second.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters the bot moves as it works, and gauges read from the database at each scrape."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        self.updates = Counter(
            "commune_bot_updates",
            "Updates from Telegram handled, by kind (command name, button, message, ...)",
            ["kind"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            "commune_bot_update_handling_seconds",
            "Time from taking an update to the end of its handlers, by update type",
            ["type"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.sends = Counter(
            "commune_bot_sends",
            "Bulk messages answered by Telegram, by channel (the job's kind: alert, digest, "
            "channel, broadcast, poll) and outcome (sent, blocked, failed, retry, flood, skipped)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.flood = Counter(
            "commune_bot_telegram_429",
            "429 Too Many Requests answers met, by path (reply or bulk)",
            ["path"],
            registry=registry,
        )
        self.polls = Counter(
            "commune_bot_portal_polls",
            "Polls of the commune portal, by result (ok, partial: some pages failed, failed)",
            ["result"],
            registry=registry,
        )
        self.backups = Counter(
            "commune_bot_backups",
            "Daily backups written, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        self.last_backup = Gauge(
            "commune_bot_last_backup_timestamp_seconds",
            "When the newest daily backup was written (Unix time; 0 before the first)",
            registry=registry,
        )
        self.poll_age = Gauge(
            "commune_bot_seconds_since_last_good_poll",
            "Seconds since a poll last read the portal (since the start, before the first)",
            registry=registry,
        )
        self.subscribers = Gauge(
            "commune_bot_subscribers", "Chats subscribed to the news, by mode", ["mode"],
            registry=registry,
        )  # fmt: skip
        self.outbox = Gauge(
            "commune_bot_outbox_depth",
            "Messages due to be sent (pending or in flight; not paused or scheduled jobs), "
            "by job priority",
            ["priority"],
            registry=registry,
        )
        self.database_bytes = Gauge(
            "commune_bot_database_bytes",
            "Size of the database file with its write-ahead log",
            registry=registry,
        )
        for result in ("ok", "partial", "failed"):
            self.polls.labels(result)  # present from the start, at 0: rate() needs a baseline
        for result in ("ok", "failed"):
            self.backups.labels(result)
        for path in ("reply", "bulk"):
            self.flood.labels(path)

    # -- what the bot reports as it works ---------------------------------------------------

    def sent(self, channel: str, outcome: str) -> None:
        """One bulk message's answer (the delivery engine calls this)."""
        self.sends.labels(channel or "other", outcome).inc()
        if outcome == "flood":
            self.flood.labels("bulk").inc()

    def reply_flood(self) -> None:
        """A reply met a 429."""
        self.flood.labels("reply").inc()

    async def poll_finished(self, report: RunReport) -> None:
        """A news reader listener: count the poll by its result."""
        result = "failed" if not report.ok else "partial" if report.failures else "ok"
        self.polls.labels(result).inc()

    def backup_written(self, ok: bool) -> None:
        """The daily backup's outcome."""
        self.backups.labels("ok" if ok else "failed").inc()
        if ok:
            self.last_backup.set(time.time())

    # -- read at each scrape ----------------------------------------------------------------

    async def refresh(self, services: Services) -> None:
        """Set the gauges that describe the database from what it holds now."""
        counts = await services.subscriptions.counts()
        self.subscribers.clear()
        for mode, count in counts.by_mode.items():
            self.subscribers.labels(mode).set(count)
        depth = await services.outbox.depth(time.time())
        self.outbox.clear()
        for priority in sorted({5, *depth}):  # 5, the usual priority, shows even at 0
            self.outbox.labels(str(priority)).set(depth.get(priority, 0))
        self.database_bytes.set(database_bytes(services.db.path))
        if services.news is not None:
            self.poll_age.set(await seconds_since_good_poll(services))

    async def exposition(self, services: Services) -> bytes:
        """The Prometheus text exposition, gauges refreshed."""
        await self.refresh(services)
        return generate_latest(self.registry)


def database_bytes(path: Path) -> int:
    """The database file's size with its -wal file (what the database takes on disk)."""
    total = 0
    for name in (path, Path(f"{path}-wal")):
        with contextlib.suppress(OSError):  # no -wal file: nothing to add
            total += name.stat().st_size
    return total


async def seconds_since_good_poll(services: Services) -> float:
    """Seconds since the last poll that read the portal, counted from the start at most."""
    last = await services.news_log.last_success()
    since = max(last.timestamp() if last is not None else 0.0, services.opened_at)
    return max(0.0, datetime.now(UTC).timestamp() - since)


def update_type(update: object) -> str:
    """The update's type as the Bot API names it (message, callback_query, ...)."""
    if isinstance(update, Update):
        for name in Update.ALL_TYPES:
            if getattr(update, name, None) is not None:
                return str(name)
    return "other"


class MeasuredUpdates(ChatOrder):
    """Handles updates as `ChatOrder` does (concurrently, but one at a time per chat where a
    dialog claims it), counting and timing each.

    python-telegram-bot's documented hook around the handling of every update: the time spent
    is the update's whole way through the handler groups, its turn in its chat included.
    """

    def __init__(
        self,
        metrics: Metrics,
        describe: Callable[[Update], str],
        max_concurrent_updates: int = 256,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._metrics = metrics
        self._describe = describe
        # Each label's child, looked up once (prometheus_client checks and locks at each
        # `labels()`); the labels are the few update types and the interaction log's kinds.
        self._timed: dict[str, Histogram] = {}
        self._counted: dict[str, Counter] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers, then count the update by kind and record how long it took."""
        started = time.perf_counter()
        try:
            await super().do_process_update(update, coroutine)
        finally:
            elapsed = time.perf_counter() - started
            kind = update_type(update)
            timed = self._timed.get(kind)
            if timed is None:
                timed = self._timed[kind] = self._metrics.update_seconds.labels(kind)
            timed.observe(elapsed)
            try:
                kind = self._describe(update) if isinstance(update, Update) else "other"
            except Exception:  # counting must never cost an update its handling
                kind = "other"
            counted = self._counted.get(kind)
            if counted is None:
                counted = self._counted[kind] = self._metrics.updates.labels(kind)
            counted.inc()
