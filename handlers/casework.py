"""Residents' reports as staff handle them, on Telegram: /cases, a case's buttons, what staff
type for a case (the answer, a note, the number of the case it repeats), and /casescsv. The
reminders and the morning summary are `handlers.casejobs`'.

Every command and button here is staff's: a resident is refused (and the refusal recorded)
before anything their tap carries is looked up. What a step does is `bot.services.cases`; the
staff's side of it — the filters and pages of /cases, the deadline's choices, what is typed for
a case — is `bot.services.casework`; what staff
are shown is `bot.views.casework`. What the resident is told of a step is the cases service's
notification view (`bot.views.cases.resident_notice`), sent to the resident's chat on their
channel. This module parses the update, calls the services, renders the view and replies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot.adapter import (
    Tap,
    edit,
    is_staff,
    markup,
    message_staff,
    opening,
    private_name,
    refused,
    reply,
    send_case_photos,
    tell_reporter,
)
from bot.callbacks import CaseAction, CaseList
from bot.context import BotContext, Services
from bot.services.cases import Case, Change, Told, Topic
from bot.views import View
from bot.views.casefigures import figures_csv_view
from bot.views.casework import (
    ask_view,
    assign_view,
    assigned_you_view,
    case_page_view,
    confirm_view,
    deadline_view,
    list_view,
    not_now_said,
    pick_view,
    step_said,
    typed_said,
    typed_view,
)

__all__ = [
    "Typing",
    "cancel",
    "case_page",
    "cases_command",
    "cases_view",
    "casescsv_command",
    "on_action",
    "on_list",
    "on_text",
    "tell_resident",
]


class Typing(filters.MessageFilter):
    """Messages from a staff member typing for a case, in the chat where they were asked."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="typing for a case")
        self._services = services

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None:
            return False
        return self._services.casework.is_typing(message.chat.id, user.id)


# -- /cases -----------------------------------------------------------------------------------


async def cases_command(update: Update, context: BotContext) -> None:
    """/cases: the open cases, overdue first, with their filters and pages (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "cases"):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    if message.chat.type != ChatType.PRIVATE:
        # Who reported and what is for staff only: never in a group.
        await message.reply_text(services.catalog.text("casework.private_only", lang))
        return
    view = await cases_view(services, lang, CaseList())
    assert view is not None
    await reply(message, view)


async def cases_view(services: Services, lang: str, here: CaseList) -> View | None:
    """The view of a /cases button, or None if its filter is not one the bot offers (stale)."""
    casework = services.casework
    topics = await casework.topics()
    topic_id = casework.topic_filter(here.topic, here.state, topics)
    if topic_id is None:
        return None
    if here.pick != "no":
        return pick_view(services.catalog, lang, here, casework.in_order(topics))
    listing = await casework.listing(topic_id, here.state, here.page)
    return list_view(services.catalog, lang, listing, topics, services.cases.today())


async def on_list(update: Update, context: BotContext) -> None:
    """A /cases button: a filter, a page, or the choice of a filter."""
    tap = await opening(update, context, CaseList)
    if tap is None:
        return
    # Staff first: nothing a resident's tap carries is looked up.
    if not await is_staff(context.services, tap.user):
        await tap.query.answer()
        await refused(update, context, "cases")
        return
    view = await cases_view(context.services, tap.lang, tap.data)
    if view is None:
        await _stale(tap, context)
        return
    await tap.query.answer()
    await edit(tap.query, view.text, reply_markup=markup(view))


async def _stale(tap: Tap[Any], context: BotContext) -> None:
    await tap.query.answer(
        context.services.catalog.text("errors.stale_button", tap.lang), show_alert=True
    )


# -- one case ---------------------------------------------------------------------------------


async def case_page(context: BotContext, lang: str, case: Case, said: str = "") -> View:
    """A case's view, with what was just done above it."""
    services = context.services
    page = await services.casework.page(case, partial(private_name, context.bot, context.services))
    return case_page_view(services.catalog, lang, page, services.settings.tz, said)


async def on_action(update: Update, context: BotContext) -> None:
    """A button under a case's view: open it, assign, deadline, answer, note, close, duplicate,
    spam, photos, or stop typing."""
    tap = await opening(update, context, CaseAction)
    if tap is None or tap.message is None:
        return
    services = context.services
    # Staff first: nothing a resident's tap carries is looked up.
    if not await is_staff(services, tap.user):
        await tap.query.answer()
        await refused(update, context, "cases")
        return
    action = tap.data
    case = await services.cases.get(action.case_id)
    if case is None:
        await _stale(tap, context)
        return
    handler = _ACTIONS[action.action]
    await handler(tap, context, case)


async def _open(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    await _show(tap, context, await case_page(context, tap.lang, case))


async def _show(tap: Tap[CaseAction], context: BotContext, view: View) -> None:
    await tap.query.answer()
    await edit(tap.query, view.text, reply_markup=markup(view))


async def _not_now(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The step is not possible in the case's state (a double tap, a colleague was first)."""
    current = await context.services.cases.get(case.case_id) or case
    said = not_now_said(context.services.catalog, tap.lang, case, current)
    await _show(tap, context, await case_page(context, tap.lang, current, said))


async def _choose_assignee(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if not case.is_open:
        await _not_now(tap, context, case)
        return
    people = await context.services.casework.assignable(
        partial(private_name, context.bot, context.services)
    )
    await _show(tap, context, assign_view(context.services.catalog, tap.lang, case, people))


async def _step(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """A button that changes the case (`Casework.act`): assign, deadline, send the answer,
    close, spam. The resident is told, an assignee too; the case's page says what was done."""
    services = context.services
    assert tap.message is not None
    action = tap.data
    step = await services.casework.act(
        case, tap.user.id, action.action, action.value, tap.message.chat.id
    )
    if step.change is None:
        await (_stale(tap, context) if step.outcome == "stale" else _not_now(tap, context, case))
        return
    change = step.change
    reached = await tell_resident(context, change)
    # The page names the new assignee and shows the topic: read once, for the notice too.
    page = await services.casework.page(
        change.case, partial(private_name, context.bot, context.services)
    )
    name, told = "", True
    if change.kind == "assigned":
        assignee = action.value
        name = page.names.get(assignee) or str(assignee)
        told = assignee == tap.user.id or await _tell_assignee(context, change.case, page.topic)
    said = step_said(services.catalog, tap.lang, change, reached=reached, told=told, name=name)
    view = case_page_view(services.catalog, tap.lang, page, services.settings.tz, said)
    await _show(tap, context, view)


async def _tell_assignee(context: BotContext, case: Case, topic: Topic | None) -> bool:
    """Tell the staff member a case was given to them; False if the bot cannot reach them."""
    services = context.services
    assert case.assignee is not None
    lang = await services.casework.language(case.assignee)
    return await message_staff(
        context.bot, services, case.assignee, assigned_you_view(services.catalog, lang, case, topic)
    )


async def _choose_deadline(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if not case.is_open:
        await _not_now(tap, context, case)
        return
    services = context.services
    choices, default = services.casework.deadline_choices(case)
    today = services.cases.today()
    await _show(
        tap, context, deadline_view(services.catalog, tap.lang, case, choices, default, today)
    )


async def _ask_typing(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The answer, a note or the duplicate's number: the next message of this staff member in
    this chat is it (held in the `dialogs` table: a restart loses nothing)."""
    casework = context.services.casework
    assert tap.message is not None
    what = await casework.begin_typing(tap.message.chat.id, tap.user.id, case, tap.data.action)
    if what is None:
        await _not_now(tap, context, case)
        return
    view = ask_view(context.services.catalog, tap.lang, case, what, casework.example_number())
    await _show(tap, context, view)


async def _stop_typing(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    services = context.services
    assert tap.message is not None
    await services.casework.stop_typing(tap.message.chat.id, tap.user.id)
    said = services.catalog.text("casework.typing_cancelled", tap.lang, number=case.number)
    await _show(tap, context, await case_page(context, tap.lang, case, said))


async def _confirm(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if case.is_closed:
        await _not_now(tap, context, case)
        return
    view = confirm_view(context.services.catalog, tap.lang, case, tap.data.action)
    await _show(tap, context, view)


async def _photos(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The case's photos, by the messenger's reference (never downloaded), to this chat."""
    await tap.query.answer()
    assert tap.message is not None
    # Zalo's photos by their address, or as links if Telegram cannot fetch them.
    await send_case_photos(context.bot, context.services, tap.message.chat.id, case, numbered=True)


_ACTIONS = {
    "open": _open,
    "asg": _choose_assignee,
    "to": _step,
    "due": _choose_deadline,
    "dset": _step,
    "ans": _ask_typing,
    "note": _ask_typing,
    "dup": _ask_typing,
    "ansok": _step,
    "x": _stop_typing,
    "close": _confirm,
    "spam": _confirm,
    "closeok": _step,
    "spamok": _step,
    "pics": _photos,
}


# -- what staff type for a case ---------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> None:
    """The answer, a note, or the number of the case this one repeats."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    services = context.services
    casework = services.casework
    chat_id = message.chat.id
    if not casework.is_typing(chat_id, user.id):
        return  # ended while this message waited
    if await refused(update, context, "cases"):  # removed from the staff meanwhile
        await casework.stop_typing(chat_id, user.id)
        return
    lang = await services.language_of(user)
    typed = await casework.take_text(chat_id, user.id, message.text)
    if typed is None:
        return
    view = typed_view(services.catalog, lang, typed, casework.example_number())
    if view is None:
        assert typed.case is not None
        if typed.change is not None:
            await tell_resident(context, typed.change)
        said = typed_said(services.catalog, lang, typed)
        view = await case_page(context, lang, typed.case, said)
    await reply(message, view)


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel while typing for a case: nothing is sent or noted."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    case = await services.casework.stop_typing(message.chat.id, user.id)
    lang = await services.language_of(user)
    number = case.number if case else ""
    await message.reply_text(
        services.catalog.text("casework.typing_cancelled", lang, number=number)
    )


# -- the resident told ------------------------------------------------------------------------


async def tell_resident(context: BotContext, change: Change) -> Told:
    """Tell the reporter of a change with the cases service's own notice, on their channel
    and by its rules (`bot.adapter.tell_reporter`): sent, held (Zalo's window), or nobody."""
    return await tell_reporter(context.bot, context.services, change)


# -- /casescsv --------------------------------------------------------------------------------


async def casescsv_command(update: Update, context: BotContext) -> None:
    """/casescsv: the figures by month and topic, the last twelve months, as a CSV file."""
    message = update.effective_message
    if message is None or await refused(update, context, "casescsv"):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    now = datetime.now(UTC)
    figures = await services.casework.figures(now)
    topics = await services.casework.topics()
    tz = services.settings.tz
    await reply(message, figures_csv_view(services.catalog, lang, figures, topics, now, tz))
