"""Góp ý – phản ánh's jobs on Telegram: the reminders before and after a deadline, and the
owners' morning summary.

What to send to whom, each once, is `bot.services.casework.Casework` (`due_reminders`,
`morning_summary`: remembered in the database before anything is sent, so a restart repeats
nothing); the words are `bot.views.casejobs`'. This module only names the owners as Telegram
knows them and sends. The jobs are scheduled in `handlers.schedule`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from telegram.error import TelegramError

from bot.adapter import message_staff, private_name
from bot.context import BotContext
from bot.services.casework import SUMMARY_HOUR
from bot.views import View
from bot.views.casejobs import reminder_view, summary_text

__all__ = [
    "REMINDER_JOB",
    "SUMMARY_HOUR",
    "SUMMARY_JOB",
    "remind",
    "reminders_tick",
    "summarise",
    "summary_tick",
]

log = logging.getLogger(__name__)

REMINDER_JOB = "case-reminders"
SUMMARY_JOB = "case-summary"


async def reminders_tick(context: BotContext) -> None:
    """Job: the reminders due now (see `remind`)."""
    await remind(context, datetime.now(UTC))


async def remind(context: BotContext, now: datetime) -> int:
    """Send the reminders due now (`Casework.due_reminders`: to the assignee the working day
    before a deadline, to the owners once it has passed, each once per deadline). One that
    Telegram could not take for a passing reason is released, to be tried again next run.
    Returns how many messages were sent."""
    services = context.services
    casework = services.casework
    sent = 0
    reminders = await casework.due_reminders(now)
    if not reminders:
        return 0
    names = await casework.names(
        [reminder.case.assignee for reminder in reminders],
        partial(private_name, context.bot, context.services),
    )
    for reminder in reminders:
        case = reminder.case
        assignee = names.get(case.assignee, str(case.assignee)) if case.assignee else ""
        for user_id in reminder.people:
            lang = await casework.language(user_id)
            view = reminder_view(
                services.catalog, lang, reminder.key, case, reminder.topic, assignee
            )
            try:
                sent += await message_staff(context.bot, services, user_id, view)
            except TelegramError as exc:  # a network failure, a 5xx: tried again next run
                log.warning("case %s: reminder not sent (%s); will try again", case.number, exc)
                await casework.release(reminder)
                break
    return sent


async def summary_tick(context: BotContext) -> None:
    """Job: the owners' morning summary, once a day (see `summarise`)."""
    await summarise(context, datetime.now(UTC))


async def summarise(context: BotContext, now: datetime) -> bool:
    """The owners' morning summary, if one is due now (`Casework.morning_summary`: once a
    local day, from SUMMARY_HOUR until noon, when something is open). Returns whether it was
    sent."""
    services = context.services
    casework = services.casework
    summary = await casework.morning_summary(now)
    if summary is None:
        return False
    late = summary.late
    names = await casework.names(
        [case.assignee for case in late], partial(private_name, context.bot, context.services)
    )
    for owner in summary.owners:
        lang = await casework.language(owner)
        text = summary_text(
            services.catalog, lang, summary.today, summary.counts, late, summary.topics, names
        )
        try:
            await message_staff(context.bot, services, owner, View(text))
        except TelegramError as exc:
            log.warning("morning summary not sent to %s: %s", services.who(owner), exc)
    return True
