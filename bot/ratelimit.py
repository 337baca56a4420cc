"""How the bot's own requests to Telegram wait out flood limits (429 Too Many Requests)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

__all__ = ["RetryAfterLimiter", "retry_after_seconds"]

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked to wait, whichever form (int or timedelta) PTB gives it in."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class RetryAfterLimiter(BaseRateLimiter[None]):
    """Sends each request at once; on a 429 waits exactly `retry_after`, then sends again.

    A 429 means Telegram did not deliver the message, so sending again cannot duplicate it.
    Waits longer than `max_wait` seconds, or more than `max_retries` in a row, give up and let the
    error reach the handler (and the error handler), rather than holding a reply for minutes.
    """

    def __init__(self, max_retries: int = 3, max_wait: float = 60.0) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        """Call Telegram, waiting out 429 answers."""
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                attempt += 1
                if attempt > self.max_retries or wait > self.max_wait:
                    raise
                log.warning(
                    "Telegram asked to wait %.0fs before %s (attempt %d of %d)",
                    wait,
                    endpoint,
                    attempt,
                    self.max_retries,
                )
                await asyncio.sleep(wait)
