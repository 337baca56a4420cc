"""The outbox: bulk sends written down, one row per recipient, before anything is sent.

A row goes pending → sending → sent / failed / skipped. "sending" is written just before the
request leaves, so after a crash the rows still "sending" are exactly the messages that were in
flight: they are sent again (Telegram may or may not have delivered them), everything else is
either done or still pending. Nothing is lost, and nothing but those is repeated.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiosqlite

from storage.channels import DEFAULT_CHANNEL
from storage.db import Database
from storage.timestamps import iso

__all__ = ["GONE_REASONS", "DeliveryState", "OutboxStore", "Pending", "Progress"]

DeliveryState = Literal["running", "paused", "cancelled", "done"]


@dataclass(frozen=True)
class Pending:
    """A recipient's row ready to be sent."""

    outbox_id: int
    delivery_id: int
    chat_id: int
    message_key: int
    attempts: int  # attempts made before this one
    unreachable: str | None  # why the chat is known to be unreachable, None if it is not
    channel: str = DEFAULT_CHANNEL  # the messenger the chat is on
    kind: str = ""  # the job's kind (digest, alert, channel, broadcast, poll), for the metrics


@dataclass(frozen=True)
class Progress:
    """Where a bulk job stands."""

    delivery_id: int
    kind: str
    label: str
    state: DeliveryState
    total: int
    sent: int
    pending: int  # pending and in flight
    failed: dict[str, int] = field(default_factory=dict)  # by reason
    skipped: dict[str, int] = field(default_factory=dict)  # by reason
    created_by: int | None = None
    created_at: str = ""
    finished_at: str | None = None
    start_at: float | None = None

    @property
    def blocked(self) -> int:
        """Recipients who blocked the bot or left, found now or known before."""
        return sum(
            count
            for reason, count in (*self.failed.items(), *self.skipped.items())
            if reason in GONE_REASONS
        )

    @property
    def errors(self) -> int:
        """Recipients the message failed for although they are still there."""
        return sum(n for reason, n in self.failed.items() if reason not in GONE_REASONS)

    def summary(self) -> dict[str, Any]:
        """The counts as JSON-ready data."""
        return {
            "total": self.total,
            "sent": self.sent,
            "pending": self.pending,
            "failed": self.failed,
            "skipped": self.skipped,
        }


# Reasons that mean the recipient is gone, not that the message was wrong.
# ("unfollowed": a Zalo resident who no longer follows the commune's Official Account.)
GONE_REASONS = frozenset(
    {"blocked", "deactivated", "kicked", "chat_not_found", "inactive", "unfollowed"}
)


def _on_channels(
    recipients: Iterable[tuple[int, int] | tuple[str, int, int]], channel: str
) -> Iterable[tuple[str, int, int]]:
    """Each recipient as (channel, chat id, message index), `channel` where none is named."""
    for recipient in recipients:
        if len(recipient) == 3:
            yield recipient
        else:
            yield (channel, *recipient)


class OutboxStore:
    """Reads and writes `deliveries`, `delivery_messages` and `outbox`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- creating -------------------------------------------------------------------------

    async def create(
        self,
        kind: str,
        messages: Sequence[dict[str, Any]],
        recipients: Iterable[tuple[int, int] | tuple[str, int, int]],
        *,
        label: str = "",
        dedupe_key: str | None = None,
        priority: int = 5,
        created_by: int | None = None,
        start_at: float | None = None,
        state: DeliveryState = "running",
        also: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None,
        channel: str = DEFAULT_CHANNEL,
    ) -> int | None:
        """Write a job and a row per recipient, in one transaction; returns its id.

        `recipients` are (chat id, index into `messages`) of chats on `channel`, or (channel,
        chat id, index) for a job that reaches several channels. A chat listed twice gets one
        message. With a `dedupe_key` already used, nothing is written and None
        is returned. `also` runs in the same transaction: what made the job (a digest's
        bookmarks, say) is written with it or not at all.
        """
        bodies = [json.dumps(message, ensure_ascii=False) for message in messages]
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO deliveries (kind, dedupe_key, label, priority, state, created_by,"
                " created_at, start_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    kind,
                    dedupe_key,
                    label,
                    priority,
                    state,
                    created_by,
                    iso(datetime.now(UTC)),
                    start_at,
                ),
            )
            if cursor.rowcount == 0:
                return None
            delivery_id = cursor.lastrowid
            assert delivery_id is not None
            keys: list[int] = []
            for body in bodies:
                cursor = await conn.execute(
                    "INSERT INTO delivery_messages (delivery_id, body) VALUES (?, ?)",
                    (delivery_id, body),
                )
                assert cursor.lastrowid is not None
                keys.append(cursor.lastrowid)
            await conn.executemany(
                "INSERT OR IGNORE INTO outbox (delivery_id, channel, chat_id, message_key)"
                " VALUES (?, ?, ?, ?)",
                (
                    (delivery_id, to_channel, chat_id, keys[index])
                    for to_channel, chat_id, index in _on_channels(recipients, channel)
                ),
            )
            await conn.execute(
                "UPDATE deliveries SET total ="
                " (SELECT COUNT(*) FROM outbox WHERE delivery_id = ?) WHERE delivery_id = ?",
                (delivery_id, delivery_id),
            )
            if also is not None:
                await also(conn)
        return delivery_id

    # -- the engine's side ----------------------------------------------------------------

    async def recover(self) -> int:
        """After a stop: rows left "sending" go back to pending; returns how many there were."""
        written = await self._db.write(
            "UPDATE outbox SET state = 'pending' WHERE state = 'sending'"
        )
        return written.rowcount

    async def last_activity(self) -> float | None:
        """When a row last changed (UTC epoch seconds): a send may have left then."""
        row = await self._db.fetchone("SELECT MAX(updated_at) AS latest FROM outbox")
        return None if row is None or row["latest"] is None else float(row["latest"])

    async def due(
        self, now: float, limit: int, channels: Sequence[str] = (DEFAULT_CHANNEL,)
    ) -> list[Pending]:
        """Rows for `channels` ready to send now, the most urgent job first, in the order they
        were written. An engine asks only for the channels it can send to: a Telegram sender
        never gets a Zalo chat's row, whose number may be some Telegram chat's too."""
        marks = ",".join("?" * len(channels))
        rows = await self._db.fetchall(
            "SELECT o.outbox_id, o.delivery_id, o.channel, o.chat_id, o.message_key, o.attempts,"
            " CASE WHEN c.active = 0 THEN COALESCE(c.reason, 'inactive') END AS unreachable,"
            " d.kind"
            " FROM deliveries d"
            " JOIN outbox o ON o.delivery_id = d.delivery_id AND o.state = 'pending'"
            " LEFT JOIN chats c ON c.channel = o.channel AND c.chat_id = o.chat_id"
            " WHERE d.state = 'running' AND (d.start_at IS NULL OR d.start_at <= ?)"
            " AND (o.not_before IS NULL OR o.not_before <= ?)"
            f" AND o.channel IN ({marks})"
            " ORDER BY d.priority, d.delivery_id, o.outbox_id LIMIT ?",
            (now, now, *channels, limit),
        )
        return [
            Pending(
                outbox_id=int(row["outbox_id"]),
                delivery_id=int(row["delivery_id"]),
                chat_id=int(row["chat_id"]),
                message_key=int(row["message_key"]),
                attempts=int(row["attempts"]),
                unreachable=row["unreachable"],
                channel=str(row["channel"]),
                kind=str(row["kind"]),
            )
            for row in rows
        ]

    async def depth(self, now: float) -> dict[int, int]:
        """Messages due to be sent (pending or in flight) by job priority: those of running jobs
        whose time has come (a paused or scheduled job waits on purpose)."""
        rows = await self._db.fetchall(
            "SELECT d.priority AS priority, COUNT(*) AS count FROM deliveries d JOIN outbox o"
            " ON o.delivery_id = d.delivery_id AND o.state IN ('pending', 'sending')"
            " WHERE d.state = 'running' AND (d.start_at IS NULL OR d.start_at <= ?)"
            " GROUP BY d.priority",
            (now,),
        )
        return {int(row["priority"]): int(row["count"]) for row in rows}

    async def next_due(self, channels: Sequence[str] = (DEFAULT_CHANNEL,)) -> float | None:
        """The earliest time a pending row of a running job for `channels` may be sent (None if
        there is none)."""
        row = await self._db.fetchone(
            "SELECT MIN(MAX(COALESCE(d.start_at, 0), COALESCE(o.not_before, 0))) AS due"
            " FROM deliveries d JOIN outbox o"
            " ON o.delivery_id = d.delivery_id AND o.state = 'pending'"
            f" WHERE d.state = 'running' AND o.channel IN ({','.join('?' * len(channels))})",
            tuple(channels),
        )
        return None if row is None or row["due"] is None else float(row["due"])

    async def body(self, message_key: int) -> dict[str, Any]:
        """What to send for a message key."""
        row = await self._db.fetchone(
            "SELECT body FROM delivery_messages WHERE message_key = ?", (message_key,)
        )
        if row is None:
            raise KeyError(message_key)
        body: dict[str, Any] = json.loads(row["body"])
        return body

    async def start(self, outbox_id: int, now: float) -> bool:
        """Mark the row in flight, if it is still pending and its job still running."""
        written = await self._db.write(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE outbox_id = ? AND state = 'pending' AND delivery_id IN"
            " (SELECT delivery_id FROM deliveries WHERE state = 'running')",
            (now, outbox_id),
        )
        return written.rowcount == 1

    async def sent(self, outbox_id: int, message_id: int | str | None, now: float) -> None:
        """The channel accepted the message: its id is Telegram's number, or Zalo's string
        (kept in `sent_message_ref`, migration 0020)."""
        number = message_id if isinstance(message_id, int) else None
        ref = message_id if isinstance(message_id, str) else None
        await self._db.write(
            "UPDATE outbox SET state = 'sent', sent_message_id = ?, sent_message_ref = ?,"
            " reason = NULL, detail = NULL, not_before = NULL, updated_at = ?"
            " WHERE outbox_id = ?",
            (number, ref, now, outbox_id),
        )

    async def failed(self, outbox_id: int, reason: str, detail: str | None, now: float) -> None:
        """The message cannot be delivered to this recipient; it will not be tried again."""
        await self._set_final(outbox_id, "failed", reason, detail, now)

    async def skipped(
        self, outbox_id: int, reason: str, now: float, detail: str | None = None
    ) -> None:
        """The message was not sent on purpose: the recipient is known to be unreachable, or
        the channel's rules forbid it now (outside Zalo's window, out of quota...)."""
        await self._set_final(outbox_id, "skipped", reason, detail, now)

    async def _set_final(
        self, outbox_id: int, state: str, reason: str, detail: str | None, now: float
    ) -> None:
        await self._db.write(
            "UPDATE outbox SET state = ?, reason = ?, detail = ?, not_before = NULL,"
            " updated_at = ? WHERE outbox_id = ?",
            (state, reason, detail, now, outbox_id),
        )

    async def retry(
        self,
        outbox_id: int,
        not_before: float,
        reason: str,
        detail: str | None,
        now: float,
        *,
        refund: bool = False,
    ) -> None:
        """Back to pending, to be tried again from `not_before`.

        `refund` gives the attempt back: a 429 or a chat's own pace is no fault of the message.
        """
        await self._db.write(
            "UPDATE outbox SET state = 'pending', not_before = ?, reason = ?, detail = ?,"
            " attempts = attempts - ?, updated_at = ? WHERE outbox_id = ?",
            (not_before, reason, detail, int(refund), now, outbox_id),
        )

    async def postpone(self, outbox_id: int, not_before: float) -> None:
        """Leave a pending row for later (its chat had a message a moment ago)."""
        await self._db.write(
            "UPDATE outbox SET not_before = ? WHERE outbox_id = ? AND state = 'pending'",
            (not_before, outbox_id),
        )

    async def redirect(self, outbox_id: int, new_chat_id: int, now: float) -> bool:
        """The chat moved to a new id: the row goes there, pending again.

        False when the job already has a row for the new id (the message is not sent twice).
        """
        row = await self._db.fetchone(
            "SELECT 1 FROM outbox AS o JOIN outbox AS moved ON moved.outbox_id = ?"
            " WHERE o.delivery_id = moved.delivery_id AND o.channel = moved.channel"
            " AND o.chat_id = ?",
            (outbox_id, new_chat_id),
        )
        if row is not None:
            await self.skipped(outbox_id, "moved", now)
            return False
        await self._db.write(
            "UPDATE outbox SET chat_id = ?, state = 'pending', not_before = NULL,"
            " attempts = attempts - 1, updated_at = ? WHERE outbox_id = ?",
            (new_chat_id, now, outbox_id),
        )
        return True

    async def finish(self) -> list[int]:
        """Close jobs with nothing left in flight, keeping their counts: running ones become
        done, cancelled ones get their final counts once their last messages landed."""
        rows = await self._db.fetchall(
            "SELECT delivery_id, state FROM deliveries d WHERE finished_at IS NULL"
            " AND state IN ('running', 'cancelled') AND NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.delivery_id = d.delivery_id"
            " AND o.state IN ('pending', 'sending'))"
        )
        finished: list[int] = []
        for row in rows:
            delivery_id, state = int(row["delivery_id"]), str(row["state"])
            final: DeliveryState = "done" if state == "running" else "cancelled"
            if await self._close(delivery_id, final, (state,)):
                finished.append(delivery_id)
        return finished

    async def _close(
        self, delivery_id: int, state: DeliveryState, from_states: tuple[str, ...]
    ) -> bool:
        progress = await self.progress(delivery_id)
        if progress is None:
            return False
        written = await self._db.write(
            f"UPDATE deliveries SET state = ?, finished_at = ?, summary = ?"
            f" WHERE delivery_id = ? AND state IN ({','.join('?' * len(from_states))})",
            (
                state,
                iso(datetime.now(UTC)),
                json.dumps(progress.summary()),
                delivery_id,
                *from_states,
            ),
        )
        return written.rowcount == 1

    # -- staff's side ---------------------------------------------------------------------

    async def pause(self, delivery_id: int) -> bool:
        """Stop sending a running job until it is resumed (messages in flight still land)."""
        written = await self._db.write(
            "UPDATE deliveries SET state = 'paused' WHERE delivery_id = ? AND state = 'running'",
            (delivery_id,),
        )
        return written.rowcount == 1

    async def resume(self, delivery_id: int) -> bool:
        """Go on with a paused job."""
        written = await self._db.write(
            "UPDATE deliveries SET state = 'running' WHERE delivery_id = ? AND state = 'paused'",
            (delivery_id,),
        )
        return written.rowcount == 1

    async def cancel(self, delivery_id: int) -> bool:
        """Give up a running or paused job: what is not sent yet is skipped."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE deliveries SET state = 'cancelled' WHERE delivery_id = ?"
                " AND state IN ('running', 'paused')",
                (delivery_id,),
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute(
                "UPDATE outbox SET state = 'skipped', reason = 'cancelled', not_before = NULL"
                " WHERE delivery_id = ? AND state = 'pending'",
                (delivery_id,),
            )
        # The final counts are kept once the messages in flight have landed (see `finish`).
        return True

    async def progress(self, delivery_id: int) -> Progress | None:
        """Counts of a job by outcome."""
        job = await self._db.fetchone(
            "SELECT kind, label, state, total, created_by, created_at, finished_at, start_at,"
            " summary FROM deliveries WHERE delivery_id = ?",
            (delivery_id,),
        )
        if job is None:
            return None
        about: dict[str, Any] = {
            "delivery_id": delivery_id,
            "kind": str(job["kind"]),
            "label": str(job["label"]),
            "state": job["state"],
            "created_by": None if job["created_by"] is None else int(job["created_by"]),
            "created_at": str(job["created_at"]),
            "finished_at": None if job["finished_at"] is None else str(job["finished_at"]),
            "start_at": None if job["start_at"] is None else float(job["start_at"]),
        }
        if job["summary"] is not None:  # finished: the counts kept then (rows may be pruned)
            kept = json.loads(job["summary"])
            return Progress(
                **about,
                total=int(kept["total"]),
                sent=int(kept["sent"]),
                pending=int(kept["pending"]),
                failed=dict(kept["failed"]),
                skipped=dict(kept["skipped"]),
            )
        rows = await self._db.fetchall(
            "SELECT state, COALESCE(reason, '') AS reason, COUNT(*) AS n FROM outbox"
            " WHERE delivery_id = ? GROUP BY state, reason",
            (delivery_id,),
        )
        counts: dict[str, int] = {}
        failed: dict[str, int] = {}
        skipped: dict[str, int] = {}
        for row in rows:
            state, reason, count = str(row["state"]), str(row["reason"]), int(row["n"])
            counts[state] = counts.get(state, 0) + count
            if state == "failed":
                failed[reason] = count
            elif state == "skipped":
                skipped[reason] = count
        return Progress(
            **about,
            total=int(job["total"]),
            sent=counts.get("sent", 0),
            pending=counts.get("pending", 0) + counts.get("sending", 0),
            failed=failed,
            skipped=skipped,
        )

    async def rows_by_channel(self, delivery_id: int) -> dict[str, int]:
        """A job's recipients, by channel."""
        rows = await self._db.fetchall(
            "SELECT channel, COUNT(*) AS n FROM outbox WHERE delivery_id = ? GROUP BY channel"
            " ORDER BY channel",
            (delivery_id,),
        )
        return {str(row["channel"]): int(row["n"]) for row in rows}

    async def pending_by_channel(self, delivery_id: int) -> dict[str, int]:
        """A job's messages still to send (pending or in flight), by channel."""
        rows = await self._db.fetchall(
            "SELECT channel, COUNT(*) AS n FROM outbox WHERE delivery_id = ?"
            " AND state IN ('pending', 'sending') GROUP BY channel",
            (delivery_id,),
        )
        return {str(row["channel"]): int(row["n"]) for row in rows}

    async def skipped_for(
        self, dedupe_key: str, channel: str, chat_id: int, reasons: Sequence[str]
    ) -> bool:
        """Whether the job made under `dedupe_key` skipped its row for `chat_id` on `channel`
        for one of `reasons` (nothing was sent to them: a poll held for Zalo's window, say)."""
        row = await self._db.fetchone(
            "SELECT 1 FROM deliveries AS d JOIN outbox AS o ON o.delivery_id = d.delivery_id"
            " WHERE d.dedupe_key = ? AND o.channel = ? AND o.chat_id = ? AND o.state = 'skipped'"
            f" AND o.reason IN ({','.join('?' * len(reasons))})",
            (dedupe_key, channel, chat_id, *reasons),
        )
        return row is not None

    async def skipped_rows(
        self, kind: str, channel: str, chat_id: int, reasons: Sequence[str], after: int = 0
    ) -> list[tuple[int, str]]:
        """The rows for `chat_id` on `channel` of jobs of `kind`, numbered after `after`, that
        were skipped for one of `reasons`: (outbox id, the job's dedupe key), oldest first."""
        rows = await self._db.fetchall(
            "SELECT o.outbox_id, d.dedupe_key FROM outbox AS o"
            " JOIN deliveries AS d ON d.delivery_id = o.delivery_id"
            " WHERE o.channel = ? AND o.chat_id = ? AND o.outbox_id > ? AND d.kind = ?"
            " AND o.state = 'skipped' AND d.dedupe_key IS NOT NULL"
            f" AND o.reason IN ({','.join('?' * len(reasons))}) ORDER BY o.outbox_id",
            (channel, chat_id, after, kind, *reasons),
        )
        return [(int(row["outbox_id"]), str(row["dedupe_key"])) for row in rows]

    async def recent(self, limit: int = 10) -> list[Progress]:
        """The latest jobs, newest first."""
        rows = await self._db.fetchall(
            "SELECT delivery_id FROM deliveries ORDER BY delivery_id DESC LIMIT ?", (limit,)
        )
        found = [await self.progress(int(row["delivery_id"])) for row in rows]
        return [progress for progress in found if progress is not None]

    async def prune(self, days: int, now: datetime | None = None) -> int:
        """Delete the recipient rows of jobs finished more than `days` ago; their counts stay
        in `deliveries.summary`, and no chat id is kept longer than it serves."""
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).astimezone(UTC)
        written = await self._db.write(
            "DELETE FROM outbox WHERE delivery_id IN (SELECT delivery_id FROM deliveries"
            " WHERE summary IS NOT NULL AND finished_at < ?)",
            (cutoff.isoformat(timespec="seconds"),),
        )
        return written.rowcount

    async def forget_chat(self, chat_id: int, channel: str = DEFAULT_CHANNEL) -> int:
        """Remove a chat from every job (the resident asked /forget); finished counts stay."""
        async with self._db.transaction() as conn:
            return await self.forget_chat_in(conn, channel, chat_id)

    @staticmethod
    async def forget_chat_in(conn: aiosqlite.Connection, channel: str, chat_id: int) -> int:
        """`forget_chat`, inside the caller's transaction on `conn` (see storage.privacy)."""
        await conn.execute(
            "UPDATE deliveries SET total = total - 1 WHERE summary IS NULL AND delivery_id IN"
            " (SELECT delivery_id FROM outbox WHERE channel = ? AND chat_id = ?)",
            (channel, chat_id),
        )
        cursor = await conn.execute(
            "DELETE FROM outbox WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )
        return cursor.rowcount
