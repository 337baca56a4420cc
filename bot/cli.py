"""The `commune-bot` command line: run the bot, migrate or back up its database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, redact
from storage import Database, MigrationError, backup_file

__all__ = ["main"]

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commune-bot",
        description="Telegram bot for a commune's news portal. Settings come from the "
        "environment and a .env file (see .env.example).",
    )
    parser.add_argument(
        "--env-file", default=".env", metavar="PATH", help="settings file to read (default .env)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "run", help="run the bot (long polling, or a webhook if WEBHOOK_URL is set)"
    )
    commands.add_parser("migrate", help="create or upgrade the database, then exit")
    commands.add_parser(
        "ingest", help="read the commune's website once now, with progress and a summary"
    )
    demo = commands.add_parser(
        "demo", help="try the bot in a browser: no token, no Telegram, no network needed"
    )
    demo.add_argument(
        "--port", type=int, help="port of the chat page on 127.0.0.1 (default 8080, or a free one)"
    )
    demo.add_argument(
        "--database", type=Path, metavar="PATH", help="keep the demo's database in this file"
    )
    backup = commands.add_parser(
        "backup", help="write a consistent copy of the database, even while the bot runs"
    )
    backup.add_argument("path", type=Path, help="where to write the copy")
    return parser


def opt_in_to_ptb_timedelta(environ: MutableMapping[str, str]) -> None:
    """Take PTB's future time periods (timedelta) now, so 429s do not raise deprecation warnings."""
    environ.setdefault("PTB_TIMEDELTA", "true")


DEMO_NOTICE = (
    "Chưa có BOT_TOKEN: đang chạy bản thử / no BOT_TOKEN: starting the demo; "
    "to run for real, see README (Quick start)"
)


def _no_token(env_file: str) -> bool:
    """No `.env`, no --env-file and no BOT_TOKEN in the environment: a newcomer's first run.

    A settings file named with --env-file that is missing is an operator's mistake, not a first
    run: it gets the usual one-line error rather than the demo.
    """
    return env_file == ".env" and not Path(env_file).exists() and not os.environ.get("BOT_TOKEN")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `commune-bot` and `python -m bot`; returns the exit status."""
    opt_in_to_ptb_timedelta(os.environ)
    args = _parser().parse_args(argv)
    if args.command == "demo" or (args.command == "run" and _no_token(args.env_file)):
        from bot.demo import run_demo

        if args.command == "run":
            print(DEMO_NOTICE, file=sys.stderr, flush=True)
        return run_demo(getattr(args, "port", None), getattr(args, "database", None))
    try:
        settings = load_settings(args.env_file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.LOG_LEVEL, secrets=[settings.token])
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "ingest":
            return asyncio.run(_ingest(settings))
        return asyncio.run(_backup(settings, args.path))
    except MigrationError as exc:
        log.error("database %s: %s", settings.DATABASE_PATH, exc)
        return 1


def _run(settings: Settings) -> int:
    from bot.app import build_application, serve

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(build_application(settings), stop)

    try:
        asyncio.run(run())
    except InvalidToken:
        log.error("Telegram refused BOT_TOKEN: check the token BotFather gave you (see README)")
        return 1
    except NetworkError as exc:
        log.error(
            "cannot reach Telegram at %s: %s; check the network and TELEGRAM_API_URL",
            settings.TELEGRAM_API_URL,
            redact(str(exc), [settings.token]),
        )
        return 1
    except TelegramError as exc:
        log.error("Telegram refused to start the bot: %s", exc)
        return 1
    return 0


async def _migrate(settings: Settings) -> int:
    async with await Database.open(settings.DATABASE_PATH) as db:
        version = await db.schema_version()
    print(f"database {settings.DATABASE_PATH} is at schema version {version}")
    return 0


async def _backup(settings: Settings, target: Path) -> int:
    if not settings.DATABASE_PATH.exists():
        log.error("no database at %s: check DATABASE_PATH", settings.DATABASE_PATH)
        return 1
    await backup_file(settings.DATABASE_PATH, target)
    print(f"backup of {settings.DATABASE_PATH} written to {target}")
    return 0


async def _ingest(settings: Settings) -> int:
    from tqdm import tqdm

    from bot.news import news_client, reader_for

    if not settings.NEWS_SITE_URL:
        log.error("NEWS_SITE_URL is not set: put the commune portal's address in .env")
        return 2
    async with await Database.open(settings.DATABASE_PATH) as db, news_client(settings) as client:
        reader = reader_for(settings, db, client)
        with tqdm(desc="articles", unit=" page", file=sys.stderr, disable=False) as bar:

            def progress(what: str, done: int, total: int) -> None:
                if done == 1:  # a new batch of article pages: grow the bar's total
                    bar.total = (bar.total or 0) + total
                    bar.refresh()
                bar.update(1)

            report = await reader.run(progress)
        if report.backfill:
            # Old news from a first reading: the running bot must not alert it later (new
            # articles found by a later `ingest` are alerted at the bot's next poll).
            from storage.subscriptions import DigestReader

            digests = DigestReader(db)
            await digests.mark_announced(await digests.unannounced())
    kind = "first run, backfill" if report.backfill else "update"
    print(
        f"ingest finished ({kind}): {len(report.new)} new, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged, {len(report.failures)} failed; "
        f"{report.requests} requests to the site"
    )
    for url, reason in report.failures:
        print(f"  failed: {url}: {reason}")
    if not report.ok:
        log.error("could not read the website %s: %s", settings.NEWS_SITE_URL, report.site_error)
        return 1
    return 0
