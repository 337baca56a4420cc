"""/stats for everyone, /forget with its confirmation, and /staffstats for staff."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from telegram import Update

from bot import charts, formats
from bot.adapter import opening, refused, replace, reply
from bot.callbacks import ForgetAnswer
from bot.context import BotContext
from bot.services.stats import channel_counts
from bot.views.casefigures import figures_text
from bot.views.stats import (
    SUBSCRIPTION_WEEKS,
    Subscriptions,
    chart_labels,
    counter_text,
    daily_csv_view,
    forget_done_view,
    forget_view,
    staff_chart_view,
    staff_text,
    weekly_events,
)

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
    channels = await channel_counts(services.stats, services.subscriptions, now)
    answered = await services.cases.answered_this_month(now)
    when = formats.stamp(now, services.settings.tz)
    await message.reply_text(
        counter_text(
            services.catalog, lang, counter, subscribers, services.settings.TIMEZONE, when,
            channels, answered=answered,
        )
    )  # fmt: skip


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: ask before deleting anything."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    catalog = services.catalog
    await reply(message, forget_view(catalog, lang))


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
        await replace(query, forget_done_view(catalog, lang, None))
        return
    forgotten = await services.privacy.forget(query.from_user.id)
    log.info("a resident asked to be forgotten")  # no id: the log must not undo the deletion
    await replace(query, forget_done_view(catalog, lang, forgotten))


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
    channels = await channel_counts(services.stats, services.subscriptions, now)
    await message.reply_text(
        staff_text(catalog, lang, figures, titles, when, subscriptions, channels)
    )
    # Residents' reports, by month and topic: the last three months (/casescsv has a year).
    since = services.cases.month_of(now - timedelta(days=62))[0]
    cases = await services.casework.store.figures(since, services.settings.tz)
    topics = await services.cases.topics_by_id()
    await message.reply_text(figures_text(catalog, lang, cases, topics, when))
    days = [formats.day_month(day) for day, _, _ in figures.daily]
    # Drawing takes a moment of CPU: off the event loop, so residents are not held up.
    png = await asyncio.to_thread(
        charts.activity_chart,
        days,
        [count for _, count, _ in figures.daily],
        [people for _, _, people in figures.daily],
        **chart_labels(catalog, lang),
    )
    await reply(message, staff_chart_view(catalog, lang, png, when))
    tz = services.settings.tz
    await reply(message, daily_csv_view(catalog, lang, figures, events, now, tz))


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
