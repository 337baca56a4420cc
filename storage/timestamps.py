"""How moments are stored: UTC, ISO 8601, to the second (shared by every store)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "parse_iso"]


def iso(moment: datetime) -> str:
    """A moment as stored: UTC, ISO 8601, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    """A stored moment back as an aware datetime."""
    return datetime.fromisoformat(text)
