"""What /senddigest and /sendpoll answer the staff member who asked."""

from __future__ import annotations

from typing import Literal

from bot.i18n import Catalog
from bot.views import View

__all__ = ["SendPollOutcome", "senddigest_view", "sendpoll_view"]

# What came of /sendpoll: no open poll, sent before, or queued for `count` subscribers.
SendPollOutcome = Literal["none", "again", "done"]


def senddigest_view(
    catalog: Catalog, lang: str, *, due: int, recipients: int, articles: int, sent: bool
) -> View:
    """/senddigest: how many digests were written and with how many articles, or that nobody
    had anything new (`due` digests were looked at)."""
    if not sent:
        return View(catalog.text("push.senddigest_nothing", lang, due=due))
    return View(
        catalog.text("push.senddigest_done", lang, recipients=recipients, articles=articles)
    )


def sendpoll_view(catalog: Catalog, lang: str, outcome: SendPollOutcome, count: int = 0) -> View:
    """/sendpoll: sent to `count` subscribers, sent before, or no poll open."""
    if outcome == "done":
        return View(catalog.text("push.sendpoll_done", lang, count=count))
    return View(catalog.text(f"push.sendpoll_{outcome}", lang))
