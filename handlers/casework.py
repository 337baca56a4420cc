"""Residents' reports as staff handle them: /cases, a case's buttons, what staff type for a
case (the answer, a note, the number of the case it repeats), /casescsv, and the jobs that
remind the assignee before a deadline, tell the owners once it has passed, and bring the
owners a morning summary.

Every command and button here is staff's: a resident is refused (and the refusal recorded)
before anything their tap carries is looked up. What a step does is `bot.services.cases`;
what the resident is told of it is that service's notification view
(`bot.views.cases.resident_notice`), sent to the resident's chat on their channel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import filters

from bot import formats
from bot.adapter import Tap, edit, is_staff, markup, opening, refused, reply, tell_reporter
from bot.callbacks import CaseAction, CaseList, parse_int
from bot.context import BotContext, Services
from bot.i18n import pick_language
from bot.services.cases import (
    MAX_ANSWER_CHARS,
    MAX_NOTE_CHARS,
    OPEN_STATES,
    Case,
    Change,
    working_days_after,
)
from bot.views import Button, View
from bot.views.casework import (
    FILTERS,
    PAGE_SIZE,
    Listing,
    answer_preview,
    assign_view,
    case_view,
    confirm_view,
    deadline_view,
    figures_csv,
    list_view,
    pick_view,
    reminder_text,
    summary_text,
    topic_label,
    typing_view,
)
from storage.cases import STATES, CaseState, Topic

__all__ = [
    "CASEWORK",
    "DEADLINE_CHOICES",
    "REMINDER_JOB",
    "SUMMARY_HOUR",
    "SUMMARY_JOB",
    "CaseAction",
    "CaseList",
    "Typing",
    "cancel",
    "case_page",
    "cases_command",
    "cases_view",
    "casescsv_command",
    "on_action",
    "on_list",
    "on_text",
    "remind",
    "reminders_tick",
    "summarise",
    "summary_tick",
    "tell_resident",
]

log = logging.getLogger(__name__)

CASEWORK = "casework"  # the dialog's kind: a staff member typing for a case
REMINDER_JOB = "case-reminders"
SUMMARY_JOB = "case-summary"
SUMMARY_HOUR = 7  # the owners' morning summary, local time, from this hour
SUMMARY_UNTIL = 12  # ... until noon
SUMMARY_STATE = "cases.summary_day"  # bot_state: the local day the last summary was sent
DEADLINE_CHOICES = (1, 2, 3, 5, 7, 10, 15)  # working days from today, besides the default
FIGURE_MONTHS = 12  # /casescsv: the last twelve months
_MAX_SHOWN = 3500  # a case's view is cut to stay under Telegram's 4,096 characters

TypingWhat = Literal["answer", "note", "dup"]


class Typing(filters.MessageFilter):
    """Messages from a staff member typing for a case, in the chat where they were asked."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="typing for a case")
        self._services = services

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None:
            return False
        return self._services.dialogs.get(CASEWORK, message.chat.id, user.id) is not None


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


async def _topics(services: Services) -> dict[int, Topic]:
    return {topic.topic_id: topic for topic in await services.cases.topics(everything=True)}


async def cases_view(services: Services, lang: str, here: CaseList) -> View | None:
    """The view of a /cases button, or None if its filter is not one the bot offers (stale)."""
    topics = await _topics(services)
    topic_id = parse_int(here.topic) if here.topic else 0
    if topic_id is None or (topic_id and topic_id not in topics):
        return None
    if here.state not in FILTERS and here.state not in STATES:
        return None
    catalog = services.catalog
    if here.pick != "no":
        offered = sorted(topics.values(), key=lambda topic: (topic.position, topic.topic_id))
        return pick_view(catalog, lang, here, offered)
    today = services.cases.today()
    states: tuple[CaseState, ...] = (
        OPEN_STATES if here.state in ("", "late") else STATES if here.state == "all" else
        (here.state,)  # type: ignore[assignment]
    )  # fmt: skip
    late_before = today if here.state == "late" else None
    store = services.cases.store
    chosen = topic_id or None
    total, late = await store.listing_counts(
        states, today, topic_id=chosen, late_before=late_before
    )
    page = min(here.page, max(0, -(-total // PAGE_SIZE) - 1))
    cases = await store.listing(
        states, topic_id=chosen, late_before=late_before, limit=PAGE_SIZE,
        offset=page * PAGE_SIZE,
    )  # fmt: skip
    listing = Listing(topic_id, here.state, page, cases, total, late)
    return list_view(catalog, lang, listing, topics, today)


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


async def _names(context: BotContext, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of staff and owners: the staff list's, else Telegram's (owners), else none."""
    services = context.services
    names = {member.user_id: member.name for member in await services.staff.members()}
    for user_id in {i for i in ids if i is not None} - set(names):
        if user_id in services.settings.ADMIN_IDS:
            names[user_id] = await _telegram_name(context, user_id)
    return {user_id: name for user_id, name in names.items() if name}


async def _telegram_name(context: BotContext, user_id: int) -> str:
    try:
        chat = await context.bot.get_chat(user_id)
    except TelegramError:
        return ""
    return (chat.full_name or "") if chat.type == ChatType.PRIVATE else ""


async def case_page(context: BotContext, lang: str, case: Case, said: str = "") -> View:
    """A case's view, with what was just done above it."""
    services = context.services
    notes = await services.cases.notes(case.case_id)
    names = await _names(context, [case.assignee, *(note.author for note in notes)])
    original = (
        await services.cases.get(case.duplicate_of) if case.duplicate_of is not None else None
    )
    view = case_view(
        services.catalog,
        lang,
        _shortened(case),
        topic=await services.cases.topic(case.topic_id),
        notes=notes,
        names=names,
        original=original,
        tz=services.settings.tz,
        today=services.cases.today(),
    )
    text = f"{said}\n\n{view.text}" if said else view.text
    if len(text) > _MAX_SHOWN:
        view = case_view(
            services.catalog, lang, _shortened(case, 600), topic=await services.cases.topic(
                case.topic_id), notes=notes[-2:], names=names, original=original,
            tz=services.settings.tz, today=services.cases.today(),
        )  # fmt: skip
        text = f"{said}\n\n{view.text}" if said else view.text
    return View(text, view.buttons)


def _shortened(case: Case, limit: int = 1200) -> Case:
    """The case with its long texts cut for its view (the whole is in the database)."""

    def cut(text: str | None) -> str | None:
        return text if text is None or len(text) <= limit else text[: limit - 1] + "…"

    return replace(case, description=cut(case.description) or "", answer=cut(case.answer))


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
    await tap.query.answer()
    view = await case_page(context, tap.lang, case)
    await edit(tap.query, view.text, reply_markup=markup(view))


async def _show(tap: Tap[CaseAction], context: BotContext, view: View) -> None:
    await tap.query.answer()
    await edit(tap.query, view.text, reply_markup=markup(view))


async def _not_now(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The step is not possible in the case's state (a double tap, a colleague was first)."""
    services = context.services
    catalog = services.catalog
    current = await services.cases.get(case.case_id) or case
    state = catalog.text(f"casework.state_{current.state}", tap.lang)
    said = catalog.text("casework.not_now", tap.lang, number=case.number, state=state)
    await tap.query.answer()
    view = await case_page(context, tap.lang, current, said)
    await edit(tap.query, view.text, reply_markup=markup(view))


async def _choose_assignee(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if not case.is_open:
        await _not_now(tap, context, case)
        return
    services = context.services
    owners = sorted(services.settings.ADMIN_IDS)
    members = [m for m in await services.staff.members() if m.user_id not in owners]
    names = await _names(context, owners)
    people = [(user_id, names.get(user_id, "")) for user_id in owners]
    people += [(member.user_id, member.name) for member in members]
    await _show(tap, context, assign_view(services.catalog, tap.lang, case, people))


async def _assign(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    services = context.services
    catalog = services.catalog
    assignee = tap.data.value
    if not await services.cases.is_staff(assignee):
        await _stale(tap, context)
        return
    change = await services.cases.assign(case.case_id, tap.user.id, assignee)
    if change is None:
        await _not_now(tap, context, case)
        return
    await tell_resident(context, change)
    names = await _names(context, [assignee])
    name = names.get(assignee) or str(assignee)
    told = assignee == tap.user.id or await _tell_assignee(context, change.case)
    key = "casework.assigned" if told else "casework.assigned_not_told"
    said = catalog.text(key, tap.lang, number=case.number, name=name)
    await _show(tap, context, await case_page(context, tap.lang, change.case, said))


async def _tell_assignee(context: BotContext, case: Case) -> bool:
    """Tell the staff member a case was given to them; False if the bot cannot reach them."""
    services = context.services
    assert case.assignee is not None
    lang = await _language(services, case.assignee)
    catalog = services.catalog
    deadline = (
        formats.day(case.deadline, lang=lang)
        if case.deadline
        else catalog.text("casework.deadline_none", lang)
    )
    text = catalog.text(
        "casework.assigned_you",
        lang,
        number=case.number,
        topic=_label(services, lang, await services.cases.topic(case.topic_id)),
        deadline=deadline,
    )
    view = View(text, ((_open_button(case),),))
    return await _send(context, case.assignee, view)


def _label(services: Services, lang: str, topic: Topic | None) -> str:
    return topic_label(services.catalog, lang, topic)


def _open_button(case: Case) -> Button:
    return Button(case.number, CaseAction(case.case_id, "open"))


async def _send(context: BotContext, chat_id: int, view: View) -> bool:
    """Send a view to a staff member's private chat; False if Telegram refuses (never opened
    the bot, blocked it)."""
    try:
        await context.bot.send_message(chat_id, view.text, reply_markup=markup(view))
    except (Forbidden, BadRequest) as exc:
        log.info("cannot message %s: %s", context.services.who(chat_id), exc)
        return False
    return True


async def _language(services: Services, user_id: int) -> str:
    """The language a person chose, else the bot's default (a message nobody asked for)."""
    chosen = await services.users.language(user_id)
    return pick_language(chosen, None, services.settings.DEFAULT_LANGUAGE)


async def _choose_deadline(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if not case.is_open:
        await _not_now(tap, context, case)
        return
    services = context.services
    today = services.cases.today()
    days = services.cases.deadline_days(case.topic_id)
    default = (days, services.cases.deadline_for(case.topic_id, case.created_at))
    choices = [(n, working_days_after(today, n)) for n in DEADLINE_CHOICES]
    view = deadline_view(services.catalog, tap.lang, case, choices, default, today)
    await _show(tap, context, view)


async def _set_deadline(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    services = context.services
    value = tap.data.value
    if value and value not in DEADLINE_CHOICES:
        await _stale(tap, context)
        return
    day = (
        working_days_after(services.cases.today(), value)
        if value
        else services.cases.deadline_for(case.topic_id, case.created_at)
    )
    change = await services.cases.set_deadline(case.case_id, tap.user.id, day)
    if change is None:
        await _not_now(tap, context, case)
        return
    await tell_resident(context, change)
    said = services.catalog.text(
        "casework.deadline_set", tap.lang, number=case.number, day=formats.day(day, lang=tap.lang)
    )
    await _show(tap, context, await case_page(context, tap.lang, change.case, said))


async def _ask_typing(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The answer, a note or the duplicate's number: the next message of this staff member in
    this chat is it (held in the `dialogs` table: a restart loses nothing)."""
    what: TypingWhat = {"ans": "answer", "note": "note", "dup": "dup"}[tap.data.action]  # type: ignore[assignment]
    if what != "note" and case.is_closed:
        await _not_now(tap, context, case)
        return
    if what == "answer" and not case.is_open:
        await _not_now(tap, context, case)
        return
    services = context.services
    assert tap.message is not None
    chat_id = tap.message.chat.id
    services.dialogs.begin(CASEWORK, chat_id, tap.user.id, {"case": case.case_id, "what": what})
    await services.dialogs.save(CASEWORK, chat_id, tap.user.id)
    key = {"answer": "casework.answer_ask", "note": "casework.note_ask",
           "dup": "casework.duplicate_ask"}[what]  # fmt: skip
    example = f"PA-{services.cases.today().year}-0001"
    await _show(tap, context, typing_view(services.catalog, tap.lang, case, key, example=example))


async def _stop_typing(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    services = context.services
    assert tap.message is not None
    await services.dialogs.forget(CASEWORK, tap.message.chat.id, tap.user.id)
    said = services.catalog.text("casework.typing_cancelled", tap.lang, number=case.number)
    await _show(tap, context, await case_page(context, tap.lang, case, said))


async def _send_answer(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """ "Send" under the answer's preview: the answer held in the dialog goes out."""
    services = context.services
    assert tap.message is not None
    chat_id = tap.message.chat.id
    # Taken at once, so a double tap sends one answer.
    state = services.dialogs.take(CASEWORK, chat_id, tap.user.id)
    if state is None or state.get("case") != case.case_id or not state.get("draft"):
        await _stale(tap, context)
        return
    await services.dialogs.forget(CASEWORK, chat_id, tap.user.id)
    change = await services.cases.answer(case.case_id, tap.user.id, str(state["draft"]))
    if change is None:
        await _not_now(tap, context, case)
        return
    reached = await tell_resident(context, change)
    key = "casework.answered" if reached else "casework.answered_no_one"
    said = services.catalog.text(key, tap.lang, number=case.number)
    await _show(tap, context, await case_page(context, tap.lang, change.case, said))


async def _confirm(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    if case.is_closed:
        await _not_now(tap, context, case)
        return
    view = confirm_view(context.services.catalog, tap.lang, case, tap.data.action)
    await _show(tap, context, view)


async def _close(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    services = context.services
    if tap.data.action == "closeok":
        change = await services.cases.close(case.case_id, tap.user.id)
        key = "casework.closed"
    else:
        change = await services.cases.mark_spam(case.case_id, tap.user.id)
        key = "casework.spammed"
    if change is None:
        await _not_now(tap, context, case)
        return
    await tell_resident(context, change)
    said = services.catalog.text(key, tap.lang, number=case.number)
    await _show(tap, context, await case_page(context, tap.lang, change.case, said))


async def _photos(tap: Tap[CaseAction], context: BotContext, case: Case) -> None:
    """The case's photos, by the messenger's reference (never downloaded), to this chat."""
    await tap.query.answer()
    assert tap.message is not None
    if case.channel != "telegram":
        return  # another messenger's file references mean nothing to Telegram
    for position, photo in enumerate(case.photos, 1):
        await context.bot.send_photo(
            tap.message.chat.id, photo, caption=f"{case.number} · {position}/{len(case.photos)}"
        )


_ACTIONS = {
    "open": _open,
    "asg": _choose_assignee,
    "to": _assign,
    "due": _choose_deadline,
    "dset": _set_deadline,
    "ans": _ask_typing,
    "note": _ask_typing,
    "dup": _ask_typing,
    "ansok": _send_answer,
    "x": _stop_typing,
    "close": _confirm,
    "spam": _confirm,
    "closeok": _close,
    "spamok": _close,
    "pics": _photos,
}


# -- what staff type for a case ---------------------------------------------------------------


async def on_text(update: Update, context: BotContext) -> None:
    """The answer, a note, or the number of the case this one repeats."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    services = context.services
    chat_id = message.chat.id
    state = services.dialogs.get(CASEWORK, chat_id, user.id)
    if state is None:
        return  # ended while this message waited
    if await refused(update, context, "cases"):  # removed from the staff meanwhile
        await services.dialogs.forget(CASEWORK, chat_id, user.id)
        return
    lang = await services.language_of(user)
    catalog = services.catalog
    case = await services.cases.get(int(state.get("case", 0)))
    if case is None:
        await services.dialogs.forget(CASEWORK, chat_id, user.id)
        await message.reply_text(catalog.text("casework.gone", lang))
        return
    text = message.text.strip()
    what = state.get("what")
    limit = MAX_ANSWER_CHARS if what == "answer" else MAX_NOTE_CHARS
    if len(text) > limit:
        await message.reply_text(
            catalog.text("casework.too_long", lang, count=len(text), max=limit)
        )
        return
    if what == "answer":
        state["draft"] = text
        await services.dialogs.save(CASEWORK, chat_id, user.id)
        await reply(message, answer_preview(catalog, lang, case, text))
        return
    if what == "note":
        await services.dialogs.forget(CASEWORK, chat_id, user.id)
        note = await services.cases.add_note(case.case_id, user.id, text)
        said = catalog.text("casework.noted" if note else "casework.gone", lang,
                            number=case.number)  # fmt: skip
        await reply(message, await case_page(context, lang, case, said))
        return
    await _duplicate(update, context, case, text, lang)


async def _duplicate(update: Update, context: BotContext, case: Case, text: str, lang: str) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None
    assert user is not None
    services = context.services
    catalog = services.catalog
    example = f"PA-{services.cases.today().year}-0001"
    original = await services.cases.find(text)
    if original is None:
        view = typing_view(
            catalog, lang, case, "casework.duplicate_unknown", text=text[:40], example=example
        )
        await reply(message, view)
        return
    if original.case_id == case.case_id:
        await reply(message, typing_view(catalog, lang, case, "casework.duplicate_self"))
        return
    await services.dialogs.forget(CASEWORK, message.chat.id, user.id)
    change = await services.cases.mark_duplicate(case.case_id, user.id, original.case_id)
    if change is None:
        current = await services.cases.get(case.case_id) or case
        state = catalog.text(f"casework.state_{current.state}", lang)
        said = catalog.text("casework.not_now", lang, number=case.number, state=state)
        await reply(message, await case_page(context, lang, current, said))
        return
    await tell_resident(context, change)
    said = catalog.text("casework.duplicated", lang, number=case.number, original=original.number)
    await reply(message, await case_page(context, lang, change.case, said))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel while typing for a case: nothing is sent or noted."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    state = services.dialogs.take(CASEWORK, message.chat.id, user.id)
    await services.dialogs.forget(CASEWORK, message.chat.id, user.id)
    lang = await services.language_of(user)
    case = await services.cases.get(int(state.get("case", 0))) if state else None
    number = case.number if case else ""
    await message.reply_text(
        services.catalog.text("casework.typing_cancelled", lang, number=number)
    )


# -- the resident told ------------------------------------------------------------------------


async def tell_resident(context: BotContext, change: Change) -> bool:
    """Tell the reporter of a change with the cases service's own notice, on their channel
    (`bot.adapter.tell_reporter`); False when nobody received it."""
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
    figures = await services.cases.store.figures(_months_back(now, services), services.settings.tz)
    topics = await _topics(services)
    await message.reply_document(
        figures_csv(services.catalog, lang, figures, topics),
        filename=f"phan-anh-{now.astimezone(services.settings.tz):%Y-%m}.csv",
        caption=services.catalog.text("casework.csv_caption", lang),
    )


def _months_back(now: datetime, services: Services, months: int = FIGURE_MONTHS) -> datetime:
    """The start of the local month `months - 1` months before this one."""
    local = now.astimezone(services.settings.tz)
    year, month = local.year, local.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                         microsecond=0)  # fmt: skip


# -- jobs -------------------------------------------------------------------------------------


async def reminders_tick(context: BotContext) -> None:
    """Job: the reminders due now (see `remind`)."""
    await remind(context, datetime.now(UTC))


async def remind(context: BotContext, now: datetime) -> int:
    """Remind each assignee the working day before a deadline, and tell the owners once a
    deadline has passed; each reminder once per deadline, remembered in the database before
    it is sent (a message Telegram could not take for a passing reason is tried again).
    Returns how many messages were sent."""
    services = context.services
    store = services.cases.store
    today = now.astimezone(services.settings.tz).date()
    sent = 0
    # Due today or on the next working day: a Monday deadline is reminded of on the Friday.
    tomorrow = working_days_after(today, 1)
    for case in await store.due_soon(today, tomorrow):
        sent += await _remind_once(
            context, case, "due", [case.assignee] if case.assignee else [],
            "casework.remind_assignee",
        )  # fmt: skip
    owners = sorted(services.settings.ADMIN_IDS)
    for case in await store.overdue(today, untold=True):
        sent += await _remind_once(context, case, "overdue", owners, "casework.overdue")
    return sent


async def _remind_once(
    context: BotContext,
    case: Case,
    kind: Literal["due", "overdue"],
    people: list[int],
    key: str,
) -> int:
    services = context.services
    store = services.cases.store
    assert case.deadline is not None
    if not await store.claim_reminder(case.case_id, kind, case.deadline):
        return 0  # another run was first
    topic = await services.cases.topic(case.topic_id)
    names = await _names(context, [case.assignee])
    assignee = names.get(case.assignee, str(case.assignee)) if case.assignee else ""
    sent = 0
    for user_id in people:
        lang = await _language(services, user_id)
        text = reminder_text(services.catalog, lang, key, case, topic, assignee)
        view = View(text, ((_open_button(case),),))
        try:
            sent += await _send(context, user_id, view)
        except TelegramError as exc:  # a network failure, a 5xx: tried again next run
            log.warning("case %s: reminder not sent (%s); will try again", case.number, exc)
            await store.release_reminder(case.case_id, kind, case.deadline)
            break
    return sent


async def summary_tick(context: BotContext) -> None:
    """Job: the owners' morning summary, once a day (see `summarise`)."""
    await summarise(context, datetime.now(UTC))


async def summarise(context: BotContext, now: datetime) -> bool:
    """Once a local day, in the morning (SUMMARY_HOUR to SUMMARY_UNTIL): tell the owners what is
    open and what is late (nothing when nothing is open). Remembered in the database, so a
    restart does not repeat it. Returns whether it was sent."""
    services = context.services
    local = now.astimezone(services.settings.tz)
    today = local.date()
    # A morning's news: a bot down all morning sends none that day rather than one at night.
    if not SUMMARY_HOUR <= local.hour < SUMMARY_UNTIL:
        return False
    if await services.state.get(SUMMARY_STATE) == today.isoformat():
        return False
    await services.state.set(SUMMARY_STATE, today.isoformat())
    store = services.cases.store
    counts = await store.open_counts(today)
    if counts[0] == 0:
        return False
    late = await store.overdue(today)
    topics = await _topics(services)
    names = await _names(context, [case.assignee for case in late])
    for owner in sorted(services.settings.ADMIN_IDS):
        lang = await _language(services, owner)
        text = summary_text(services.catalog, lang, today, counts, late, topics, names)
        try:
            await _send(context, owner, View(text))
        except TelegramError as exc:
            log.warning("morning summary not sent to %s: %s", services.who(owner), exc)
    return True
