"""The delivery engine: works through the outbox at each messenger's limits, losing and repeating
nothing.

Digests, alerts, channel posts and staff broadcasts are written to the outbox
(`storage.outbox`) as a job with a row per recipient, on Telegram or on Zalo. The engine sends
them, through a `bot.sending.Sender` per channel (Telegram's in `bot.delivery_telegram`, Zalo's
in `bot.zalo.delivery`):

- paced by the channel's own `Pace` (Telegram: `FloodControl`, 30 a second overall, minus what
  replies to residents used; one a second per private chat; 20 a minute per group or channel.
  Zalo: `ZALO_SEND_RATE_PER_SECOND`), and only where the channel's rules allow it now (Zalo's
  interaction window, `Sender.admit`);
- marking each row "sending" just before its request leaves, so a crash repeats only messages
  that were in flight;
- never sending again a message the channel accepted: if the database cannot record it at once
  (locked by a backup or a second process), the record is retried with backoff, then kept in
  memory and written later, while the row stays "sending" and is not taken again;
- writing what each refusal means (the sender tells it apart, `bot.sending.Outcome`) the same
  way for every channel: wait as asked, mark an unreachable recipient and never retry, skip what
  the rules forbid with the reason, follow a moved group, retry 5xx and network errors with
  backoff a bounded number of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.delivery_telegram import TelegramSender, forwardable, outgoing, send
from bot.sending import Failed, Moved, Outcome, Retry, Sender, Skipped
from storage.channels import DEFAULT_CHANNEL
from storage.chats import ChatStore
from storage.outbox import GONE_REASONS, OutboxStore, Pending, Progress

__all__ = [
    "DeliveryEngine",
    "Estimate",
    "TelegramSender",
    "forwardable",
    "outgoing",
    "send",
]

log = logging.getLogger(__name__)

# Seconds to wait before the 1st, 2nd, ... retry after a 5xx or a network error.
RETRY_DELAYS: tuple[float, ...] = (2, 10, 30, 120)

# Seconds to wait before writing an outcome again when the database refused it (each attempt
# already waits SQLite's busy timeout); after the last, the outcome waits in memory.
RECORD_DELAYS: tuple[float, ...] = (0.1, 0.5, 2.0)
# How often outcomes kept in memory are written again while the database refuses them.
BACKLOG_SECONDS = 1.0


@dataclass(frozen=True)
class Estimate:
    """A job's progress with the time its remaining messages should take."""

    progress: Progress
    seconds_left: float | None  # None when nothing is left or the job is not running


class DeliveryEngine:
    """Sends what the outbox holds, one job after another by priority, each row through its
    channel's sender."""

    def __init__(
        self,
        outbox: OutboxStore,
        chats: ChatStore,
        senders: Sequence[Sender],
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        record_delays: Sequence[float] = RECORD_DELAYS,
        clock: Callable[[], float] = time.time,
        batch: int = 50,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.chats = chats
        self.senders: dict[str, Sender] = {sender.channel: sender for sender in senders}
        self.retry_delays = tuple(retry_delays)
        self.record_delays = tuple(record_delays)
        self.clock = clock
        self.batch = batch
        # Told (job kind, outcome) of every answer: sent, blocked, failed, retry, flood, skipped.
        self._on_outcome = on_outcome
        self._hold = 0.0  # seconds to wait at start for a previous run's sends to age out
        # One loop per channel, so that one channel's pace never holds another's rows back.
        self._wake = {name: asyncio.Event() for name in self.senders}
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._bodies: dict[int, dict[str, Any]] = {}
        # When recent sends were answered, by channel: the measured pace of each.
        self._finished_at: dict[str, deque[float]] = {name: deque() for name in self.senders}
        self._unreachable_listeners: list[Callable[[int, str], Awaitable[None]]] = []
        # Outcomes the database refused to record, by outbox row: written again on each round.
        # Their rows stay "sending", so they are neither taken again nor counted as finished.
        self._unrecorded: dict[int, Callable[[], Awaitable[object]]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up what a previous run left, then send in the background."""
        recovered = await self.outbox.recover()
        if recovered:
            log.warning(
                "%d messages were being sent when the bot stopped; they are sent again "
                "(recipients may see them twice)",
                recovered,
            )
        # Telegram still counts what a previous run sent in the last second: wait that out.
        last = await self.outbox.last_activity()
        self._hold = 0.0 if last is None else max(0.0, min(1.0, last + 1.0 - self.clock()))
        self._tasks = [
            asyncio.create_task(self._run(channel), name=f"delivery-engine-{channel}")
            for channel in self.senders
        ]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking new rows; let requests in flight finish for up to `grace` seconds."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._sending:
            _, late = await asyncio.wait(set(self._sending), timeout=grace)
            for task in late:  # left "sending": sent again on the next start
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._unrecorded and not await self._flush():
            log.error(
                "%d bulk messages were sent but could not be recorded; they are sent again on "
                "the next start (recipients may see them twice)",
                len(self._unrecorded),
            )

    @property
    def alive(self) -> bool:
        """Whether the engine's loop runs (started, and neither stopped nor crashed)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    def _count(self, row: Pending, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(row.kind, outcome)

    def wake(self) -> None:
        """Look at the outbox now (a job was added or resumed, a chat came back)."""
        for event in self._wake.values():
            event.set()

    def on_unreachable(self, listener: Callable[[int, str], Awaitable[None]]) -> None:
        """Call `listener(chat_id, the channel's words)` when a Telegram chat is found
        unreachable (the commune's channel is one: its owners must be told)."""
        self._unreachable_listeners.append(listener)

    # -- staff controls -------------------------------------------------------------------

    async def pause(self, delivery_id: int) -> bool:
        """Pause a running job."""
        return await self.outbox.pause(delivery_id)

    async def resume(self, delivery_id: int) -> bool:
        """Resume a paused job."""
        resumed = await self.outbox.resume(delivery_id)
        self.wake()
        return resumed

    async def cancel(self, delivery_id: int) -> bool:
        """Cancel a job; what is in flight still lands, the rest is skipped."""
        cancelled = await self.outbox.cancel(delivery_id)
        self.wake()  # closes the job once its messages in flight have landed
        return cancelled

    async def estimate(self, delivery_id: int) -> Estimate | None:
        """A job's counts and the seconds its pending messages should still take: each
        channel's at its own pace, all at once."""
        progress = await self.outbox.progress(delivery_id)
        if progress is None:
            return None
        if progress.state != "running" or progress.pending == 0:
            return Estimate(progress, None)
        pending = await self.outbox.pending_by_channel(delivery_id)
        seconds = max(
            (count / self._rate(channel) for channel, count in pending.items()), default=0.0
        )
        wait = max(0.0, (progress.start_at or 0.0) - self.clock())
        return Estimate(progress, wait + seconds)

    def _rate(self, channel: str) -> float:
        """Messages a second on `channel`: the pace of the last seconds if there is one, the
        channel's limit otherwise."""
        sender = self.senders.get(channel)
        if sender is None:  # a channel this process does not send to: its rows wait
            return float("inf")
        budget = float(sender.pace.budget)
        recent = self._finished_at[channel]
        now = time.monotonic()
        while recent and now - recent[0] > 10.0:
            recent.popleft()
        span = recent[-1] - recent[0] if len(recent) >= 5 else 0.0
        return min((len(recent) - 1) / span, budget) if span > 0 else budget

    # -- the loop -------------------------------------------------------------------------

    async def _run(self, channel: str) -> None:
        if self._hold:
            await asyncio.sleep(self._hold)
        while True:
            try:
                worked = await self._round(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not stop deliveries for good: log, wait, go on.
                log.exception("the delivery engine met an error; it tries again in 5 s")
                await self._sleep(channel, 5.0)
                continue
            if not worked:
                await self._idle(channel)

    async def _round(self, channel: str) -> bool:
        """Send one batch of `channel`'s due rows; False if there was nothing to send."""
        if self._unrecorded:
            await self._flush()
        await self.outbox.finish()
        rows = await self.outbox.due(self.clock(), self.batch, (channel,))
        for row in rows:
            await self._dispatch(row)
        return bool(rows)

    async def _dispatch(self, row: Pending) -> None:
        now = self.clock()
        if row.unreachable is not None:
            await self.outbox.skipped(row.outbox_id, row.unreachable, now)
            self._count(row, "skipped")
            return
        sender = self.senders[row.channel]
        pace = sender.pace
        wait = pace.chat_wait(row.chat_id)
        if wait > 0:  # the chat had a message a moment ago: its turn comes later
            await self.outbox.postpone(row.outbox_id, now + wait)
            return
        barred = await sender.admit(row)
        if barred is not None:  # the channel's rules forbid it now: never sent
            await self.outbox.skipped(row.outbox_id, barred, self.clock())
            self._count(row, "skipped")
            return
        await pace.acquire(row.chat_id)
        try:
            started = await self.outbox.start(row.outbox_id, self.clock())
        except BaseException:
            pace.release(row.chat_id, answered=False)  # nothing left: tried next round
            await _quietly(sender.give_back(row))
            raise
        if not started:
            pace.release(row.chat_id, answered=False)  # paused or cancelled meanwhile
            await sender.give_back(row)
            return
        task = asyncio.create_task(self._deliver(row, sender), name=f"deliver-{row.outbox_id}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _idle(self, channel: str) -> None:
        """Sleep until `channel`'s next row is due, or until woken."""
        due = await self.outbox.next_due((channel,))
        timeout = 60.0 if due is None else min(60.0, max(0.05, due - self.clock()))
        if self._unrecorded:
            timeout = min(timeout, BACKLOG_SECONDS)
        await self._sleep(channel, timeout)

    async def _sleep(self, channel: str, timeout: float) -> None:
        wake = self._wake[channel]
        wake.clear()
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await wake.wait()

    # -- one message ----------------------------------------------------------------------

    async def _deliver(self, row: Pending, sender: Sender) -> None:
        try:
            await self._attempt(row, sender)
        except Exception:
            # Not after a send the channel accepted (`_record` keeps those): a refused or failed
            # send whose outcome could not be written is tried again rather than left stuck.
            log.exception("could not record the outcome of a bulk message")
            with contextlib.suppress(Exception):
                now = self.clock()
                await self.outbox.retry(row.outbox_id, now + 5.0, "error", None, now)
        finally:
            if len(self._sending) <= 1:  # the last one out: the job may be finished
                self.wake()

    async def _send(self, row: Pending, sender: Sender) -> int | str | None:
        """The request itself, holding the slot `_dispatch` took until the channel answers."""
        try:
            body = await self._body(row.message_key)
            return await sender.send(row, body)
        finally:
            # Counted as answered even after a timeout: the channel may have taken it.
            sender.pace.release(row.chat_id)
            self._finished_at[row.channel].append(time.monotonic())

    async def _attempt(self, row: Pending, sender: Sender) -> None:
        try:
            message_id = await self._send(row, sender)
        except Exception as exc:
            await self._apply(row, await sender.refused(row, exc))
        else:
            now = self.clock()
            await self._record(
                row.outbox_id, lambda: self.outbox.sent(row.outbox_id, message_id, now)
            )
            self._count(row, "sent")

    async def _apply(self, row: Pending, outcome: Outcome) -> None:
        """Write what a refusal means, the same way for every channel."""
        now = self.clock()
        if isinstance(outcome, Retry):
            if outcome.after is not None:  # the channel asked to slow down: no fault of the row
                self._count(row, "flood")
                await self.outbox.retry(
                    row.outbox_id, now + outcome.after, outcome.reason, outcome.detail, now,
                    refund=True,
                )  # fmt: skip
            else:
                await self._retry_later(row, row.attempts + 1, outcome.reason, outcome.detail)
        elif isinstance(outcome, Moved):
            await self.chats.move(row.chat_id, outcome.new_chat_id, channel=row.channel)
            log.info("a group moved to a new id; its messages follow it")
            await self.outbox.redirect(row.outbox_id, outcome.new_chat_id, now)
            self.wake()
        elif isinstance(outcome, Failed):
            if outcome.gone:
                await self._unreachable(row, outcome.reason, outcome.detail or "")
            await self.outbox.failed(row.outbox_id, outcome.reason, outcome.detail, now)
            gone = outcome.gone or outcome.reason in GONE_REASONS
            self._count(row, "blocked" if gone else "failed")
        elif isinstance(outcome, Skipped):
            await self.outbox.skipped(row.outbox_id, outcome.reason, now, outcome.detail)
            self._count(row, "skipped")

    async def _record(self, outbox_id: int, write: Callable[[], Awaitable[object]]) -> None:
        """Write the outcome of a send the channel accepted; never let it be sent again.

        A refusal of the database ("database is locked": a backup, a second process) is retried
        after each of `record_delays`; then the outcome waits in memory for the next round.
        """
        for delay in (*self.record_delays, None):
            try:
                await write()
                return
            except Exception as exc:
                if delay is None:
                    log.warning(
                        "a bulk message was sent but the database refused to record it (%s);"
                        " it is kept and recorded as soon as the database allows",
                        exc,
                    )
                    self._unrecorded[outbox_id] = write
                    return
                log.warning(
                    "could not record a bulk message as sent (%s); trying again in %.1f s",
                    exc, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)

    async def _flush(self) -> bool:
        """Write the outcomes kept in memory; True when none is left."""
        for outbox_id, write in list(self._unrecorded.items()):
            try:
                await write()
            except Exception as exc:
                log.warning("the database still refuses to record sent messages: %s", exc)
                return False
            self._unrecorded.pop(outbox_id, None)  # (another channel's loop may have)
        log.info("sent messages kept in memory are now recorded")
        return True

    async def _unreachable(self, row: Pending, reason: str, detail: str) -> None:
        """Mark the chat unreachable; the first time, tell the listeners (the channel matters)."""
        changed = await self.chats.set_active(row.chat_id, False, reason, channel=row.channel)
        if changed and row.channel == DEFAULT_CHANNEL:
            for listener in self._unreachable_listeners:
                try:
                    await listener(row.chat_id, detail)
                except Exception:
                    log.exception("a listener of unreachable chats failed")

    async def _retry_later(
        self, row: Pending, attempt: int, reason: str, detail: str | None
    ) -> None:
        now = self.clock()
        if attempt > len(self.retry_delays):
            log.warning("giving up a bulk message after %d attempts: %s", attempt, detail)
            await self.outbox.failed(row.outbox_id, reason, detail, now)
            self._count(row, "failed")
            return
        self._count(row, "retry")
        delay = self.retry_delays[attempt - 1]
        await self.outbox.retry(row.outbox_id, now + delay, reason, detail, now)

    async def _body(self, message_key: int) -> dict[str, Any]:
        body = self._bodies.get(message_key)
        if body is None:
            if len(self._bodies) > 1000:  # digests have one body per recipient
                self._bodies.clear()
            body = self._bodies[message_key] = await self.outbox.body(message_key)
        return body


async def _quietly(work: Awaitable[None]) -> None:
    """Do `work`, logging rather than raising what it meets (already on an error's path)."""
    try:
        await work
    except Exception:
        log.exception("could not give back what a bulk message had taken")
