"""The /broadcast dialog's draft, apart from any front end: who is writing an announcement,
at which step, and what they have chosen, held by `bot.services.dialogs.Dialogs` (in the
database), as /newpoll's drafts are.

The steps: "writing" (waiting for the announcement itself), "choosing" (its preview is shown,
with the audience panel: categories, the channel, send now or at a time), "timing" (waiting
for the time it goes out). The announcement's own record — its text, its panel, then its state,
schedule and delivery — is its `broadcasts` row (`storage.broadcasts`), made when the draft
begins so that its buttons can name it; the audience chosen is written to it when the draft is
sent or scheduled. A draft has no age limit: it stays until it is sent, scheduled or dropped
(or a new /broadcast replaces it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.services.dialogs import Dialogs
from storage.broadcasts import DRAFT_STATES, Broadcast, BroadcastStore

__all__ = ["BROADCAST", "BroadcastDrafts", "Draft", "Step"]

BROADCAST = "broadcast"  # the dialog's kind in the `dialogs` table

Step = Literal["writing", "choosing", "timing"]
_STEPS: tuple[Step, ...] = ("writing", "choosing", "timing")


@dataclass
class Draft:
    """An announcement a staff member is writing."""

    broadcast_id: int
    step: Step = "writing"
    categories: frozenset[int] = field(default_factory=frozenset)
    channel: bool = False
    # The audience panel's message: a message older than it was sent before the staff member
    # saw the preview (so it was meant for the announcement too).
    panel: int | None = None
    album: str | None = None  # the last album answered (its other items get no answer)

    def state(self) -> dict[str, Any]:
        """The draft as the dialog table keeps it."""
        return {
            "broadcast_id": self.broadcast_id,
            "step": self.step,
            "categories": sorted(self.categories),
            "channel": self.channel,
            "panel": self.panel,
            "album": self.album,
        }

    @classmethod
    def of(cls, state: dict[str, Any]) -> Draft:
        """A draft back from its state."""
        step = state.get("step")
        panel, album = state.get("panel"), state.get("album")
        return cls(
            broadcast_id=int(state.get("broadcast_id", 0)),
            step=step if step in _STEPS else "writing",
            categories=frozenset(int(c) for c in state.get("categories", ())),
            channel=bool(state.get("channel", False)),
            panel=None if panel is None else int(panel),
            album=None if album is None else str(album),
        )

    def applied(self, broadcast: Broadcast) -> Broadcast:
        """The announcement with the audience chosen so far."""
        return dataclasses.replace(broadcast, categories=self.categories, channel=self.channel)


class BroadcastDrafts:
    """The drafts of /broadcast, one per (chat, staff member), kept by the dialogs.

    Each change reads the draft, changes it and hands its state back without awaiting anything
    in between (so a double tap never takes the same step twice); the write follows.
    """

    def __init__(self, dialogs: Dialogs, store: BroadcastStore) -> None:
        self._dialogs = dialogs
        self._store = store

    def draft(self, chat_id: int, user_id: int) -> Draft | None:
        """The draft this person is writing in this chat, or None."""
        state = self._dialogs.get(BROADCAST, chat_id, user_id)
        return None if state is None else Draft.of(state)

    def takes(self, chat_id: int, user_id: int, message_id: int) -> bool:
        """Whether a message is the draft's: its content or its time, or a message sent before
        its preview was shown (meant for it too: an announcement is one message)."""
        draft = self.draft(chat_id, user_id)
        if draft is None:
            return False
        if draft.step != "choosing":
            return True
        return draft.panel is None or message_id < draft.panel

    async def begin(self, user_id: int, chat_id: int) -> Broadcast:
        """A new draft; an earlier unfinished one of this person is dropped."""
        broadcast = await self._store.begin(user_id, chat_id)
        self._dialogs.begin(BROADCAST, chat_id, user_id, Draft(broadcast.broadcast_id).state())
        await self._dialogs.save(BROADCAST, chat_id, user_id)
        return broadcast

    async def current(self, chat_id: int, user_id: int) -> tuple[Draft, Broadcast] | None:
        """The draft and its announcement (with the audience chosen so far); None if there is
        no draft, or its announcement is no longer one (then the dialog ends too)."""
        draft = self.draft(chat_id, user_id)
        if draft is None:
            return None
        broadcast = await self._store.get(draft.broadcast_id)
        if broadcast is None or not broadcast.is_draft or broadcast.created_by != user_id:
            await self._end(chat_id, user_id, draft.broadcast_id)
            return None
        return draft, draft.applied(broadcast)

    async def first_of_album(self, chat_id: int, user_id: int, album: str) -> bool:
        """Whether this item is the first of its album the draft sees (only it is answered)."""
        state = self._dialogs.get(BROADCAST, chat_id, user_id)
        if state is None or state.get("album") == album:
            return False
        state["album"] = album
        await self._dialogs.save(BROADCAST, chat_id, user_id)
        return True

    async def took_content(
        self, chat_id: int, user_id: int, kind: str, body: dict[str, Any], text_html: str | None
    ) -> Broadcast | None:
        """The announcement's content is taken (its preview shown): on to the audience."""
        draft = self.draft(chat_id, user_id)
        if draft is None or draft.step != "writing":
            return None
        draft.step, draft.panel = "choosing", None
        self._put(chat_id, user_id, draft)
        await self._dialogs.save(BROADCAST, chat_id, user_id)
        await self._store.update(
            draft.broadcast_id, expect=DRAFT_STATES, kind=kind, body=body, text_html=text_html
        )
        found = await self.current(chat_id, user_id)
        return None if found is None else found[1]

    async def shown(self, chat_id: int, user_id: int, broadcast_id: int, panel: int) -> None:
        """The announcement's panel is now this message (the audience panel while choosing)."""
        draft = self.draft(chat_id, user_id)
        if draft is not None and draft.broadcast_id == broadcast_id and draft.step == "choosing":
            draft.panel = panel
            self._put(chat_id, user_id, draft)
            await self._dialogs.save(BROADCAST, chat_id, user_id)
        await self._store.update(broadcast_id, panel_message_id=panel)

    async def choose(
        self,
        chat_id: int,
        user_id: int,
        *,
        category: int | None = None,
        channel: bool = False,
        step: Step | None = None,
    ) -> Draft | None:
        """Add or remove a category, switch the channel on or off, or go to another step
        ("timing" only from "choosing", "choosing" only back from "timing"); None if the draft
        is no longer there or not at a step where that can be chosen."""
        draft = self.draft(chat_id, user_id)
        if draft is None or draft.step == "writing":
            return None
        if category is not None:
            draft.categories = draft.categories ^ {category}
        if channel:
            draft.channel = not draft.channel
        if step is not None:
            if {draft.step, step} != {"choosing", "timing"}:
                return None
            draft.step = step
        self._put(chat_id, user_id, draft)
        await self._dialogs.save(BROADCAST, chat_id, user_id)
        return draft

    async def finish(self, chat_id: int, user_id: int) -> Broadcast | None:
        """End the dialog (at once, so a double tap sends once) and return the announcement
        with its audience written to it, ready to be queued or scheduled; None if there was
        no draft any more."""
        state = self._dialogs.take(BROADCAST, chat_id, user_id)
        if state is None:
            return None
        draft = Draft.of(state)
        await self._dialogs.forget(BROADCAST, chat_id, user_id)
        if not await self._store.update(
            draft.broadcast_id, expect=DRAFT_STATES,
            categories=draft.categories, channel=draft.channel,
        ):  # fmt: skip
            return None
        return await self._store.get(draft.broadcast_id)

    async def cancel(self, chat_id: int, user_id: int) -> bool:
        """Drop the draft; False if there was none."""
        state = self._dialogs.take(BROADCAST, chat_id, user_id)
        if state is None:
            return False
        await self._end(chat_id, user_id, Draft.of(state).broadcast_id)
        return True

    async def _end(self, chat_id: int, user_id: int, broadcast_id: int) -> None:
        await self._dialogs.forget(BROADCAST, chat_id, user_id)
        await self._store.update(broadcast_id, expect=DRAFT_STATES, state="cancelled")

    def _put(self, chat_id: int, user_id: int, draft: Draft) -> None:
        state = self._dialogs.get(BROADCAST, chat_id, user_id)
        if state is not None:
            state.clear()
            state.update(draft.state())
