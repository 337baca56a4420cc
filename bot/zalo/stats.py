"""Statistics and /forget on Zalo: "thống kê" (the usage counter, both channels, as /stats on
Telegram: `bot.views.stats`) and "xóa thông tin" answered (`services.zalo_privacy.forget`: one
transaction over every table that holds the person on channel zalo)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot import formats
from bot.services.stats import channel_counts
from bot.views import View
from bot.views.stats import counter_text

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["ZaloStats"]

log = logging.getLogger(__name__)


class ZaloStats:
    """The statistics and /forget part of the Zalo conversation."""

    def __init__(self, services: Services, clock: Callable[[], datetime]) -> None:
        self._services = services
        self._clock = clock

    async def stats(self, lang: str) -> View:
        """The usage counter, as /stats shows it."""
        services = self._services
        now = self._clock()
        counter = await services.stats.counter(now)
        subscribers = await services.subscriptions.count()
        channels = await channel_counts(services.stats, services.subscriptions, now)
        when = formats.stamp(now, services.settings.tz)
        zone = services.settings.TIMEZONE
        answered = await services.cases.answered_this_month(now)
        return View(
            counter_text(
                services.catalog, lang, counter, subscribers, zone, when, channels,
                answered=answered,
            )
        )  # fmt: skip

    async def forget(self, person: int, lang: str, confirmed: bool) -> View:
        """The answer to "xóa thông tin?": everything about them deleted, or nothing.
        `lang` was read before: the answer is in the language they asked in."""
        catalog = self._services.catalog
        if not confirmed:
            return View(catalog.text("stats.forget_cancelled", lang))
        forgotten = await self._services.zalo_privacy.forget(person)
        log.info("a Zalo resident asked to be forgotten")  # no id: the log must not undo it
        profile = "stats.forget_profile_yes" if forgotten.profile else "stats.forget_profile_none"
        subscription = (
            "stats.forget_subscription_yes"
            if forgotten.subscription
            else "stats.forget_subscription_none"
        )
        return View(
            catalog.text(
                "stats.forget_done", lang,
                profile=catalog.text(profile, lang),
                subscription=catalog.text(subscription, lang),
                votes=forgotten.votes, events=forgotten.events,
            )
        )  # fmt: skip
