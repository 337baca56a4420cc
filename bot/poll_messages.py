"""Poll messages kept in step with the votes (Telegram's side of the poll).

A message in a private chat is redrawn at once after each tap, one redraw at a time, skipping
to the latest when taps come faster than edits. A poll message in a group is seen and tapped by
many at once: it is redrawn at most once every SHARED_EDIT_SECONDS, always from the database, so
it ends showing what the database holds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot, JobQueue

from bot.adapter import markup, not_modified
from bot.context import BotContext
from bot.views import View
from bot.views.polls import results_view

__all__ = ["SHARED_EDIT_SECONDS", "PollRedraws"]

log = logging.getLogger("handlers.poll")

# Telegram allows about 20 messages a minute in a group: a shared poll message is redrawn at
# most every 5 seconds (12 a minute), leaving room for the group's other messages.
SHARED_EDIT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Redraw:
    """Which shared message a scheduled redraw is for."""

    chat_id: int
    message_id: int
    poll_id: int


@dataclass
class _Slot:
    """What is known about one poll message: how it is being kept up to date."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    asked: int = 0  # redraws asked for; only the latest one still waiting is done
    pending: bool = False  # a delayed redraw of a shared message is scheduled
    last_edit: float = -math.inf  # time.monotonic() of the last redraw of a shared message
    answered: float = -math.inf  # when Telegram last answered an edit of a shared message
    shown: tuple[str, object] | None = None  # what the message shows now, as far as we know
    used: float = field(default_factory=time.monotonic)  # last tap or redraw


class PollRedraws:
    """What is known of each poll message, and its redraws."""

    # Forget messages nobody has tapped for this long: what they show is only an economy of edits.
    _IDLE_SECONDS = 15 * 60

    def __init__(self) -> None:
        self._slots: dict[tuple[int, int], _Slot] = {}

    async def redraw_now(
        self,
        bot: ExtBot[None],
        chat_id: int,
        message_id: int,
        render: Callable[[], Awaitable[View | None]],
    ) -> None:
        """Edit a private chat's message to what `render` reads, one redraw at a time.

        Each redraw reads the database after the vote that asked for it; when taps come faster
        than edits, the redraws still waiting are skipped for the latest, which sees every vote.
        """
        slot = self._slot(chat_id, message_id)
        slot.asked += 1
        mine = slot.asked
        async with slot.lock:
            if slot.asked != mine:
                return  # a later tap on this message will draw a newer state
            view = await render()
            if view is not None and not await self._show(bot, chat_id, message_id, slot, view):
                # Too old to edit (Telegram refuses after 48 hours): send the results anew.
                await bot.send_message(chat_id, view.text, reply_markup=markup(view))

    def schedule_shared(
        self, context: BotContext, chat_id: int, message_id: int, poll_id: int
    ) -> None:
        """Redraw a shared message soon, at most once every SHARED_EDIT_SECONDS."""
        slot = self._slot(chat_id, message_id)
        # PTB types a context's JobQueue with an unbound context type; ours is BotContext.
        job_queue = cast("JobQueue[BotContext] | None", context.job_queue)
        if slot.pending or job_queue is None:
            return  # the redraw already scheduled reads the database when it runs
        slot.pending = True
        delay = max(0.0, slot.last_edit + SHARED_EDIT_SECONDS - time.monotonic())
        job_queue.run_once(
            self._redraw_shared,
            delay,
            data=_Redraw(chat_id, message_id, poll_id),
            name="poll-message-redraw",  # logged by the scheduler: no chat id in it
        )

    async def _redraw_shared(self, context: BotContext) -> None:
        """The scheduled redraw of a shared message, from the database as it is now."""
        assert context.job is not None
        redraw = context.job.data
        assert isinstance(redraw, _Redraw)
        chat_id, message_id = redraw.chat_id, redraw.message_id
        slot = self._slot(chat_id, message_id)
        # From here on, a new vote schedules the next redraw, SHARED_EDIT_SECONDS from now: the
        # votes this redraw reads are shown now, the ones after it by the next.
        slot.pending = False
        slot.last_edit = time.monotonic()
        services = context.services
        async with slot.lock:
            # Telegram counts from when it got the last edit, which may have travelled slowly:
            # the next one leaves no sooner than SHARED_EDIT_SECONDS after its answer.
            wait = slot.answered + SHARED_EDIT_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            results = await services.polls.results(redraw.poll_id)
            if results is None:
                return
            view = results_view(
                services.catalog, services.settings.DEFAULT_LANGUAGE, results, shared=True
            )
            try:
                shown = await self._show(context.bot, chat_id, message_id, slot, view)
            except TelegramError as exc:
                log.warning("could not redraw a shared poll message: %s", exc)
                return
            finally:
                slot.answered = time.monotonic()
            if not shown:
                log.info("a shared message of poll %s can no longer be edited", redraw.poll_id)

    async def _show(
        self, bot: ExtBot[None], chat_id: int, message_id: int, slot: _Slot, view: View
    ) -> bool:
        """Edit the message to `view`; False if Telegram no longer lets it be edited."""
        signature = (view.text, view.buttons)
        if slot.shown == signature:
            return True  # an identical edit would only be refused as "not modified"
        try:
            await bot.edit_message_text(
                view.text, chat_id=chat_id, message_id=message_id, reply_markup=markup(view)
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if not_modified(exc):
                pass  # it already shows this (someone else's redraw got there first)
            elif "can't be edited" in reason or "not found" in reason:
                return False
            else:
                raise
        slot.shown = signature
        return True

    def _slot(self, chat_id: int, message_id: int) -> _Slot:
        key = (chat_id, message_id)
        slot = self._slots.get(key)
        if slot is None:
            self._forget_idle()
            slot = self._slots[key] = _Slot()
        slot.used = time.monotonic()
        return slot

    def _forget_idle(self) -> None:
        now = time.monotonic()
        idle = [
            key
            for key, slot in self._slots.items()
            if not slot.pending and not slot.lock.locked() and now - slot.used > self._IDLE_SECONDS
        ]
        for key in idle:
            del self._slots[key]
