"""The /newpoll dialog's steps, apart from any front end: the question, then 2-10 options,
then a confirmation. Its draft is held by `bot.services.dialogs.Dialogs` (in the database), so
a restart loses no half-written poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.callbacks import DraftActionName
from bot.services.dialogs import Dialogs
from storage.polls import (
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    MIN_OPTIONS,
    clean_text,
)

__all__ = [
    "NEWPOLL",
    "Draft",
    "NewPolls",
    "Say",
    "confirm",
    "take_options",
    "take_question",
]

NEWPOLL = "newpoll"  # the dialog's kind in the `dialogs` table

DraftStep = Literal["question", "options", "confirm"]


@dataclass
class Draft:
    """A poll a staff member is writing."""

    step: DraftStep = "question"
    question: str = ""
    options: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        """The draft as the dialog table keeps it."""
        return {"step": self.step, "question": self.question, "options": self.options}

    @classmethod
    def of(cls, state: dict[str, Any]) -> Draft:
        """A draft back from its state."""
        step = state.get("step")
        return cls(
            step=step if step in ("question", "options", "confirm") else "question",
            question=str(state.get("question", "")),
            options=[str(option) for option in state.get("options", [])],
        )


@dataclass(frozen=True)
class Say:
    """The dialog's answer: a catalogue key, its values, a list of options, and the buttons."""

    key: str
    values: dict[str, object] = field(default_factory=dict)
    listing: tuple[str, ...] | None = None
    buttons: tuple[DraftActionName, ...] = ()


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options_buttons(draft: Draft) -> tuple[DraftActionName, ...]:
    return ("done", "cancel") if len(draft.options) >= MIN_OPTIONS else ("cancel",)


def take_question(draft: Draft, text: str) -> Say:
    """Step 1: the question."""
    question = clean_text(text)
    if not 1 <= len(question) <= MAX_QUESTION_CHARS:
        return Say("poll.question_bad", {"max": MAX_QUESTION_CHARS}, buttons=("cancel",))
    draft.question, draft.step = question, "options"
    limits: dict[str, object] = {"min": MIN_OPTIONS, "max": MAX_OPTIONS, "chars": MAX_OPTION_CHARS}
    return Say("poll.ask_options", limits, buttons=("cancel",))


def take_options(draft: Draft, text: str) -> Say:
    """Step 2: options, one per line, in one message or several; all of a message or none."""
    labels = [label for label in (clean_text(line) for line in text.splitlines()) if label]
    seen = {option.casefold() for option in draft.options}
    for label in labels:
        if len(label) > MAX_OPTION_CHARS:
            values: dict[str, object] = {"option": _short(label), "max": MAX_OPTION_CHARS}
            return Say("poll.option_too_long", values, buttons=_options_buttons(draft))
        if label.casefold() in seen:
            return Say(
                "poll.option_duplicate", {"option": _short(label)}, buttons=_options_buttons(draft)
            )
        seen.add(label.casefold())
    if len(draft.options) + len(labels) > MAX_OPTIONS:
        values = {"max": MAX_OPTIONS, "left": MAX_OPTIONS - len(draft.options)}
        return Say("poll.too_many", values, buttons=_options_buttons(draft))
    draft.options.extend(labels)
    return Say(
        "poll.options_so_far",
        {"count": len(draft.options), "max": MAX_OPTIONS},
        listing=tuple(draft.options),
        buttons=_options_buttons(draft),
    )


def confirm(draft: Draft) -> Say | None:
    """Step 3: check before creating; None while there are too few options."""
    if len(draft.options) < MIN_OPTIONS:
        return None
    draft.step = "confirm"
    return Say(
        "poll.confirm",
        {"question": draft.question},
        listing=tuple(draft.options),
        buttons=("create", "cancel"),
    )


class NewPolls:
    """The drafts of /newpoll, one per (chat, staff member), kept by the dialogs.

    Each step reads the draft, changes it and hands its state back without awaiting anything
    in between, so two messages of the same person handled at once never take the same step;
    the write to the database follows.
    """

    def __init__(self, dialogs: Dialogs) -> None:
        self._dialogs = dialogs

    def is_writing(self, chat_id: int, user_id: int) -> bool:
        """Whether this person is writing a poll in this chat (for the message filter)."""
        return self._dialogs.get(NEWPOLL, chat_id, user_id) is not None

    def draft(self, chat_id: int, user_id: int) -> Draft | None:
        """The draft, or None (never begun, finished, or abandoned too long ago)."""
        state = self._dialogs.get(NEWPOLL, chat_id, user_id)
        return None if state is None else Draft.of(state)

    async def begin(self, chat_id: int, user_id: int) -> Say:
        """A new draft (an earlier one in this chat is dropped)."""
        self._dialogs.begin(NEWPOLL, chat_id, user_id, Draft().state())
        await self._dialogs.save(NEWPOLL, chat_id, user_id)
        return Say("poll.ask_question", {"max": MAX_QUESTION_CHARS}, buttons=("cancel",))

    async def take_text(self, chat_id: int, user_id: int, text: str) -> Say | None:
        """The question or options typed; None if no draft is open (abandoned meanwhile)."""
        draft = self.draft(chat_id, user_id)
        if draft is None:
            return None
        if draft.step == "question":
            say = take_question(draft, text)
        elif draft.step == "options":
            say = take_options(draft, text)
        else:
            say = Say("poll.press_a_button")
        await self._keep(chat_id, user_id, draft)
        return say

    async def done(self, chat_id: int, user_id: int, draft: Draft) -> Say | None:
        """ "Done": the confirmation, or None while there are too few options."""
        say = confirm(draft)
        await self._keep(chat_id, user_id, draft)
        return say

    def take(self, chat_id: int, user_id: int) -> Draft | None:
        """End the dialog at once and return its draft (so a double "Create" makes one poll);
        `forget` removes it from the database."""
        state = self._dialogs.take(NEWPOLL, chat_id, user_id)
        return None if state is None else Draft.of(state)

    async def forget(self, chat_id: int, user_id: int) -> None:
        """Drop the draft."""
        await self._dialogs.forget(NEWPOLL, chat_id, user_id)

    async def _keep(self, chat_id: int, user_id: int, draft: Draft) -> None:
        state = self._dialogs.get(NEWPOLL, chat_id, user_id)
        if state is None:
            return  # taken (created, cancelled) while this step ran
        state.clear()
        state.update(draft.state())
        await self._dialogs.save(NEWPOLL, chat_id, user_id)
