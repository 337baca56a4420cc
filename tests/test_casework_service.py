"""The staff's side of residents' reports apart from any front end (bot.services.casework): which
reminders and summary are due and that each is chosen once, what staff type for a case, the
buttons that change it, /casetopics' changes — on a real SQLite file, no Telegram anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.services.cases import Cases, NewCase, Reporter
from bot.services.casework import CASEWORK, Casework
from bot.services.dialogs import Dialogs
from storage import AuditLog, Database, StaffStore, UserStore
from storage.case_topics import CaseTopicStore
from storage.cases import Case, CaseStore
from storage.casework import CaseworkStore
from storage.dialogs import DialogStore
from storage.ingest import State

OWNER, STAFF, RESIDENT = 1001, 2002, 5005
CHAT = STAFF  # the staff member's private chat


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in Vietnam

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Side:
    cases: Cases
    casework: Casework
    dialogs: Dialogs
    clock: Clock


@pytest.fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    config = load_settings(
        env_file=None, telegram=False, DATABASE_PATH=tmp_path / "bot.sqlite3",
        ADMIN_IDS=str(OWNER),
    )  # fmt: skip
    async with await Database.open(config.DATABASE_PATH) as db:
        staff = StaffStore(db)
        await staff.add(STAFF, "Cán bộ A", OWNER)
        clock = Clock()
        cases = Cases(CaseStore(db), CaseTopicStore(db), staff, AuditLog(db), config, clock)
        dialogs = Dialogs(DialogStore(db), 1800)
        casework = Casework(
            cases, CaseworkStore(db), dialogs, staff, UserStore(db), State(db), config
        )
        yield Side(cases, casework, dialogs, clock)


async def submitted(side: Side, text: str = "Ổ gà lớn trước nhà văn hoá thôn 3") -> Case:
    reporter = Reporter("telegram", RESIDENT, RESIDENT)
    case = await side.cases.submit(NewCase(reporter, "vi", 1, text))
    assert isinstance(case, Case)
    return case


def local(day: date, hour: int) -> datetime:
    """That hour of that day in Vietnam (UTC+7), as a UTC moment."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=7)


async def test_each_reminder_is_chosen_once_and_again_once_released(side: Side) -> None:
    case = await submitted(side)
    changed = await side.casework.act(case, OWNER, "to", STAFF, OWNER)
    assert changed.outcome == "done"
    deadline = changed.change.case.deadline if changed.change else None
    assert deadline is not None
    before = deadline - timedelta(days=1)
    (due,) = await side.casework.due_reminders(local(before, 9))
    assert (due.kind, due.people, due.key) == ("due", (STAFF,), "casework.remind_assignee")
    assert await side.casework.due_reminders(local(before, 10)) == []
    # Not sent after all (a passing failure): chosen again, once.
    await side.casework.release(due)
    assert [r.kind for r in await side.casework.due_reminders(local(before, 11))] == ["due"]
    assert await side.casework.due_reminders(local(before, 12)) == []
    after = deadline + timedelta(days=1)
    (late,) = await side.casework.due_reminders(local(after, 9))
    assert (late.kind, late.people) == ("overdue", (OWNER,))
    assert await side.casework.due_reminders(local(after, 10)) == []


async def test_the_morning_summary_is_chosen_once_a_day_in_the_morning(side: Side) -> None:
    day = date(2026, 3, 3)
    await submitted(side)
    assert await side.casework.morning_summary(local(day, 6)) is None  # too early
    summary = await side.casework.morning_summary(local(day, 7))
    assert summary is not None
    assert (summary.counts[0], summary.owners) == (1, (OWNER,))
    assert await side.casework.morning_summary(local(day, 8)) is None  # sent today
    assert await side.casework.morning_summary(local(day + timedelta(days=1), 13)) is None


async def test_an_answer_typed_is_held_and_sent_once(side: Side) -> None:
    case = await submitted(side)
    assert await side.casework.begin_typing(CHAT, STAFF, case, "ans") == "answer"
    too_long = await side.casework.take_text(CHAT, STAFF, "x" * 3001)
    assert too_long is not None
    assert (too_long.outcome, too_long.limit) == ("too_long", 3000)
    held = await side.casework.take_text(CHAT, STAFF, "  Đã vá ổ gà.  ")
    assert held is not None
    assert (held.outcome, held.text) == ("preview", "Đã vá ổ gà.")
    answered = await side.casework.act(case, STAFF, "ansok", 0, CHAT)
    assert answered.change is not None
    assert answered.change.case.answer == "Đã vá ổ gà."
    # A double tap: nothing is held any longer.
    assert (await side.casework.act(case, STAFF, "ansok", 0, CHAT)).outcome == "stale"
    assert side.dialogs.get(CASEWORK, CHAT, STAFF) is None


async def test_a_duplicate_is_marked_by_the_number_typed(side: Side) -> None:
    first, second = await submitted(side), await submitted(side, "Ổ gà ở thôn 3, lại nữa")
    assert await side.casework.begin_typing(CHAT, STAFF, second, "dup") == "dup"
    unknown = await side.casework.take_text(CHAT, STAFF, "PA-1999-0001")
    itself = await side.casework.take_text(CHAT, STAFF, second.number)
    assert (unknown and unknown.outcome, itself and itself.outcome) == ("unknown", "self")
    marked = await side.casework.take_text(CHAT, STAFF, first.number.lower())
    assert marked is not None
    assert marked.original is not None
    assert (marked.outcome, marked.original.case_id) == ("duplicated", first.case_id)
    assert marked.case is not None
    assert marked.case.state == "duplicate"
    # The dialog ended with it; a closed case takes no answer.
    assert await side.casework.take_text(CHAT, STAFF, first.number) is None
    assert await side.casework.begin_typing(CHAT, STAFF, marked.case, "ans") is None
    assert await side.casework.begin_typing(CHAT, STAFF, marked.case, "note") == "note"


async def test_a_deadline_button_outside_the_choices_is_stale(side: Side) -> None:
    case = await submitted(side)
    assert (await side.casework.act(case, STAFF, "dset", 4, CHAT)).outcome == "stale"
    assert (await side.casework.act(case, STAFF, "to", RESIDENT, CHAT)).outcome == "stale"
    done = await side.casework.act(case, STAFF, "dset", 1, CHAT)
    assert done.change is not None
    assert done.change.case.deadline == date(2026, 3, 3)  # the next working day


async def test_casetopics_changes_say_what_they_did(side: Side) -> None:
    change = side.casework.change_topics
    assert await change(OWNER, ["add", "Đất", "đai"]) == ("cases.topics_done", {})
    assert await change(OWNER, ["rename", "99", "Tên"]) == (
        "cases.topics_not_found", {"number": "99"},
    )  # fmt: skip
    assert await change(OWNER, ["handle", "1", str(RESIDENT)]) == (
        "cases.topics_not_staff", {"user_id": str(RESIDENT)},
    )  # fmt: skip
    assert await change(OWNER, ["HANDLE", "1", str(STAFF)]) == ("cases.topics_done", {})
    assert (await change(OWNER, ["fly", "1"]))[0] == "cases.topics_bad"
    topics, handlers, days = await side.casework.topics_overview()
    assert "Đất đai" in [topic.name for topic in topics]
    assert handlers[1] == ["Cán bộ A"]
    assert days[1] > 0
