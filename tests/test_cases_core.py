"""The cases' core (Góp ý – phản ánh): numbers, states, limits, deadlines, the record of each step,
/forget — on a real SQLite file, through bot.services.cases and storage.cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.services.cases import (
    Cases,
    NewCase,
    Refusal,
    Reporter,
    is_working_day,
    working_days_after,
)
from storage import AuditLog, Database, StaffStore
from storage.case_topics import CaseTopicStore
from storage.cases import Case, CaseStore, parse_number
from storage.privacy import forget

OWNER, STAFF, OTHER_STAFF, RESIDENT = 1001, 2002, 2003, 5005
ME = Reporter("telegram", RESIDENT, RESIDENT)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in Vietnam

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Core:
    db: Database
    cases: Cases
    clock: Clock
    audit: AuditLog


async def _core(tmp_path: Path, **settings: Any) -> AsyncIterator[Core]:
    values: dict[str, Any] = {"DATABASE_PATH": tmp_path / "bot.sqlite3", "ADMIN_IDS": str(OWNER)}
    values.update(settings)
    config = load_settings(env_file=None, telegram=False, **values)
    async with await Database.open(config.DATABASE_PATH) as db:
        staff, audit = StaffStore(db), AuditLog(db)
        await staff.add(STAFF, "Cán bộ A", OWNER)
        await staff.add(OTHER_STAFF, "Cán bộ B", OWNER)
        clock = Clock()
        yield Core(
            db, Cases(CaseStore(db), CaseTopicStore(db), staff, audit, config, clock), clock, audit
        )


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async for made in _core(tmp_path, CASES_MAX_OPEN=5, CASES_MAX_PER_DAY=5):
        yield made


def report(reporter: Reporter = ME, topic: int = 1, **more: Any) -> NewCase:
    values: dict[str, Any] = {"description": "Ổ gà lớn trước nhà văn hoá thôn 3"}
    values.update(more)
    return NewCase(reporter=reporter, language="vi", topic_id=topic, **values)


async def submitted(core: Core, new: NewCase | None = None) -> Case:
    case = await core.cases.submit(new or report())
    assert isinstance(case, Case)
    return case


async def test_numbers_run_per_year_and_are_never_reused(core: Core) -> None:
    first = await submitted(
        core, report(photos=("p1", "p2", "p3"), location=(15.57, 108.47), phone="+84901234567")
    )
    second = await submitted(core, report(Reporter("telegram", 6006, 6006)))
    assert (first.number, second.number) == ("PA-2026-0001", "PA-2026-0002")
    assert first.photos == ("p1", "p2", "p3")
    assert first.location == (15.57, 108.47)
    assert first.phone == "+84901234567"
    assert first.state == "received"
    assert first.reporter == ME
    core.clock.now = datetime(2027, 1, 4, 3, 0, tzinfo=UTC)
    assert (await submitted(core)).number == "PA-2027-0001"
    # A number stays taken even if its row were gone (a failed insert after it was drawn).
    await core.db.write("DELETE FROM case_events WHERE case_id = ?", (second.case_id,))
    await core.db.write("DELETE FROM cases WHERE case_id = ?", (second.case_id,))
    core.clock.now = datetime(2026, 12, 30, 3, 0, tzinfo=UTC)
    assert (await submitted(core)).number == "PA-2026-0003"
    assert parse_number(" pa-2026-0003 ") == (2026, 3)
    assert (await core.cases.find("PA-2026-0001")) == first
    assert await core.cases.find("PA-2026-٣") is None


async def test_the_whole_way_with_every_step_recorded(core: Core) -> None:
    case = await submitted(core)
    cases = core.cases
    assert await cases.assign(case.case_id, STAFF, RESIDENT) is None  # not staff
    assigned = await cases.assign(case.case_id, STAFF, OTHER_STAFF)
    assert assigned is not None
    assert (assigned.kind, assigned.case.state, assigned.case.assignee) == (
        "assigned",
        "assigned",
        OTHER_STAFF,
    )
    assert (await cases.set_deadline(case.case_id, STAFF, date(2026, 3, 20))) is not None
    note = await cases.add_note(case.case_id, STAFF, "Đã gọi đội giao thông")
    assert note is not None
    answered = await cases.answer(case.case_id, OTHER_STAFF, "Đã vá ổ gà ngày 5/3.")
    assert answered is not None
    assert answered.case.answer == "Đã vá ổ gà ngày 5/3."
    # A double tap: the second answer finds the case answered and changes nothing.
    assert await cases.answer(case.case_id, OTHER_STAFF, "lần hai") is None
    stranger = Reporter("telegram", 6006, 6006)
    assert await cases.rate(case.case_id, stranger, True) is None
    reopened = await cases.rate(case.case_id, ME, False)
    assert reopened is not None
    assert (reopened.kind, reopened.case.state, reopened.case.rating) == (
        "reopened",
        "reopened",
        "unsatisfied",
    )
    worded = await cases.rate_word(case.case_id, ME, "Vẫn còn ổ gà bên cạnh")
    assert worded is not None
    assert worded.rating_word == "Vẫn còn ổ gà bên cạnh"
    again = await cases.answer(case.case_id, STAFF, "Đã vá nốt.")
    assert again is not None
    closed = await cases.rate(case.case_id, ME, True)
    assert closed is not None
    assert (closed.kind, closed.case.state, closed.case.rating) == ("rated", "closed", "satisfied")
    assert await cases.close(case.case_id, STAFF) is None  # final already
    kinds = [event.kind for event in await cases.events(case.case_id)]
    assert kinds == [
        "received", "assigned", "deadline", "note", "answered", "reopened", "rating_word",
        "answered", "rated",
    ]  # fmt: skip
    actors = {event.actor for event in await cases.events(case.case_id)}
    assert str(RESIDENT) not in actors  # the resident is "resident", never their id
    audit = [(e.action, e.actor) for e in reversed(await core.audit.recent(20))]
    assert ("case_assigned", str(STAFF)) in audit
    assert ("case_reopened", None) in audit
    assert all(e.detail.get("case") == "PA-2026-0001" for e in await core.audit.recent(20))
    assert [n.body for n in await cases.notes(case.case_id)] == ["Đã gọi đội giao thông"]


async def test_duplicate_and_spam_close_a_case(core: Core) -> None:
    first = await submitted(core)
    second = await submitted(core)
    third = await submitted(core)
    assert await core.cases.mark_duplicate(second.case_id, STAFF, second.case_id) is None
    assert await core.cases.mark_duplicate(second.case_id, STAFF, 999) is None
    duplicate = await core.cases.mark_duplicate(second.case_id, STAFF, first.case_id)
    assert duplicate is not None
    assert duplicate.other == first
    assert (duplicate.case.state, duplicate.case.duplicate_of) == ("duplicate", first.case_id)
    spam = await core.cases.mark_spam(third.case_id, STAFF)
    assert spam is not None
    assert spam.case.state == "spam"
    assert spam.case.closed_at is not None
    assert await core.cases.assign(third.case_id, STAFF, STAFF) is None


async def test_limits_of_open_cases_and_of_a_day(tmp_path: Path) -> None:
    async for core in _core(tmp_path, CASES_MAX_OPEN=2, CASES_MAX_PER_DAY=3):
        one, _ = await submitted(core), await submitted(core)
        assert await core.cases.submit(report()) == Refusal("open", 2)
        # Another resident is not held back by this one.
        assert isinstance(await core.cases.submit(report(Reporter("telegram", 7, 7))), Case)
        await core.cases.close(one.case_id, STAFF)
        await submitted(core)  # the third today
        await core.cases.mark_spam((await core.cases.mine("telegram", RESIDENT))[0].case_id, STAFF)
        assert await core.cases.submit(report()) == Refusal("day", 3)
        core.clock.now += timedelta(hours=24, seconds=1)
        assert isinstance(await core.cases.submit(report()), Case)


async def test_two_sends_at_once_cannot_both_pass_a_limit(tmp_path: Path) -> None:
    async for core in _core(tmp_path, CASES_MAX_OPEN=1, CASES_MAX_PER_DAY=5):
        made = await asyncio.gather(*(core.cases.submit(report()) for _ in range(4)))
        assert sorted(type(m).__name__ for m in made) == ["Case", "Refusal", "Refusal", "Refusal"]
        assert len(await core.cases.mine("telegram", RESIDENT)) == 1


def test_working_days_skip_weekends_and_tet() -> None:
    assert not is_working_day(date(2026, 2, 17))  # Tết Bính Ngọ
    assert not is_working_day(date(2026, 9, 2))  # National Day
    assert not is_working_day(date(2026, 3, 7))  # a Saturday
    assert is_working_day(date(2026, 3, 9))
    # Friday 13 Feb 2026 + 1 working day: Tết runs 16-20 Feb, so Monday 23 Feb.
    assert working_days_after(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert working_days_after(date(2026, 3, 2), 5) == date(2026, 3, 9)


async def test_deadline_by_topic_setting(tmp_path: Path) -> None:
    async for core in _core(tmp_path, CASES_DEADLINE_DAYS=10, CASES_TOPIC_DEADLINES="2:3"):
        water = await submitted(core, report(topic=2))
        road = await submitted(core, report(topic=1))
        assert water.deadline == date(2026, 3, 5)  # Monday 2 March + 3 working days
        assert road.deadline == date(2026, 3, 16)


async def test_topics_staff_change_and_who_is_told(core: Core) -> None:
    cases = core.cases
    names = [t.code for t in await cases.topics()]
    assert names == ["roads", "utilities", "environment", "security", "procedures", "other"]
    added = await cases.add_topic("  Đất đai   xây dựng ", STAFF)
    assert added is not None
    assert (added.name, added.code, added.position) == ("Đất đai xây dựng", None, 7)
    assert await cases.add_topic("   ", STAFF) is None
    renamed = await cases.rename_topic(6, "Việc khác", STAFF)
    assert renamed is not None
    assert (renamed.name, renamed.code) == ("Việc khác", None)
    await cases.set_topic_active(5, False, STAFF)
    assert 5 not in [t.topic_id for t in await cases.topics()]
    assert 5 in [t.topic_id for t in await cases.topics(everything=True)]
    # Nobody handles roads: everyone is told; then only who handles it.
    assert await cases.handlers_of(1) == [OWNER, STAFF, OTHER_STAFF]
    assert await cases.set_handles(OTHER_STAFF, 1, True, OWNER)
    assert not await cases.set_handles(RESIDENT, 1, True, OWNER)
    assert await cases.handlers_of(1) == [OTHER_STAFF]
    assert await cases.handlers_of(2) == [OWNER, STAFF, OTHER_STAFF]
    actions = [e.action for e in await core.audit.recent(10)]
    assert "case_topic_added" in actions
    assert "case_topic_handler" in actions


async def test_forget_leaves_the_case_without_its_reporter(core: Core) -> None:
    case = await submitted(core, report(phone="+84901234567", location=(15.5, 108.4)))
    await core.cases.answer(case.case_id, STAFF, "Đã xử lý.")
    tz = load_settings(env_file=None, telegram=False).tz
    await forget(core.db, "telegram", RESIDENT, "key", tz=tz)
    kept = await core.cases.get(case.case_id)
    assert kept is not None
    assert (kept.reporter, kept.chat_id, kept.person_id, kept.phone) == (None, None, None, None)
    assert (kept.number, kept.description, kept.answer) == (
        case.number,
        case.description,
        "Đã xử lý.",
    )
    assert kept.location == (15.5, 108.4)  # where the pothole is: the commune's record
    assert await core.cases.mine("telegram", RESIDENT) == []
    # A forgotten resident can no longer rate it (nobody can).
    assert await core.cases.rate(case.case_id, ME, True) is None
