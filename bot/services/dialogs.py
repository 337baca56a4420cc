"""One way to hold a dialog: its state in the database, mirrored in memory.

A dialog (a staff member writing a poll, ...) is keyed by (kind, chat, person). Its state is a
small JSON value the dialog itself defines. Every change is made in memory first, with no await
in between, so two messages handled at once never both take the same step, and then written to
the `dialogs` table, in the order made: a restart loses no draft. `restore` reads them back at
start; a dialog left alone longer than its kind's age limit (`max_age`, unless `ages` gives the
kind another) is forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from storage.dialogs import DialogStore

__all__ = ["Dialogs"]

Key = tuple[str, int, int]  # kind, chat, person


class Dialogs:
    """Dialogs in progress on one channel."""

    def __init__(
        self,
        store: DialogStore,
        max_age: float,
        channel: str = "telegram",
        *,
        ages: Mapping[str, float] | None = None,
    ) -> None:
        self._store = store
        self._max_age = max_age
        self._ages = dict(ages or {})  # kind → its own age limit (math.inf: none)
        self._channel = channel
        # key → (state, monotonic time of its last change)
        self._open: dict[Key, tuple[dict[str, Any], float]] = {}

    async def restore(self) -> None:
        """Read the dialogs in progress from the database (at start)."""
        now_wall, now = datetime.now(UTC), time.monotonic()
        for row in await self._store.all():
            if row.channel != self._channel:
                continue
            age = (now_wall - row.updated_at).total_seconds()
            key = (row.kind, row.chat_id, row.user_id)
            if age > self._age_limit(row.kind):
                await self._store.drop(self._channel, row.chat_id, row.user_id, row.kind)
                continue
            self._open[key] = (row.state, now - max(age, 0.0))

    def get(self, kind: str, chat_id: int, user_id: int) -> dict[str, Any] | None:
        """The dialog's state, or None (never begun, finished, or abandoned too long ago).
        The value returned is the dialog's own: change it, then `save` it."""
        key = (kind, chat_id, user_id)
        held = self._open.get(key)
        if held is None:
            return None
        if time.monotonic() - held[1] > self._age_limit(kind):
            del self._open[key]
            return None
        return held[0]

    def _age_limit(self, kind: str) -> float:
        return self._ages.get(kind, self._max_age)

    def take(self, kind: str, chat_id: int, user_id: int) -> dict[str, Any] | None:
        """End the dialog at once (in memory) and return its state; `forget` it after."""
        state = self.get(kind, chat_id, user_id)
        self._open.pop((kind, chat_id, user_id), None)
        return state

    def begin(self, kind: str, chat_id: int, user_id: int, state: dict[str, Any]) -> None:
        """Start (or restart) a dialog in memory; `save` writes it."""
        self._open[(kind, chat_id, user_id)] = (state, time.monotonic())

    async def save(self, kind: str, chat_id: int, user_id: int) -> None:
        """Mark the dialog changed now and write its state as it is at this moment."""
        key = (kind, chat_id, user_id)
        held = self._open.get(key)
        if held is None:
            await self.forget(kind, chat_id, user_id)
            return
        self._open[key] = (held[0], time.monotonic())
        await self._store.put(self._channel, chat_id, user_id, kind, dict(held[0]))

    async def forget(self, kind: str, chat_id: int, user_id: int) -> None:
        """End the dialog, in memory and in the database."""
        self._open.pop((kind, chat_id, user_id), None)
        await self._store.drop(self._channel, chat_id, user_id, kind)

    async def forget_person(self, user_id: int) -> None:
        """End every dialog of a person (they asked to be forgotten)."""
        for key in [key for key in self._open if key[2] == user_id]:
            del self._open[key]
        await self._store.forget_person(self._channel, user_id)
