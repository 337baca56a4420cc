"""What staff see of residents' reports (góp ý – phản ánh): /cases, a case with its buttons,
the choices under them, what an assignee is told. The reminders and the morning summary are
`bot.views.casejobs`', the figures and their CSV file `bot.views.casefigures`'.

Residents never see any of this: what they are told at each change is the cases service's
notification view. Who reported is shown here, to staff only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, tzinfo

from bot import formats
from bot.callbacks import CaseAction, CaseActionName, CaseList
from bot.i18n import Catalog, SafeHtml
from bot.services.cases import Change, Told
from bot.services.casework import FILTERS, PAGE_SIZE, CasePage, Listing, Typed, TypingWhat
from bot.views import Button, View, rows_of
from bot.views.cases import topic_label
from storage.case_topics import Topic
from storage.cases import STATES, Case, CaseNote

__all__ = [
    "FILTERS",
    "PAGE_SIZE",
    "Listing",
    "answer_preview",
    "ask_view",
    "assign_view",
    "assigned_you_view",
    "case_page_view",
    "case_view",
    "confirm_view",
    "deadline_view",
    "list_view",
    "not_now_said",
    "open_button",
    "pick_view",
    "step_said",
    "topic_label",
    "typed_said",
    "typed_view",
    "typing_view",
]

_NOTES_SHOWN = 5  # the latest internal notes under a case
_MAX_SHOWN = 3500  # a case's page is cut to stay under Telegram's 4,096 characters


def state_label(catalog: Catalog, lang: str, state: str) -> str:
    """A state or a filter ("" open, "late", "all") as staff read it."""
    if state in STATES:
        return catalog.text(f"casework.state_{state}", lang)
    return catalog.text({"": "casework.filter_open", "late": "casework.filter_late"}.get(
        state, "casework.filter_all"), lang)  # fmt: skip


def _deadline(catalog: Catalog, lang: str, case: Case, today: date) -> str:
    if case.deadline is None:
        return catalog.text("casework.deadline_none", lang)
    day = formats.day(case.deadline, lang=lang)
    if _late(case, today):
        return catalog.text("casework.deadline_late", lang, day=day)
    return day


def _late(case: Case, today: date) -> bool:
    return case.is_open and case.deadline is not None and case.deadline < today


def list_view(
    catalog: Catalog, lang: str, listing: Listing, topics: Mapping[int, Topic], today: date
) -> View:
    """A page of /cases: a line per case (the overdue marked), a button to open each, the
    filters and the pages."""
    topic = (
        topic_label(catalog, lang, topics.get(listing.topic_id))
        if listing.topic_id
        else catalog.text("casework.all_topics", lang)
    )
    state = state_label(catalog, lang, listing.state)
    here = CaseList(str(listing.topic_id or ""), listing.state, listing.page)
    filters = (
        Button(catalog.text("casework.btn_topic", lang), _with(here, pick="topic")),
        Button(catalog.text("casework.btn_state", lang), _with(here, pick="state")),
    )
    if not listing.cases:
        text = catalog.text("casework.list_empty", lang, topic=topic, state=state)
        return View(text, (filters,))
    lines = []
    buttons = []
    for case in listing.cases:
        mark = catalog.text(
            "casework.list_mark_late" if _late(case, today) else "casework.list_mark", lang
        )
        lines.append(
            catalog.text(
                "casework.list_line",
                lang,
                mark=mark,
                number=case.number,
                topic=topic_label(catalog, lang, topics.get(case.topic_id)),
                state=state_label(catalog, lang, case.state),
                deadline=SafeHtml(_deadline(catalog, lang, case, today)),
            )
        )
        buttons.append(
            Button(
                catalog.text("casework.btn_case", lang, mark=mark, number=case.number),
                CaseAction(case.case_id, "open"),
            )
        )
    title = catalog.text(
        "casework.list_title",
        lang,
        topic=topic,
        state=state,
        count=listing.total,
        late=listing.late,
        page=listing.page + 1,
        pages=listing.pages,
    )
    turn = []
    if listing.page > 0:
        turn.append(
            Button(catalog.text("casework.btn_prev", lang), _with(here, page=listing.page - 1))
        )
    if listing.page + 1 < listing.pages:
        turn.append(
            Button(catalog.text("casework.btn_next", lang), _with(here, page=listing.page + 1))
        )
    rows = (*rows_of(buttons, 2), *((tuple(turn),) if turn else ()), filters)
    return View(title + "\n\n" + "\n".join(lines), rows)


def _with(here: CaseList, **changes: object) -> CaseList:
    values = {"topic": here.topic, "state": here.state, "page": here.page, "pick": here.pick}
    values.update(changes)
    return CaseList(**values)  # type: ignore[arg-type]


def pick_view(catalog: Catalog, lang: str, here: CaseList, topics: Sequence[Topic]) -> View:
    """The choice of a topic or a state for /cases (the other filter kept, the first page)."""
    if here.pick == "topic":
        choices = [
            Button(
                catalog.text("casework.all_topics", lang), _with(here, topic="", page=0, pick="no")
            )
        ]
        choices += [
            Button(
                topic_label(catalog, lang, topic),
                _with(here, topic=str(topic.topic_id), page=0, pick="no"),
            )
            for topic in topics
        ]
        return View(catalog.text("casework.pick_topic", lang), rows_of(choices, 2))
    choices = [
        Button(state_label(catalog, lang, state), _with(here, state=state, page=0, pick="no"))
        for state in (*FILTERS, *STATES)
    ]
    return View(catalog.text("casework.pick_state", lang), rows_of(choices, 2))


def _reporter(catalog: Catalog, lang: str, case: Case) -> str:
    reporter = case.reporter
    if reporter is None:
        return catalog.text("casework.reporter_forgotten", lang)
    # The person's id on their messenger (Telegram, Zalo): staff may need to reach them.
    who = catalog.text(
        "casework.reporter_known",
        lang,
        channel=reporter.channel.capitalize(),
        user_id=reporter.person_id,
    )
    if case.phone:
        return catalog.text("casework.reporter_phone", lang, who=SafeHtml(who), phone=case.phone)
    return who


def case_view(
    catalog: Catalog,
    lang: str,
    case: Case,
    *,
    topic: Topic | None,
    notes: Sequence[CaseNote],
    names: Mapping[int, str],
    original: Case | None,
    tz: tzinfo,
    today: date,
) -> View:
    """A case as staff see it, with the buttons of what can be done with it now."""
    more: list[str] = []
    if case.photos:
        more.append(catalog.text("casework.photos", lang, count=len(case.photos)))
    if case.location is not None:
        latitude, longitude = case.location
        more.append(
            catalog.text("casework.location", lang, lat=f"{latitude:.6f}", lon=f"{longitude:.6f}")
        )
    if original is not None:
        more.append(catalog.text("casework.duplicate_of", lang, number=original.number))
    if case.answer and case.answered_at is not None:
        when = formats.stamp(case.answered_at, tz, lang)
        more.append(catalog.text("casework.answer", lang, when=when, text=case.answer))
    if case.rating is not None:
        word = f"«{case.rating_word}»" if case.rating_word else ""
        more.append(catalog.text(f"casework.rating_{case.rating}", lang, word=word))
    if notes:
        more.append(catalog.text("casework.notes", lang))
        for note in notes[-_NOTES_SHOWN:]:
            more.append(
                catalog.text(
                    "casework.note_line",
                    lang,
                    when=formats.stamp(note.at, tz, lang),
                    author=names.get(note.author) or str(note.author),
                    text=note.body,
                )
            )
    assignee = (
        names.get(case.assignee) or str(case.assignee)
        if case.assignee is not None
        else catalog.text("casework.assignee_none", lang)
    )
    text = catalog.text(
        "casework.case",
        lang,
        number=case.number,
        topic=topic_label(catalog, lang, topic),
        state=state_label(catalog, lang, case.state),
        deadline=SafeHtml(_deadline(catalog, lang, case, today)),
        assignee=assignee,
        received=formats.stamp(case.created_at, tz, lang),
        reporter=SafeHtml(_reporter(catalog, lang, case)),
        description=case.description,
        more=SafeHtml("".join("\n" + line for line in more)),
    )
    return View(text, _case_buttons(catalog, lang, case))


def case_page_view(catalog: Catalog, lang: str, page: CasePage, tz: tzinfo, said: str = "") -> View:
    """A case's page: what was just done (`said`) above its view; its long texts cut, and
    when that is still too long for one message, shorter and with the last two notes only."""

    def shown(case: Case, notes: Sequence[CaseNote]) -> View:
        view = case_view(
            catalog, lang, case, topic=page.topic, notes=notes, names=page.names,
            original=page.original, tz=tz, today=page.today,
        )  # fmt: skip
        return View(f"{said}\n\n{view.text}" if said else view.text, view.buttons)

    view = shown(_shortened(page.case), page.notes)
    if len(view.text) > _MAX_SHOWN:
        view = shown(_shortened(page.case, 600), page.notes[-2:])
    return view


def _shortened(case: Case, limit: int = 1200) -> Case:
    """The case with its long texts cut for its view (the whole is in the database)."""

    def cut(text: str | None) -> str | None:
        return text if text is None or len(text) <= limit else text[: limit - 1] + "…"

    return replace(case, description=cut(case.description) or "", answer=cut(case.answer))


def not_now_said(catalog: Catalog, lang: str, case: Case, current: Case) -> str:
    """A step not possible in the case's state (a double tap, a colleague was first)."""
    state = catalog.text(f"casework.state_{current.state}", lang)
    return catalog.text("casework.not_now", lang, number=case.number, state=state)


def typed_said(catalog: Catalog, lang: str, typed: Typed) -> str:
    """What a staff member's text for a case did, said above the case's page: "noted", "gone"
    (an empty note), "not_now" (`typed.case` as it is now), "duplicated"."""
    case = typed.case
    assert case is not None
    if typed.outcome == "not_now":
        return not_now_said(catalog, lang, case, case)
    if typed.outcome == "duplicated" and typed.original is not None:
        return catalog.text(
            "casework.duplicated", lang, number=case.number, original=typed.original.number
        )
    key = "casework.noted" if typed.outcome == "noted" else "casework.gone"
    return catalog.text(key, lang, number=case.number)


def typed_view(catalog: Catalog, lang: str, typed: Typed, example: str) -> View | None:
    """The answer to a staff member's text for a case, or None when it is the case's page
    with `typed_said` above it."""
    case = typed.case
    if case is None:
        return View(catalog.text("casework.gone", lang))
    if typed.outcome == "too_long":
        return View(catalog.text("casework.too_long", lang, count=len(typed.text), max=typed.limit))
    if typed.outcome == "preview":
        return answer_preview(catalog, lang, case, typed.text)
    if typed.outcome == "unknown":
        key = "casework.duplicate_unknown"
        return typing_view(catalog, lang, case, key, text=typed.text[:40], example=example)
    if typed.outcome == "self":
        return typing_view(catalog, lang, case, "casework.duplicate_self")
    return None


def step_said(
    catalog: Catalog, lang: str, change: Change, *, reached: Told, told: bool, name: str
) -> str:
    """What a step under a case's view did, said above its page: the resident `reached` (an
    answer: sent, held until they write on Zalo, or nobody), the assignee `told` and their
    `name` (an assignment)."""
    case = change.case
    if change.kind == "assigned":
        key = "casework.assigned" if told else "casework.assigned_not_told"
        return catalog.text(key, lang, number=case.number, name=name)
    if change.kind == "deadline":
        assert case.deadline is not None
        day = formats.day(case.deadline, lang=lang)
        return catalog.text("casework.deadline_set", lang, number=case.number, day=day)
    if change.kind == "answered":
        key = {
            Told.SENT: "casework.answered",
            Told.HELD: "casework.answered_held",
            Told.NO_ONE: "casework.answered_no_one",
        }[reached]
        return catalog.text(key, lang, number=case.number)
    key = "casework.spammed" if change.kind == "spam" else "casework.closed"
    return catalog.text(key, lang, number=case.number)


def _case_buttons(catalog: Catalog, lang: str, case: Case) -> tuple[tuple[Button, ...], ...]:
    def button(key: str, action: CaseActionName) -> Button:
        return Button(catalog.text(f"casework.btn_{key}", lang), CaseAction(case.case_id, action))

    rows: list[tuple[Button, ...]] = []
    if not case.is_closed:
        rows.append((button("assign", "asg"), button("deadline", "due")))
        rows.append((button("answer", "ans"), button("note", "note")))
        rows.append((button("close", "close"), button("duplicate", "dup"), button("spam", "spam")))
    else:
        rows.append((button("note", "note"),))
    if case.photos:
        rows.append((button("photos", "pics"),))
    rows.append((Button(catalog.text("casework.btn_list", lang), CaseList()),))
    return tuple(rows)


def _back(catalog: Catalog, lang: str, case_id: int) -> Button:
    return Button(catalog.text("casework.btn_back", lang), CaseAction(case_id, "open"))


def assign_view(catalog: Catalog, lang: str, case: Case, people: Sequence[tuple[int, str]]) -> View:
    """Whom to assign the case to: a button per staff member (owners included)."""
    if not people:
        return View(
            catalog.text("casework.assign_none", lang),
            ((_back(catalog, lang, case.case_id),),),
        )
    choices = [
        Button(("✓ " if user_id == case.assignee else "") + (name or str(user_id)),
               CaseAction(case.case_id, "to", user_id))
        for user_id, name in people
    ]  # fmt: skip
    return View(
        catalog.text("casework.assign_pick", lang, number=case.number),
        (*rows_of(choices, 2), (_back(catalog, lang, case.case_id),)),
    )


def deadline_view(
    catalog: Catalog,
    lang: str,
    case: Case,
    choices: Sequence[tuple[int, date]],
    default: tuple[int, date],
    today: date,
) -> View:
    """The deadline's choices: the topic's default, then so many working days from today."""
    days, day = default
    buttons = [
        Button(
            catalog.text("casework.deadline_default", lang, count=days,
                         day=formats.day(day, lang=lang)),
            CaseAction(case.case_id, "dset", 0),
        )
    ]  # fmt: skip
    buttons += [
        Button(
            catalog.text("casework.deadline_days", lang, count=n, day=formats.day(day, lang=lang)),
            CaseAction(case.case_id, "dset", n),
        )
        for n, day in choices
    ]
    text = catalog.text(
        "casework.deadline_pick",
        lang,
        number=case.number,
        deadline=SafeHtml(_deadline(catalog, lang, case, today)),
    )
    return View(text, (*rows_of(buttons, 1), (_back(catalog, lang, case.case_id),)))


def typing_view(catalog: Catalog, lang: str, case: Case, key: str, **values: object) -> View:
    """Staff are asked to type something (the answer, a note, the duplicate's number)."""
    return View(
        catalog.text(key, lang, number=case.number, **values),
        ((Button(catalog.text("casework.btn_cancel", lang), CaseAction(case.case_id, "x")),),),
    )


def ask_view(catalog: Catalog, lang: str, case: Case, what: TypingWhat, example: str) -> View:
    """Staff are asked for the answer, a note or the number of the case this one repeats."""
    key = {"answer": "casework.answer_ask", "note": "casework.note_ask",
           "dup": "casework.duplicate_ask"}[what]  # fmt: skip
    return typing_view(catalog, lang, case, key, example=example)


def answer_preview(catalog: Catalog, lang: str, case: Case, text: str) -> View:
    """The typed answer, once more, before it goes to the resident."""
    return View(
        catalog.text("casework.answer_preview", lang, number=case.number, text=text),
        (
            (
                Button(catalog.text("casework.btn_send", lang), CaseAction(case.case_id, "ansok")),
                Button(catalog.text("casework.btn_cancel", lang), CaseAction(case.case_id, "x")),
            ),
        ),
    )


def confirm_view(catalog: Catalog, lang: str, case: Case, what: CaseActionName) -> View:
    """Closing or marking spam asks first."""
    key, yes, action = {
        "close": ("casework.close_ask", "casework.btn_yes_close", "closeok"),
        "spam": ("casework.spam_ask", "casework.btn_yes_spam", "spamok"),
    }[what]
    return View(
        catalog.text(key, lang, number=case.number),
        (
            (
                Button(catalog.text(yes, lang), CaseAction(case.case_id, action)),  # type: ignore[arg-type]
                _back(catalog, lang, case.case_id),
            ),
        ),
    )


# -- messages nobody asked for ----------------------------------------------------------------


def open_button(case: Case) -> Button:
    """The case's number, opening its view (under a message nobody asked for)."""
    return Button(case.number, CaseAction(case.case_id, "open"))


def assigned_you_view(catalog: Catalog, lang: str, case: Case, topic: Topic | None) -> View:
    """To a staff member: a case was given to them."""
    deadline = (
        formats.day(case.deadline, lang=lang)
        if case.deadline
        else catalog.text("casework.deadline_none", lang)
    )
    text = catalog.text(
        "casework.assigned_you",
        lang,
        number=case.number,
        topic=topic_label(catalog, lang, topic),
        deadline=deadline,
    )
    return View(text, ((open_button(case),),))
