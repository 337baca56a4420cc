"""The satisfaction poll: /poll with one button per option, votes, results, and the staff's tools.

Residents tap an option and the message they tapped turns into the results with their choice
marked. A poll message in a group is seen and tapped by many at once: each tap is answered at
once, but the message itself is redrawn at most once every SHARED_EDIT_SECONDS, always from the
database, so it ends showing what the database holds. Staff (see `handlers.staff`) create polls
with the /newpoll dialog, close them with /closepoll, and get the results as a chart or a CSV file.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot import charts, formats
from bot.adapter import markup, opening, record, refused, replace, reply
from bot.callbacks import DraftAction, DraftActionName, ShowResults, Vote, parse_int
from bot.context import BotContext, Services
from bot.poll_messages import SHARED_EDIT_SECONDS, PollRedraws
from bot.services.polls import NewPolls
from bot.views import View
from bot.views.polls import (
    chart_view,
    chart_words,
    closed_report_view,
    csv_view,
    dialog_view,
    plain,
    results_view,
    vote_view,
)
from storage.polls import MIN_OPTIONS, PollResults, VoteOutcome

__all__ = [
    "SHARED_EDIT_SECONDS",
    "DraftAction",
    "NewPollDialog",
    "PollMessages",
    "ShowResults",
    "Vote",
    "closepoll_command",
    "poll_command",
    "pollchart_command",
    "pollcsv_command",
]

log = logging.getLogger(__name__)


# -- residents' commands and taps -------------------------------------------------------------


async def poll_command(update: Update, context: BotContext) -> None:
    """Show the current poll: its buttons, or its results once answered or closed."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    user = update.effective_user
    shared = message.chat.type != ChatType.PRIVATE
    # A shared message is read by everyone in the group: it speaks the commune's language.
    lang = services.settings.DEFAULT_LANGUAGE if shared else await services.language_of(user)
    poll = await services.polls.current()
    results = (
        None
        if poll is None
        else await services.polls.results(poll.poll_id, None if shared or user is None else user.id)
    )
    if results is None:
        await message.reply_text(services.catalog.text("poll.none", lang))
        return
    if results.poll.is_open and (shared or results.choice is None):
        view = vote_view(services.catalog, lang, results)
    else:
        view = results_view(services.catalog, lang, results, shared=shared)
    await message.reply_text(view.text, reply_markup=markup(view))


class PollMessages:
    """Answers taps on poll messages and keeps the messages in step with the votes."""

    def __init__(self) -> None:
        self.redraws = PollRedraws()

    async def on_vote(self, update: Update, context: BotContext) -> None:
        """Record the resident's choice, say what happened, and show the results."""
        opened = await opening(update, context, Vote)
        if opened is None:
            return
        query, tap, user, lang = opened.query, opened.data, opened.user, opened.lang
        services = context.services
        catalog = services.catalog
        result = await services.polls.vote(tap.poll, user.id, tap.option, seq=update.update_id)
        poll = await services.polls.get(tap.poll)
        if poll is None or result.outcome is VoteOutcome.NO_POLL:
            await query.answer(plain(catalog, lang, "poll.gone"), show_alert=True)
            return
        if result.outcome is VoteOutcome.NO_OPTION:
            await query.answer(plain(catalog, lang, "errors.stale_button"), show_alert=True)
            return
        if result.outcome is VoteOutcome.CLOSED:
            await query.answer(plain(catalog, lang, "poll.closed"), show_alert=True)
        else:
            chosen = poll.option(result.choice)
            label = chosen.label if chosen is not None else ""
            await query.answer(plain(catalog, lang, f"poll.{result.outcome.value}", option=label))
        await self._redraw(update, context, tap.poll)

    async def on_results(self, update: Update, context: BotContext) -> None:
        """Show the results without voting (or bring them up to date)."""
        opened = await opening(update, context, ShowResults)
        if opened is None:
            return
        query, tap, lang = opened.query, opened.data, opened.lang
        services = context.services
        if await services.polls.get(tap.poll) is None:
            await query.answer(plain(services.catalog, lang, "poll.gone"), show_alert=True)
            return
        shared = query.message is not None and query.message.chat.type != ChatType.PRIVATE
        await query.answer(plain(services.catalog, lang, "poll.updating") if shared else None)
        await self._redraw(update, context, tap.poll)

    async def _redraw(self, update: Update, context: BotContext, poll_id: int) -> None:
        """Redraw the tapped message: now in a private chat, throttled in a shared one."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        chat_id, message_id = query.message.chat.id, query.message.message_id
        if query.message.chat.type != ChatType.PRIVATE:
            self.redraws.schedule_shared(context, chat_id, message_id, poll_id)
            return
        services = context.services
        user = query.from_user

        async def render() -> View | None:
            results = await services.polls.results(poll_id, user.id)
            if results is None:
                return None
            lang = await services.language_of(user)
            return results_view(services.catalog, lang, results, shared=False)

        await self.redraws.redraw_now(context.bot, chat_id, message_id, render)


# -- staff commands ---------------------------------------------------------------------------


async def closepoll_command(update: Update, context: BotContext) -> None:
    """Close the current poll and show its final results (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "closepoll"):
        return
    services = context.services
    user = update.effective_user
    lang = await services.language_of(user)
    poll = await services.polls.current()
    if poll is None or not await services.polls.close(poll.poll_id):
        await message.reply_text(services.catalog.text("poll.none_open", lang))
        return
    log.info("poll %s closed by %s", poll.poll_id, services.who(user.id if user else None))
    if user is not None:
        await record(services, user, "poll_closed", poll_id=poll.poll_id)
    results = await services.polls.results(poll.poll_id, user.id if user else None)
    assert results is not None
    await reply(message, closed_report_view(services.catalog, lang, results))


async def _results_asked(update: Update, context: BotContext, lang: str) -> PollResults | None:
    """The poll named after the command (`/pollchart 3`), else the current one; None if absent."""
    services = context.services
    args = context.args or []
    if args:
        # Only ASCII digits SQLite can hold are an id; "²" or twenty digits name no poll.
        poll_id: int | None = parse_int(args[0])
        if poll_id is None:
            await _reply(
                update, services.catalog.text("poll.not_found", lang, poll_id=args[0][:20])
            )
            return None
    else:
        poll = await services.polls.current()
        poll_id = None if poll is None else poll.poll_id
    results = None if poll_id is None else await services.polls.results(poll_id)
    if results is None:
        key = "poll.none" if poll_id is None else "poll.not_found"
        await _reply(update, services.catalog.text(key, lang, poll_id=poll_id))
    return results


async def _reply(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def pollchart_command(update: Update, context: BotContext) -> None:
    """Send the results as a bar chart (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "pollchart"):
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(update.effective_user)
    results = await _results_asked(update, context, lang)
    if results is None:
        return
    poll = results.poll
    when = formats.stamp_day_first(datetime.now(services.settings.tz))
    words = chart_words(catalog, lang, results, services.settings.COMMUNE_NAME, when)
    # Drawing takes a moment of CPU: off the event loop, so residents' taps are not held up.
    png = await asyncio.to_thread(
        charts.results_chart,
        poll.question,
        [option.label for option in poll.options],
        results.counts,
        results.percents,
        **words,
    )
    await reply(message, chart_view(catalog, lang, results, png))


async def pollcsv_command(update: Update, context: BotContext) -> None:
    """Send the results as a CSV file (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "pollcsv"):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    results = await _results_asked(update, context, lang)
    if results is None:
        return
    await reply(message, csv_view(services.catalog, lang, results))


# -- the /newpoll dialog ----------------------------------------------------------------------


class _Writing(filters.MessageFilter):
    """Messages from someone in the middle of /newpoll, in the chat where they began it."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="writing a poll")
        self._services = services

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self._services.newpolls.is_writing(message.chat.id, user.id)


class NewPollDialog:
    """/newpoll: the question, then 2-10 options, then confirm; "Cancel" or /cancel at any step.

    One draft per (chat, staff member), so staff writing polls at the same time never mix; the
    drafts are `bot.services.polls.NewPolls`, kept in the database.
    """

    def __init__(self, services: Services) -> None:
        self.writing = _Writing(services)

    @staticmethod
    def _drafts(context: BotContext) -> NewPolls:
        return context.services.newpolls

    async def start(self, update: Update, context: BotContext) -> None:
        """Begin a new draft (staff only, in a private chat)."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or await refused(update, context, "newpoll"):
            return
        lang = await context.services.language_of(user)
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(context.services.catalog.text("poll.private_only", lang))
            return
        say = await self._drafts(context).begin(message.chat.id, user.id)
        await reply(message, dialog_view(context.services.catalog, lang, say))

    async def on_text(self, update: Update, context: BotContext) -> None:
        """The question or options the staff member typed."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        lang = await context.services.language_of(user)
        say = await self._drafts(context).take_text(message.chat.id, user.id, message.text)
        if say is None:
            return  # abandoned while this message waited
        await reply(message, dialog_view(context.services.catalog, lang, say))

    async def cancel(self, update: Update, context: BotContext) -> None:
        """/cancel: drop the draft."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        lang = await context.services.language_of(user)
        await self._drafts(context).forget(message.chat.id, user.id)
        await message.reply_text(context.services.catalog.text("poll.cancelled", lang))

    async def on_button(self, update: Update, context: BotContext) -> None:
        """ "Done", "Create" or "Cancel" under a dialog message."""
        tap = await opening(update, context, DraftAction)
        if tap is None or tap.message is None:
            return
        query, action, lang, user = tap.query, tap.data.action, tap.lang, tap.user
        services = context.services
        catalog = services.catalog
        polls = self._drafts(context)
        chat_id = tap.message.chat.id
        draft = polls.draft(chat_id, user.id)
        expected: dict[DraftActionName, str | None] = {
            "cancel": None,
            "done": "options",
            "create": "confirm",
        }
        step = expected[action]
        if draft is None or (step is not None and draft.step != step):
            await query.answer(plain(catalog, lang, "errors.stale_button"), show_alert=True)
            return
        if action == "cancel":
            await polls.forget(chat_id, user.id)
            await query.answer()
            await query.edit_message_text(catalog.text("poll.cancelled", lang))
            return
        if action == "done":
            say = await polls.done(chat_id, user.id, draft)
            if say is None:
                await query.answer(
                    plain(catalog, lang, "poll.need_more", min=MIN_OPTIONS), show_alert=True
                )
                return
            await query.answer()
            await replace(query, dialog_view(catalog, lang, say))
            return
        # "create": the draft is taken first, so a double tap creates one poll, not two.
        taken = polls.take(chat_id, user.id)
        await query.answer()
        if taken is None:
            return
        await polls.forget(chat_id, user.id)
        # Someone removed from the staff while writing: refused (and recorded) like a command.
        if await refused(update, context, "newpoll"):
            return
        poll = await services.polls.create(taken.question, taken.options, created_by=user.id)
        log.info("poll %s created by %s", poll.poll_id, services.who(user.id))
        await record(services, user, "poll_created", poll_id=poll.poll_id, question=poll.question)
        await query.edit_message_text(catalog.text("poll.created", lang, poll_id=poll.poll_id))
