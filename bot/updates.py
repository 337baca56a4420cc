"""How updates are run: concurrently, except those a dialog needs one at a time and in order."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

__all__ = ["ChatOrder", "OrderKey"]

log = logging.getLogger(__name__)

# Given an update, the chat whose updates must be handled one at a time, or None.
OrderKey = Callable[[object], int | None]


class ChatOrder(BaseUpdateProcessor):
    """python-telegram-bot's update processor (`ApplicationBuilder.concurrent_updates`) that
    handles updates concurrently, as residents must not wait for one another, except the ones a
    dialog claims: those are handled one at a time per chat, in the order Telegram sent them.

    The application starts a task per update in the order they arrived, and each reaches
    `do_process_update` before awaiting anything, so a first-come-first-served lock per chat
    taken there keeps their order (a lock taken later, in a handler, would not: the handlers
    before it await the database).

    A chat stays in order while an update claimed there is under way, whatever a key says of
    the updates after it: a dialog's key is asked about an update as it arrives, before the
    dialog's first update (its command) has been handled and begun the dialog, so the message
    sent right after the command is claimed because the command still is.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._keys: list[OrderKey] = []
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}  # chat → updates holding or waiting for its lock

    def claim(self, key: OrderKey) -> None:
        """Handle the updates `key` names a chat for one at a time per chat, in order."""
        self._keys.append(key)

    def _chat(self, update: object) -> int | None:
        if self._locks and isinstance(update, Update):
            chat = update.effective_chat
            if chat is not None and chat.id in self._locks:  # a claimed update here is under way
                return chat.id
        for key in self._keys:
            try:
                chat_id = key(update)
            except Exception:
                log.exception("could not tell whether an update must wait for its turn")
                continue
            if chat_id is not None:
                return chat_id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers, after the earlier updates of its chat if it is claimed."""
        chat_id = self._chat(update)
        if chat_id is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._queued[chat_id] = self._queued.get(chat_id, 0) + 1
        try:
            async with lock:
                await coroutine
        except asyncio.CancelledError:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting for its turn: it never started
            raise
        finally:
            self._queued[chat_id] -= 1
            if not self._queued[chat_id]:  # nobody else waits: forget the chat
                del self._queued[chat_id], self._locks[chat_id]

    async def initialize(self) -> None:
        """Nothing to prepare."""

    async def shutdown(self) -> None:
        """Nothing to release."""
