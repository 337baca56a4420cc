"""The satisfaction poll: polls, their options, and one vote per person per poll."""

from __future__ import annotations

import enum
import secrets
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database

__all__ = [
    "MAX_OPTIONS",
    "MAX_OPTION_CHARS",
    "MAX_QUESTION_CHARS",
    "MIN_OPTIONS",
    "Poll",
    "PollInvalidError",
    "PollLockedError",
    "PollOption",
    "PollResults",
    "PollStore",
    "VoteOutcome",
    "VoteResult",
    "clean_text",
    "sent_key",
    "shares",
]

MAX_QUESTION_CHARS = 300  # Telegram's own polls allow as much; it keeps the results message short
MAX_OPTION_CHARS = 100
MIN_OPTIONS = 2
MAX_OPTIONS = 10

# Taps of one person are handled concurrently, so a vote carries the update id of its tap and an
# older tap never overwrites a newer one. Telegram may restart update ids after a quiet week, so
# the order is trusted only between votes this close together.
ORDER_WINDOW = timedelta(minutes=10)


class PollInvalidError(ValueError):
    """A question or option list the poll cannot have (empty, too long, too few or many)."""


class PollLockedError(Exception):
    """The poll has votes: its question and options can no longer change."""


class VoteOutcome(enum.Enum):
    """What a tap on an option did."""

    RECORDED = "recorded"  # first vote on this poll
    CHANGED = "changed"  # the vote moved to another option
    UNCHANGED = "unchanged"  # the same option again
    KEPT = "kept"  # a later tap of the same person had already been counted
    CLOSED = "closed"  # the poll no longer takes votes
    NO_POLL = "no_poll"  # no such poll (stale or forged button)
    NO_OPTION = "no_option"  # the option is not one of the poll's


@dataclass(frozen=True, slots=True)
class VoteResult:
    """The outcome of a tap and the option the person's vote stands on now (None: no vote)."""

    outcome: VoteOutcome
    choice: int | None


@dataclass(frozen=True, slots=True)
class PollOption:
    """One answer a resident can choose."""

    option_id: int
    label: str


@dataclass(frozen=True, slots=True)
class Poll:
    """A question with its options, in button order."""

    poll_id: int
    question: str
    options: tuple[PollOption, ...]
    created_by: int | None
    created_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        """True while residents can vote."""
        return self.closed_at is None

    def option(self, option_id: int | None) -> PollOption | None:
        """The option with this id, if it belongs to the poll."""
        return next((o for o in self.options if o.option_id == option_id), None)


@dataclass(frozen=True, slots=True)
class PollResults:
    """The votes of a poll, read in one statement so counts and choice agree."""

    poll: Poll
    counts: tuple[int, ...]  # one per option, in button order
    choice: int | None  # the option id the asking person chose, if any

    @property
    def total(self) -> int:
        """Number of people who voted."""
        return sum(self.counts)

    @property
    def percents(self) -> tuple[int, ...]:
        """Whole percentages per option, adding up to 100 when anyone voted."""
        return shares(self.counts)


def shares(counts: Sequence[int]) -> tuple[int, ...]:
    """Whole percentages that add up to 100 (largest remainders get the rounding)."""
    total = sum(counts)
    if total == 0:
        return tuple(0 for _ in counts)
    floors = [count * 100 // total for count in counts]
    missing = 100 - sum(floors)
    # Ties go to the earlier option, so the same counts always give the same numbers.
    order = sorted(range(len(counts)), key=lambda i: (-(counts[i] * 100 % total), i))
    for index in order[:missing]:
        floors[index] += 1
    return tuple(floors)


def sent_key(poll_id: int) -> str:
    """The deduplication key of the outbox job /sendpoll writes for poll `poll_id`."""
    return f"poll:{poll_id}"


def clean_text(text: str) -> str:
    """NFC with outer spaces removed: Windows keyboards type decomposed Vietnamese letters."""
    return unicodedata.normalize("NFC", text).strip()


def _validated(question: str, options: Iterable[str]) -> tuple[str, list[str]]:
    """The question and options cleaned, or PollInvalidError saying what is wrong."""
    question = clean_text(question)
    labels = [clean_text(label) for label in options]
    if not 1 <= len(question) <= MAX_QUESTION_CHARS:
        raise PollInvalidError(f"the question must have 1-{MAX_QUESTION_CHARS} characters")
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise PollInvalidError(f"a poll has {MIN_OPTIONS}-{MAX_OPTIONS} options")
    if any(not 1 <= len(label) <= MAX_OPTION_CHARS for label in labels):
        raise PollInvalidError(f"each option must have 1-{MAX_OPTION_CHARS} characters")
    if len({label.casefold() for label in labels}) != len(labels):
        raise PollInvalidError("two options are the same")
    return question, labels


def _stamp(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def _moment(stamp: str | None) -> datetime | None:
    return None if stamp is None else datetime.fromisoformat(stamp)


_POLL_ROWS = """
SELECT p.poll_id, p.question, p.created_by, p.created_at, p.closed_at, o.option_id, o.label
FROM polls p JOIN poll_options o ON o.poll_id = p.poll_id
WHERE p.poll_id = ?
ORDER BY o.position
"""

# One statement, so the counts and the person's own choice come from the same moment.
_RESULT_ROWS = """
SELECT p.poll_id, p.question, p.created_by, p.created_at, p.closed_at, o.option_id, o.label,
       COUNT(v.user_id) AS votes,
       (SELECT option_id FROM poll_votes
        WHERE poll_id = p.poll_id AND channel = :channel AND user_id = :user) AS choice
FROM polls p
JOIN poll_options o ON o.poll_id = p.poll_id
LEFT JOIN poll_votes v ON v.poll_id = o.poll_id AND v.option_id = o.option_id
WHERE p.poll_id = :poll
GROUP BY o.option_id
ORDER BY o.position
"""

_VOTE_STATE = """
SELECT p.closed_at,
       EXISTS (SELECT 1 FROM poll_options WHERE poll_id = p.poll_id AND option_id = :option)
           AS own_option,
       (SELECT option_id FROM poll_votes
        WHERE poll_id = p.poll_id AND channel = :channel AND user_id = :user) AS choice
FROM polls p WHERE p.poll_id = :poll
"""

# The vote in one statement: it lands only on an open poll's own option, and a person's second
# vote updates their row (the primary key) unless a later tap of theirs is already counted.
_UPSERT_VOTE = """
INSERT INTO poll_votes (poll_id, channel, user_id, option_id, seq, voted_at)
SELECT o.poll_id, :channel, :user, o.option_id, :seq, :now
FROM poll_options o JOIN polls p ON p.poll_id = o.poll_id
WHERE o.poll_id = :poll AND o.option_id = :option AND p.closed_at IS NULL
ON CONFLICT (poll_id, channel, user_id) DO UPDATE
SET option_id = excluded.option_id, seq = excluded.seq, voted_at = excluded.voted_at
WHERE excluded.seq > poll_votes.seq OR poll_votes.voted_at < :order_from
RETURNING option_id
"""


def _poll_from(rows: Sequence[aiosqlite.Row]) -> Poll:
    first = rows[0]
    return Poll(
        poll_id=int(first["poll_id"]),
        question=str(first["question"]),
        options=tuple(PollOption(int(row["option_id"]), str(row["label"])) for row in rows),
        created_by=None if first["created_by"] is None else int(first["created_by"]),
        created_at=datetime.fromisoformat(str(first["created_at"])),
        closed_at=_moment(first["closed_at"]),
    )


class PollStore:
    """Reads and writes the `polls`, `poll_options` and `poll_votes` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        question: str,
        options: Sequence[str],
        created_by: int | None = None,
        now: datetime | None = None,
    ) -> Poll:
        """Start a new poll; the poll open until now is closed, so one poll is current."""
        question, labels = _validated(question, options)
        stamp = _stamp(now)
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE polls SET closed_at = ? WHERE closed_at IS NULL", (stamp,))
            cursor = await conn.execute(
                "INSERT INTO polls (question, created_by, created_at) VALUES (?, ?, ?)",
                (question, created_by, stamp),
            )
            poll_id = cursor.lastrowid
            assert poll_id is not None
            await _insert_options(conn, poll_id, labels)
        return await self._require(poll_id)

    async def edit(self, poll_id: int, question: str, options: Sequence[str]) -> Poll:
        """Change a poll's question and options; PollLockedError once anyone has voted."""
        question, labels = _validated(question, options)
        try:
            async with self._db.transaction() as conn:
                async with conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = ?) AS voted",
                    (poll_id,),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is not None and row["voted"]:
                    raise PollLockedError(f"poll {poll_id} has votes")
                await conn.execute(
                    "UPDATE polls SET question = ? WHERE poll_id = ?", (question, poll_id)
                )
                await conn.execute("DELETE FROM poll_options WHERE poll_id = ?", (poll_id,))
                await _insert_options(conn, poll_id, labels)
        except sqlite3.IntegrityError as exc:
            # The schema's triggers refuse the change too, whoever writes to the database.
            if "poll has votes" in str(exc):
                raise PollLockedError(f"poll {poll_id} has votes") from exc
            raise
        return await self._require(poll_id)

    async def ensure_default(self, question: str, options: Sequence[str]) -> Poll:
        """Create the configured poll if there is none; follow a changed setting until votes."""
        current = await self.current()
        if current is None:
            return await self.create(question, options)
        question, labels = _validated(question, options)
        stored = (current.question, [o.label for o in current.options])
        if current.created_by is None and current.is_open and stored != (question, labels):
            try:
                return await self.edit(current.poll_id, question, labels)
            except PollLockedError:
                return current
        return current

    async def get(self, poll_id: int) -> Poll | None:
        """The poll with this id, or None."""
        rows = await self._db.fetchall(_POLL_ROWS, (poll_id,))
        return _poll_from(rows) if rows else None

    async def current(self) -> Poll | None:
        """The latest poll (open, or closed with its results), or None if there is none."""
        row = await self._db.fetchone("SELECT MAX(poll_id) AS latest FROM polls")
        if row is None or row["latest"] is None:
            return None
        return await self.get(int(row["latest"]))

    async def close(self, poll_id: int, now: datetime | None = None) -> bool:
        """Stop taking votes; False if the poll was already closed or does not exist."""
        written = await self._db.write(
            "UPDATE polls SET closed_at = ? WHERE poll_id = ? AND closed_at IS NULL",
            (_stamp(now), poll_id),
        )
        return written.rowcount == 1

    async def vote(
        self,
        poll_id: int,
        user_id: int,
        option_id: int,
        seq: int,
        now: datetime | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> VoteResult:
        """Record the choice of (`channel`, `user_id`); `seq` orders their taps (the update
        id)."""
        moment = now or datetime.now(UTC)
        names: dict[str, int | str] = {
            "poll": poll_id,
            "channel": channel,
            "user": user_id,
            "option": option_id,
        }
        refused, previous = await self._vote_state(names)
        if refused is not None:
            return refused
        values = {
            **names,
            "seq": seq,
            "now": _stamp(moment),
            "order_from": _stamp(moment - ORDER_WINDOW),
        }
        applied = (await self._db.write(_UPSERT_VOTE, values)).rows
        if not applied:
            # Closed meanwhile, or a later tap of this person is already counted.
            refused, choice = await self._vote_state(names)
            return refused or VoteResult(VoteOutcome.KEPT, choice)
        if previous is None:
            return VoteResult(VoteOutcome.RECORDED, option_id)
        if previous == option_id:
            return VoteResult(VoteOutcome.UNCHANGED, option_id)
        return VoteResult(VoteOutcome.CHANGED, option_id)

    async def results(
        self, poll_id: int, user_id: int | None = None, channel: str = DEFAULT_CHANNEL
    ) -> PollResults | None:
        """Counts per option (every channel's votes) and the own choice of (`channel`,
        `user_id`); None if there is no such poll."""
        rows = await self._db.fetchall(
            _RESULT_ROWS, {"poll": poll_id, "channel": channel, "user": user_id}
        )
        if not rows:
            return None
        choice = rows[0]["choice"]
        return PollResults(
            poll=_poll_from(rows),
            counts=tuple(int(row["votes"]) for row in rows),
            choice=None if choice is None else int(choice),
        )

    async def _vote_state(
        self, names: dict[str, int | str]
    ) -> tuple[VoteResult | None, int | None]:
        """Why a vote cannot land (no poll, closed, foreign option) or None, and the choice now."""
        row = await self._db.fetchone(_VOTE_STATE, names)
        if row is None:
            return VoteResult(VoteOutcome.NO_POLL, None), None
        choice = None if row["choice"] is None else int(row["choice"])
        if row["closed_at"] is not None:
            return VoteResult(VoteOutcome.CLOSED, choice), choice
        if not row["own_option"]:
            return VoteResult(VoteOutcome.NO_OPTION, choice), choice
        return None, choice

    @staticmethod
    async def unlink_votes_in(conn: aiosqlite.Connection, channel: str, user_id: int) -> int:
        """Make the person's votes nobody's, inside the caller's transaction (see
        storage.privacy); returns how many.

        A vote stays in the results (the numbers must not change behind staff's back) but is
        moved to a random negative id: channels' user ids are positive, so it is nobody's.
        """
        async with conn.execute(
            "SELECT poll_id FROM poll_votes WHERE channel = ? AND user_id = ?", (channel, user_id)
        ) as cursor:
            polls = [int(row["poll_id"]) for row in await cursor.fetchall()]
        for poll_id in polls:
            await conn.execute(
                "UPDATE poll_votes SET user_id = ?"
                " WHERE poll_id = ? AND channel = ? AND user_id = ?",
                (-secrets.randbelow(2**62) - 1, poll_id, channel, user_id),
            )
        return len(polls)

    async def _require(self, poll_id: int) -> Poll:
        poll = await self.get(poll_id)
        if poll is None:
            raise LookupError(f"poll {poll_id} vanished right after it was written")
        return poll


async def _insert_options(conn: aiosqlite.Connection, poll_id: int, labels: Sequence[str]) -> None:
    await conn.executemany(
        "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)",
        [(poll_id, position, label) for position, label in enumerate(labels)],
    )
