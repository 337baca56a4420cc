"""Logging: one line per event, readable or JSON, with secrets such as the bot token blotted out."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO
from urllib.parse import quote

__all__ = ["JsonFormatter", "RedactingFormatter", "configure_logging", "mask", "redact"]

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

    def add_secret(self, secret: str) -> None:
        """Mask `secret` too from now on (a token learnt while running)."""
        if secret and secret not in self._secrets:
            self._secrets = (*self._secrets, secret)

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record), self._secrets)
        # One event, one line: tracebacks stay attached to their event, indented.
        return line.replace("\n", "\n    ")


# What every LogRecord carries: anything else on a record came through `extra=` and is a field.
_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector (journald, Loki, Elasticsearch...).

    Fields: `time` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `message`, `pid`,
    `exception` (the traceback, when there is one) and whatever a call passed with `extra=`.
    Secrets are removed from every text before it is encoded, so they are caught whatever
    JSON escaping would have made of them.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def add_secret(self, secret: str) -> None:
        """Mask `secret` too from now on (a token learnt while running)."""
        if secret and secret not in self._secrets:
            self._secrets = (*self._secrets, secret)

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        event: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_KEYS and key not in event:
                event[key] = value if isinstance(value, (int, float, bool)) else str(value)
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = redact(value, self._secrets)
        return json.dumps(event, ensure_ascii=False)


def configure_logging(
    level: str,
    secrets: Iterable[str],
    stream: TextIO | None = None,
    log_format: Literal["text", "json"] = "text",
) -> logging.Handler:
    """Send every log record to `stream` (stderr by default) through a redacting formatter.

    Returns the handler, so a caller that configured logging temporarily can remove it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    secrets = tuple(secrets)
    formatter = JsonFormatter(secrets) if log_format == "json" else RedactingFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs each request at INFO: useful at DEBUG, noise otherwise (and redacted either way).
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING if level != "DEBUG" else level)
    return handler


def mask(secret: str) -> None:
    """Mask `secret` in every line logged from now on, by every redacting handler of the root
    logger: for secrets learnt while running, such as Zalo's rotating tokens (aiosqlite logs a
    statement's parameters at DEBUG)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, RedactingFormatter | JsonFormatter):
            formatter.add_secret(secret)
