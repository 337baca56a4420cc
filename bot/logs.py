"""Logging: one readable line per event, with secrets such as the bot token blotted out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote

__all__ = ["RedactingFormatter", "configure_logging", "redact"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MASK = "[REDACTED]"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-encoded form) replaced by a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK).replace(quote(secret, safe=""), _MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then removes the secrets from the result.

    Redacting the finished line rather than the message catches secrets wherever they hide:
    in arguments, in exception texts, in the request URLs httpx logs at INFO level.
    """

    def __init__(self, secrets: Iterable[str], fmt: str = _FORMAT) -> None:
        super().__init__(fmt)
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record), self._secrets)
        # One event, one line: tracebacks stay attached to their event, indented.
        return line.replace("\n", "\n    ")


def configure_logging(
    level: str, secrets: Iterable[str], stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr by default) through the redacting formatter.

    Returns the handler, so a caller that configured logging temporarily can remove it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs each request at INFO: useful at DEBUG, noise otherwise (and redacted either way).
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING if level != "DEBUG" else level)
    return handler
