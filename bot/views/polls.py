"""What residents and staff see of the satisfaction poll, as channel-neutral views: the
question with its options, the results, the /newpoll dialog's messages, and what the staff's
/closepoll, /pollchart and /pollcsv answer (the chart's words, the CSV file)."""

from __future__ import annotations

from bot.callbacks import DraftAction, ShowResults, Vote
from bot.export import excel_csv
from bot.i18n import Catalog, SafeHtml
from bot.services.polls import Say
from bot.views import Button, File, View
from storage.polls import PollResults

__all__ = [
    "ANSWER_CHARS",
    "BAR_CELLS",
    "bar",
    "chart_view",
    "chart_words",
    "closed_report_view",
    "csv_view",
    "dialog_view",
    "plain",
    "results_csv",
    "results_view",
    "vote_view",
]

BAR_CELLS = 10
# Telegram shows at most 200 characters in a tap's answer.
ANSWER_CHARS = 200


def bar(count: int, total: int) -> str:
    """A text bar of BAR_CELLS cells, filled in proportion to count/total."""
    filled = round(BAR_CELLS * count / total) if total else 0
    return "█" * filled + "░" * (BAR_CELLS - filled)


def _results_button(catalog: Catalog, lang: str, poll_id: int, key: str) -> Button:
    return Button(catalog.text(key, lang), ShowResults(poll_id))


def vote_view(catalog: Catalog, lang: str, results: PollResults) -> View:
    """The question with one button per option and "See results"."""
    poll = results.poll
    rows = [(Button(o.label, Vote(poll.poll_id, o.option_id)),) for o in poll.options]
    rows.append((_results_button(catalog, lang, poll.poll_id, "poll.results_button"),))
    return View(catalog.text("poll.vote_view", lang, question=poll.question), tuple(rows))


def results_view(catalog: Catalog, lang: str, results: PollResults, *, shared: bool) -> View:
    """Count, percentage and bar per option and the total; the reader's own choice marked.

    A shared message (in a group) is read by many people, so nobody's choice is marked there.
    A closed poll has no buttons: there is nothing left to do with it.
    """
    poll = results.poll
    mine = None if shared else results.choice
    lines = [
        catalog.text(
            "poll.line_mine" if option.option_id == mine else "poll.line",
            lang,
            label=option.label,
            count=count,
            percent=percent,
            bar=bar(count, results.total),
        )
        for option, count, percent in zip(
            poll.options, results.counts, results.percents, strict=True
        )
    ]
    if not poll.is_open:
        footer = "poll.footer_closed"
    elif shared:
        footer = "poll.footer_shared"
    else:
        footer = "poll.footer_mine" if mine is not None else "poll.footer_not_voted"
    text = catalog.text(
        "poll.results_view",
        lang,
        question=poll.question,
        lines=SafeHtml("\n".join(lines)),
        total=results.total,
        footer=SafeHtml(catalog.text(footer, lang)),
    )
    if not poll.is_open:
        return View(text)
    rows = [
        (
            Button(
                f"✅ {option.label}" if option.option_id == mine else option.label,
                Vote(poll.poll_id, option.option_id),
            ),
        )
        for option in poll.options
    ]
    rows.append((_results_button(catalog, lang, poll.poll_id, "poll.refresh_button"),))
    return View(text, tuple(rows))


def plain(catalog: Catalog, lang: str, key: str, /, **values: object) -> str:
    """A text shown as plain text (a tap's answer, a chart): values go in raw."""
    raw = {name: SafeHtml(str(value)) for name, value in values.items()}
    return catalog.text(key, lang, **raw)[:ANSWER_CHARS]


def results_csv(catalog: Catalog, lang: str, results: PollResults) -> bytes:
    """The results as a CSV file for Excel."""
    header = [
        catalog.text(f"poll.csv_{column}", lang)
        for column in ("number", "option", "votes", "percent")
    ]
    rows = zip(results.poll.options, results.counts, results.percents, strict=True)
    body = [
        [number, option.label, count, percent]
        for number, (option, count, percent) in enumerate(rows, 1)
    ]
    total = ["", catalog.text("poll.csv_total", lang), results.total, 100 if results.total else 0]
    return excel_csv([header, *body, total])


def dialog_view(catalog: Catalog, lang: str, say: Say) -> View:
    """A message of the /newpoll dialog: its text, the options so far, and its buttons."""
    values = dict(say.values)
    if say.listing is not None:
        items = (
            catalog.text("poll.option_item", lang, number=number, option=option)
            for number, option in enumerate(say.listing, 1)
        )
        values["options"] = SafeHtml("\n".join(items))
    buttons = tuple(
        Button(catalog.text(f"poll.{action}_button", lang), DraftAction(action))
        for action in say.buttons
    )
    return View(catalog.text(say.key, lang, **values), (buttons,) if buttons else ())


# -- the staff's poll commands ----------------------------------------------------------------


def closed_report_view(catalog: Catalog, lang: str, results: PollResults) -> View:
    """/closepoll: the poll is closed, with its final results."""
    shown = results_view(catalog, lang, results, shared=False)
    text = catalog.text(
        "poll.closed_report", lang, poll_id=results.poll.poll_id, results=SafeHtml(shown.text)
    )
    return View(text)


def chart_words(
    catalog: Catalog, lang: str, results: PollResults, commune: str, when: str
) -> dict[str, str]:
    """The words drawn on the results chart (`bot.charts.results_chart`'s keywords)."""
    footer = plain(catalog, lang, "poll.chart_footer", total=results.total, commune=commune,
                   when=when)  # fmt: skip
    return {"votes_label": catalog.text("poll.chart_votes", lang), "footer": footer}


def chart_view(catalog: Catalog, lang: str, results: PollResults, png: bytes) -> View:
    """/pollchart: the chart as a picture, with its caption."""
    poll = results.poll
    caption = catalog.text(
        "poll.chart_caption", lang, poll_id=poll.poll_id, question=poll.question,
        total=results.total,
    )  # fmt: skip
    return View(caption, file=File("picture", png))


def csv_view(catalog: Catalog, lang: str, results: PollResults) -> View:
    """/pollcsv: the results as a CSV file, with its caption."""
    poll = results.poll
    caption = catalog.text("poll.csv_caption", lang, poll_id=poll.poll_id, question=poll.question)
    content = results_csv(catalog, lang, results)
    return View(caption, file=File("document", content, f"tham-do-{poll.poll_id}.csv"))
