"""What /stats, /forget and /staffstats show, as texts, views and a CSV file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from bot.callbacks import ForgetAnswer
from bot.export import excel_csv
from bot.formats import day_month, number
from bot.i18n import Catalog, SafeHtml
from bot.services.stats import ChannelCount
from bot.views import Button, File, View
from storage.stats import Counter, Forgotten, StaffFigures
from storage.subscriptions import DayEvents, SubscriptionCounts

__all__ = [
    "SUBSCRIPTION_WEEKS",
    "ChannelCount",
    "Subscriptions",
    "chart_labels",
    "counter_text",
    "daily_csv",
    "daily_csv_view",
    "forget_done_view",
    "forget_view",
    "staff_chart_view",
    "staff_text",
    "weekly_events",
]

# Staff see subscribing and stopping week by week over this many weeks, this one included.
SUBSCRIPTION_WEEKS = 8


def counter_text(
    catalog: Catalog,
    lang: str,
    counter: Counter,
    subscribers: int,
    zone: str,
    when: str,
    channels: Sequence[ChannelCount] = (),
    *,
    answered: int = 0,
) -> str:
    """The public counter as a message, with the number of chats subscribed to the news and
    of residents' reports answered this month; then, once more than one channel is used, each
    channel's share."""
    figures = {
        name: number(getattr(counter, name), lang)
        for name in ("today", "week", "month", "year", "total", "residents")
    }
    text = catalog.text(
        "stats.counter",
        lang,
        zone=zone,
        when=when,
        subscribers=number(subscribers, lang),
        answered=number(answered, lang),
        **figures,
    )
    used = [c for c in channels if c.counter.total or c.subscribers]
    if len(used) < 2:
        return text
    lines = [
        catalog.text(
            "stats.channel_line",
            lang,
            channel=catalog.text(f"stats.channel_{share.channel}", lang),
            today=number(share.counter.today, lang),
            month=number(share.counter.month, lang),
            total=number(share.counter.total, lang),
            residents=number(share.counter.residents, lang),
            subscribers=number(share.subscribers, lang),
        )
        for share in used
    ]
    by_channel = catalog.text("stats.channels", lang, lines=SafeHtml("\n".join(lines)))
    return f"{text}\n\n{by_channel}"


def forget_view(catalog: Catalog, lang: str) -> View:
    """/forget asks first: delete, or keep everything."""
    return View(
        catalog.text("stats.forget_ask", lang),
        (
            (
                Button(catalog.text("stats.forget_yes", lang), ForgetAnswer(True)),
                Button(catalog.text("stats.forget_no", lang), ForgetAnswer(False)),
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """What staff see of the subscriptions: counts now, and events per day since `since`."""

    counts: SubscriptionCounts
    days: list[DayEvents]
    since: date  # the Monday the weekly lines start from


def weekly_events(days: Sequence[DayEvents], since: date) -> list[DayEvents]:
    """Days added up into weeks from the Monday `since`, each dated by its Monday."""
    weeks: dict[date, list[int]] = {}
    for day in days:
        if day.day < since:
            continue
        monday = day.day - timedelta(days=day.day.weekday())
        sums = weeks.setdefault(monday, [0, 0, 0])
        sums[0] += day.subscribed
        sums[1] += day.changed
        sums[2] += day.unsubscribed
    return [DayEvents(monday, *sums) for monday, sums in sorted(weeks.items())]


def staff_text(
    catalog: Catalog,
    lang: str,
    figures: StaffFigures,
    titles: dict[int, str],
    when: str,
    subscriptions: Subscriptions,
    channels: Sequence[ChannelCount] = (),
) -> str:
    """The staff statistics as a message; then, once more than one channel is used, the active
    residents and subscribers of each."""
    text = _staff_text(catalog, lang, figures, titles, when, subscriptions)
    subscribed = {share.channel: share.subscribers for share in channels}
    used = [c for c in channels if c.channel in figures.by_channel or c.subscribers]
    if len(used) < 2:
        return text
    lines = []
    for share in used:
        dau, wau, mau = figures.by_channel.get(share.channel, (0, 0, 0))
        lines.append(
            catalog.text(
                "stats.staff_channel_line",
                lang,
                channel=catalog.text(f"stats.channel_{share.channel}", lang),
                dau=dau,
                wau=wau,
                mau=mau,
                subscribers=subscribed.get(share.channel, 0),
            )
        )
    by_channel = catalog.text("stats.staff_channels", lang, lines=SafeHtml("\n".join(lines)))
    return f"{text}\n\n{by_channel}"


def _staff_text(
    catalog: Catalog,
    lang: str,
    figures: StaffFigures,
    titles: dict[int, str],
    when: str,
    subscriptions: Subscriptions,
) -> str:
    none = SafeHtml(catalog.text("stats.staff_none", lang))

    def top(rows: list[tuple[int, int]]) -> SafeHtml:
        lines = [
            catalog.text(
                "stats.staff_top_line",
                lang,
                rank=rank,
                title=titles.get(article, f"#{article}"),
                count=count,
            )
            for rank, (article, count) in enumerate(rows, 1)
        ]
        return SafeHtml("\n".join(lines)) if lines else none

    missing = [
        catalog.text("stats.staff_not_found_line", lang, words=words, count=count)
        for words, count in figures.not_found
    ]
    counts = subscriptions.counts
    categories = [
        catalog.text("stats.staff_category_line", lang, name=name, count=count)
        for _, name, count in counts.by_category
    ]
    weeks = [
        catalog.text(
            "stats.staff_week_line",
            lang,
            monday=day_month(week.day),
            subscribed=week.subscribed,
            changed=week.changed,
            unsubscribed=week.unsubscribed,
        )
        for week in weekly_events(subscriptions.days, subscriptions.since)
    ]
    return catalog.text(
        "stats.staff",
        lang,
        when=when,
        dau=figures.dau,
        wau=figures.wau,
        mau=figures.mau,
        top_week=top(figures.top_week),
        top_month=top(figures.top_month),
        not_found=SafeHtml("\n".join(missing)) if missing else none,
        votes=figures.votes_month,
        voters=figures.voters_month,
        subscribers=counts.total,
        instant=counts.by_mode["instant"],
        daily=counts.by_mode["daily"],
        weekly=counts.by_mode["weekly"],
        all_news=counts.all_categories,
        by_category=SafeHtml("\n".join(categories)) if categories else none,
        weeks=SafeHtml("\n".join(weeks)),
    )


def daily_csv(
    catalog: Catalog, lang: str, figures: StaffFigures, subscriptions: Sequence[DayEvents]
) -> bytes:
    """The last 30 days as a CSV file for Excel: use, and subscriptions started and stopped."""
    header = list(catalog.items("stats.csv_header", lang))
    events = {day.day: day for day in subscriptions}
    rows: list[list[object]] = [list(header)]
    for day, count, people in figures.daily:
        on_day = events.get(day, DayEvents(day, 0, 0, 0))
        rows.append(
            [
                day.isoformat(),
                count,
                people,
                on_day.subscribed,
                on_day.changed,
                on_day.unsubscribed,
            ]
        )
    return excel_csv(rows)


def forget_done_view(catalog: Catalog, lang: str, forgotten: Forgotten | None) -> View:
    """The answer to /forget: what was deleted, or (None) that nothing was."""
    if forgotten is None:
        return View(catalog.text("stats.forget_cancelled", lang))
    profile = "stats.forget_profile_yes" if forgotten.profile else "stats.forget_profile_none"
    subscription = (
        "stats.forget_subscription_yes"
        if forgotten.subscription
        else "stats.forget_subscription_none"
    )
    text = catalog.text(
        "stats.forget_done",
        lang,
        profile=catalog.text(profile, lang),
        subscription=catalog.text(subscription, lang),
        votes=forgotten.votes,
        events=forgotten.events,
    )
    return View(text)


def chart_labels(catalog: Catalog, lang: str) -> dict[str, str]:
    """The words on the staff's activity chart (`bot.charts.activity_chart`'s keywords)."""
    return {
        "title": catalog.text("stats.chart_title", lang),
        "interactions_label": catalog.text("stats.chart_interactions", lang),
        "residents_label": catalog.text("stats.chart_residents", lang),
    }


def staff_chart_view(catalog: Catalog, lang: str, png: bytes, when: str) -> View:
    """The activity chart, as a picture with its caption."""
    return View(catalog.text("stats.chart_caption", lang, when=when), file=File("picture", png))


def daily_csv_view(
    catalog: Catalog,
    lang: str,
    figures: StaffFigures,
    events: Sequence[DayEvents],
    now: datetime,
    tz: tzinfo,
) -> View:
    """The day-by-day figures as a CSV file, named by the local day."""
    name = f"thong-ke-{now.astimezone(tz):%Y-%m-%d}.csv"
    csv = daily_csv(catalog, lang, figures, events)
    return View(catalog.text("stats.csv_caption", lang), file=File("document", csv, name))
