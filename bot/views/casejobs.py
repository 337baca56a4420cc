"""The words of residents' reports' jobs, as staff and owners read them: the reminder before
a deadline (to the assignee) and once it passed (to the owners), each with the button that opens
the case, and the owners' morning summary.

What to send to whom is `bot.services.casework`'s; `handlers.casejobs` sends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from bot import formats
from bot.i18n import Catalog, SafeHtml
from bot.views import View
from bot.views.cases import topic_label
from bot.views.casework import open_button
from storage.case_topics import Topic
from storage.cases import Case

__all__ = ["reminder_text", "reminder_view", "summary_text"]

_SUMMARY_LINES = 10  # overdue cases named in the morning summary


def reminder_text(
    catalog: Catalog,
    lang: str,
    key: str,
    case: Case,
    topic: Topic | None,
    assignee: str,
) -> str:
    """A reminder: to the assignee before the deadline, or to the owners once it passed."""
    assert case.deadline is not None
    return catalog.text(
        key,
        lang,
        number=case.number,
        topic=topic_label(catalog, lang, topic),
        day=formats.day(case.deadline, lang=lang),
        assignee=assignee or catalog.text("casework.assignee_none", lang),
    )


def reminder_view(
    catalog: Catalog, lang: str, key: str, case: Case, topic: Topic | None, assignee: str
) -> View:
    """A reminder with the button that opens the case."""
    return View(reminder_text(catalog, lang, key, case, topic, assignee), ((open_button(case),),))


def summary_text(
    catalog: Catalog,
    lang: str,
    today: date,
    counts: tuple[int, int, int],
    late: Sequence[Case],
    topics: Mapping[int, Topic],
    names: Mapping[int, str],
) -> str:
    """The owners' morning summary: what is open and what is late."""
    open_, overdue, unassigned = counts
    lines = [
        catalog.text(
            "casework.summary_line",
            lang,
            number=case.number,
            topic=topic_label(catalog, lang, topics.get(case.topic_id)),
            day=formats.day(case.deadline, lang=lang) if case.deadline else "",
            assignee=(names.get(case.assignee) or str(case.assignee))
            if case.assignee is not None
            else catalog.text("casework.assignee_none", lang),
        )
        for case in late[:_SUMMARY_LINES]
    ]
    if len(late) > _SUMMARY_LINES:
        lines.append(catalog.text("casework.summary_more", lang, count=len(late) - _SUMMARY_LINES))
    return catalog.text(
        "casework.summary",
        lang,
        day=formats.day(today, lang=lang),
        open=open_,
        late=overdue,
        unassigned=unassigned,
        lines=SafeHtml("\n".join(lines)),
    )
