"""Residents' reports ("cases", Góp ý – phản ánh): each case's own life — its number, its
steps, events, notes and photos (the tables `cases`, `case_numbers`, `case_photos`,
`case_events` and `case_notes` of migration 0021).

Beside it: the topics and who handles them (`case_topics`, `staff_topics`) are
storage.case_topics'; the staff's lists, reminders and figures are storage.casework's (it reads
`cases` through `SELECT_CASES`, and writes only migration 0022's reminder columns); what a Zalo
reporter could not be told yet is storage.case_notices' (migration 0025).

The contract other parts rely on (bot.services.cases builds on it; nothing else writes these
tables):

- A case's number is `PA-<year>-<NNNN>` (`Case.number`, `parse_number`): a sequence per year
  (`case_numbers`), taken in the transaction that creates the case, so a number is never given
  twice nor reused.
- States: `received` → `assigned` → `answered` → `closed`; `reopened` when the resident is not
  satisfied with the answer (then assigned or answered again); `duplicate` (of another case)
  and `spam` close a case as `closed` does. `OPEN_STATES` wait for the commune,
  `CLOSED_STATES` are final.
- `change` is the one way a case moves: a guarded UPDATE (only from the states given), its
  `case_events` row and its audit entry, in one transaction; it returns None when the case was
  not in one of those states (a stale button, a double tap) and changes nothing then.
- The reporter (channel, chat, person, phone) is NULL once they asked to be forgotten
  (`forget_reporter_in`, called by storage.privacy); the case stays.
- Notes (`case_notes`) are staff's only; events' `actor` is a staff id as text, "resident"
  (never the reporter's id), or None (the bot).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

import aiosqlite

from storage.audit import AuditLog
from storage.db import Database, assignments
from storage.timestamps import iso

__all__ = [
    "CLOSED_STATES",
    "MAX_PHOTOS",
    "OPEN_STATES",
    "SELECT_CASES",
    "UPDATABLE",
    "Case",
    "CaseEvent",
    "CaseNote",
    "CaseState",
    "CaseStore",
    "LimitReached",
    "NewCase",
    "Reporter",
    "format_number",
    "parse_number",
]

CaseState = Literal["received", "assigned", "answered", "reopened", "closed", "duplicate", "spam"]
STATES: tuple[CaseState, ...] = get_args(CaseState)
# Waiting for the commune (counted by CASES_MAX_OPEN, listed by /cases).
OPEN_STATES: tuple[CaseState, ...] = ("received", "assigned", "reopened")
# Final: nothing moves a case out of these.
CLOSED_STATES: tuple[CaseState, ...] = ("closed", "duplicate", "spam")
MAX_PHOTOS = 3

# What `change` may set; who reported and what (topic, description, photos) is fixed.
UPDATABLE = frozenset({
    "state", "duplicate_of", "assignee", "deadline", "answer", "answered_by", "rating",
    "rating_word", "assigned_at", "answered_at", "rated_at", "reopened_at", "closed_at",
})  # fmt: skip

_NUMBER = re.compile(r"PA-([0-9]{4})-([0-9]{4,9})", re.IGNORECASE)

_COLUMNS = (
    "case_id, year, seq, channel, chat_id, person_id, phone, language, topic_id, description,"
    " latitude, longitude, state, duplicate_of, assignee, deadline, answer, answered_by, rating,"
    " rating_word, created_at, assigned_at, answered_at, rated_at, reopened_at, closed_at,"
    " updated_at"
)
# The photos of a case, in order, as one text (file references hold no newline).
_PHOTOS = (
    "(SELECT group_concat(file_ref, char(10)) FROM (SELECT file_ref FROM case_photos p"
    " WHERE p.case_id = cases.case_id ORDER BY position)) AS photos"
)
# Every column `Case.of` reads, photos included (storage.casework selects its lists with it).
SELECT_CASES = f"SELECT {_COLUMNS}, {_PHOTOS} FROM cases"


def format_number(year: int, seq: int) -> str:
    """`PA-2026-0042`."""
    return f"PA-{year}-{seq:04d}"


def parse_number(text: str) -> tuple[int, int] | None:
    """(year, sequence) of a case number as a person may type it (any case, spaces around)."""
    found = _NUMBER.fullmatch(text.strip())
    return None if found is None else (int(found[1]), int(found[2]))


class LimitReached(Exception):
    """A new case refused: the reporter has `allowed` cases open ("open") or reported that many
    in the last day ("day")."""

    def __init__(self, limit: Literal["open", "day"], allowed: int) -> None:
        super().__init__(f"{limit}: {allowed}")
        self.limit: Literal["open", "day"] = limit
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who reported: their channel, private chat and person id on it."""

    channel: str
    chat_id: int
    person_id: int


@dataclass(frozen=True, slots=True)
class NewCase:
    """What a resident's finished dialog hands over."""

    reporter: Reporter
    language: str
    topic_id: int
    description: str
    photos: tuple[str, ...] = ()
    location: tuple[float, float] | None = None  # latitude, longitude
    phone: str | None = None


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class Case:
    """One case as stored."""

    case_id: int
    year: int
    seq: int
    channel: str
    chat_id: int | None
    person_id: int | None
    phone: str | None
    language: str
    topic_id: int
    description: str
    latitude: float | None
    longitude: float | None
    photos: tuple[str, ...]
    state: CaseState
    duplicate_of: int | None
    assignee: int | None
    deadline: date | None
    answer: str | None
    answered_by: int | None
    rating: Literal["satisfied", "unsatisfied"] | None
    rating_word: str | None
    created_at: datetime
    assigned_at: datetime | None
    answered_at: datetime | None
    rated_at: datetime | None
    reopened_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime

    @property
    def number(self) -> str:
        """The number residents quote: `PA-2026-0042`."""
        return format_number(self.year, self.seq)

    @property
    def reporter(self) -> Reporter | None:
        """Who reported, or None once they asked to be forgotten."""
        if self.chat_id is None or self.person_id is None:
            return None
        return Reporter(self.channel, self.chat_id, self.person_id)

    @property
    def location(self) -> tuple[float, float] | None:
        """(latitude, longitude), if the resident shared a location."""
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude

    @property
    def is_open(self) -> bool:
        """Waiting for the commune (received, assigned or reopened)."""
        return self.state in OPEN_STATES

    @property
    def is_closed(self) -> bool:
        """Closed, a duplicate or spam: final."""
        return self.state in CLOSED_STATES

    @classmethod
    def of(cls, row: aiosqlite.Row) -> Case:
        """A case from a row selected with the store's columns and photos."""
        photos = row["photos"]
        deadline = row["deadline"]
        return cls(
            case_id=int(row["case_id"]),
            year=int(row["year"]),
            seq=int(row["seq"]),
            channel=str(row["channel"]),
            chat_id=_int(row["chat_id"]),
            person_id=_int(row["person_id"]),
            phone=row["phone"],
            language=str(row["language"]),
            topic_id=int(row["topic_id"]),
            description=str(row["description"]),
            latitude=row["latitude"],
            longitude=row["longitude"],
            photos=tuple(str(photos).split("\n")) if photos else (),
            state=row["state"],
            duplicate_of=_int(row["duplicate_of"]),
            assignee=_int(row["assignee"]),
            deadline=None if deadline is None else date.fromisoformat(str(deadline)),
            answer=row["answer"],
            answered_by=_int(row["answered_by"]),
            rating=row["rating"],
            rating_word=row["rating_word"],
            created_at=datetime.fromisoformat(str(row["created_at"])),
            assigned_at=_moment(row["assigned_at"]),
            answered_at=_moment(row["answered_at"]),
            rated_at=_moment(row["rated_at"]),
            reopened_at=_moment(row["reopened_at"]),
            closed_at=_moment(row["closed_at"]),
            updated_at=datetime.fromisoformat(str(row["updated_at"])),
        )


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One step of a case."""

    event_id: int
    case_id: int
    at: datetime
    actor: str | None  # a staff member's id as text, "resident", or None (the bot)
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CaseNote:
    """A staff member's internal note: never shown to residents."""

    note_id: int
    case_id: int
    author: int
    body: str
    at: datetime


def _stored(value: Any) -> Any:
    """A value as its column keeps it (a date as YYYY-MM-DD, a moment as UTC ISO)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class CaseStore:
    """Reads and writes a case's own tables: `cases`, `case_numbers`, `case_photos`,
    `case_events`, `case_notes` (migration 0021)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- residents' limits --------------------------------------------------------------------

    async def count_open(self, channel: str, person_id: int) -> int:
        """How many of a person's cases wait for the commune."""
        row = await self._db.fetchone(
            "SELECT count(*) AS n FROM cases WHERE channel = ? AND person_id = ?"
            f" AND state IN ({', '.join('?' * len(OPEN_STATES))})",
            (channel, person_id, *OPEN_STATES),
        )
        return int(row["n"]) if row else 0

    async def count_since(self, channel: str, person_id: int, since: datetime) -> int:
        """How many cases a person reported since a moment."""
        row = await self._db.fetchone(
            "SELECT count(*) AS n FROM cases WHERE channel = ? AND person_id = ?"
            " AND created_at >= ?",
            (channel, person_id, iso(since)),
        )
        return int(row["n"]) if row else 0

    # -- creating and reading -----------------------------------------------------------------

    async def create(
        self,
        new: NewCase,
        deadline: date | None,
        now: datetime | None = None,
        *,
        max_open: int | None = None,
        max_per_day: int | None = None,
    ) -> Case:
        """Store a new case with the next number of its year, its photos, its `received`
        event and audit entry: one transaction. With limits, the reporter's open cases and
        cases of the last 24 hours are counted in the same transaction (two sends at once
        cannot both pass): LimitReached when one is reached, and nothing is stored."""
        if len(new.photos) > MAX_PHOTOS:
            raise ValueError(f"at most {MAX_PHOTOS} photos")
        moment = now or datetime.now(UTC)
        stamp, year = iso(moment), moment.astimezone(UTC).year
        latitude, longitude = new.location if new.location else (None, None)
        reporter = new.reporter
        async with self._db.transaction() as conn:
            if max_open is not None or max_per_day is not None:
                async with conn.execute(
                    "SELECT count(*) FILTER (WHERE state IN"
                    f" ({', '.join('?' * len(OPEN_STATES))})) AS open,"
                    " count(*) FILTER (WHERE created_at >= ?) AS day"
                    " FROM cases WHERE channel = ? AND person_id = ?",
                    (*OPEN_STATES, iso(moment - timedelta(days=1)), reporter.channel,
                     reporter.person_id),
                ) as cursor:  # fmt: skip
                    counts = await cursor.fetchone()
                assert counts is not None
                if max_open is not None and int(counts["open"]) >= max_open:
                    raise LimitReached("open", max_open)
                if max_per_day is not None and int(counts["day"]) >= max_per_day:
                    raise LimitReached("day", max_per_day)
            async with conn.execute(
                "INSERT INTO case_numbers (year, last) VALUES (?, 1)"
                " ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last",
                (year,),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            seq = int(row["last"])
            async with conn.execute(
                "INSERT INTO cases (year, seq, channel, chat_id, person_id, phone, language,"
                " topic_id, description, latitude, longitude, deadline, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    year, seq, reporter.channel, reporter.chat_id, reporter.person_id, new.phone,
                    new.language, new.topic_id, new.description, latitude, longitude,
                    _stored(deadline), stamp, stamp,
                ),
            ) as cursor:  # fmt: skip
                case_id = cursor.lastrowid
            assert case_id is not None
            await conn.executemany(
                "INSERT INTO case_photos (case_id, position, file_ref) VALUES (?, ?, ?)",
                [(case_id, i, ref) for i, ref in enumerate(new.photos, start=1)],
            )
            detail: dict[str, Any] = {"topic": new.topic_id, "photos": len(new.photos)}
            if deadline is not None:
                detail["deadline"] = deadline.isoformat()
            await _event_in(conn, case_id, "resident", "received", detail, stamp)
            await AuditLog.record_in(
                conn, None, "case_received", {"case": format_number(year, seq)}, moment
            )
            case = await _get_in(conn, case_id)
        assert case is not None
        return case

    async def get(self, case_id: int) -> Case | None:
        """One case by its id."""
        row = await self._db.fetchone(f"{SELECT_CASES} WHERE case_id = ?", (case_id,))
        return None if row is None else Case.of(row)

    async def by_number(self, year: int, seq: int) -> Case | None:
        """One case by its number's parts (see `parse_number`)."""
        row = await self._db.fetchone(f"{SELECT_CASES} WHERE year = ? AND seq = ?", (year, seq))
        return None if row is None else Case.of(row)

    async def of_reporter(self, channel: str, person_id: int, limit: int = 20) -> list[Case]:
        """A person's cases, the newest first."""
        rows = await self._db.fetchall(
            f"{SELECT_CASES} WHERE channel = ? AND person_id = ? ORDER BY case_id DESC LIMIT ?",
            (channel, person_id, limit),
        )
        return [Case.of(row) for row in rows]

    async def events(self, case_id: int) -> list[CaseEvent]:
        """A case's history, in order."""
        rows = await self._db.fetchall(
            "SELECT event_id, case_id, at, actor, kind, detail FROM case_events"
            " WHERE case_id = ? ORDER BY event_id",
            (case_id,),
        )
        return [
            CaseEvent(
                event_id=int(row["event_id"]),
                case_id=int(row["case_id"]),
                at=datetime.fromisoformat(str(row["at"])),
                actor=row["actor"],
                kind=str(row["kind"]),
                detail=json.loads(str(row["detail"])),
            )
            for row in rows
        ]

    async def notes(self, case_id: int) -> list[CaseNote]:
        """A case's internal notes, in order."""
        rows = await self._db.fetchall(
            "SELECT note_id, case_id, author, body, at FROM case_notes"
            " WHERE case_id = ? ORDER BY note_id",
            (case_id,),
        )
        return [
            CaseNote(
                note_id=int(row["note_id"]),
                case_id=int(row["case_id"]),
                author=int(row["author"]),
                body=str(row["body"]),
                at=datetime.fromisoformat(str(row["at"])),
            )
            for row in rows
        ]

    async def answered_between(self, start: datetime, end: datetime) -> int:
        """How many cases were (last) answered in [start, end) (the public /stats)."""
        row = await self._db.fetchone(
            "SELECT count(*) AS n FROM cases WHERE answered_at >= ? AND answered_at < ?",
            (iso(start), iso(end)),
        )
        return int(row["n"]) if row else 0

    # -- changing -----------------------------------------------------------------------------

    async def change(
        self,
        case_id: int,
        *,
        from_states: Sequence[CaseState],
        values: dict[str, Any],
        event: str,
        actor: str | None,
        detail: dict[str, Any] | None = None,
        reporter: Reporter | None = None,
        now: datetime | None = None,
    ) -> Case | None:
        """Set `values` on a case that is in one of `from_states` (and, given `reporter`, was
        reported by them), with its event and its audit entry (`case_<event>`): one
        transaction. None, and nothing changed, when the case is not there or not so."""
        moment = now or datetime.now(UTC)
        stamp = iso(moment)
        names = list(values)
        setting = assignments("cases", UPDATABLE, names)
        guard = f"state IN ({', '.join('?' * len(from_states))})"
        parameters: list[Any] = [_stored(values[name]) for name in names]
        parameters += [stamp, case_id, *from_states]
        if reporter is not None:
            guard += " AND channel = ? AND chat_id = ? AND person_id = ?"
            parameters += [reporter.channel, reporter.chat_id, reporter.person_id]
        async with self._db.transaction() as conn:
            async with conn.execute(
                f"UPDATE cases SET {setting}{', ' if setting else ''}updated_at = ?"
                f" WHERE case_id = ? AND {guard} RETURNING year, seq",
                parameters,
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            number = format_number(int(row["year"]), int(row["seq"]))
            await _event_in(conn, case_id, actor, event, detail or {}, stamp)
            audit_actor = actor if actor not in (None, "resident") else None
            await AuditLog.record_in(
                conn, audit_actor, f"case_{event}", {"case": number, **(detail or {})}, moment
            )
            return await _get_in(conn, case_id)

    async def add_note(
        self, case_id: int, author: int, body: str, now: datetime | None = None
    ) -> CaseNote | None:
        """Add an internal note (with its event and audit entry); None if no such case."""
        moment = now or datetime.now(UTC)
        stamp = iso(moment)
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT year, seq FROM cases WHERE case_id = ?", (case_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            async with conn.execute(
                "INSERT INTO case_notes (case_id, author, body, at) VALUES (?, ?, ?, ?)",
                (case_id, author, body, stamp),
            ) as cursor:
                note_id = cursor.lastrowid
            assert note_id is not None
            await _event_in(conn, case_id, str(author), "note", {"note": note_id}, stamp)
            number = format_number(int(row["year"]), int(row["seq"]))
            await AuditLog.record_in(conn, str(author), "case_note", {"case": number}, moment)
        return CaseNote(note_id, case_id, author, body, datetime.fromisoformat(stamp))

    # -- privacy ------------------------------------------------------------------------------

    @staticmethod
    async def forget_reporter_in(conn: aiosqlite.Connection, channel: str, person_id: int) -> int:
        """Unlink a person from their cases (reporter, chat, phone), inside the caller's
        transaction (storage.privacy); the cases stay as the commune's record. Returns how
        many cases were theirs."""
        async with conn.execute(
            "UPDATE cases SET chat_id = NULL, person_id = NULL, phone = NULL"
            " WHERE channel = ? AND person_id = ?",
            (channel, person_id),
        ) as cursor:
            return cursor.rowcount


async def _event_in(
    conn: aiosqlite.Connection,
    case_id: int,
    actor: str | None,
    kind: str,
    detail: dict[str, Any],
    stamp: str,
) -> None:
    await conn.execute(
        "INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
        (case_id, stamp, actor, kind, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
    )


async def _get_in(conn: aiosqlite.Connection, case_id: int) -> Case | None:
    async with conn.execute(f"{SELECT_CASES} WHERE case_id = ?", (case_id,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else Case.of(row)
