"""The poll staff send with /sendpoll, as Zalo residents get it.

Inside their interaction window, through the outbox (`bot.push.Pusher.send_poll`): one message
with the poll's numbered choices and the same choices as query buttons (`numbered_message`).
A typed number must vote, so the poll's choices become the resident's numbers when Zalo takes
the message (`ResidentNumbers`, the delivery engine's `Numbers`), as the list a resident asked
for does; this is the rule the whole conversation keeps — a number means an item of the last
list the resident saw — and a case's notice keeps it too (`bot.zalo.notices`). The other way,
buttons alone carrying the packed votes (as alerts do, `one_message`), would leave residents
whose Zalo shows no buttons unable to answer it by its numbers. Only a resident in the middle
of a dialog (a report, /subscribe) keeps their numbers: they get the poll without numbers, its
buttons and "gõ bình chọn" to answer.

Outside the window, the engine skips their row ("window"): the poll waits, and their next
message brings it (`bot.zalo.held.take_held_poll`, once).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.i18n import Catalog
from bot.views import View
from bot.views.polls import vote_view
from bot.zalo.chat import in_dialog, keep_numbers
from bot.zalo.messages import outgoing
from bot.zalo.render import numbered_message, one_message
from storage.polls import PollResults

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["ResidentNumbers", "poll_body"]


def poll_body(catalog: Catalog, lang: str, results: PollResults) -> dict[str, Any]:
    """The outbox body of the poll for a Zalo resident in `lang`: numbered, with its
    variant without numbers for a resident in a dialog."""
    view = vote_view(catalog, lang, results)
    numbered = numbered_message(view, catalog, lang)
    hint = catalog.text("zalo.poll_hint", lang)
    busy = one_message(View(view.text, view.buttons), catalog, lang, hint)
    return outgoing(numbered.messages[0], choices=numbered.choices, busy=busy)


class ResidentNumbers:
    """The engine's `bot.zalo.delivery.Numbers` over the services: the Zalo front's turns,
    the Zalo dialogs, and the `choices` dialog that holds a resident's numbers."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def turn(self, user_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The resident's turn at the Zalo front (none before the front runs)."""
        front = self._services.zalo_front
        return front.turn(user_id) if front is not None else contextlib.nullcontext()

    def busy(self, person: int) -> bool:
        """A report being written or /subscribe under way holds the person's numbers
        (`bot.zalo.chat.in_dialog`)."""
        return in_dialog(self._services, person)

    async def keep(self, person: int, choices: Mapping[str, str]) -> None:
        """The poll's choices are the person's numbers from now on (written before the next
        message can come, so a restart keeps them too)."""
        await keep_numbers(self._services, person, choices)
