"""Góp ý – phản ánh: residents' reports ("cases"), whatever the front end. No Telegram here.

The contract (stable; the staff side and every front end build on it):

- `Cases.submit(NewCase)` → the stored `Case` (numbered `PA-<year>-<NNNN>`, state `received`,
  its deadline counted from today in working days), or a `Refusal` when the person reached
  CASES_MAX_OPEN cases waiting for the commune or CASES_MAX_PER_DAY new ones in 24 hours.
- Staff steps, each taking the staff member's id (`actor`) and returning a `Change`, or None
  when the case is not in a state that allows the step (a stale button, a double tap, another
  staff member was first) — nothing is changed then:
  `assign(case, actor, assignee)` (open → assigned; the assignee must be staff),
  `set_deadline(case, actor, day)` (open, state kept), `answer(case, actor, text)`
  (open → answered), `close(case, actor)`, `mark_duplicate(case, actor, of_case)`,
  `mark_spam(case, actor)` (open or answered → closed, duplicate, spam), and
  `add_note(case, actor, text)` (a `CaseNote`; residents never see notes).
- The reporter's steps, each checked against the `Reporter` who reported the case:
  `rate(case, reporter, satisfied)` (answered → closed when satisfied, → reopened when not),
  `rate_word(case, reporter, word)` (an optional word after rating).
- Reading: `get`, `find` (a typed number), `mine` (a person's cases), `events`, `notes`,
  `topics`, `topic`, `handlers_of` (the staff to tell of a new case: those who handle its topic,
  else every staff member and owner).
- Topics: a stored list staff change (`add_topic`, `rename_topic`, `set_topic_active`,
  `set_handles`: who handles which topic), each change in the audit log.
- Deadlines: `deadline_for(topic, received)`: CASES_TOPIC_DEADLINES for the topic, else
  CASES_DEADLINE_DAYS, in working days — Monday to Friday except Vietnam's public holidays
  (the `holidays` package: Tết by the lunar calendar) — counted from the local day received.
- What the resident is told of a `Change`: `bot.views.cases.resident_notice(catalog, change)`
  (a view, or None for a change residents are not told of); the front end sends it to
  `change.case.reporter`'s chat on `change.case.channel`, if the case still has a reporter,
  following that channel's rules (on Zalo, held until the resident writes: `Told.HELD`).

Every step is one transaction with its `case_events` row and its audit entry (`case_<step>`),
in `storage.cases`; the topics and who handles them are `storage.case_topics`'.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

import holidays

from bot.config import Settings
from bot.services.roles import Roles
from storage.audit import AuditLog
from storage.case_topics import CaseTopicStore, Topic
from storage.cases import (
    CLOSED_STATES,
    MAX_PHOTOS,
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseNote,
    CaseState,
    CaseStore,
    LimitReached,
    NewCase,
    Reporter,
    parse_number,
)
from storage.staff import StaffStore

__all__ = [
    "CLOSED_STATES",
    "MAX_ANSWER_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_NOTE_CHARS",
    "MAX_PHOTOS",
    "MAX_TOPIC_CHARS",
    "MAX_WORD_CHARS",
    "MIN_DESCRIPTION_CHARS",
    "OPEN_STATES",
    "Case",
    "CaseEvent",
    "CaseNote",
    "CaseState",
    "Cases",
    "Change",
    "ChangeKind",
    "NewCase",
    "Refusal",
    "Reporter",
    "Told",
    "Topic",
    "clean",
    "is_working_day",
    "working_days_after",
]

# Telegram shows at most 4,096 characters in a message: the answer goes to the resident in full
# with a few words around it.
MAX_ANSWER_CHARS = 3000
MAX_DESCRIPTION_CHARS = 2000
MAX_NOTE_CHARS = 2000
MAX_WORD_CHARS = 500
MAX_TOPIC_CHARS = 60
MIN_DESCRIPTION_CHARS = 5

ChangeKind = Literal[
    "received", "assigned", "deadline", "answered", "closed", "duplicate", "spam", "rated",
    "reopened",
]  # fmt: skip
# Steps that close a case from any state short of final.
_CLOSABLE: tuple[CaseState, ...] = (*OPEN_STATES, "answered")


class Told(enum.Enum):
    """What became of a notice to a reporter: sent now, held until their channel lets the bot
    write (Zalo's window: it comes with their next message), or nobody to tell (forgotten,
    blocked, nothing said of this change). True unless nobody."""

    SENT = "sent"
    HELD = "held"
    NO_ONE = "no_one"

    def __bool__(self) -> bool:
        return self is not Told.NO_ONE


@dataclass(frozen=True, slots=True)
class Change:
    """A step a case took: what kind, the case as it is now, who did it (a staff id; None for
    the resident or the bot), and for a duplicate the case it repeats."""

    kind: ChangeKind
    case: Case
    actor: int | None = None
    other: Case | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A new case refused: `limit` is "open" (too many waiting) or "day" (too many today)."""

    limit: Literal["open", "day"]
    allowed: int


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a Vietnamese public holiday."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def working_days_after(start: date, days: int) -> date:
    """The day `days` working days after `start` (which itself does not count)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def clean(text: str) -> str:
    """A resident's or staff member's text as kept: no surrounding blanks, no NUL."""
    return text.replace("\x00", "").strip()


class Cases:
    """The cases: residents report, staff handle, each step recorded."""

    def __init__(
        self,
        store: CaseStore,
        topics: CaseTopicStore,
        staff: StaffStore,
        audit: AuditLog,
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._topics = topics
        self._staff = staff
        self._audit = audit
        self._settings = settings
        self._roles = Roles(settings, staff, audit)
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The service's clock (tests move it)."""
        return self._clock()

    def today(self) -> date:
        """Today where the commune is."""
        return self._clock().astimezone(self._settings.tz).date()

    def month_of(self, moment: datetime) -> tuple[datetime, datetime]:
        """The local calendar month of `moment`, as [start, end) moments."""
        start = moment.astimezone(self._settings.tz).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        return start, (start + timedelta(days=32)).replace(day=1)

    async def answered_this_month(self, now: datetime) -> int:
        """Residents' reports answered in the local month of `now` (public /stats)."""
        return await self._store.answered_between(*self.month_of(now))

    # -- topics and who handles them ------------------------------------------------------------

    async def topics(self, *, everything: bool = False) -> list[Topic]:
        """The topics residents choose from (or every topic, offered or not)."""
        return await self._topics.topics(everything=everything)

    async def topics_by_id(self) -> dict[int, Topic]:
        """Every topic, offered or not, by id (a case keeps a topic no longer offered)."""
        return {topic.topic_id: topic for topic in await self.topics(everything=True)}

    async def topic(self, topic_id: int) -> Topic | None:
        """One topic."""
        return await self._topics.topic(topic_id)

    async def add_topic(self, name: str, actor: int) -> Topic | None:
        """A new topic; None if the name is empty or too long."""
        name = " ".join(clean(name).split())
        if not 1 <= len(name) <= MAX_TOPIC_CHARS:
            return None
        topic = await self._topics.add_topic(name)
        await self._record(actor, "case_topic_added", topic=topic.topic_id, name=name)
        return topic

    async def rename_topic(self, topic_id: int, name: str, actor: int) -> Topic | None:
        """Rename a topic; None if there is no such topic or the name will not do."""
        name = " ".join(clean(name).split())
        if not 1 <= len(name) <= MAX_TOPIC_CHARS:
            return None
        topic = await self._topics.rename_topic(topic_id, name)
        if topic is not None:
            await self._record(actor, "case_topic_renamed", topic=topic_id, name=name)
        return topic

    async def set_topic_active(self, topic_id: int, active: bool, actor: int) -> Topic | None:
        """Offer a topic, or stop offering it; None if there is no such topic."""
        topic = await self._topics.set_topic_active(topic_id, active)
        if topic is not None:
            await self._record(actor, "case_topic_offered", topic=topic_id, active=active)
        return topic

    async def set_handles(self, user_id: int, topic_id: int, handles: bool, actor: int) -> bool:
        """Make a staff member handle a topic (they are told of its new cases), or not; False if
        the person is not staff or the topic does not exist."""
        if not await self.is_staff(user_id) or await self._topics.topic(topic_id) is None:
            return False
        await self._topics.set_handles(user_id, topic_id, handles)
        await self._record(
            actor, "case_topic_handler", topic=topic_id, staff=user_id, handles=handles
        )
        return True

    async def handlers_of(self, topic_id: int) -> list[int]:
        """Whom to tell of a new case: the staff who handle its topic (still staff), else every
        staff member and owner."""
        everyone = await self._everyone()
        chosen = [
            user_id for user_id in await self._topics.handlers_of(topic_id) if user_id in everyone
        ]
        return chosen or sorted(everyone)

    async def handled(self) -> dict[int, list[int]]:
        """Topic → the staff ids who handle it (topics nobody handles are left out)."""
        return await self._topics.handles()

    async def is_staff(self, user_id: int) -> bool:
        """An owner or a staff member (`bot.services.roles.Roles.is_staff`)."""
        return await self._roles.is_staff(user_id)

    async def _everyone(self) -> set[int]:
        return set(self._settings.ADMIN_IDS) | {m.user_id for m in await self._staff.members()}

    async def _record(self, actor: int, action: str, **detail: object) -> None:
        await self._audit.record(str(actor), action, dict(detail), self.now())

    # -- deadlines ------------------------------------------------------------------------------

    def deadline_days(self, topic_id: int) -> int:
        """Working days to answer a case of this topic."""
        return self._settings.CASES_TOPIC_DEADLINES.get(
            topic_id, self._settings.CASES_DEADLINE_DAYS
        )

    def deadline_for(self, topic_id: int, received: datetime) -> date:
        """When a case of this topic received at that moment is due (a local date)."""
        local = received.astimezone(self._settings.tz).date()
        return working_days_after(local, self.deadline_days(topic_id))

    # -- residents ------------------------------------------------------------------------------

    async def limit_reached(self, channel: str, person_id: int) -> Refusal | None:
        """Whether the person may report one more case now (None) or not (why)."""
        settings = self._settings
        if await self._store.count_open(channel, person_id) >= settings.CASES_MAX_OPEN:
            return Refusal("open", settings.CASES_MAX_OPEN)
        since = self.now() - timedelta(days=1)
        if await self._store.count_since(channel, person_id, since) >= settings.CASES_MAX_PER_DAY:
            return Refusal("day", settings.CASES_MAX_PER_DAY)
        return None

    async def submit(self, new: NewCase) -> Case | Refusal:
        """Store a finished report, or refuse it when a limit is reached (checked again as it is
        stored: the dialog checked at its start)."""
        reporter = new.reporter
        now = self.now()
        description = clean(new.description)[:MAX_DESCRIPTION_CHARS]
        new = NewCase(
            reporter=reporter,
            language=new.language,
            topic_id=new.topic_id,
            description=description,
            photos=new.photos[:MAX_PHOTOS],
            location=new.location,
            phone=new.phone,
        )
        try:
            return await self._store.create(
                new,
                self.deadline_for(new.topic_id, now),
                now,
                max_open=self._settings.CASES_MAX_OPEN,
                max_per_day=self._settings.CASES_MAX_PER_DAY,
            )
        except LimitReached as reached:
            return Refusal(reached.limit, reached.allowed)

    async def mine(self, channel: str, person_id: int, limit: int = 20) -> list[Case]:
        """A person's cases, the newest first."""
        return await self._store.of_reporter(channel, person_id, limit)

    async def rate(self, case_id: int, reporter: Reporter, satisfied: bool) -> Change | None:
        """The reporter rates the answer: satisfied closes the case, not satisfied reopens it
        for staff. None if it is not their case or not (any longer) answered."""
        now = self.now()
        values: dict[str, object] = {
            "rating": "satisfied" if satisfied else "unsatisfied",
            "rated_at": now,
            "state": "closed" if satisfied else "reopened",
        }
        values["closed_at" if satisfied else "reopened_at"] = now
        case = await self._store.change(
            case_id,
            from_states=("answered",),
            values=values,
            event="rated" if satisfied else "reopened",
            actor="resident",
            detail={"satisfied": satisfied},
            reporter=reporter,
            now=now,
        )
        if case is None:
            return None
        return Change("rated" if satisfied else "reopened", case)

    async def rate_word(self, case_id: int, reporter: Reporter, word: str) -> Case | None:
        """The optional word after rating; None if it is not their rated case."""
        word = clean(word)[:MAX_WORD_CHARS]
        if not word:
            return None
        current = await self._store.get(case_id)
        if current is None or current.rating is None:
            return None
        return await self._store.change(
            case_id,
            from_states=(current.state,),
            values={"rating_word": word},
            event="rating_word",
            actor="resident",
            reporter=reporter,
            now=self.now(),
        )

    # -- staff ----------------------------------------------------------------------------------

    async def assign(self, case_id: int, actor: int, assignee: int) -> Change | None:
        """Give an open case to a staff member (again, to another); None if the assignee is not
        staff or the case is not open."""
        if not await self.is_staff(assignee):
            return None
        now = self.now()
        case = await self._store.change(
            case_id,
            from_states=OPEN_STATES,
            values={"state": "assigned", "assignee": assignee, "assigned_at": now},
            event="assigned",
            actor=str(actor),
            detail={"assignee": assignee},
            now=now,
        )
        return None if case is None else Change("assigned", case, actor)

    async def set_deadline(self, case_id: int, actor: int, day: date) -> Change | None:
        """Set or change an open case's deadline (a local date)."""
        case = await self._store.change(
            case_id,
            from_states=OPEN_STATES,
            values={"deadline": day},
            event="deadline",
            actor=str(actor),
            detail={"deadline": day.isoformat()},
            now=self.now(),
        )
        return None if case is None else Change("deadline", case, actor)

    async def answer(self, case_id: int, actor: int, text: str) -> Change | None:
        """The commune's answer to an open case; None if empty, too long, or not open."""
        text = clean(text)
        if not 1 <= len(text) <= MAX_ANSWER_CHARS:
            return None
        now = self.now()
        case = await self._store.change(
            case_id,
            from_states=OPEN_STATES,
            values={"state": "answered", "answer": text, "answered_by": actor, "answered_at": now},
            event="answered",
            actor=str(actor),
            now=now,
        )
        return None if case is None else Change("answered", case, actor)

    async def close(self, case_id: int, actor: int) -> Change | None:
        """Close a case that is not final yet."""
        now = self.now()
        case = await self._store.change(
            case_id,
            from_states=_CLOSABLE,
            values={"state": "closed", "closed_at": now},
            event="closed",
            actor=str(actor),
            now=now,
        )
        return None if case is None else Change("closed", case, actor)

    async def mark_duplicate(self, case_id: int, actor: int, of_case: int) -> Change | None:
        """Close a case as a repeat of another (which must exist and be another case)."""
        other = await self._store.get(of_case)
        if other is None or other.case_id == case_id:
            return None
        now = self.now()
        case = await self._store.change(
            case_id,
            from_states=_CLOSABLE,
            values={"state": "duplicate", "duplicate_of": of_case, "closed_at": now},
            event="duplicate",
            actor=str(actor),
            detail={"of": other.number},
            now=now,
        )
        return None if case is None else Change("duplicate", case, actor, other)

    async def mark_spam(self, case_id: int, actor: int) -> Change | None:
        """Close a case as spam (the resident is told politely it cannot be taken up)."""
        now = self.now()
        case = await self._store.change(
            case_id,
            from_states=_CLOSABLE,
            values={"state": "spam", "closed_at": now},
            event="spam",
            actor=str(actor),
            now=now,
        )
        return None if case is None else Change("spam", case, actor)

    async def add_note(self, case_id: int, actor: int, text: str) -> CaseNote | None:
        """An internal note; None if empty, too long, or no such case."""
        text = clean(text)
        if not 1 <= len(text) <= MAX_NOTE_CHARS:
            return None
        return await self._store.add_note(case_id, actor, text, self.now())

    # -- reading --------------------------------------------------------------------------------

    async def get(self, case_id: int) -> Case | None:
        """One case by its id."""
        return await self._store.get(case_id)

    async def find(self, number: str) -> Case | None:
        """One case by the number a person typed (`PA-2026-0042`, any case)."""
        parts = parse_number(number)
        return None if parts is None else await self._store.by_number(*parts)

    async def events(self, case_id: int) -> list[CaseEvent]:
        """A case's history."""
        return await self._store.events(case_id)

    async def notes(self, case_id: int) -> list[CaseNote]:
        """A case's internal notes (staff only)."""
        return await self._store.notes(case_id)
