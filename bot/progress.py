"""The progress panels of staff announcements: redrawn every few seconds while a send goes
on, turned into the report when it ends (Telegram's side of `bot.services.announcements`)."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest

from bot.adapter import not_modified, render
from bot.context import BotContext, Services
from bot.views import View
from bot.views import announcements as views

__all__ = ["FOLLOW_SECONDS", "ProgressPanels"]

log = logging.getLogger("handlers.broadcast")

FOLLOW_SECONDS = 3.0  # how often progress messages are redrawn (Telegram allows ~1 edit/s)


class ProgressPanels:
    """The progress message of each announcement being sent."""

    def __init__(self) -> None:
        self._shown: dict[int, str] = {}  # broadcast → the progress text last drawn

    async def release(self, context: BotContext) -> None:
        """Job: send the scheduled announcements whose time has come, and show it at once."""
        services = context.services
        for broadcast in await services.announcements.release_due():
            try:
                await self.redraw(services, broadcast.broadcast_id, context.bot, force=True)
            except Exception:
                log.exception("could not update the progress of broadcast %s",
                              broadcast.broadcast_id)  # fmt: skip

    async def follow(self, context: BotContext) -> None:
        """Job: redraw the progress of every broadcast queued or sending."""
        services = context.services
        for broadcast in await services.broadcasts.following():
            try:
                await self.redraw(services, broadcast.broadcast_id, context.bot)
            except Exception:
                log.exception("could not update the progress of broadcast %s",
                              broadcast.broadcast_id)  # fmt: skip

    async def redraw(
        self, services: Services, broadcast_id: int, bot: Any, *, force: bool = False
    ) -> None:
        broadcast = await services.broadcasts.get(broadcast_id)
        if broadcast is None or broadcast.delivery_id is None:
            return  # not sent yet (a scheduled one: its panel says when, `release` sends it)
        estimate = await services.delivery.estimate(broadcast.delivery_id)
        if estimate is None:
            return
        progress = estimate.progress
        final = progress.finished_at is not None
        catalog, tz = services.catalog, services.settings.tz
        lang = (
            await services.users.language(broadcast.created_by)
            or services.settings.DEFAULT_LANGUAGE
        )
        view = View(
            views.progress_text(estimate, broadcast, catalog, lang, tz),
            () if final else views.controls(catalog, lang, broadcast, progress),
        )
        shown = view.text + repr(view.buttons)
        if force or self._shown.get(broadcast_id) != shown:
            self._shown[broadcast_id] = shown
            if broadcast.panel_message_id is not None:
                text, keyboard = render(view)
                try:
                    await bot.edit_message_text(
                        text, chat_id=broadcast.chat_id,
                        message_id=broadcast.panel_message_id, reply_markup=keyboard,
                    )  # fmt: skip
                except BadRequest as exc:
                    if not not_modified(exc):
                        raise
        if final:
            await services.announcements.finished(
                broadcast, progress.state == "done", progress.sent, progress.blocked,
                progress.errors, progress.skipped.get("cancelled", 0), progress.total,
            )  # fmt: skip
            self._shown.pop(broadcast_id, None)
            log.info("broadcast %s finished: %s", broadcast_id, progress.summary())
