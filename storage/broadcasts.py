"""Staff announcements: each one's record, from the draft to its final report.

While an announcement is being written its row is `writing` (a draft); where the dialog stands
and the audience chosen so far are the dialog's (`bot.services.broadcast_drafts`, in the
`dialogs` table), and the audience is written here when it is sent or scheduled.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiosqlite

from storage.db import Database, assignments
from storage.timestamps import iso

__all__ = ["DRAFT_STATES", "UPDATABLE", "Broadcast", "BroadcastState", "BroadcastStore"]

BroadcastState = Literal["writing", "choosing", "timing", "queued", "sending", "done", "cancelled"]
# The states of an announcement still being written: a new /broadcast replaces such a draft.
# Only "writing" is written now (the dialog knows the step); "choosing" and "timing" are those
# of drafts begun before migration 0023, which folded them into "writing".
DRAFT_STATES = ("writing", "choosing", "timing")

# What `update` may change; the rest (who, where, when made) is fixed when the draft begins.
UPDATABLE = frozenset({
    "state", "kind", "body", "text_html", "categories", "channel", "start_at", "recipients",
    "delivery_id", "panel_message_id", "article_id",
})  # fmt: skip

_COLUMNS = (
    "broadcast_id, created_by, chat_id, state, kind, body, text_html, categories, channel,"
    " start_at, recipients, delivery_id, panel_message_id, article_id, created_at"
)


@dataclass(frozen=True)
class Broadcast:
    """One announcement, from the first /broadcast to its final report."""

    broadcast_id: int
    created_by: int
    chat_id: int
    state: BroadcastState
    kind: str | None
    body: dict[str, Any] | None
    text_html: str | None
    categories: frozenset[int]
    channel: bool
    start_at: float | None
    recipients: int | None
    delivery_id: int | None
    panel_message_id: int | None
    article_id: int | None
    created_at: datetime

    @property
    def is_draft(self) -> bool:
        """Still being written (nothing is queued for sending yet)."""
        return self.state in DRAFT_STATES


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _broadcast(row: aiosqlite.Row) -> Broadcast:
    return Broadcast(
        broadcast_id=int(row["broadcast_id"]),
        created_by=int(row["created_by"]),
        chat_id=int(row["chat_id"]),
        state=row["state"],
        kind=row["kind"],
        body=None if row["body"] is None else json.loads(row["body"]),
        text_html=row["text_html"],
        categories=frozenset(int(part) for part in str(row["categories"]).split(",") if part),
        channel=bool(row["channel"]),
        start_at=None if row["start_at"] is None else float(row["start_at"]),
        recipients=_optional_int(row["recipients"]),
        delivery_id=_optional_int(row["delivery_id"]),
        panel_message_id=_optional_int(row["panel_message_id"]),
        article_id=_optional_int(row["article_id"]),
        created_at=datetime.fromisoformat(str(row["created_at"])),
    )


class BroadcastStore:
    """Reads and writes `broadcasts`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(self, created_by: int, chat_id: int) -> Broadcast:
        """A new draft; the author's earlier unfinished draft is dropped."""
        stamp = iso(datetime.now(UTC))
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET state = 'cancelled', updated_at = ?"
                f" WHERE created_by = ? AND state IN ({','.join('?' * len(DRAFT_STATES))})",
                (stamp, created_by, *DRAFT_STATES),
            )
            cursor = await conn.execute(
                "INSERT INTO broadcasts (created_by, chat_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (created_by, chat_id, stamp, stamp),
            )
            assert cursor.lastrowid is not None
            broadcast_id = cursor.lastrowid
        found = await self.get(broadcast_id)
        assert found is not None
        return found

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE broadcast_id = ?", (broadcast_id,)
        )
        return None if row is None else _broadcast(row)

    async def update(
        self, broadcast_id: int, *, expect: tuple[str, ...] = (), **values: Any
    ) -> bool:
        """Change some fields; with `expect`, only if the state is one of those (else False).

        Only the columns in UPDATABLE can be named: another name is a TypeError, and nothing
        is written.
        """
        names = list(values)
        columns = assignments("broadcasts", UPDATABLE, names)
        if "body" in values and values["body"] is not None:
            values["body"] = json.dumps(values["body"], ensure_ascii=False)
        if "categories" in values:
            values["categories"] = ",".join(str(c) for c in sorted(values["categories"]))
        if "channel" in values:
            values["channel"] = int(values["channel"])
        sql = (
            f"UPDATE broadcasts SET {columns}{', ' if columns else ''}updated_at = ?"
            " WHERE broadcast_id = ?"
        )
        parameters: list[Any] = [values[name] for name in names] + [
            iso(datetime.now(UTC)),
            broadcast_id,
        ]
        if expect:
            sql += f" AND state IN ({','.join('?' * len(expect))})"
            parameters += expect
        written = await self._db.write(sql, parameters)
        return written.rowcount == 1

    def sending(
        self, broadcast_id: int, recipients: int, dedupe_key: str
    ) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
        """Mark the broadcast sending, linked to its delivery job: to run inside the outbox's
        transaction that writes the job (found by its `dedupe_key`), so the two never part."""

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "UPDATE broadcasts SET state = 'sending', recipients = ?, delivery_id ="
                " (SELECT delivery_id FROM deliveries WHERE dedupe_key = ?), updated_at = ?"
                " WHERE broadcast_id = ?",
                (recipients, dedupe_key, iso(datetime.now(UTC)), broadcast_id),
            )

        return run

    async def following(self) -> list[Broadcast]:
        """Broadcasts queued or sending: their progress messages need updating."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE state IN ('queued', 'sending')"
            " ORDER BY broadcast_id"
        )
        return [_broadcast(row) for row in rows]

    async def received(self, channel: str, chat_id: int, article_ids: list[int]) -> set[int]:
        """Of `article_ids`, the announcements kept as news that `chat_id` on `channel` was
        sent as a message (its outbox row is sent): they are not news to them."""
        if not article_ids:
            return set()
        marks = ",".join("?" * len(article_ids))
        rows = await self._db.fetchall(
            "SELECT b.article_id FROM broadcasts AS b"
            " JOIN outbox AS o ON o.delivery_id = b.delivery_id"
            " WHERE o.channel = ? AND o.chat_id = ? AND o.state = 'sent'"
            f" AND b.article_id IN ({marks})",
            (channel, chat_id, *article_ids),
        )
        return {int(row["article_id"]) for row in rows}

    async def recent(self, limit: int = 10) -> list[Broadcast]:
        """The latest broadcasts sent, sending or waiting for their time, newest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE delivery_id IS NOT NULL"
            " OR state = 'queued' ORDER BY broadcast_id DESC LIMIT ?",
            (limit,),
        )
        return [_broadcast(row) for row in rows]
