"""Zalo's side of the delivery engine: a message goes out only when Zalo's rules allow it.

For each outbox row on channel `zalo` (the recipient is a local person number, `storage.zalo`):

1. **Admit** (`ZaloSender.admit`, before the row is marked "sending"): the resident must still
   follow the OA, and one message of their interaction window is taken (`take_window`: open
   since their last message for ZALO_WINDOW_HOURS, at most ZALO_WINDOW_MESSAGES). Outside it,
   the row is skipped with the reason "window" and never sent: the news waits for their next
   message (the conversation's "N new articles"), an announcement is kept as news too.
2. **Send** through the OA API client (`bot.zalo.api.ZaloClient`, which refreshes the token once
   on -216/-220 and sends again), paced by `ZaloPace` (ZALO_SEND_RATE_PER_SECOND).
3. **A refusal** (`bot.zalo.errors`) becomes the engine's outcome: not following (-213) → the
   resident is marked unfollowed and the row fails as gone; out of quota (-211), package needed
   (-224), outside the window (-230), no sending at night (-234) → skipped with that reason, the
   window's message given back; a token still refused after the refresh → retried later, a
   bounded number of times; rate limited (-32) → every Zalo send backs off (doubling, up to a
   minute) and the row waits without losing an attempt; 5xx or the network → retried with the
   engine's backoff, bounded. A refusal that means Zalo sent nothing gives the window's message
   back; a 5xx or a timeout does not (Zalo may have delivered it: the count errs on the safe side).

A row whose body offers numbered choices (`bot.zalo.messages.choices_of`: the poll /sendpoll
sends) is sent in the resident's turn (`Numbers.turn`: never in the middle of the answer to
their own message), and once Zalo took it its choices become the resident's numbers, as a
list they asked for would; a resident in the middle of a dialog (a report, /subscribe) gets
the body's variant without numbers instead, so their dialog keeps its numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from bot.sending import Failed, Outcome, Retry, Skipped
from bot.zalo.errors import Kind, ZaloError
from bot.zalo.messages import ZaloMessage, choices_of, from_body
from storage.outbox import Pending
from storage.zalo import CHANNEL, ZaloPeople

__all__ = ["RATE_BACKOFF", "Numbers", "ZaloPace", "ZaloSender"]

log = logging.getLogger("bot.delivery")  # the engine's log: one place for bulk sends' lines

# Seconds every Zalo send waits after a "rate limited" (-32): doubled while it lasts, reset by a
# message Zalo takes. Zalo gives no retry-after.
RATE_BACKOFF: tuple[float, float] = (2.0, 60.0)


class _Forgotten(Exception):
    """The resident asked /forget after taking the window and before the send."""


class Messages(Protocol):
    """What the sender needs of the OA API client (`bot.zalo.api.ZaloClient`)."""

    async def send(self, user_id: str, message: ZaloMessage) -> str:
        """Send `message` to Zalo's `user_id`; Zalo's message id, or ZaloError."""
        ...


class Numbers(Protocol):
    """Where a message sent unasked meets the conversation (`bot.zalo.poll.ResidentNumbers`):
    the resident's turn, whether a dialog holds their numbers, and keeping new numbers."""

    def turn(self, user_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The resident's turn: the answer to their own message is not under way meanwhile."""
        ...

    def busy(self, person: int) -> bool:
        """Whether a dialog (a report, /subscribe) holds the person's numbers."""
        ...

    async def keep(self, person: int, choices: Mapping[str, str]) -> None:
        """Make `choices` (number → packed action) the person's numbers."""
        ...


class ZaloPace:
    """At most `per_second` bulk sends to Zalo in any window of a second (one every 1/rate s
    below one a second). A send holds its slot from its start until the window has passed
    after Zalo answered, so Zalo never counts more, however slow the network."""

    def __init__(
        self,
        per_second: float,
        *,
        max_in_flight: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second >= 1:
            self._slots, self._window = int(per_second), 1.0
        else:
            self._slots, self._window = 1, 1.0 / per_second
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._answered: deque[float] = deque()
        self._in_flight = 0
        self._paused_until = 0.0
        self._freed = asyncio.Event()

    @property
    def budget(self) -> float:
        """Bulk messages a second."""
        return self._slots / self._window

    def chat_wait(self, chat_id: int) -> float:
        """Zalo sets no per-resident pace of its own (its window counts messages, not seconds)."""
        return 0.0

    def pause_all(self, seconds: float) -> None:
        """Zalo said "rate limited": hold every bulk send that long."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat_id: int) -> None:
        """Wait for a slot and take it."""
        while True:
            now = self._clock()
            while self._answered and now - self._answered[0] >= self._window:
                self._answered.popleft()
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            used = len(self._answered) + self._in_flight
            if used < self._slots and self._in_flight < self.max_in_flight:
                self._in_flight += 1
                return
            self._freed.clear()
            wait = self._answered[0] + self._window - now if self._answered else self._window
            try:
                async with asyncio.timeout(max(0.001, wait)):
                    await self._freed.wait()
            except TimeoutError:
                pass

    def release(self, chat_id: int, *, answered: bool = True) -> None:
        """A send that held a slot is over."""
        self._in_flight -= 1
        if answered:
            self._answered.append(self._clock())
        self._freed.set()


class ZaloSender:
    """Sends outbox rows to residents on Zalo, inside their interaction window only."""

    channel = CHANNEL

    def __init__(
        self,
        client: Messages,
        people: ZaloPeople,
        pace: ZaloPace,
        *,
        window: timedelta,
        messages: int,
        numbers: Numbers | None = None,
    ) -> None:
        self.client = client
        # Without it (a sender made alone), a message offering numbers goes without them.
        self.numbers = numbers
        self.people = people
        self._pace = pace
        self.window = window
        self.messages = messages
        self._backoff = RATE_BACKOFF[0]
        self._token_said_at = float("-inf")

    @property
    def pace(self) -> ZaloPace:
        """ZALO_SEND_RATE_PER_SECOND."""
        return self._pace

    async def admit(self, row: Pending) -> str | None:
        """Take one message of the resident's window; why not, if it cannot be taken."""
        if await self.people.take_window(row.chat_id, self.window, self.messages):
            return None
        person = await self.people.get(row.chat_id)
        if person is None:
            return "inactive"  # forgotten (/forget) since the job was written
        return "window" if person.following else "unfollowed"

    async def give_back(self, row: Pending) -> None:
        """The message taken from the window was not sent."""
        await self.people.give_back(row.chat_id)

    async def send(self, row: Pending, body: Mapping[str, Any]) -> str:
        """The OA API call."""
        user_id = await self.people.user_id(row.chat_id)
        if user_id is None:
            raise _Forgotten("the resident was forgotten")
        choices = choices_of(body)
        if choices is None:
            message_id = await self.client.send(user_id, from_body(body))
        elif self.numbers is None:
            message_id = await self.client.send(user_id, from_body(body, busy=True))
        else:
            async with self.numbers.turn(user_id):
                numbered = not self.numbers.busy(row.chat_id)
                message = from_body(body, busy=not numbered)
                message_id = await self.client.send(user_id, message)
                if numbered:
                    await self.numbers.keep(row.chat_id, choices)
        self._backoff = RATE_BACKOFF[0]
        return message_id

    async def refused(self, row: Pending, error: Exception) -> Outcome:
        """Zalo's refusal in the engine's terms."""
        if isinstance(error, _Forgotten):
            return Skipped("inactive", str(error))
        if isinstance(error, (ValueError, TypeError, KeyError)):
            await self.give_back(row)
            log.error("a Zalo bulk message cannot be sent as written: %s", error)
            return Failed("invalid", str(error))
        if not isinstance(error, ZaloError):
            raise error
        kind = error.kind
        if kind is Kind.UNREACHABLE:
            await self.people.following(row.chat_id, False)
            return Failed("unfollowed", error.message)
        if kind is Kind.RETRY:  # Zalo may have taken it: the window's message stays used
            return Retry("network", error.message)
        await self.give_back(row)
        if kind is Kind.SKIPPED:
            return Skipped(error.reason or "zalo_rules", error.message)
        if kind is Kind.RATE:
            wait, self._backoff = self._backoff, min(self._backoff * 2, RATE_BACKOFF[1])
            self._pace.pause_all(wait)
            log.warning("Zalo says too many requests; bulk sends to Zalo wait %.0f s", wait)
            return Retry("rate", error.message, after=wait)
        if kind is Kind.TOKEN:  # the owners are told by bot.zalo.tokens; the log once a minute
            if time.monotonic() - self._token_said_at > 60:
                self._token_said_at = time.monotonic()
                log.error("Zalo refused the OA's access token even after a refresh: %s", error)
            return Retry("token", error.message)
        log.warning("Zalo refused a bulk message: %s", error.message)
        return Failed("zalo_refused", error.message)
