"""Subscribing on Zalo: "đăng ký" (the /subscribe dialog: what, which categories, how,
when), "cài đặt" (how they get the news), "hủy" (cancel the dialog under way, or stop).

The dialog is Telegram's own (`bot.services.subscribing`, over the Zalo dialogs
`services.zalo_subscribing`, so a restart in the middle loses nothing) and its views are
`bot.views.subscriptions`' (without Telegram's in-place edits: each step is a new message whose
choices are the resident's numbers). The conversation (`bot.zalo.chat`) hands this module the
command words and the typed `SubscribeStep` / `StopSubscription` actions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.callbacks import MAX_MASK_ID, StopSubscription, SubscribeStep
from bot.views import View
from bot.views.subscriptions import (
    WEEKLY_HOUR,
    categories_view,
    described,
    none_view,
    nothing_to_stop_view,
    settings_view,
    step_view,
    stop_view,
    what_view,
)
from storage.articles import Category
from storage.subscriptions import Mode, Saved, Subscription
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["MAX_CATEGORY_CHOICES", "ZaloSubscriptions"]

log = logging.getLogger(__name__)

MAX_CATEGORY_CHOICES = 90  # as on Telegram: the categories one /subscribe view offers


class ZaloSubscriptions:
    """The subscribing part of the Zalo conversation: each method gives the view to answer
    with."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def _categories(self) -> tuple[list[Category], dict[int, str]]:
        every = await self._services.reading.categories()
        offered = [c for c in every if c.category_id <= MAX_MASK_ID][:MAX_CATEGORY_CHOICES]
        return offered, {c.category_id: c.name for c in every}

    async def subscribe(self, person: int, lang: str) -> View:
        """ "đăng ký": the dialog's first step, or their settings if they are subscribed."""
        services = self._services
        current = await services.subscriptions.get(person, channel=ZALO)
        offered, names = await self._categories()
        if current is not None:
            return settings_view(services.catalog, lang, current, names, False)
        view = what_view(services.catalog, lang, offered, None)
        await services.zalo_subscribing.shown(person, person, SubscribeStep("what"), view)
        return view

    async def settings(self, person: int, lang: str) -> View:
        """ "cài đặt": how they get the news, if they do."""
        services = self._services
        current = await services.subscriptions.get(person, channel=ZALO)
        if current is None:
            return none_view(services.catalog, lang, False)
        _, names = await self._categories()
        return settings_view(services.catalog, lang, current, names, False)

    async def unsubscribe(self, person: int, lang: str) -> View:
        """ "Hủy": in the middle of /subscribe it cancels that; otherwise it asks to stop."""
        services = self._services
        if services.zalo_subscribing.where(person, person) is not None:
            return await self.step(person, lang, SubscribeStep("cancel"))
        if await services.subscriptions.get(person, channel=ZALO) is None:
            return nothing_to_stop_view(services.catalog, lang, False)
        return stop_view(services.catalog, lang, False)

    async def step(self, person: int, lang: str, tap: SubscribeStep) -> View:
        """A step of the /subscribe dialog (as handlers.subscribe.on_step on Telegram)."""
        services = self._services
        catalog = services.catalog
        subscribing = services.zalo_subscribing
        if tap.step == "cancel":
            await subscribing.end(person, person)
            return View(catalog.text("subscribe.cancelled", lang))
        offered, names = await self._categories()
        chosen = tap.chosen
        known = {category.category_id for category in offered}
        if not chosen <= known or (tap.step == "toggle" and tap.value not in known):
            return View(catalog.text("errors.stale_button", lang))
        if tap.step == "how" and not tap.every and not chosen:
            view = categories_view(catalog, lang, offered, chosen)
            view = View(
                f"{catalog.text('subscribe.need_category', lang)}\n\n{view.text}", view.buttons
            )
            await subscribing.shown(person, person, SubscribeStep("pick"), view)
            return view
        if tap.step in ("instant", "hour", "day"):
            return await self._save(person, lang, tap, names)
        current = await services.subscriptions.get(person, channel=ZALO)
        view = step_view(catalog, lang, tap, offered, names, current)
        await subscribing.shown(person, person, tap, view)
        return view

    async def _save(
        self, person: int, lang: str, tap: SubscribeStep, names: dict[int, str]
    ) -> View:
        services = self._services
        catalog = services.catalog
        mode: Mode = (
            "instant" if tap.step == "instant" else "daily" if tap.step == "hour" else "weekly"
        )
        subscription = Subscription(
            chat_id=person,
            mode=mode,
            hour=tap.value if mode == "daily" else WEEKLY_HOUR,
            weekday=tap.value if mode == "weekly" else 0,
            all_categories=tap.every,
            category_ids=frozenset() if tap.every else tap.chosen,
            language=lang,
            channel=ZALO,
        )
        saved = await services.subscriptions.save(subscription)
        await services.zalo_subscribing.end(person, person)
        log.info("Zalo subscription %s: %s", saved.value, mode)
        key = "subscribe.saved" if saved is Saved.NEW else "subscribe.changed"
        return View(catalog.text(key, lang, **described(catalog, lang, subscription, names)))

    async def stop(self, person: int, lang: str, tap: StopSubscription) -> View:
        """Stopping: asked, kept, or done."""
        services = self._services
        catalog = services.catalog
        if tap.action == "no":
            return View(catalog.text("subscribe.kept", lang))
        exists = await services.subscriptions.get(person, channel=ZALO) is not None
        if tap.action == "ask":
            return (
                stop_view(catalog, lang, False)
                if exists
                else nothing_to_stop_view(catalog, lang, False)
            )
        if await services.subscriptions.delete(person, channel=ZALO):
            log.info("Zalo subscription stopped")
            return View(catalog.text("subscribe.stopped", lang))
        return nothing_to_stop_view(catalog, lang, False)
