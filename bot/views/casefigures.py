"""The figures of residents' reports as staff read them: the cases' part of /staffstats (by
month, then by topic) and /casescsv's CSV file for Excel.

The figures themselves are `storage.casework.CaseFigures`, chosen by `bot.services.casework`;
a case's page, /cases and the reminders are `bot.views.casework`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from bot import formats
from bot.export import excel_csv
from bot.i18n import Catalog, SafeHtml
from bot.views import File, View
from bot.views.cases import topic_label
from storage.case_topics import Topic
from storage.casework import CaseFigures

__all__ = ["figures_csv", "figures_csv_view", "figures_text"]


def _median(catalog: Catalog, lang: str, hours: float | None) -> str:
    if hours is None:
        return catalog.text("casework.median_none", lang)
    if hours < 48:
        count = max(1, round(hours))
        return catalog.text("casework.hours", lang, count=formats.number(count, lang))
    days = round(hours / 24)
    return catalog.text("casework.days", lang, count=formats.number(days, lang))


def _figures_values(catalog: Catalog, lang: str, figures: CaseFigures) -> dict[str, object]:
    return {
        "received": figures.received,
        "answered": figures.answered,
        "on_time": figures.on_time,
        "median": _median(catalog, lang, figures.median_hours),
        "satisfied": figures.satisfied,
        "rated": figures.rated,
    }


def figures_text(
    catalog: Catalog,
    lang: str,
    figures: Sequence[CaseFigures],
    topics: Mapping[int, Topic],
    when: str,
    months: int = 3,
) -> str:
    """The staff's figures of the last `months` months, the latest first: each month's, then
    each topic's that had cases."""
    shown = sorted({f.month for f in figures}, reverse=True)[:months]
    lines = []
    for month in shown:
        of_month = [f for f in figures if f.month == month]
        for f in of_month:
            if f.topic_id is None:
                lines.append(
                    catalog.text(
                        "casework.figures_month",
                        lang,
                        month=_month(month),
                        **_figures_values(catalog, lang, f),
                    )
                )
        for f in of_month:
            if f.topic_id is not None:
                lines.append(
                    catalog.text(
                        "casework.figures_topic",
                        lang,
                        topic=topic_label(catalog, lang, topics.get(f.topic_id)),
                        **_figures_values(catalog, lang, f),
                    )
                )
    body = "\n".join(lines) if lines else catalog.text("casework.figures_none", lang)
    return catalog.text("casework.figures", lang, when=when, months=SafeHtml(body))


def _month(month: str) -> str:
    year, number = month.split("-")
    return f"{number}/{year}"


def figures_csv(
    catalog: Catalog, lang: str, figures: Sequence[CaseFigures], topics: Mapping[int, Topic]
) -> bytes:
    """The figures by month and topic as a CSV file for Excel: a row per month for every
    topic together, then a row per topic with cases; the median in whole hours."""
    rows: list[list[object]] = [list(catalog.items("casework.csv_header", lang))]
    every = catalog.text("casework.csv_all_topics", lang)
    for f in sorted(
        figures, key=lambda f: (f.month, f.topic_id is not None, _position(topics, f.topic_id))
    ):
        topic = every if f.topic_id is None else topic_label(catalog, lang, topics.get(f.topic_id))
        # Whole hours: a decimal mark would read differently in each Excel's language.
        median = "" if f.median_hours is None else round(f.median_hours)
        rows.append(
            [f.month, topic, f.received, f.answered, f.on_time, median, f.satisfied,
             f.rated - f.satisfied]
        )  # fmt: skip
    return excel_csv(rows)


def figures_csv_view(
    catalog: Catalog,
    lang: str,
    figures: Sequence[CaseFigures],
    topics: Mapping[int, Topic],
    now: datetime,
    tz: tzinfo,
) -> View:
    """/casescsv: the figures as a CSV file, named by the local month."""
    name = f"phan-anh-{now.astimezone(tz):%Y-%m}.csv"
    csv = figures_csv(catalog, lang, figures, topics)
    return View(catalog.text("casework.csv_caption", lang), file=File("document", csv, name))


def _position(topics: Mapping[int, Topic], topic_id: int | None) -> tuple[int, int]:
    topic = topics.get(topic_id) if topic_id is not None else None
    return (topic.position if topic else 0, topic_id or 0)
