"""Scheduled digests, /senddigest for staff who want them out now, and /sendpoll."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotApplication, BotContext
from bot.delivery import outgoing
from handlers.poll import vote_view
from handlers.staff import record, refused
from storage.subscriptions import MODES, DigestReader

__all__ = [
    "DIGEST_JOB",
    "POLL_PRIORITY",
    "digest_tick",
    "handlers",
    "schedule",
    "senddigest_command",
    "sendpoll_command",
]

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"
POLL_PRIORITY = 4  # after broadcasts and alerts, before digests


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
    if message is None or await refused(update, context, "senddigest"):
        return
    services = context.services
    user = update.effective_user
    lang = await services.language_of(user)
    run = await services.push.digests(datetime.now(UTC), everyone=True)
    if user is not None:
        await record(
            services,
            user,
            "digest_sent",
            delivery_id=run.delivery_id,
            recipients=run.recipients,
            articles=run.articles,
        )
    if run.delivery_id is None:
        text = services.catalog.text("push.senddigest_nothing", lang, due=run.due)
    else:
        text = services.catalog.text(
            "push.senddigest_done", lang, recipients=run.recipients, articles=run.articles
        )
    await message.reply_text(text)


async def sendpoll_command(update: Update, context: BotContext) -> None:
    """/sendpoll (staff): the current poll, with its buttons, to every subscriber, once.

    Each subscriber gets the question in their language; tapping an answer there votes, as
    under /poll. The outbox sends it at Telegram's pace, after alerts and announcements.
    """
    message = update.effective_message
    if message is None:
        return
    services = context.services
    catalog = services.catalog
    user = update.effective_user
    if await refused(update, context, "sendpoll"):
        return
    lang = await services.language_of(user)
    poll = await services.polls.current()
    results = None if poll is None else await services.polls.results(poll.poll_id, None)
    if results is None or not results.poll.is_open:
        await message.reply_text(catalog.text("push.sendpoll_none", lang))
        return
    bodies: list[dict[str, object]] = []
    languages: dict[str, int] = {}
    recipients: list[tuple[int, int]] = []
    for subscriber in await DigestReader(services.db).subscribers(*MODES):
        language = subscriber.subscription.language
        if language not in languages:
            view = vote_view(catalog, language, results)
            languages[language] = len(bodies)
            bodies.append(
                outgoing(
                    "send_message", text=view.text, parse_mode="HTML", reply_markup=view.markup
                )
            )
        recipients.append((subscriber.chat_id, languages[language]))
    delivery_id = await services.outbox.create(
        "poll",
        bodies,
        recipients,
        label=results.poll.question[:60],
        dedupe_key=f"poll:{results.poll.poll_id}",
        priority=POLL_PRIORITY,
        created_by=user.id if user else None,
    )
    if delivery_id is None:
        await message.reply_text(catalog.text("push.sendpoll_again", lang))
        return
    services.delivery.wake()
    log.info("poll %s queued for %d subscribers", results.poll.poll_id, len(recipients))
    if user is not None:
        await record(services, user, "poll_sent", poll_id=results.poll.poll_id,
                     recipients=len(recipients))  # fmt: skip
    await message.reply_text(catalog.text("push.sendpoll_done", lang, count=len(recipients)))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module, for `handlers.register`."""
    return [
        CommandHandler("senddigest", senddigest_command),
        CommandHandler("sendpoll", sendpoll_command),
    ]
