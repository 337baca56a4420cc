"""Scheduled digests, /senddigest for staff who want them out now, and /sendpoll."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update

from bot.adapter import record, refused, reply
from bot.context import BotContext
from bot.views.push import senddigest_view, sendpoll_view

__all__ = [
    "DIGEST_JOB",
    "digest_tick",
    "senddigest_command",
    "sendpoll_command",
]

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"


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
    view = senddigest_view(
        services.catalog, lang, due=run.due, recipients=run.recipients, articles=run.articles,
        sent=run.delivery_id is not None,
    )  # fmt: skip
    await reply(message, view)


async def sendpoll_command(update: Update, context: BotContext) -> None:
    """/sendpoll (staff): the current poll to every subscriber on every channel, once.

    Each subscriber gets the question in their language; tapping an answer there (on Zalo,
    typing its number) votes, as under /poll. The outbox sends it at each channel's pace,
    after alerts and announcements; on Zalo only inside the window (bot.push.Pusher.send_poll).
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
        await reply(message, sendpoll_view(catalog, lang, "none"))
        return
    sent = await services.push.send_poll(results, user.id if user else None)
    if sent.delivery_id is None:
        await reply(message, sendpoll_view(catalog, lang, "again"))
        return
    if user is not None:
        await record(services, user, "poll_sent", poll_id=results.poll.poll_id,
                     recipients=sent.total, by_channel=sent.by_channel)  # fmt: skip
    zalo = (sent.zalo_now, sent.zalo_waiting) if services.settings.zalo_enabled else None
    await reply(message, sendpoll_view(catalog, lang, "done", telegram=sent.telegram, zalo=zalo))
