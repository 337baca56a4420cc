"""What `/forget` does, whatever the front end: everything the bot holds about a person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.services.dialogs import Dialogs
from storage.chats import ChatStore
from storage.outbox import OutboxStore
from storage.stats import InteractionLog
from storage.subscriptions import SubscriptionStore

__all__ = ["Forgotten", "Privacy"]


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What was deleted: their profile, their private chat's subscription, votes and events."""

    profile: bool
    subscription: bool
    votes: int
    events: int


class Privacy:
    """Forgetting a person on request."""

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        outbox: OutboxStore,
        chats: ChatStore,
        stats: Callable[[], InteractionLog],
        dialogs: Dialogs,
        forget_cached: Callable[[int], None],
    ) -> None:
        self._subscriptions = subscriptions
        self._outbox = outbox
        self._chats = chats
        self._stats = stats
        self._dialogs = dialogs
        self._forget_cached = forget_cached

    async def forget(self, user_id: int) -> Forgotten:
        """Delete what the bot holds about the person; the counts stay as they were."""
        # The subscription of the person's private chat (its id is theirs); a group's stays.
        stopped = await self._subscriptions.delete(user_id)
        # The private chat's place in bulk sends (its id is theirs); finished jobs keep counts.
        await self._outbox.forget_chat(user_id)
        await self._chats.forget(user_id)
        await self._dialogs.forget_person(user_id)
        forgotten = await self._stats().forget(user_id)
        self._forget_cached(user_id)
        return Forgotten(forgotten.profile, stopped, forgotten.votes, forgotten.events)
