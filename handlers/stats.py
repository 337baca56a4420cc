"""/stats for everyone, /forget with its confirmation, and /staffstats for staff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import charts, formats
from bot.adapter import opening, refused
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.export import excel_csv
from bot.formats import number
from bot.i18n import Catalog, SafeHtml
from storage.stats import Counter, StaffFigures
from storage.subscriptions import DayEvents, SubscriptionCounts

__all__ = [
    "ForgetAnswer",
    "counter_text",
    "forget_command",
    "on_forget",
    "prune_log",
    "staffstats_command",
    "stats_command",
    "weekly_events",
]

log = logging.getLogger(__name__)

# Days the per-recipient rows of a finished bulk send are kept (its counts are kept for good).
OUTBOX_RETENTION_DAYS = 31
# Staff see subscribing and stopping week by week over this many weeks, this one included.
SUBSCRIPTION_WEEKS = 8


@dataclass(frozen=True, slots=True)
class ForgetAnswer(CallbackData):
    """The /forget confirmation buttons: `fg:1` deletes, `fg:0` keeps everything."""

    prefix: ClassVar[str] = "fg"
    confirmed: bool


def counter_text(
    catalog: Catalog, lang: str, counter: Counter, subscribers: int, zone: str, when: str
) -> str:
    """The public counter as a message, with the number of chats subscribed to the news."""
    figures = {
        name: number(getattr(counter, name), lang)
        for name in ("today", "week", "month", "year", "total", "residents")
    }
    return catalog.text(
        "stats.counter",
        lang,
        zone=zone,
        when=when,
        subscribers=number(subscribers, lang),
        **figures,
    )


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: the website's visit counter, with each figure defined."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    now = datetime.now(UTC)
    counter = await services.stats.counter(now)
    subscribers = await services.subscriptions.count()
    when = formats.stamp(now, services.settings.tz)
    await message.reply_text(
        counter_text(services.catalog, lang, counter, subscribers, services.settings.TIMEZONE, when)
    )


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: ask before deleting anything."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    catalog = services.catalog
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.text("stats.forget_yes", lang),
                    callback_data=ForgetAnswer(True).pack(),
                ),
                InlineKeyboardButton(
                    catalog.text("stats.forget_no", lang),
                    callback_data=ForgetAnswer(False).pack(),
                ),
            ]
        ]
    )
    await message.reply_text(catalog.text("stats.forget_ask", lang), reply_markup=markup)


async def on_forget(update: Update, context: BotContext) -> None:
    """The answer to /forget: delete and say what was deleted, or delete nothing."""
    # The language is read before it is deleted: the answer is in the language asked in.
    tap = await opening(update, context, ForgetAnswer)
    if tap is None:
        return
    query, answer, lang = tap.query, tap.data, tap.lang
    services = context.services
    catalog = services.catalog
    # Answer the tap at once so the button stops spinning.
    await query.answer()
    if not answer.confirmed:
        await query.edit_message_text(catalog.text("stats.forget_cancelled", lang))
        return
    forgotten = await services.privacy.forget(query.from_user.id)
    stopped = forgotten.subscription
    log.info("a resident asked to be forgotten")  # no id: the log must not undo the deletion
    profile = "stats.forget_profile_yes" if forgotten.profile else "stats.forget_profile_none"
    subscription = "stats.forget_subscription_yes" if stopped else "stats.forget_subscription_none"
    await query.edit_message_text(
        catalog.text(
            "stats.forget_done",
            lang,
            profile=catalog.text(profile, lang),
            subscription=catalog.text(subscription, lang),
            votes=forgotten.votes,
            events=forgotten.events,
        )
    )


async def staffstats_command(update: Update, context: BotContext) -> None:
    """/staffstats: active residents, what was read and not found, polls, a chart and a CSV."""
    message = update.effective_message
    if message is None or await refused(update, context, "staffstats"):
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(update.effective_user)
    now = datetime.now(UTC)
    figures = await services.stats.staff_figures(now)
    ids = [article for article, _ in (*figures.top_week, *figures.top_month)]
    titles = await services.articles.titles(ids)
    today = now.astimezone(services.settings.tz).date()
    first_monday = today - timedelta(days=today.weekday(), weeks=SUBSCRIPTION_WEEKS - 1)
    events = await services.subscriptions.events(min(first_monday, figures.daily[0][0]), today)
    subscriptions = Subscriptions(await services.subscriptions.counts(), events, first_monday)
    when = formats.stamp(now, services.settings.tz)
    await message.reply_text(staff_text(catalog, lang, figures, titles, when, subscriptions))
    days = [formats.day_month(day) for day, _, _ in figures.daily]
    # Drawing takes a moment of CPU: off the event loop, so residents are not held up.
    png = await asyncio.to_thread(
        charts.activity_chart,
        days,
        [count for _, count, _ in figures.daily],
        [people for _, _, people in figures.daily],
        title=catalog.text("stats.chart_title", lang),
        interactions_label=catalog.text("stats.chart_interactions", lang),
        residents_label=catalog.text("stats.chart_residents", lang),
    )
    await message.reply_photo(png, caption=catalog.text("stats.chart_caption", lang, when=when))
    await message.reply_document(
        daily_csv(catalog, lang, figures, events),
        filename=f"thong-ke-{now.astimezone(services.settings.tz):%Y-%m-%d}.csv",
        caption=catalog.text("stats.csv_caption", lang),
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
) -> str:
    """The staff statistics as a message."""
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
            monday=formats.day_month(week.day),
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


async def prune_log(context: BotContext) -> None:
    """Daily job: delete raw events older than LOG_RETENTION_DAYS (the daily counts stay)."""
    services = context.services
    removed = await services.stats.prune(services.settings.LOG_RETENTION_DAYS)
    if removed:
        log.info("deleted %d logged interactions past the retention period", removed)
    # Who got which bulk message is kept a month for staff questions; the counts stay for good.
    rows = await services.outbox.prune(OUTBOX_RETENTION_DAYS)
    if rows:
        log.info("deleted %d outbox rows of jobs finished over a month ago", rows)
