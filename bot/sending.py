"""What a messenger's sender is to the delivery engine: its pace, one send, what a refusal means.

The engine (`bot.delivery`) knows no messenger. For each channel it has a `Sender`: Telegram's
(`bot.delivery_telegram`) and Zalo's (`bot.zalo.delivery`). The engine takes a slot of the
sender's `Pace`, marks the row "sending", calls `send`, gives the slot back once the channel
answered, and on a refusal asks the sender what it means (`refused` → an `Outcome`), which the
engine writes to the outbox the same way for every channel. Nothing here imports a messenger's
library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from storage.outbox import Pending

__all__ = ["Failed", "Moved", "Outcome", "Pace", "Retry", "Sender", "Skipped"]


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again later. With `after`, exactly that many seconds from now, and the attempt given
    back (the channel asked us to slow down: no fault of the message); without, after the
    engine's next backoff delay, a bounded number of times, then the row fails with `reason`."""

    reason: str
    detail: str | None = None
    after: float | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The message cannot be delivered to this recipient; never tried again. `gone`: the
    recipient is unreachable (blocked the bot, left, stopped following), and their chat is
    marked so, which skips them in later jobs without a request."""

    reason: str
    detail: str | None = None
    gone: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """Not sent on purpose, because the channel's rules forbid it now (outside Zalo's window,
    out of quota, at night); never retried blindly."""

    reason: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """The chat moved to a new id (a Telegram group became a supergroup): follow it there."""

    new_chat_id: int


Outcome = Retry | Failed | Skipped | Moved


class Pace(Protocol):
    """A channel's limits as the engine uses them (`bot.ratelimit.FloodControl` is Telegram's)."""

    @property
    def budget(self) -> float:
        """Bulk messages a second at most: the estimate's pace when none was measured."""
        ...

    def chat_wait(self, chat_id: int) -> float:
        """Seconds before `chat_id` may receive another bulk message (0 if now)."""
        ...

    async def acquire(self, chat_id: int) -> None:
        """Wait for a slot, and take it for a message to `chat_id`."""
        ...

    def release(self, chat_id: int, *, answered: bool = True) -> None:
        """The send that held a slot is over (`answered` unless it never reached the channel)."""
        ...


class Sender(Protocol):
    """One messenger's side of the delivery engine."""

    @property
    def channel(self) -> str:
        """The channel's name in the outbox (`telegram`, `zalo`)."""
        ...

    @property
    def pace(self) -> Pace:
        """The channel's limits."""
        ...

    async def admit(self, row: Pending) -> str | None:
        """Whether the channel's rules allow a message to the recipient now, taking what it uses
        (Zalo's window); the reason to skip it if not."""
        ...

    async def give_back(self, row: Pending) -> None:
        """What `admit` took was not used (the row was paused or cancelled meanwhile)."""
        ...

    async def send(self, row: Pending, body: Mapping[str, Any]) -> int | str | None:
        """Send `body` to the row's recipient; the channel's message id. Raises on a refusal."""
        ...

    async def refused(self, row: Pending, error: Exception) -> Outcome:
        """What a refusal (an exception `send` raised) means for the row."""
        ...
