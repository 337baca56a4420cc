"""What handling an update costs without the network: our bot against the echo bot, in one process.

Run: python -m benchmarks.handlers [--updates 600] [--rounds 7]

`python -m benchmarks.reading` measures whole processes over loopback HTTP, where most of the
CPU time is the HTTP stack and the figures move with whatever else the machine runs (the number
of connections httpcore keeps, and checks at every request, grows when the bots fall behind).
This script measures only what changes when our handlers change: both applications, built as
they ship (ours by `bot.app.build_application`, the echo bot by `benchmarks.echo_bot.build`),
take the reading benchmark's updates one resident at a time through python-telegram-bot's
update processor, parse them, run their handlers and make their Bot API calls through
`bot.request.JsonRequest` as usual — but the calls are answered in-process, as the stand-in
Bot API would answer them (the message with its text, entities and keyboard), by an
`httpx.MockTransport` in place of the connection pool. The answers' own CPU time is
subtracted. The two bots take turns, each keeping its best round, so an A/B of a change on a
shared machine compares like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from telegram import Update

from benchmarks import echo_bot
from benchmarks.reading import fill, workload
from bot.app import build_application, running
from bot.cli import opt_in_to_ptb_timedelta
from bot.config import load_settings
from bot.request import JsonRequest
from bot.standins.telegram import FakeTelegram
from bot.standins.tghtml import parse_html

ARTICLES = 10_000
USER = {"id": 1001, "is_bot": False, "first_name": "Dân", "language_code": "vi"}
CHAT = {"id": 1001, "type": "private", "first_name": "Dân"}
BOT = {"id": 123456789, "is_bot": True, "first_name": "Tin Xã", "username": "tinxa_bot"}


class CannedApi:
    """Answers Bot API calls as the stand-in would, keeping the last message it returned."""

    def __init__(self) -> None:
        self.seconds = 0.0  # CPU time spent answering, left out of the bots' figures
        self.last: dict[str, Any] = {"message_id": 1, "date": 0, "chat": CHAT, "text": "x"}
        self._ids = itertools.count(2)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        started = time.process_time()
        method = request.url.path.rsplit("/", 1)[1]
        params = json.loads(request.content) if request.content else {}
        result: Any = True
        if method in ("sendMessage", "editMessageText"):
            if params.get("parse_mode") == "HTML":
                text, entities = parse_html(params["text"])
            else:
                text, entities = params["text"], []
            result = {
                "message_id": params.get("message_id") or next(self._ids),
                "date": int(time.time()),
                "chat": CHAT,
                "from": BOT,
                "text": text,
            }
            if entities:
                result["entities"] = entities
            if params.get("reply_markup"):
                result["reply_markup"] = params["reply_markup"]
            if method == "editMessageText":
                result["edit_date"] = result["date"]
            self.last = result
        body = json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()
        self.seconds += time.process_time() - started
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


def canned(request: JsonRequest, api: CannedApi) -> None:
    """Answer `request`'s calls in-process (each lane's pool replaced by the canned API)."""
    request._transports = [httpx.MockTransport(api) for _ in request._transports]


def updates(queue: list[str], api: CannedApi) -> Any:
    """The resident's updates as the stand-in sends them; a press is under the last message."""
    ids = itertools.count(1)
    for data in queue:
        update_id = next(ids)
        if data.startswith("/"):
            message = {
                "message_id": 10_000 + update_id,
                "date": int(time.time()),
                "chat": CHAT,
                "from": USER,
                "text": data,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(data)}],
            }
            yield {"update_id": update_id, "message": message}
        else:
            query = {
                "id": str(update_id),
                "from": USER,
                "message": api.last,
                "chat_instance": "ci",
                "data": data,
            }
            yield {"update_id": update_id, "callback_query": query}


async def one_round(application: Any, queue: list[str], api: CannedApi) -> float:
    """CPU seconds per update for one pass over the queue, the answers' time left out."""
    processor = application.update_processor
    api.seconds = 0.0
    started = time.process_time()
    for raw in updates(queue, api):
        update = Update.de_json(raw, application.bot)
        await processor.process_update(update, application.process_update(update))
    return (time.process_time() - started - api.seconds) / len(queue)


async def measure(database: Path, count: int, rounds: int) -> dict[str, float]:
    """Both bots, taking turns; each keeps its best round."""
    queue = workload(count, ARTICLES, 1)[0]
    best = {"ours": float("inf"), "echo": float("inf")}
    async with FakeTelegram() as telegram:  # answers start-up's calls (getMe, the menus)
        settings = load_settings(
            env_file=None,
            BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.url,
            DATABASE_PATH=database,
            LOG_LEVEL="WARNING",
        )
        ours_api, echo_api = CannedApi(), CannedApi()
        echo = echo_bot.build(telegram.token, telegram.url, JsonRequest())
        async with running(build_application(settings)) as ours:
            await echo.initialize()
            await echo.start()
            try:
                assert isinstance(ours.bot.request, JsonRequest)
                assert isinstance(echo.bot.request, JsonRequest)
                canned(ours.bot.request, ours_api)
                canned(echo.bot.request, echo_api)
                contenders = (("ours", ours, ours_api), ("echo", echo, echo_api))
                for _, application, api in contenders:  # a first round warms up, uncounted
                    await one_round(application, queue, api)
                for _ in range(rounds):
                    for name, application, api in contenders:
                        seconds = await one_round(application, queue, api)
                        best[name] = min(best[name], seconds)
            finally:
                await echo.stop()
                await echo.shutdown()
    return best


def main() -> None:
    """Measure both bots and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    opt_in_to_ptb_timedelta(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        asyncio.run(fill(database, ARTICLES))
        best = asyncio.run(measure(database, args.updates, args.rounds))
    print(f"{args.updates} updates from one resident (30% /latest, 40% open, 30% newer/older)")
    for name, seconds in best.items():
        print(f"{name}: CPU per update without the network: {seconds * 1e6:,.0f} µs")
    print(f"ours - echo: {(best['ours'] - best['echo']) * 1e6:,.0f} µs per update")


if __name__ == "__main__":
    main()
