"""Residents' reports as staff handle them, apart from any front end. No Telegram here.

- /cases: which filter a button asks for (`topic_filter`) and the page of cases it shows
  (`listing`, a `Listing`), overdue first.
- A case's steps as staff choose them: whom it may be given to (`assignable`), the deadline's
  choices (`deadline_choices`, `deadline_of`), the buttons that change it (`act` → a `Step`:
  assign, deadline, send the answer, close, spam), and what staff type for it — the answer, a note,
  the number of the case it repeats — held by `bot.services.dialogs.Dialogs` under `CASEWORK`
  (`begin_typing`, `take_text` → a `Typed`, `take_answer`, `stop_typing`): a restart loses
  nothing. The steps themselves are `bot.services.cases.Cases`'.
- The jobs' choice of what to send to whom, each once: `due_reminders` (the assignee the
  working day before a deadline, the owners once it has passed; claimed in the database before
  they are sent, `release`d when a message could not go for a passing reason) and
  `morning_summary` (the owners', once a local day, in the morning).
- /casetopics: `topics_overview`, and `change_topics` (a catalogue key and its values to say).
- A case's page (`page`: its topic, notes, names, the case it repeats); names and languages
  of staff and owners for the messages nobody asked for (`names`, `language`), and whom to
  tell of a reopened case (`to_tell_of_reopened`); /casescsv's twelve months (`figures`).

The lists, reminder marks and figures are read from `storage.casework` (`store`). The front end
renders with `bot.views.casework` (the jobs' words: `bot.views.casejobs`; the figures:
`bot.views.casefigures`) and sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.callbacks import parse_int
from bot.config import Settings
from bot.i18n import pick_language
from bot.services.cases import (
    MAX_ANSWER_CHARS,
    MAX_NOTE_CHARS,
    MAX_TOPIC_CHARS,
    OPEN_STATES,
    Case,
    Cases,
    Change,
    working_days_after,
)
from bot.services.dialogs import Dialogs
from storage.case_topics import Topic
from storage.cases import STATES, CaseNote, CaseState
from storage.casework import CaseFigures, CaseworkStore
from storage.ingest import State
from storage.staff import StaffMember, StaffStore
from storage.users import UserStore

__all__ = [
    "CASEWORK",
    "DEADLINE_CHOICES",
    "FIGURE_MONTHS",
    "FILTERS",
    "PAGE_SIZE",
    "SUMMARY_HOUR",
    "SUMMARY_UNTIL",
    "CasePage",
    "Casework",
    "Listing",
    "Reminder",
    "Said",
    "Step",
    "Summary",
    "Typed",
    "TypingWhat",
    "months_back",
]

CASEWORK = "casework"  # the dialog's kind: a staff member typing for a case
PAGE_SIZE = 8  # cases a page of /cases
# The state filters of /cases besides each state: "" the open ones (the default), the
# overdue ones, every case.
FILTERS = ("", "late", "all")
DEADLINE_CHOICES = (1, 2, 3, 5, 7, 10, 15)  # working days from today, besides the default
SUMMARY_HOUR = 7  # the owners' morning summary, local time, from this hour
SUMMARY_UNTIL = 12  # ... until noon
SUMMARY_STATE = "cases.summary_day"  # bot_state: the local day the last summary was sent
FIGURE_MONTHS = 12  # /casescsv: the last twelve months

TypingWhat = Literal["answer", "note", "dup"]
Said = tuple[str, dict[str, object]]  # what to say: a catalogue key and its values
_TYPING: dict[str, TypingWhat] = {"ans": "answer", "note": "note", "dup": "dup"}


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of /cases: its filter, its cases, and the counts of the whole filter."""

    topic_id: int  # 0: every topic
    state: str  # "" open, "late", "all", or a state
    page: int
    cases: Sequence[Case]
    total: int
    late: int

    @property
    def pages(self) -> int:
        """How many pages the filter fills (one, when empty)."""
        return max(1, -(-self.total // PAGE_SIZE))


@dataclass(frozen=True, slots=True)
class CasePage:
    """What a case's page shows besides the case: its topic, its notes, the names of its
    assignee and of the notes' authors, the case it repeats, and today (for "late")."""

    case: Case
    topic: Topic | None
    notes: Sequence[CaseNote]
    names: dict[int, str]
    original: Case | None
    today: date


@dataclass(frozen=True, slots=True)
class Typed:
    """What a staff member's text for a case came to.

    `outcome`: "gone" (no such case any longer: `case` is None, or the note was empty),
    "too_long" (`limit`), "preview" (the answer held, shown once more before it goes),
    "noted", "unknown" (no case of that number), "self" (the case itself), "not_now" (a
    colleague was first: `case` as it is now), "duplicated" (`change`, `original`).
    """

    outcome: Literal["gone", "too_long", "preview", "noted", "unknown", "self", "not_now",
                     "duplicated"]  # fmt: skip
    case: Case | None
    text: str = ""
    limit: int = 0
    change: Change | None = None
    original: Case | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A staff step under a case's view: done (`change`), "stale" (a choice the bot does not
    offer, or no answer held), or "not_now" (the case's state does not allow it)."""

    outcome: Literal["done", "stale", "not_now"]
    change: Change | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to send, already claimed: of `kind` about `case` (the catalogue's `key`), to
    each of `people` in turn."""

    case: Case
    kind: Literal["due", "overdue"]
    key: str
    people: tuple[int, ...]
    topic: Topic | None


@dataclass(frozen=True, slots=True)
class Summary:
    """The owners' morning summary: open, overdue and unassigned counts, the overdue cases."""

    today: date
    counts: tuple[int, int, int]
    late: Sequence[Case]
    topics: dict[int, Topic]
    owners: tuple[int, ...]


def months_back(now: datetime, settings: Settings, months: int = FIGURE_MONTHS) -> datetime:
    """The start of the local month `months - 1` months before this one."""
    local = now.astimezone(settings.tz)
    year, month = local.year, local.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                         microsecond=0)  # fmt: skip


class Casework:
    """Staff's side of the cases, on one channel's dialogs."""

    def __init__(
        self,
        cases: Cases,
        store: CaseworkStore,
        dialogs: Dialogs,
        staff: StaffStore,
        users: UserStore,
        state: State,
        settings: Settings,
    ) -> None:
        self._cases = cases
        self._store = store
        self._dialogs = dialogs
        self._staff = staff
        self._users = users
        self._state = state
        self._settings = settings

    @property
    def store(self) -> CaseworkStore:
        """The staff's queries: lists, reminders, figures (also /staffstats' months)."""
        return self._store

    # -- people ---------------------------------------------------------------------------------

    async def names(
        self, ids: Iterable[int | None], owner_name: Callable[[int], Awaitable[str]]
    ) -> dict[int, str]:
        """Names of staff and owners: the staff list's, else `owner_name` (the messenger's
        name of an owner who is not on the list), else none."""
        return await self._names(await self._staff.members(), ids, owner_name)

    async def _names(
        self,
        members: Iterable[StaffMember],
        ids: Iterable[int | None],
        owner_name: Callable[[int], Awaitable[str]],
    ) -> dict[int, str]:
        names = {member.user_id: member.name for member in members}
        for user_id in {i for i in ids if i is not None} - set(names):
            if user_id in self._settings.ADMIN_IDS:
                names[user_id] = await owner_name(user_id)
        return {user_id: name for user_id, name in names.items() if name}

    async def language(self, user_id: int) -> str:
        """The language a person chose, else the bot's default (a message nobody asked for)."""
        chosen = await self._users.language(user_id)
        return pick_language(chosen, None, self._settings.DEFAULT_LANGUAGE)

    async def assignable(
        self, owner_name: Callable[[int], Awaitable[str]]
    ) -> list[tuple[int, str]]:
        """Whom a case may be given to, with their names: the owners first (named as for
        `names`, else ""), then the other staff members."""
        owners = sorted(self._settings.ADMIN_IDS)
        everyone = await self._staff.members()  # read once: for the names and the list
        members = [m for m in everyone if m.user_id not in owners]
        names = await self._names(everyone, owners, owner_name)
        people = [(user_id, names.get(user_id, "")) for user_id in owners]
        return people + [(member.user_id, member.name) for member in members]

    async def to_tell_of_reopened(self, case: Case) -> list[int]:
        """A resident not satisfied: whom to tell the case is the staff's again — its assignee,
        or with nobody assigned (or no longer staff) the staff who handle its topic."""
        assignee = case.assignee
        if assignee is not None and await self._cases.is_staff(assignee):
            return [assignee]
        return await self._cases.handlers_of(case.topic_id)

    async def page(self, case: Case, owner_name: Callable[[int], Awaitable[str]]) -> CasePage:
        """Everything a case's page shows (`owner_name` as for `names`)."""
        cases = self._cases
        notes = await cases.notes(case.case_id)
        names = await self.names([case.assignee, *(note.author for note in notes)], owner_name)
        original = await cases.get(case.duplicate_of) if case.duplicate_of is not None else None
        topic = await cases.topic(case.topic_id)
        return CasePage(case, topic, notes, names, original, cases.today())

    # -- /cases ---------------------------------------------------------------------------------

    async def topics(self) -> dict[int, Topic]:
        """Every topic, offered or not, by id."""
        return await self._cases.topics_by_id()

    @staticmethod
    def in_order(topics: dict[int, Topic]) -> list[Topic]:
        """The topics in the order residents are offered them."""
        return sorted(topics.values(), key=lambda topic: (topic.position, topic.topic_id))

    @staticmethod
    def topic_filter(topic: str, state: str, topics: dict[int, Topic]) -> int | None:
        """The topic a /cases button filters on (0: every topic), or None if its filter is not
        one the bot offers (a stale or forged button)."""
        topic_id = parse_int(topic) if topic else 0
        if topic_id is None or (topic_id and topic_id not in topics):
            return None
        if state not in FILTERS and state not in STATES:
            return None
        return topic_id

    async def listing(self, topic_id: int, state: str, page: int) -> Listing:
        """A page of /cases (a page past the last is the last)."""
        today = self._cases.today()
        states: tuple[CaseState, ...] = (
            OPEN_STATES if state in ("", "late") else STATES if state == "all" else
            (state,)  # type: ignore[assignment]
        )  # fmt: skip
        late_before = today if state == "late" else None
        store = self._store
        chosen = topic_id or None
        total, late = await store.listing_counts(
            states, today, topic_id=chosen, late_before=late_before
        )
        page = min(page, max(0, -(-total // PAGE_SIZE) - 1))
        cases = await store.listing(
            states, topic_id=chosen, late_before=late_before, limit=PAGE_SIZE,
            offset=page * PAGE_SIZE,
        )  # fmt: skip
        return Listing(topic_id, state, page, cases, total, late)

    async def figures(self, now: datetime) -> list[CaseFigures]:
        """/casescsv's figures: by month and topic, the last twelve local months."""
        return await self._store.figures(months_back(now, self._settings), self._settings.tz)

    # -- /casetopics: the topics and who handles them -------------------------------------------

    async def topics_overview(self) -> tuple[list[Topic], dict[int, list[str]], dict[int, int]]:
        """Every topic; who handles each (staff names, else `#id`); its working days."""
        cases = self._cases
        topics = await cases.topics(everything=True)
        names = {m.user_id: m.name for m in await self._staff.members()}
        handlers = {
            topic_id: [names.get(user_id) or f"#{user_id}" for user_id in user_ids]
            for topic_id, user_ids in (await cases.handled()).items()
        }
        return topics, handlers, {t.topic_id: cases.deadline_days(t.topic_id) for t in topics}

    async def change_topics(self, actor: int, args: Sequence[str]) -> Said:
        """Do what /casetopics was given (`add NAME`, `rename N NAME`, `off N`, `on N`,
        `handle N ID`, `unhandle N ID`); what to say of it: a catalogue key and its values."""
        cases = self._cases
        verb, rest = args[0].lower(), list(args[1:])
        number = parse_int(rest[0]) if rest else None
        done: Said = ("cases.topics_done", {})
        bad_name: Said = ("cases.topics_bad_name", {"max": MAX_TOPIC_CHARS})
        if verb == "add" and rest:
            added = await cases.add_topic(" ".join(rest), actor)
            return bad_name if added is None else done
        if number is None or verb not in ("rename", "off", "on", "handle", "unhandle"):
            return "cases.topics_bad", {}
        not_found: Said = ("cases.topics_not_found", {"number": rest[0]})
        if verb == "rename":
            if await cases.topic(number) is None:
                return not_found
            renamed = await cases.rename_topic(number, " ".join(rest[1:]), actor)
            return bad_name if renamed is None else done
        if verb in ("off", "on"):
            changed = await cases.set_topic_active(number, verb == "on", actor)
            return not_found if changed is None else done
        staff_id = parse_int(rest[1]) if len(rest) == 2 else None
        if staff_id is None:
            return "cases.topics_bad", {}
        if not await cases.set_handles(staff_id, number, verb == "handle", actor):
            return "cases.topics_not_staff", {"user_id": rest[1]}
        return done

    # -- deadlines ------------------------------------------------------------------------------

    def deadline_choices(self, case: Case) -> tuple[list[tuple[int, date]], tuple[int, date]]:
        """The deadlines offered: so many working days from today, and the topic's default."""
        today = self._cases.today()
        days = self._cases.deadline_days(case.topic_id)
        default = (days, self._cases.deadline_for(case.topic_id, case.created_at))
        return [(n, working_days_after(today, n)) for n in DEADLINE_CHOICES], default

    def deadline_of(self, case: Case, choice: int) -> date | None:
        """The day a deadline button stands for (0: the topic's default), or None if it is not
        one of the choices offered."""
        if choice and choice not in DEADLINE_CHOICES:
            return None
        if choice:
            return working_days_after(self._cases.today(), choice)
        return self._cases.deadline_for(case.topic_id, case.created_at)

    # -- the steps ------------------------------------------------------------------------------

    async def act(self, case: Case, actor: int, action: str, value: int, chat_id: int) -> Step:
        """A button that changes a case: "to" (assign to `value`), "dset" (the deadline
        `value` working days from today, 0 the topic's default), "ansok" (send the answer held
        for the case in this chat), "closeok", "spamok"."""
        cases = self._cases
        change: Change | None
        if action == "to":
            if not await cases.is_staff(value):
                return Step("stale")
            change = await cases.assign(case.case_id, actor, value)
        elif action == "dset":
            day = self.deadline_of(case, value)
            if day is None:
                return Step("stale")
            change = await cases.set_deadline(case.case_id, actor, day)
        elif action == "ansok":
            draft = await self.take_answer(chat_id, actor, case.case_id)
            if draft is None:
                return Step("stale")
            change = await cases.answer(case.case_id, actor, draft)
        elif action == "closeok":
            change = await cases.close(case.case_id, actor)
        else:
            change = await cases.mark_spam(case.case_id, actor)
        return Step("not_now") if change is None else Step("done", change)

    # -- what staff type for a case -------------------------------------------------------------

    def is_typing(self, chat_id: int, person_id: int) -> bool:
        """Whether the person's next message in this chat is for a case."""
        return self._dialogs.get(CASEWORK, chat_id, person_id) is not None

    async def begin_typing(
        self, chat_id: int, person_id: int, case: Case, action: str
    ) -> TypingWhat | None:
        """The button "answer", "note" or "duplicate" (`action`): the person's next message in
        this chat is it. None if the case's state does not allow it (nothing begun)."""
        what = _TYPING[action]
        if what != "note" and case.is_closed:
            return None
        if what == "answer" and not case.is_open:
            return None
        self._dialogs.begin(CASEWORK, chat_id, person_id, {"case": case.case_id, "what": what})
        await self._dialogs.save(CASEWORK, chat_id, person_id)
        return what

    async def stop_typing(self, chat_id: int, person_id: int) -> Case | None:
        """Stop typing for a case (nothing is sent or noted); the case it was for, if any."""
        state = self._dialogs.take(CASEWORK, chat_id, person_id)
        await self._dialogs.forget(CASEWORK, chat_id, person_id)
        return await self._cases.get(int(state.get("case", 0))) if state else None

    async def take_text(self, chat_id: int, person_id: int, text: str) -> Typed | None:
        """A staff member's message while typing for a case: the answer is held for its
        preview, a note is added, a duplicate's number marks the case. None when they were no
        longer typing (ended while this message waited)."""
        state = self._dialogs.get(CASEWORK, chat_id, person_id)
        if state is None:
            return None
        case = await self._cases.get(int(state.get("case", 0)))
        if case is None:
            await self._dialogs.forget(CASEWORK, chat_id, person_id)
            return Typed("gone", None)
        text = text.strip()
        what = state.get("what")
        limit = MAX_ANSWER_CHARS if what == "answer" else MAX_NOTE_CHARS
        if len(text) > limit:
            return Typed("too_long", case, text, limit)
        if what == "answer":
            state["draft"] = text
            await self._dialogs.save(CASEWORK, chat_id, person_id)
            return Typed("preview", case, text)
        if what == "note":
            await self._dialogs.forget(CASEWORK, chat_id, person_id)
            note = await self._cases.add_note(case.case_id, person_id, text)
            return Typed("noted" if note else "gone", case, text)
        return await self._duplicate(chat_id, person_id, case, text)

    async def _duplicate(self, chat_id: int, person_id: int, case: Case, text: str) -> Typed:
        original = await self._cases.find(text)
        if original is None:
            return Typed("unknown", case, text)
        if original.case_id == case.case_id:
            return Typed("self", case, text)
        await self._dialogs.forget(CASEWORK, chat_id, person_id)
        change = await self._cases.mark_duplicate(case.case_id, person_id, original.case_id)
        if change is None:
            current = await self._cases.get(case.case_id) or case
            return Typed("not_now", current, text)
        return Typed("duplicated", change.case, text, change=change, original=original)

    async def take_answer(self, chat_id: int, person_id: int, case_id: int) -> str | None:
        """ "Send" under the answer's preview: the answer held for this case, the dialog ended;
        None when none is held (a stale button). Taken at once, so a double tap sends one
        answer."""
        state = self._dialogs.take(CASEWORK, chat_id, person_id)
        if state is None or state.get("case") != case_id or not state.get("draft"):
            return None
        await self._dialogs.forget(CASEWORK, chat_id, person_id)
        return str(state["draft"])

    def example_number(self) -> str:
        """A case number as staff would type it, for the question's example."""
        return f"PA-{self._cases.today().year}-0001"

    # -- the jobs -------------------------------------------------------------------------------

    async def due_reminders(self, now: datetime) -> list[Reminder]:
        """The reminders to send now, each claimed once per deadline in the database before it
        is sent: to the assignee on the working day before a deadline, to the owners once it
        has passed."""
        store = self._store
        today = now.astimezone(self._settings.tz).date()
        found: list[Reminder] = []
        topics: dict[int, Topic] = {}  # read once, at the first reminder claimed
        # Due today or on the next working day: a Monday deadline is reminded of on the Friday.
        tomorrow = working_days_after(today, 1)
        for case in await store.due_soon(today, tomorrow):
            people = (case.assignee,) if case.assignee else ()
            found += await self._claim(case, "due", people, "casework.remind_assignee", topics)
        owners = tuple(sorted(self._settings.ADMIN_IDS))
        for case in await store.overdue(today, untold=True):
            found += await self._claim(case, "overdue", owners, "casework.overdue", topics)
        return found

    async def _claim(
        self,
        case: Case,
        kind: Literal["due", "overdue"],
        people: tuple[int, ...],
        key: str,
        topics: dict[int, Topic],
    ) -> list[Reminder]:
        assert case.deadline is not None
        if not await self._store.claim_reminder(case.case_id, kind, case.deadline):
            return []  # another run was first
        if not topics:
            topics.update(await self.topics())
        return [Reminder(case, kind, key, people, topics.get(case.topic_id))]

    async def release(self, reminder: Reminder) -> None:
        """A reminder that could not go for a passing reason: tried again next run."""
        assert reminder.case.deadline is not None
        await self._store.release_reminder(
            reminder.case.case_id, reminder.kind, reminder.case.deadline
        )

    async def morning_summary(self, now: datetime) -> Summary | None:
        """Once a local day, in the morning (SUMMARY_HOUR to SUMMARY_UNTIL): what to tell the
        owners (None when it is not the time, it was sent today, or nothing is open).
        Remembered in the database as it is chosen, so a restart does not repeat it."""
        local = now.astimezone(self._settings.tz)
        today = local.date()
        # A morning's news: a bot down all morning sends none that day rather than one at night.
        if not SUMMARY_HOUR <= local.hour < SUMMARY_UNTIL:
            return None
        if await self._state.get(SUMMARY_STATE) == today.isoformat():
            return None
        await self._state.set(SUMMARY_STATE, today.isoformat())
        store = self._store
        counts = await store.open_counts(today)
        if counts[0] == 0:
            return None
        late = await store.overdue(today)
        owners = tuple(sorted(self._settings.ADMIN_IDS))
        return Summary(today, counts, late, await self.topics(), owners)
