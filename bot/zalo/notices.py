"""What a Zalo reporter is told of their case (assigned, answered with the answer in full,
closed, duplicate, spam), by Zalo's rules.

The OA may write to a resident only inside the interaction window after their last message
(ZALO.md). So `tell(services, change)`:

1. writes the notice to `case_notices` first (`storage.case_notices`): from then on it cannot be
   lost, whatever happens next;
2. inside the window, with room for all of its messages, sends it at once through the Zalo
   front (`ZaloFront.reply`: the window's message taken, given back if Zalo refuses), in the
   resident's turn (`ZaloFront.turn`: never in the middle of the answer to their own message),
   and deletes the row once Zalo took every message — `Told.SENT`;
3. otherwise leaves it there — `Told.HELD` — and the resident's next message brings it first
   (`bot.zalo.reports.ZaloReports.held`).

A notice sent now is the last list the resident saw: its choices (the rating's "1. Hài lòng /
2. Chưa hài lòng") become their numbers, unless they are in the middle of a dialog (a report,
/subscribe), whose numbers it must not take over; then the choices are buttons, and the rating
is typed as words ("hài lòng", "chưa hài lòng"), which always work.

Why the front and not the outbox: a notice is a one-off message to one person, as a reply is;
the outbox's Zalo sender skips a row outside the window ("window"), which for a notice would
mean lost, and the row here already gives what the outbox would (nothing lost across a crash:
a notice Zalo took just before a crash is shown once more with the next message).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.services.cases import Change, Told
from bot.views import View
from bot.views.cases import resident_notice
from bot.zalo.chat import in_dialog, keep_numbers
from bot.zalo.render import for_zalo
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["tell"]

log = logging.getLogger(__name__)


async def tell(services: Services, change: Change) -> Told:
    """Tell the Zalo reporter of `change`: now inside their window, else with their next
    message (see the module's docstring)."""
    case = change.case
    reporter = case.reporter
    view = resident_notice(services.catalog, change)
    if view is None or reporter is None:
        return Told.NO_ONE
    person = reporter.chat_id
    other = change.other.case_id if change.other is not None else None
    notice = await services.case_notices.hold(ZALO, person, case.case_id, change.kind, other)
    front, oa = services.zalo_front, services.zalo
    user_id = await services.zalo_people.user_id(person)
    if front is None or oa is None or user_id is None:
        log.info("%s's notice (%s) waits for the reporter's next message", case.number,
                 change.kind)  # fmt: skip
        return Told.HELD
    async with front.turn(user_id):
        if not await services.case_notices.held(notice):
            return Told.SENT  # their own message, answered meanwhile, brought it
        busy = in_dialog(services, person)
        lang = case.language
        catalog = services.catalog
        if busy and view.buttons:
            hint = catalog.text("cases.zalo_rate_hint", lang)
            view = View(f"{view.text}\n\n{hint}", view.buttons)
        rendered = for_zalo(view, catalog, lang, numbered=not busy)
        someone = await services.zalo_people.get(person)
        room = 0 if someone is None else oa.window_messages - someone.sent_in_window
        if (
            someone is None
            or room < len(rendered.messages)
            or not someone.in_window(oa.window, oa.window_messages)
        ):
            log.info("%s's notice (%s) waits: outside the reporter's Zalo window", case.number,
                     change.kind)  # fmt: skip
            return Told.HELD
        for message in rendered.messages:
            if await front.reply(person, user_id, message) is None:
                return Told.HELD  # Zalo refused it (logged): their next message brings it
        await services.case_notices.drop(notice)
        if rendered.choices and not busy:
            await keep_numbers(services, person, rendered.choices)
    return Told.SENT
