"""The staff's queries on residents' reports: the /cases list and its counts, the cases due
soon or overdue, each deadline reminder claimed once (migration 0022), the morning summary's
counts and the figures of /staffstats and /casescsv.

The case's own life (numbers, steps, events, notes, photos) is storage.cases'. This store reads
the `cases` rows (and their photos) that store writes, as a report does, never changing them;
it writes only the two reminder columns of migration 0022 (`reminded_for`,
`overdue_told_for`), which nothing else reads or writes.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Literal

import aiosqlite

from storage.cases import OPEN_STATES, SELECT_CASES, Case, CaseState
from storage.db import Database
from storage.timestamps import iso

__all__ = ["CaseFigures", "CaseworkStore"]


@dataclass(frozen=True, slots=True)
class CaseFigures:
    """The figures of the cases received in a month, of one topic or (None) of all."""

    month: str  # YYYY-MM, local
    topic_id: int | None
    received: int
    answered: int
    on_time: int  # answered on or before the deadline's day (or without a deadline)
    median_hours: float | None  # from receipt to the answer, of those answered
    satisfied: int
    rated: int


def _figures(
    month: str, topic_id: int | None, rows: Sequence[aiosqlite.Row], tz: tzinfo
) -> CaseFigures:
    answered = on_time = satisfied = rated = 0
    hours: list[float] = []
    for row in rows:
        if row["answered_at"] is not None:
            answered += 1
            at = datetime.fromisoformat(str(row["answered_at"]))
            received = datetime.fromisoformat(str(row["created_at"]))
            hours.append((at - received).total_seconds() / 3600)
            deadline = row["deadline"]
            if deadline is None or at.astimezone(tz).date() <= date.fromisoformat(deadline):
                on_time += 1
        if row["rating"] is not None:
            rated += 1
            satisfied += row["rating"] == "satisfied"
    return CaseFigures(
        month=month,
        topic_id=topic_id,
        received=len(rows),
        answered=answered,
        on_time=on_time,
        median_hours=statistics.median(hours) if hours else None,
        satisfied=satisfied,
        rated=rated,
    )


class CaseworkStore:
    """The staff's lists, reminders and figures over the cases (migrations 0021 and 0022)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def _where(
        states: Sequence[CaseState], topic_id: int | None, late_before: date | None
    ) -> tuple[str, list[Any]]:
        """The WHERE clause of a /cases filter, and its parameters."""
        clause = f"state IN ({', '.join('?' * len(states))})"
        parameters: list[Any] = list(states)
        if topic_id is not None:
            clause += " AND topic_id = ?"
            parameters.append(topic_id)
        if late_before is not None:
            clause += " AND deadline < ?"
            parameters.append(late_before.isoformat())
        return clause, parameters

    async def listing(
        self,
        states: Sequence[CaseState],
        *,
        topic_id: int | None = None,
        late_before: date | None = None,
        limit: int = 8,
        offset: int = 0,
    ) -> list[Case]:
        """A page of cases in `states` (of one topic; only those due before `late_before`):
        the earliest deadline first — so the overdue come first — then those without one,
        the oldest first."""
        where, parameters = self._where(states, topic_id, late_before)
        # The page's ids are chosen from the (state, deadline) index alone; only those few
        # rows are then read whole, with their photos.
        order = "ORDER BY deadline IS NULL, deadline, case_id"
        rows = await self._db.fetchall(
            f"{SELECT_CASES} WHERE case_id IN (SELECT case_id FROM cases WHERE {where}"
            f" {order} LIMIT ? OFFSET ?) {order}",
            (*parameters, limit, offset),
        )
        return [Case.of(row) for row in rows]

    async def listing_counts(
        self,
        states: Sequence[CaseState],
        today: date,
        *,
        topic_id: int | None = None,
        late_before: date | None = None,
    ) -> tuple[int, int]:
        """How many cases a /cases filter holds, and how many of them are overdue (open and
        due before `today`)."""
        where, parameters = self._where(states, topic_id, late_before)
        row = await self._db.fetchone(
            "SELECT count(*) AS total, coalesce(sum(deadline < ? AND state IN"
            f" ({', '.join('?' * len(OPEN_STATES))})), 0) AS late FROM cases WHERE {where}",
            (today.isoformat(), *OPEN_STATES, *parameters),
        )
        return (int(row["total"]), int(row["late"])) if row else (0, 0)

    async def due_soon(self, today: date, until: date) -> list[Case]:
        """Open, assigned cases due between `today` and `until` whose assignee was not yet
        reminded of this deadline."""
        rows = await self._db.fetchall(
            f"{SELECT_CASES} WHERE state IN ({', '.join('?' * len(OPEN_STATES))})"
            " AND assignee IS NOT NULL AND deadline BETWEEN ? AND ?"
            " AND reminded_for IS NOT deadline ORDER BY deadline, case_id",
            (*OPEN_STATES, today.isoformat(), until.isoformat()),
        )
        return [Case.of(row) for row in rows]

    async def overdue(self, today: date, *, untold: bool = False) -> list[Case]:
        """Open cases due before `today` (`untold`: only those the owners were not yet told
        of for this deadline), the earliest deadline first."""
        rows = await self._db.fetchall(
            f"{SELECT_CASES} WHERE state IN ({', '.join('?' * len(OPEN_STATES))})"
            " AND deadline < ? AND (NOT ? OR overdue_told_for IS NOT deadline)"
            " ORDER BY deadline, case_id",
            (*OPEN_STATES, today.isoformat(), untold),
        )
        return [Case.of(row) for row in rows]

    async def claim_reminder(
        self, case_id: int, kind: Literal["due", "overdue"], deadline: date
    ) -> bool:
        """Mark the reminder of `kind` about this deadline as sent; False if it already was
        (or the deadline changed meanwhile). Claimed before sending, so it goes once."""
        column = "reminded_for" if kind == "due" else "overdue_told_for"
        written = await self._db.write(
            f"UPDATE cases SET {column} = ?1 WHERE case_id = ?2 AND deadline = ?1"
            f" AND {column} IS NOT ?1",
            (deadline.isoformat(), case_id),
        )
        return written.rowcount > 0

    async def release_reminder(
        self, case_id: int, kind: Literal["due", "overdue"], deadline: date
    ) -> None:
        """Undo `claim_reminder` when the message could not be sent: it is tried again."""
        column = "reminded_for" if kind == "due" else "overdue_told_for"
        await self._db.write(
            f"UPDATE cases SET {column} = NULL WHERE case_id = ? AND {column} = ?",
            (case_id, deadline.isoformat()),
        )

    async def open_counts(self, today: date) -> tuple[int, int, int]:
        """Open cases: how many, how many overdue, how many not assigned."""
        row = await self._db.fetchone(
            "SELECT count(*) AS total, coalesce(sum(deadline < ?), 0) AS late,"
            " coalesce(sum(assignee IS NULL), 0) AS unassigned FROM cases"
            f" WHERE state IN ({', '.join('?' * len(OPEN_STATES))})",
            (today.isoformat(), *OPEN_STATES),
        )
        return (int(row["total"]), int(row["late"]), int(row["unassigned"])) if row else (0, 0, 0)

    async def figures(self, since: datetime, tz: tzinfo) -> list[CaseFigures]:
        """The figures of the cases received since `since`, by local month of receipt: for
        every topic together (`topic_id` None) and for each topic that had cases."""
        rows = await self._db.fetchall(
            "SELECT topic_id, deadline, rating, created_at, answered_at FROM cases"
            " WHERE created_at >= ? ORDER BY created_at",
            (iso(since),),
        )
        groups: dict[tuple[str, int | None], list[aiosqlite.Row]] = {}
        for row in rows:
            month = f"{datetime.fromisoformat(str(row['created_at'])).astimezone(tz):%Y-%m}"
            groups.setdefault((month, None), []).append(row)
            groups.setdefault((month, int(row["topic_id"])), []).append(row)
        return [_figures(month, topic_id, of, tz) for (month, topic_id), of in groups.items()]
