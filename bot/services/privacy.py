"""What `/forget` does, whatever the front end: everything the bot holds about a person."""

from __future__ import annotations

from collections.abc import Callable

from bot.services.dialogs import Dialogs
from storage.stats import Forgotten, InteractionLog

__all__ = ["Forgotten", "Privacy"]


class Privacy:
    """Forgetting a person on request."""

    def __init__(
        self,
        stats: Callable[[], InteractionLog],
        dialogs: Dialogs,
        forget_cached: Callable[[int], None],
    ) -> None:
        self._stats = stats
        self._dialogs = dialogs
        self._forget_cached = forget_cached

    async def forget(self, user_id: int) -> Forgotten:
        """Delete what the bot holds about the person, in one transaction over every table
        (storage.privacy.forget: the subscription of their private chat, its place in bulk
        sends, the profile, votes, log keys, searches, audit entries, dialogs, the reporter of
        their cases); the counts stay as they were. Then what is held in memory: their dialogs
        and cached profile."""
        forgotten = await self._stats().forget(user_id)
        await self._dialogs.forget_person(user_id)
        self._forget_cached(user_id)
        return forgotten
