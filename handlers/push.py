"""Scheduled digests, /senddigest for staff who want them out now, and /sendpoll."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update

from bot.adapter import markup, record, refused, reply
from bot.context import BotContext
from bot.delivery import outgoing
from bot.views.polls import vote_view
from bot.views.push import senddigest_view, sendpoll_view
from storage.subscriptions import MODES

__all__ = [
    "DIGEST_JOB",
    "POLL_PRIORITY",
    "digest_tick",
    "senddigest_command",
    "sendpoll_command",
]

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"
POLL_PRIORITY = 4  # after broadcasts and alerts, before digests


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
        await reply(message, sendpoll_view(catalog, lang, "none"))
        return
    bodies: list[dict[str, object]] = []
    languages: dict[str, int] = {}
    recipients: list[tuple[int, int]] = []
    for subscriber in await services.digests.subscribers(*MODES):
        language = subscriber.subscription.language
        if language not in languages:
            view = vote_view(catalog, language, results)
            languages[language] = len(bodies)
            bodies.append(
                outgoing(
                    "send_message", text=view.text, parse_mode="HTML", reply_markup=markup(view)
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
        await reply(message, sendpoll_view(catalog, lang, "again"))
        return
    services.delivery.wake()
    log.info("poll %s queued for %d subscribers", results.poll.poll_id, len(recipients))
    if user is not None:
        await record(services, user, "poll_sent", poll_id=results.poll.poll_id,
                     recipients=len(recipients))  # fmt: skip
    await reply(message, sendpoll_view(catalog, lang, "done", len(recipients)))
