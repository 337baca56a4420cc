"""Residents on Zalo: their local numbers and Zalo's interaction window (migration 0018)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from storage.db import Database

__all__ = ["CHANNEL", "ZaloPeople", "ZaloPerson"]

CHANNEL = "zalo"  # the channel's name in every table keyed by (channel, id)


@dataclass(frozen=True, slots=True)
class ZaloPerson:
    """A follower of the commune's Official Account, as we know them."""

    person_id: int  # the id every other table uses, with channel 'zalo'
    user_id: str  # Zalo's id
    following: bool
    last_inbound_at: datetime | None  # UTC
    sent_in_window: int

    def in_window(self, window: timedelta, messages: int, now: datetime | None = None) -> bool:
        """Whether a message to them would be allowed now (taking nothing): following, their
        last message less than `window` ago, fewer than `messages` sent since."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        return (
            self.following
            and self.last_inbound_at is not None
            and self.last_inbound_at > moment - window
            and self.sent_in_window < messages
        )


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat()


class ZaloPeople:
    """Reads and writes the `zalo_people` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def person(self, user_id: str, now: datetime | None = None) -> int:
        """The local number of Zalo's `user_id`, given one the first time it is seen."""
        row = await self._db.fetchone(
            "SELECT person_id FROM zalo_people WHERE user_id = ?", (user_id,)
        )
        if row is not None:
            return int(row["person_id"])
        written = await self._db.write(
            "INSERT INTO zalo_people (user_id, first_seen_at) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id"
            " RETURNING person_id",
            (user_id, _stamp(now)),
        )
        return int(written.rows[0]["person_id"])

    async def get(self, person_id: int) -> ZaloPerson | None:
        """The person numbered `person_id`, or None (never seen, or forgotten)."""
        row = await self._db.fetchone(
            "SELECT person_id, user_id, following, last_inbound_at, sent_in_window"
            " FROM zalo_people WHERE person_id = ?",
            (person_id,),
        )
        if row is None:
            return None
        inbound = row["last_inbound_at"]
        return ZaloPerson(
            person_id=int(row["person_id"]),
            user_id=str(row["user_id"]),
            following=bool(row["following"]),
            last_inbound_at=datetime.fromisoformat(inbound) if inbound else None,
            sent_in_window=int(row["sent_in_window"]),
        )

    async def user_id(self, person_id: int) -> str | None:
        """Zalo's id of the person numbered `person_id`, or None."""
        person = await self.get(person_id)
        return person.user_id if person else None

    async def following(self, person_id: int, following: bool) -> None:
        """Record a follow or an unfollow of the Official Account."""
        await self._db.write(
            "UPDATE zalo_people SET following = ? WHERE person_id = ?",
            (int(following), person_id),
        )

    async def inbound(self, person_id: int, now: datetime | None = None) -> None:
        """The resident wrote to the OA: the window opens anew, with no message used."""
        await self._db.write(
            "UPDATE zalo_people SET last_inbound_at = ?, sent_in_window = 0, following = 1"
            " WHERE person_id = ?",
            (_stamp(now), person_id),
        )

    async def take_window(
        self, person_id: int, window: timedelta, messages: int, now: datetime | None = None
    ) -> bool:
        """Use one message of the person's window if it is open and not used up; False if not.

        One statement, so two senders never both take the window's last message.
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        written = await self._db.write(
            "UPDATE zalo_people SET sent_in_window = sent_in_window + 1"
            " WHERE person_id = ? AND following = 1 AND last_inbound_at IS NOT NULL"
            " AND last_inbound_at > ? AND sent_in_window < ?",
            (person_id, (moment - window).isoformat(), messages),
        )
        return written.rowcount == 1

    async def give_back(self, person_id: int) -> None:
        """A message taken from the window was not sent after all (Zalo refused it)."""
        await self._db.write(
            "UPDATE zalo_people SET sent_in_window = max(sent_in_window - 1, 0)"
            " WHERE person_id = ?",
            (person_id,),
        )

    async def in_window(
        self, person_id: int, window: timedelta, messages: int, now: datetime | None = None
    ) -> bool:
        """Whether a message to the person would be allowed now (taking nothing)."""
        person = await self.get(person_id)
        return person is not None and person.in_window(window, messages, now)

    async def windows(
        self,
        person_ids: Sequence[int],
        window: timedelta,
        messages: int,
        now: datetime | None = None,
    ) -> tuple[list[int], list[int]]:
        """Of `person_ids`, those who follow the OA: (inside their window with a message left,
        the others). Someone who stopped following, or was forgotten, is in neither."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        since = (moment - window).isoformat()
        inside: list[int] = []
        outside: list[int] = []
        for start in range(0, len(person_ids), 500):
            chunk = list(person_ids[start : start + 500])
            rows = await self._db.fetchall(
                "SELECT person_id, last_inbound_at IS NOT NULL AND last_inbound_at > ?"
                " AND sent_in_window < ? AS open FROM zalo_people"
                f" WHERE following = 1 AND person_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY person_id",
                (since, messages, *chunk),
            )
            for row in rows:
                (inside if row["open"] else outside).append(int(row["person_id"]))
        return inside, outside

    async def bring_poll(self, person_id: int, poll_id: int) -> bool:
        """Mark poll `poll_id` brought to the person with their message (migration 0027);
        False if it was brought already. One statement: it is brought once."""
        written = await self._db.write(
            "UPDATE zalo_people SET poll_brought = ? WHERE person_id = ?"
            " AND (poll_brought IS NULL OR poll_brought <> ?)",
            (poll_id, person_id, poll_id),
        )
        return written.rowcount == 1

    async def alerts_brought(self, person_id: int) -> int:
        """The newest outbox row of a skipped alert already brought to the person (0: none)."""
        row = await self._db.fetchone(
            "SELECT alerts_brought FROM zalo_people WHERE person_id = ?", (person_id,)
        )
        return int(row["alerts_brought"]) if row is not None else 0

    @staticmethod
    async def bring_alerts_in(conn: aiosqlite.Connection, person_id: int, upto: int) -> None:
        """Skipped alerts up to outbox row `upto` are brought to the person (migration 0028),
        inside the caller's transaction."""
        await conn.execute(
            "UPDATE zalo_people SET alerts_brought = max(alerts_brought, ?) WHERE person_id = ?",
            (upto, person_id),
        )

    @staticmethod
    async def forget_in(conn: aiosqlite.Connection, person_id: int) -> None:
        """Delete the person, inside the caller's transaction (storage.privacy)."""
        await conn.execute("DELETE FROM zalo_people WHERE person_id = ?", (person_id,))
