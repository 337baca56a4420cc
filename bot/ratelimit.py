"""How the bot keeps to Telegram's flood limits and waits out 429 Too Many Requests.

Two kinds of traffic share one budget. Replies to residents go out at once through
`RetryAfterLimiter` and are counted; bulk sends (the delivery engine) take a slot from
`FloodControl` first and get only what replies left of the overall limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

__all__ = ["SENDING_METHODS", "FloodControl", "RetryAfterLimiter", "retry_after_seconds"]

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

# Bot API methods that put a message in a chat, and so count towards the flood limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendPoll",
        "sendAnimation", "sendVideo", "sendAudio", "sendVoice", "sendLocation",
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }
)  # fmt: skip

# Seconds a chat's sends are remembered: the longest window a per-chat limit uses.
_CHAT_MEMORY = 60.0


class FloodControl:
    """Telegram's flood limits as the bot keeps them, shared by replies and bulk sends.

    - Overall: at most `per_second` messages in any one-second window. A bulk send holds a slot
      from the moment it starts until one second after Telegram answered, so Telegram can never
      see more than the limit in a second, however long requests take. Replies are counted when
      they are answered; `reserve` slots a second are left free for them, so a resident's reply
      never meets a 429 caused by a broadcast.
    - Per chat: a private chat gets one bulk message a second; a group or channel 20 a minute.
    - After a 429, `pause_all` or `pause_chat` hold bulk sends for exactly the time Telegram gave.
    """

    def __init__(
        self,
        per_second: float = 30,
        *,
        reserve: int = 1,
        private_interval: float = 1.0,
        group_per_minute: int = 20,
        max_in_flight: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = max(1, int(per_second) - reserve)  # bulk slots a second
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._answered: deque[float] = deque()  # when each send of the last second was answered
        self._in_flight = 0
        self._chats: dict[int, deque[float]] = {}  # answered sends per chat, last minute
        self._paused_until = 0.0
        self._chat_paused: dict[int, float] = {}
        self._chats_in_flight: dict[int, int] = {}
        self._freed = asyncio.Event()
        self._pruned_at = 0.0

    # -- bookkeeping ----------------------------------------------------------------------

    def note(self, chat_id: int | None) -> None:
        """A message (a reply, outside any slot) was answered by Telegram just now."""
        now = self._clock()
        # Forget what left the windows here too, not only when a bulk send waits for a slot:
        # a bot that answers residents all day without a broadcast must not keep every reply.
        self._prune(now)
        self._answered.append(now)
        if chat_id is not None:
            sent = self._chats.setdefault(chat_id, deque())
            _forget_before(sent, now - _CHAT_MEMORY)
            sent.append(now)

    def release(self, chat_id: int, *, answered: bool = True) -> None:
        """A bulk send that held a slot is over (`answered` unless it never reached Telegram)."""
        self._in_flight -= 1
        left = self._chats_in_flight.pop(chat_id, 1) - 1
        if left > 0:
            self._chats_in_flight[chat_id] = left
        if answered:
            self.note(chat_id)
        self._freed.set()

    def pause_all(self, seconds: float) -> None:
        """Telegram answered 429 for the bot as a whole: hold every bulk send."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 for one chat: hold bulk sends to it."""
        until = self._clock() + seconds
        self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), until)

    def busy_chat(self, chat_id: int) -> bool:
        """Whether the chat had a message within its own limit's window (a 429 is then its own)."""
        window = self.private_interval if chat_id > 0 else _CHAT_MEMORY
        sent = self._chats.get(chat_id)
        return sent is not None and len(sent) > 0 and self._clock() - sent[-1] < window

    @property
    def in_flight(self) -> int:
        """Bulk sends started and not yet answered."""
        return self._in_flight

    # -- waiting --------------------------------------------------------------------------

    def chat_wait(self, chat_id: int) -> float:
        """Seconds before `chat_id` may receive another bulk message (0 if now)."""
        now = self._clock()
        wait = self._chat_paused.get(chat_id, 0.0) - now
        if chat_id > 0 and chat_id in self._chats_in_flight:
            wait = max(wait, self.private_interval)  # its last message is not even answered
        sent = self._chats.get(chat_id)
        if sent:
            if chat_id > 0:  # a private chat: one a second
                wait = max(wait, sent[-1] + self.private_interval - now)
            else:  # a group or channel: 20 a minute
                _forget_before(sent, now - _CHAT_MEMORY)
                if len(sent) >= self.group_per_minute:
                    wait = max(wait, sent[0] + _CHAT_MEMORY - now)
        return max(0.0, wait)

    async def acquire(self, chat_id: int) -> None:
        """Wait for a bulk slot of the overall limit, and take it for a message to `chat_id`."""
        while True:
            now = self._clock()
            self._prune(now)
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            used = len(self._answered) + self._in_flight
            if used < self.budget and self._in_flight < self.max_in_flight:
                self._in_flight += 1
                self._chats_in_flight[chat_id] = self._chats_in_flight.get(chat_id, 0) + 1
                return
            # Wait until the oldest counted send leaves the window, or a send in flight ends.
            wait = self._answered[0] + 1.0 - now if self._answered else 1.0
            self._freed.clear()
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.001)):
                    await self._freed.wait()

    def _prune(self, now: float) -> None:
        _forget_before(self._answered, now - 1.0)
        if now - self._pruned_at > _CHAT_MEMORY:  # forget chats quiet for a minute
            self._pruned_at = now
            self._chats = {c: s for c, s in self._chats.items() if s and now - s[-1] < _CHAT_MEMORY}
            self._chat_paused = {c: t for c, t in self._chat_paused.items() if t > now}


def _forget_before(times: deque[float], cutoff: float) -> None:
    """Drop the moments at or before `cutoff` from the left of a deque kept in time order."""
    while times and times[0] <= cutoff:
        times.popleft()


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked to wait, whichever form (int or timedelta) PTB gives it in."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class RetryAfterLimiter(BaseRateLimiter[None]):
    """Sends each request at once; on a 429 waits exactly `retry_after`, then sends again.

    A 429 means Telegram did not deliver the message, so sending again cannot duplicate it.
    Waits longer than `max_wait` seconds, or more than `max_retries` in a row, give up and let the
    error reach the handler (and the error handler), rather than holding a reply for minutes.
    """

    def __init__(
        self,
        max_retries: int = 3,
        max_wait: float = 60.0,
        flood: FloodControl | None = None,
        on_retry_after: Callable[[], None] | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.flood = flood  # told of every message sent, so bulk sends leave room for it
        self.on_retry_after = on_retry_after  # told of every 429 met (the metrics count them)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        """Call Telegram, waiting out 429 answers."""
        attempt = 0
        while True:
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                if self.on_retry_after is not None:
                    self.on_retry_after()
                wait = retry_after_seconds(exc)
                attempt += 1
                if attempt > self.max_retries or wait > self.max_wait:
                    raise
                log.warning(
                    "Telegram asked to wait %.0fs before %s (attempt %d of %d)",
                    wait,
                    endpoint,
                    attempt,
                    self.max_retries,
                )
                await asyncio.sleep(wait)
            else:
                if self.flood is not None and endpoint in SENDING_METHODS:
                    self.flood.note(_chat_of(data))
                return result


def _chat_of(data: dict[str, Any]) -> int | None:
    """The numeric chat a request went to (None for @channel names)."""
    try:
        return int(data.get("chat_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
