"""Our bot with python-telegram-bot's stock `HTTPXRequest` in place of `bot.request.JsonRequest`.

Run by `python -m benchmarks.reading --stock` as a third contender, to show how much of our
throughput comes from the request class rather than from the handlers: everything else (the
handlers, the database, the keyboards) is the bot as shipped.
"""

from __future__ import annotations

import sys
from typing import Any

from telegram.request import HTTPXRequest

import bot.app
import bot.context
from bot.cli import main


def stock(connection_pool_size: int = 256, *, proxy: str | None = None, **timeouts: Any) -> Any:
    """PTB's own request class, built with the arguments JsonRequest would have got."""
    return HTTPXRequest(connection_pool_size, proxy=proxy, **timeouts)


if __name__ == "__main__":
    bot.app.JsonRequest = stock  # type: ignore[attr-defined,assignment]
    bot.context.JsonRequest = stock  # type: ignore[attr-defined,assignment]
    sys.exit(main(["run"]))
