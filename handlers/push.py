"""Scheduled digests, and /senddigest for staff who want them out now."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotApplication, BotContext
from handlers.poll import is_staff

__all__ = ["DIGEST_JOB", "digest_tick", "handlers", "schedule", "senddigest_command"]

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"


def schedule(application: BotApplication) -> None:
    """Digests are looked at on every hour (digest times are whole hours) and once at start-up,
    which sends a digest missed while the bot was down."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    job_queue.run_repeating(digest_tick, interval=3600, first=next_hour, name=DIGEST_JOB)
    job_queue.run_once(digest_tick, when=5, name=f"{DIGEST_JOB}-catch-up")


async def digest_tick(context: BotContext) -> None:
    """Write the digests that are due now; the delivery engine sends them."""
    run = await context.services.push.digests(datetime.now(UTC))
    if run.due:
        log.info(
            "digest run: %d due, %d with news, %d articles", run.due, run.recipients, run.articles
        )


async def senddigest_command(update: Update, context: BotContext) -> None:
    """/senddigest (staff): every digest subscriber gets what is new to them, now."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    user = update.effective_user
    lang = await services.language_of(user)
    if not await is_staff(services, user):
        await message.reply_text(services.catalog.text("poll.not_staff", lang))
        return
    run = await services.push.digests(datetime.now(UTC), everyone=True)
    if run.delivery_id is None:
        text = services.catalog.text("push.senddigest_nothing", lang, due=run.due)
    else:
        text = services.catalog.text(
            "push.senddigest_done", lang, recipients=run.recipients, articles=run.articles
        )
    await message.reply_text(text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module, for `handlers.register`."""
    return [CommandHandler("senddigest", senddigest_command)]
