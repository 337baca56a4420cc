"""What /senddigest and /sendpoll answer the staff member who asked."""

from __future__ import annotations

from typing import Literal

from bot.i18n import Catalog
from bot.views import View

__all__ = ["SendPollOutcome", "senddigest_view", "sendpoll_view"]

# What came of /sendpoll: no open poll, sent before, or queued.
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


def sendpoll_view(
    catalog: Catalog,
    lang: str,
    outcome: SendPollOutcome,
    *,
    telegram: int = 0,
    zalo: tuple[int, int] | None = None,
) -> View:
    """/sendpoll: whom it goes to — `telegram` subscribers and, with Zalo, `zalo`: those who
    get it now (inside their window) and those it waits for —, sent before, or no poll open."""
    if outcome == "done" and zalo is not None:
        now, waiting = zalo
        return View(
            catalog.text(
                "push.sendpoll_done_zalo", lang, telegram=telegram, zalo_now=now,
                zalo_waiting=waiting,
            )
        )  # fmt: skip
    if outcome == "done":
        return View(catalog.text("push.sendpoll_done", lang, count=telegram))
    return View(catalog.text(f"push.sendpoll_{outcome}", lang))
