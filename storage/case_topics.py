"""The topics residents choose a report's topic from, and who handles each: the tables
`case_topics` and `staff_topics` of migration 0021.

Staff change both with /casetopics (bot.services.cases records each change in the audit log);
a case keeps its topic's id (storage.cases), whatever becomes of the topic. A topic the bot
seeded has a `code` (its label is each language's catalogue's, `cases.topic.<code>`); one
staff added or renamed has none and is shown by its `name`.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database

__all__ = ["CaseTopicStore", "Topic"]


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic residents choose from."""

    topic_id: int
    code: str | None  # a topic the bot seeded (its label is the catalogue's), else None
    name: str
    position: int
    active: bool


def _topic(row: aiosqlite.Row) -> Topic:
    return Topic(
        topic_id=int(row["topic_id"]),
        code=row["code"],
        name=str(row["name"]),
        position=int(row["position"]),
        active=bool(row["active"]),
    )


class CaseTopicStore:
    """Reads and writes `case_topics` and `staff_topics` (migration 0021)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- topics ---------------------------------------------------------------------------------

    async def topics(self, *, everything: bool = False) -> list[Topic]:
        """The topics in their order: the active ones, or (`everything`) all of them."""
        rows = await self._db.fetchall(
            "SELECT topic_id, code, name, position, active FROM case_topics"
            " WHERE ? OR active ORDER BY position, topic_id",
            (everything,),
        )
        return [_topic(row) for row in rows]

    async def topic(self, topic_id: int) -> Topic | None:
        """One topic, active or not."""
        row = await self._db.fetchone(
            "SELECT topic_id, code, name, position, active FROM case_topics WHERE topic_id = ?",
            (topic_id,),
        )
        return None if row is None else _topic(row)

    async def add_topic(self, name: str) -> Topic:
        """A new topic, last in the list."""
        written = await self._db.write(
            "INSERT INTO case_topics (name, position)"
            " VALUES (?, (SELECT coalesce(max(position), 0) + 1 FROM case_topics))"
            " RETURNING topic_id, code, name, position, active",
            (name,),
        )
        return _topic(written.rows[0])

    async def rename_topic(self, topic_id: int, name: str) -> Topic | None:
        """Rename a topic (it is then shown by this name in every language)."""
        written = await self._db.write(
            "UPDATE case_topics SET name = ?, code = NULL WHERE topic_id = ?"
            " RETURNING topic_id, code, name, position, active",
            (name, topic_id),
        )
        return _topic(written.rows[0]) if written.rows else None

    async def set_topic_active(self, topic_id: int, active: bool) -> Topic | None:
        """Offer a topic to residents again, or stop offering it (its cases keep it)."""
        written = await self._db.write(
            "UPDATE case_topics SET active = ? WHERE topic_id = ?"
            " RETURNING topic_id, code, name, position, active",
            (int(active), topic_id),
        )
        return _topic(written.rows[0]) if written.rows else None

    # -- who handles a topic ------------------------------------------------------------------

    async def handlers_of(self, topic_id: int) -> list[int]:
        """The staff ids who handle this topic (empty: nobody in particular)."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM staff_topics WHERE topic_id = ? ORDER BY user_id", (topic_id,)
        )
        return [int(row["user_id"]) for row in rows]

    async def handles(self) -> dict[int, list[int]]:
        """Every topic someone handles → their staff ids."""
        rows = await self._db.fetchall(
            "SELECT topic_id, user_id FROM staff_topics ORDER BY topic_id, user_id"
        )
        found: dict[int, list[int]] = {}
        for row in rows:
            found.setdefault(int(row["topic_id"]), []).append(int(row["user_id"]))
        return found

    async def set_handles(self, user_id: int, topic_id: int, handles: bool) -> None:
        """Make a staff member handle a topic, or not."""
        if handles:
            await self._db.write(
                "INSERT INTO staff_topics (user_id, topic_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (user_id, topic_id),
            )
        else:
            await self._db.write(
                "DELETE FROM staff_topics WHERE user_id = ? AND topic_id = ?", (user_id, topic_id)
            )
