"""The poll on Zalo, as a resident asks for it: "bình chọn", a vote typed as its number or
tapped (changed by voting again; counted once across both channels by `bot.services.polls`),
the results as a new message (Zalo cannot edit the question in place), and the poll /sendpoll
could not send them outside their window, brought once with their next message (`held`).

The poll as staff send it (its outbox body, the numbers it takes) is `bot.zalo.poll`'s; this
is the conversation's side, apart from it because `bot.zalo.poll` reads the conversation's
numbers (`bot.zalo.chat.CHOICES`), which imports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.callbacks import Vote
from bot.views import View
from bot.views.polls import plain as plain_text
from bot.views.polls import results_view, vote_view
from bot.zalo.held import take_held_poll
from storage.polls import VoteOutcome
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["ZaloVoting"]


class ZaloVoting:
    """The poll's part of the Zalo conversation: each method gives the view to answer with."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def poll(self, person: int, lang: str) -> View:
        """ "bình chọn": the open poll to vote in, or its results once voted or closed."""
        services = self._services
        poll = await services.polls.current()
        results = (
            None
            if poll is None
            else await services.polls.results(poll.poll_id, person, channel=ZALO)
        )
        if results is None:
            return View(services.catalog.text("poll.none", lang))
        if results.poll.is_open and results.choice is None:
            return vote_view(services.catalog, lang, results)
        return results_view(services.catalog, lang, results, shared=False)

    async def vote(self, person: int, lang: str, seq: int, tap: Vote) -> View:
        """Record the choice, say what happened, and show the results (a new message)."""
        services = self._services
        catalog = services.catalog
        result = await services.polls.vote(tap.poll, person, tap.option, seq=seq, channel=ZALO)
        poll = await services.polls.get(tap.poll)
        if poll is None or result.outcome is VoteOutcome.NO_POLL:
            return View(catalog.text("poll.gone", lang))
        if result.outcome is VoteOutcome.NO_OPTION:
            return View(catalog.text("errors.stale_button", lang))
        if result.outcome is VoteOutcome.CLOSED:
            said = catalog.text("poll.closed", lang)
        else:
            chosen = poll.option(result.choice)
            said = plain_text(
                catalog, lang, f"poll.{result.outcome.value}", option=chosen.label if chosen else ""
            )
        results = await self.results(person, lang, tap.poll)
        return View(f"{said}\n\n{results.text}", results.buttons)

    async def results(self, person: int, lang: str, poll_id: int) -> View:
        """The poll's results, the person's choice marked."""
        services = self._services
        results = await services.polls.results(poll_id, person, channel=ZALO)
        if results is None:
            return View(services.catalog.text("poll.gone", lang))
        return results_view(services.catalog, lang, results, shared=False)

    async def held(self, person: int, lang: str, answer: Sequence[View]) -> View | None:
        """The poll /sendpoll could not send them (outside the window), if it waits for them:
        still open, not voted, not brought before (bot.zalo.held.take_held_poll)."""
        services = self._services
        poll = await services.polls.current()
        if poll is None or not poll.is_open:
            return None
        results = await services.polls.results(poll.poll_id, person, channel=ZALO)
        if results is None or results.choice is not None:
            return None
        if not await take_held_poll(services.db, person, poll.poll_id):
            return None
        shown = any(
            isinstance(button.action, Vote) and button.action.poll == poll.poll_id
            for view in answer
            for row in view.buttons
            for button in row
        )
        return None if shown else vote_view(services.catalog, lang, results)
