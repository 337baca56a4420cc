"""The /subscribe dialog, held by `bot.services.dialogs.Dialogs` (in the database).

The dialog is a few choices: what (all news, or chosen categories), how (at once, daily,
weekly), then the hour or the day. Each choice is a typed action, a `SubscribeStep` that carries
the dialog's whole state so far (Telegram's buttons carry it as their callback data, so a
message's buttons keep working after a restart, as they always did). What this service adds is
the dialog's place on the bot's side, per (chat, person): the step it stands at, what is chosen,
and the choices the last view offered, in order. A front end without buttons numbers those
choices and maps a reply back with `choice`, or asks `where` the person stands (after a restart
too); Telegram's handler records every step here the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.callbacks import CallbackError, StopSubscription, SubscribeStep
from bot.services.dialogs import Dialogs
from bot.views import View

__all__ = ["SUBSCRIBE", "Subscribing", "Where"]

SUBSCRIBE = "subscribe"  # the dialog's kind in the `dialogs` table


@dataclass(frozen=True, slots=True)
class Where:
    """Where a person's /subscribe dialog stands, and the choices its last view offered."""

    at: SubscribeStep
    choices: tuple[SubscribeStep | StopSubscription, ...]


def _action(packed: str) -> SubscribeStep | StopSubscription | None:
    for kind in (SubscribeStep, StopSubscription):
        try:
            return kind.unpack(packed)
        except CallbackError:
            continue
    return None


class Subscribing:
    """The /subscribe dialogs in progress, one per (chat, person), kept by the dialogs."""

    def __init__(self, dialogs: Dialogs) -> None:
        self._dialogs = dialogs

    async def shown(self, chat_id: int, user_id: int, at: SubscribeStep, view: View) -> None:
        """The dialog took the step `at` and shows `view`: keep where it stands (a category
        ticked or unticked is the "pick" step with the new choice) and the view's choices."""
        if at.step == "toggle":
            at = SubscribeStep("pick", cats=SubscribeStep.mask(at.chosen ^ {at.value}))
        choices = [
            button.action.pack()
            for row in view.buttons
            for button in row
            if isinstance(button.action, SubscribeStep | StopSubscription)
        ]
        self._dialogs.begin(SUBSCRIBE, chat_id, user_id, {"at": at.pack(), "choices": choices})
        await self._dialogs.save(SUBSCRIBE, chat_id, user_id)

    def where(self, chat_id: int, user_id: int) -> Where | None:
        """Where the dialog stands, or None (never begun, finished, or abandoned)."""
        state = self._dialogs.get(SUBSCRIBE, chat_id, user_id)
        if state is None:
            return None
        at = _action(str(state.get("at", "")))
        if not isinstance(at, SubscribeStep):
            return None
        choices = tuple(
            action for packed in state.get("choices", []) if (action := _action(str(packed)))
        )
        return Where(at, choices)

    def choice(
        self, chat_id: int, user_id: int, number: int
    ) -> SubscribeStep | StopSubscription | None:
        """The `number`-th choice (from 1) of the view last shown, or None."""
        where = self.where(chat_id, user_id)
        if where is None or not 1 <= number <= len(where.choices):
            return None
        return where.choices[number - 1]

    async def end(self, chat_id: int, user_id: int) -> None:
        """The dialog is over (saved or cancelled)."""
        await self._dialogs.forget(SUBSCRIBE, chat_id, user_id)
