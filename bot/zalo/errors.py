"""Zalo's errors, each classified as the delivery engine and the replies need it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SKIP_REASONS", "Kind", "ZaloError", "classify"]


class Kind(StrEnum):
    """What to do about a failed send."""

    UNREACHABLE = "unreachable"  # the resident does not follow the OA: mark them, skip their rows
    SKIPPED = "skipped"  # Zalo's rules forbid it now (see `reason`): never retried blindly
    TOKEN = "token"  # the token was refused even after a refresh: the operator must act
    RATE = "rate"  # too many requests: back off, then send again
    RETRY = "retry"  # a server error or the network: send again later
    FAILED = "failed"  # anything else: the message is wrong, sending it again will not help


# The error codes ZALO.md lists (a secondary source: unverified). A code not here is FAILED.
SKIP_REASONS: dict[int, str] = {-211: "quota", -224: "package", -230: "window", -234: "night"}
TOKEN_CODES = frozenset({-216, -220})
UNREACHABLE_CODES = frozenset({-213})
RATE_CODES = frozenset({-32})


def classify(code: int) -> Kind:
    """The kind of Zalo's error `code` (an HTTP status from 500 up is a server error)."""
    if code in UNREACHABLE_CODES:
        return Kind.UNREACHABLE
    if code in SKIP_REASONS:
        return Kind.SKIPPED
    if code in TOKEN_CODES:
        return Kind.TOKEN
    if code in RATE_CODES:
        return Kind.RATE
    if code >= 500:
        return Kind.RETRY
    return Kind.FAILED


class ZaloError(Exception):
    """A send or a refresh Zalo did not accept: its code (Zalo's, an HTTP status, or 0 when
    Zalo was not reached), its words (never a token or a secret), and its `kind`."""

    def __init__(self, code: int, message: str, kind: Kind | None = None) -> None:
        super().__init__(f"Zalo error {code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.kind = kind if kind is not None else classify(code)

    @property
    def reason(self) -> str | None:
        """Why a SKIPPED send was not allowed: quota, package, window or night."""
        return SKIP_REASONS.get(self.code) if self.kind is Kind.SKIPPED else None
