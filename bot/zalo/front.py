"""From a checked Zalo event to the replies sent: the Zalo front end's one path.

For each event the webhook hands over (`ZaloFront.receive`): once only (`zalo_events`), one
at a time per resident in the order they came, the resident's local number
(`ZaloPeople.person`); a follow or unfollow is recorded, a message opens the interaction window
(a follow too, with ZALO_FOLLOW_OPENS_WINDOW), here only (`arrived`); then the event handler
the wiring gives (`bot.zalo.chat.Conversation.handle`) turns it into replies, and each reply
is sent inside the window (`take_window`; given back when Zalo refuses it). A handler that
fails is logged under the resident's keyed hash, never their Zalo id, and the resident gets
one polite message to try again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime

from bot.zalo.errors import Kind, ZaloError
from bot.zalo.messages import ZaloEvent, ZaloMessage
from bot.zalo.oa import OfficialAccount
from storage.zalo import ZaloPeople

__all__ = ["RETRY_DELAYS", "EventHandler", "ZaloFront", "arrived"]

log = logging.getLogger(__name__)

EventHandler = Callable[[int, ZaloEvent], Awaitable[Sequence[ZaloMessage]]]
# A reply Zalo could not take for a passing reason (rate, server, network) is sent again after
# these pauses, then dropped: the resident is waiting for it, a later resend would confuse.
RETRY_DELAYS = (1.0, 3.0, 10.0)


async def arrived(
    people: ZaloPeople,
    person: int,
    event: ZaloEvent,
    *,
    follow_opens_window: bool,
    now: datetime | None = None,
) -> None:
    """What `event` means for Zalo's rules, recorded before anyone answers it: a follow or an
    unfollow; a message (and, with `follow_opens_window`, a follow) opens the interaction
    window. The one place that writes them: the conversation only answers."""
    if event.name == "follow":
        await people.following(person, True)
        if follow_opens_window:
            await people.inbound(person, now)
    elif event.name == "unfollow":
        await people.following(person, False)
    elif event.name.startswith("user_send_"):
        await people.inbound(person, now)


class ZaloFront:
    """Receives the OA's events and sends the handler's replies through the window."""

    def __init__(
        self,
        oa: OfficialAccount,
        handler: EventHandler,
        *,
        sorry: str,
        who: Callable[[int], str],
        follow_opens_window: bool = True,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.oa = oa
        self._handler = handler
        self._sorry = sorry
        self._who = who
        self._follow_opens = follow_opens_window
        self._delays = tuple(retry_delays)
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    async def receive(self, event: ZaloEvent, key: str) -> None:
        """Handle one event from the webhook, unless it was handled before."""
        if not await self.oa.events.first_time(key):
            log.debug("a Zalo event came again; handled once already")
            return
        async with self._turn(event.user_id):
            people = self.oa.people
            person = await people.person(event.user_id)
            await arrived(people, person, event, follow_opens_window=self._follow_opens)
            try:
                replies: Sequence[ZaloMessage] = await self._handler(person, event)
            except Exception:
                log.exception("a Zalo %s from %s failed", event.name, self._who(person))
                replies = [ZaloMessage(self._sorry)]
            # A resident who just had the bot forget them (/forget) has no window any more; the
            # answer to what they wrote is still a reply to it, and its last.
            forgotten = await people.get(person) is None
            for reply in replies:
                await self.reply(person, event.user_id, reply, forgotten=forgotten)

    async def reply(
        self, person: int, user_id: str, message: ZaloMessage, *, forgotten: bool = False
    ) -> str | None:
        """Send `message` to the resident inside their window; Zalo's message id, or None when
        it was not sent (outside the window, or Zalo refused it: logged). `forgotten`: the
        person was just forgotten while answering their own message, so there is no window to
        count (the message they wrote opened it)."""
        people, oa = self.oa.people, self.oa
        if forgotten:
            try:
                return await oa.client.send(user_id, message)
            except (ZaloError, ValueError) as exc:
                log.warning("the last reply to a forgotten Zalo resident was not sent: %s", exc)
                return None
        if not await people.take_window(person, oa.window, oa.window_messages):
            log.info("a reply to %s was not sent: outside Zalo's window", self._who(person))
            return None
        for delay in (*self._delays, None):
            try:
                return await oa.client.send(user_id, message)
            except ZaloError as exc:
                if exc.kind in (Kind.RATE, Kind.RETRY) and delay is not None:
                    await asyncio.sleep(delay)
                    continue
                await people.give_back(person)
                if exc.kind is Kind.UNREACHABLE:
                    await people.following(person, False)
                log.warning("a reply to %s was not sent (%s): %s", self._who(person), exc.kind, exc)
                return None
            except ValueError:  # a reply the conversation made too long: its defect, logged
                await people.give_back(person)
                log.exception("a reply to %s could not be sent", self._who(person))
                return None
        return None  # not reached: the last pass returns or raises

    def turn(self, user_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The resident's turn, for a message sent unasked (a case's notice, `bot.zalo.notices`;
        the poll /sendpoll sends, `bot.zalo.poll`): it waits for the event being answered, and
        the next waits for it."""
        return self._turn(user_id)

    @contextlib.asynccontextmanager
    async def _turn(self, user_id: str) -> AsyncIterator[None]:
        """One event at a time per resident, in the order they came (asyncio's locks are
        fair): a number typed after a list always meets that list."""
        lock, users = self._turns.get(user_id, (asyncio.Lock(), 0))
        self._turns[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[user_id]
            if users == 1:
                del self._turns[user_id]
            else:
                self._turns[user_id] = (lock, users - 1)
