"""The delivery engine: works through the outbox at Telegram's limits, losing and repeating nothing.

Digests, alerts, channel posts and staff broadcasts are written to the outbox
(`storage.outbox`) as a job with a row per recipient. The engine sends them:

- paced by `FloodControl` (30 a second overall, minus what replies to residents used; one a
  second per private chat; 20 a minute per group or channel);
- marking each row "sending" just before its request leaves, so a crash repeats only messages
  that were in flight;
- never sending again a message Telegram accepted: if the database cannot record it at once
  (locked by a backup or a second process), the record is retried with backoff, then kept in
  memory and written later, while the row stays "sending" and is not taken again;
- telling Telegram's answers apart: 429 waits exactly as asked; blocked, deactivated or kicked
  recipients are marked unreachable and not retried; a migrated group is followed to its new
  id; other 400s are recorded with Telegram's words; 5xx and network errors are retried with
  backoff a bounded number of times.

It sends with its own `telegram.Bot` (its own connection pool), so a large job never takes a
connection a reply to a resident needs.
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

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    TelegramObject,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.ratelimit import FloodControl, retry_after_seconds
from storage.chats import ChatStore
from storage.outbox import OutboxStore, Pending, Progress

__all__ = [
    "DeliveryEngine",
    "Estimate",
    "forwardable",
    "outgoing",
]

log = logging.getLogger(__name__)

# Bot methods a job may use, and the parameters that are Telegram objects rather than plain JSON.
_METHODS = frozenset({"send_message", "send_photo", "send_document", "copy_message"})
_OBJECTS: dict[str, Callable[[Any, Bot], Any]] = {
    "reply_markup": InlineKeyboardMarkup.de_json,
    "link_preview_options": LinkPreviewOptions.de_json,
    "entities": MessageEntity.de_list,
    "caption_entities": MessageEntity.de_list,
}

# Seconds to wait before the 1st, 2nd, ... retry after a 5xx or a network error.
RETRY_DELAYS: tuple[float, ...] = (2, 10, 30, 120)

# Seconds to wait before writing an outcome again when the database refused it (each attempt
# already waits SQLite's busy timeout); after the last, the outcome waits in memory.
RECORD_DELAYS: tuple[float, ...] = (0.1, 0.5, 2.0)
# How often outcomes kept in memory are written again while the database refuses them.
BACKLOG_SECONDS = 1.0

# Telegram's words for "this recipient is gone", by the reason recorded.
_GONE_WORDS = (
    ("blocked", "blocked"),
    ("deactivated", "deactivated"),
    ("kicked", "kicked"),
    ("not a member", "kicked"),
    ("have no rights", "no_rights"),
    ("not enough rights", "no_rights"),
)


def outgoing(method: str, **params: Any) -> dict[str, Any]:
    """A message as the outbox keeps it: a Bot method and its parameters, as JSON.

    Telegram objects (a keyboard, link preview options, entities) are stored in their API form.
    """
    if method not in _METHODS:
        raise ValueError(f"the outbox cannot send with {method!r}")
    plain: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, TelegramObject):
            plain[key] = value.to_dict()
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], TelegramObject):
            plain[key] = [item.to_dict() for item in value]
        else:
            plain[key] = value
    return {"method": method, "params": plain}


def forwardable(message: Message) -> tuple[str, str, dict[str, Any]] | None:
    """A message someone sent, as the outbox would send it on: its kind ("text", "photo",
    "document"), its text or caption as Telegram HTML (their formatting kept), and the body.
    None for any other kind of message (a sticker, a video, a location...)."""
    if message.photo:
        kind = "photo"
        text_html = message.caption_html or ""
        body = outgoing(
            "send_photo", photo=message.photo[-1].file_id, caption=text_html or None,
            parse_mode="HTML",
        )  # fmt: skip
    elif message.document is not None and message.animation is None:
        # (A GIF comes with a `document` too, but it is an animation.)
        kind = "document"
        text_html = message.caption_html or ""
        body = outgoing(
            "send_document", document=message.document.file_id,
            caption=text_html or None, parse_mode="HTML",
        )  # fmt: skip
    elif message.text:
        kind = "text"
        text_html = message.text_html
        body = outgoing("send_message", text=text_html, parse_mode="HTML")
    else:
        return None
    body["params"] = {k: v for k, v in body["params"].items() if v is not None}
    return kind, text_html, body


async def send(bot: Bot, chat_id: int, body: dict[str, Any]) -> int:
    """Send one outbox message to `chat_id`; returns Telegram's message id."""
    method = body.get("method")
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}")
    params = dict(body.get("params") or {})
    for key, parse in _OBJECTS.items():
        if params.get(key) is not None:
            params[key] = parse(params[key], bot)
    result = await getattr(bot, method)(chat_id=chat_id, **params)
    return int(result.message_id)


@dataclass(frozen=True)
class Estimate:
    """A job's progress with the time its remaining messages should take."""

    progress: Progress
    seconds_left: float | None  # None when nothing is left or the job is not running


class DeliveryEngine:
    """Sends what the outbox holds, one job after another by priority."""

    def __init__(
        self,
        bot: Bot,
        outbox: OutboxStore,
        chats: ChatStore,
        flood: FloodControl,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        record_delays: Sequence[float] = RECORD_DELAYS,
        clock: Callable[[], float] = time.time,
        batch: int = 50,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.bot = bot
        self.outbox = outbox
        self.chats = chats
        self.flood = flood
        self.retry_delays = tuple(retry_delays)
        self.record_delays = tuple(record_delays)
        self.clock = clock
        self.batch = batch
        # Told (job kind, outcome) of every answer: sent, blocked, failed, retry, flood, skipped.
        self._on_outcome = on_outcome
        self._hold = 0.0  # seconds to wait at start for a previous run's sends to age out
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._bodies: dict[int, dict[str, Any]] = {}
        self._finished_at: deque[float] = deque()  # when recent sends were answered
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
        self._task = asyncio.create_task(self._run(), name="delivery-engine")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking new rows; let requests in flight finish for up to `grace` seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
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
        return self._task is not None and not self._task.done()

    def _count(self, row: Pending, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(row.kind, outcome)

    def wake(self) -> None:
        """Look at the outbox now (a job was added or resumed, a chat came back)."""
        self._wake.set()

    def on_unreachable(self, listener: Callable[[int, str], Awaitable[None]]) -> None:
        """Call `listener(chat_id, Telegram's words)` when a chat is found unreachable."""
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
        """A job's counts and the seconds its pending messages should still take."""
        progress = await self.outbox.progress(delivery_id)
        if progress is None:
            return None
        if progress.state != "running" or progress.pending == 0:
            return Estimate(progress, None)
        now = time.monotonic()
        while self._finished_at and now - self._finished_at[0] > 10.0:
            self._finished_at.popleft()
        recent = self._finished_at
        span = recent[-1] - recent[0] if len(recent) >= 5 else 0.0
        # The pace of the last seconds if there is one, Telegram's limit otherwise.
        rate = min((len(recent) - 1) / span, self.flood.budget) if span > 0 else self.flood.budget
        wait = max(0.0, (progress.start_at or 0.0) - self.clock())
        return Estimate(progress, wait + progress.pending / rate)

    # -- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        if self._hold:
            await asyncio.sleep(self._hold)
        while True:
            try:
                worked = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not stop deliveries for good: log, wait, go on.
                log.exception("the delivery engine met an error; it tries again in 5 s")
                await self._sleep(5.0)
                continue
            if not worked:
                await self._idle()

    async def _round(self) -> bool:
        """Send one batch of due rows; False if there was nothing to send."""
        if self._unrecorded:
            await self._flush()
        await self.outbox.finish()
        rows = await self.outbox.due(self.clock(), self.batch)
        for row in rows:
            await self._dispatch(row)
        return bool(rows)

    async def _dispatch(self, row: Pending) -> None:
        now = self.clock()
        if row.unreachable is not None:
            await self.outbox.skipped(row.outbox_id, row.unreachable, now)
            self._count(row, "skipped")
            return
        wait = self.flood.chat_wait(row.chat_id)
        if wait > 0:  # the chat had a message a moment ago: its turn comes later
            await self.outbox.postpone(row.outbox_id, now + wait)
            return
        await self.flood.acquire(row.chat_id)
        try:
            started = await self.outbox.start(row.outbox_id, self.clock())
        except BaseException:
            self.flood.release(row.chat_id, answered=False)  # nothing left: tried next round
            raise
        if not started:
            self.flood.release(row.chat_id, answered=False)  # paused or cancelled meanwhile
            return
        task = asyncio.create_task(self._deliver(row), name=f"deliver-{row.outbox_id}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _idle(self) -> None:
        """Sleep until the next row is due, or until woken."""
        due = await self.outbox.next_due()
        timeout = 60.0 if due is None else min(60.0, max(0.05, due - self.clock()))
        if self._unrecorded:
            timeout = min(timeout, BACKLOG_SECONDS)
        await self._sleep(timeout)

    async def _sleep(self, timeout: float) -> None:
        self._wake.clear()
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    # -- one message ----------------------------------------------------------------------

    async def _deliver(self, row: Pending) -> None:
        try:
            await self._attempt(row)
        except Exception:
            # Not after a send Telegram accepted (`_record` keeps those): a refused or failed
            # send whose outcome could not be written is tried again rather than left stuck.
            log.exception("could not record the outcome of a bulk message")
            with contextlib.suppress(Exception):
                now = self.clock()
                await self.outbox.retry(row.outbox_id, now + 5.0, "error", None, now)
        finally:
            if len(self._sending) <= 1:  # the last one out: the job may be finished
                self.wake()

    async def _send(self, row: Pending) -> int:
        """The request itself, holding the slot `_dispatch` took until Telegram answers."""
        try:
            body = await self._body(row.message_key)
            return await send(self.bot, row.chat_id, body)
        finally:
            # Counted as answered even after a timeout: Telegram may have taken it.
            self.flood.release(row.chat_id)
            self._finished_at.append(time.monotonic())

    async def _attempt(self, row: Pending) -> None:
        attempt = row.attempts + 1
        try:
            message_id = await self._send(row)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if self.flood.busy_chat(row.chat_id):
                self.flood.pause_chat(row.chat_id, wait)
            else:
                self.flood.pause_all(wait)
            log.warning("Telegram asked to wait %.0f s (flood limit); bulk sends wait", wait)
            self._count(row, "flood")
            now = self.clock()
            await self.outbox.retry(row.outbox_id, now + wait, "flood", None, now, refund=True)
        except ChatMigrated as exc:
            await self.chats.move(row.chat_id, exc.new_chat_id)
            log.info("a group moved to a new id; its messages follow it")
            await self.outbox.redirect(row.outbox_id, exc.new_chat_id, self.clock())
            self.wake()
        except Forbidden as exc:
            reason = _gone_reason(exc.message)
            await self._unreachable(row.chat_id, reason, exc.message)
            await self.outbox.failed(row.outbox_id, reason, exc.message, self.clock())
            self._count(row, "blocked")
        except BadRequest as exc:
            reason = "chat_not_found" if "chat not found" in exc.message.lower() else "bad_request"
            if reason == "chat_not_found":
                await self._unreachable(row.chat_id, reason, exc.message)
            else:
                log.warning("Telegram refused a bulk message: %s", exc.message)
            await self.outbox.failed(row.outbox_id, reason, exc.message, self.clock())
            self._count(row, "blocked" if reason == "chat_not_found" else "failed")
        except NetworkError as exc:  # 5xx, timeouts, connection errors
            await self._retry_later(row, attempt, "network", exc.message)
        except (TelegramError, ValueError, TypeError, KeyError) as exc:
            log.error("a bulk message cannot be sent as written: %s", exc)
            await self.outbox.failed(row.outbox_id, "invalid", str(exc), self.clock())
            self._count(row, "failed")
        else:
            now = self.clock()
            await self._record(
                row.outbox_id, lambda: self.outbox.sent(row.outbox_id, message_id, now)
            )
            self._count(row, "sent")

    async def _record(self, outbox_id: int, write: Callable[[], Awaitable[object]]) -> None:
        """Write the outcome of a send Telegram accepted; never let it be sent again.

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
            del self._unrecorded[outbox_id]
        log.info("sent messages kept in memory are now recorded")
        return True

    async def _unreachable(self, chat_id: int, reason: str, detail: str) -> None:
        """Mark the chat unreachable; the first time, tell the listeners (the channel matters)."""
        if await self.chats.set_active(chat_id, False, reason):
            for listener in self._unreachable_listeners:
                try:
                    await listener(chat_id, detail)
                except Exception:
                    log.exception("a listener of unreachable chats failed")

    async def _retry_later(self, row: Pending, attempt: int, reason: str, detail: str) -> None:
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


def _gone_reason(message: str) -> str:
    """Why a 403 says the recipient is gone, in one word."""
    lowered = message.lower()
    for words, reason in _GONE_WORDS:
        if words in lowered:
            return reason
    return "forbidden"
