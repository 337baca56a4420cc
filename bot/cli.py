"""The `commune-bot` command line: run the bot; migrate, back up or restore its database; doctor."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import MutableMapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, redact
from bot.ops.runlock import AlreadyRunning, RunLock
from bot.ops.server import ListenError
from bot.request import NotBotApi
from bot.zalo.webhook import WebhookListenError
from storage import BackupError, Database, DatabaseUnusable, MigrationError, backup_file

__all__ = ["main"]

log = logging.getLogger("bot")


def program_version() -> str:
    """The installed package's version (as pip shows it)."""
    try:
        return version("commune-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    # --env-file may come before or after the command: each command's parser knows it too,
    # with SUPPRESS as default so that leaving it out there keeps what came before.
    env_file = argparse.ArgumentParser(add_help=False)
    env_file.add_argument(
        "--env-file",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="settings file to read (default .env); relative paths in it are from its folder",
    )
    parser = argparse.ArgumentParser(
        prog="commune-bot",
        description="Telegram bot for a commune's news portal. Settings come from the "
        "environment and a .env file (see .env.example).",
        parents=[env_file],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {program_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run",
        parents=[env_file],
        help="run the bot (long polling, or a webhook if WEBHOOK_URL is set)",
    )
    commands.add_parser(
        "migrate", parents=[env_file], help="create or upgrade the database, then exit"
    )
    commands.add_parser(
        "ingest",
        parents=[env_file],
        help="read the commune's website once now, with progress and a summary",
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
        "backup",
        parents=[env_file],
        help="write a consistent copy of the database, even while the bot runs",
    )
    backup.add_argument("path", type=Path, help="where to write the copy")
    restore = commands.add_parser(
        "restore",
        parents=[env_file],
        help="put a backup in the database's place (the bot must be stopped)",
    )
    restore.add_argument("path", type=Path, help="the backup to restore")
    commands.add_parser(
        "doctor",
        parents=[env_file],
        help="check the settings, database, Telegram, webhook, portal and disk; one line each",
    )
    return parser


def opt_in_to_ptb_timedelta(environ: MutableMapping[str, str]) -> None:
    """Take PTB's future time periods (timedelta) now, so 429s do not raise deprecation warnings."""
    environ.setdefault("PTB_TIMEDELTA", "true")


DEMO_NOTICE = (
    "Chưa có BOT_TOKEN: đang chạy bản thử / no BOT_TOKEN: starting the demo; "
    "to run for real, see README (Quick start)"
)


def _no_token(env_file: str | None) -> bool:
    """No `.env`, no --env-file and neither BOT_TOKEN nor ZALO_APP_ID in the environment: a
    newcomer's first run.

    A settings file named with --env-file that is missing is an operator's mistake, not a first
    run: it gets the usual one-line error rather than the demo.
    """
    return (
        env_file is None
        and not Path(".env").exists()
        and not os.environ.get("BOT_TOKEN")
        and not os.environ.get("ZALO_APP_ID")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `commune-bot` and `python -m bot`; returns the exit status."""
    opt_in_to_ptb_timedelta(os.environ)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `commune-bot`: what it can do, not an error
        parser.print_help()
        return 2
    env_file = getattr(args, "env_file", None)
    if env_file is not None and not Path(env_file).is_file():
        problem = "is not a file" if Path(env_file).exists() else "does not exist"
        print(
            f"Configuration error: the settings file {env_file} given with --env-file {problem} "
            f"(looked for {Path(env_file).absolute()}); give the path of your .env file.",
            file=sys.stderr,
        )
        return 2
    if args.command == "doctor":  # reads the settings itself: a bad one is one of its findings
        from bot.ops.doctor import run_doctor

        # Its findings are its output: no stray library warning (Python's last-resort handler
        # would print it unredacted).
        logging.getLogger().addHandler(logging.NullHandler())
        return asyncio.run(run_doctor(env_file or ".env"))
    if args.command == "demo" or (args.command == "run" and _no_token(env_file)):
        from bot.demo import run_demo

        if args.command == "run":
            print(DEMO_NOTICE, file=sys.stderr, flush=True)
        return run_demo(getattr(args, "port", None), getattr(args, "database", None))
    try:
        # Only `run` talks to Telegram: the other commands neither need nor check its settings.
        settings = load_settings(env_file or ".env", telegram=args.command == "run")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.LOG_LEVEL, secrets=settings.secrets, log_format=settings.LOG_FORMAT)
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "ingest":
            return asyncio.run(_ingest(settings))
        if args.command == "restore":
            return asyncio.run(_restore(settings, args.path))
        return asyncio.run(_backup(settings, args.path))
    except MigrationError as exc:
        log.error("database %s: %s", database_path(settings), exc)
        return 1
    except (DatabaseUnusable, BackupError) as exc:
        log.error("%s", exc)
        return 1


def database_path(settings: Settings) -> Path:
    """The database file from the root, as the operator should see it in every message."""
    return _absolute(settings.DATABASE_PATH)


def _absolute(path: Path) -> Path:
    """`path` from the root (links left as they are)."""
    return Path(os.path.abspath(path))


def _starting(settings: Settings) -> None:
    """Say at start which database the bot uses, and what is missing to administer it."""
    log.info("commune-bot %s starting: database %s", program_version(), database_path(settings))
    if not settings.ADMIN_IDS:
        log.warning(
            "ADMIN_IDS is empty: nobody can administer the bot (staff, polls, announcements); "
            "set ADMIN_IDS to your Telegram user id (send /myid to the bot to learn it)"
        )


def _run(settings: Settings) -> int:
    from bot.app import build_application, serve

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(build_application(settings), stop)

    _starting(settings)
    # Held while the bot runs: `restore` refuses meanwhile, and so does a second bot on the
    # same database. The kernel drops it when the process ends, however it ends.
    lock = RunLock(database_path(settings))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        log.error(
            "another commune-bot (process %s) uses the database %s: stop it first, or give "
            "this one another DATABASE_PATH",
            exc.pid or "?", database_path(settings),
        )  # fmt: skip
        return 1
    try:
        asyncio.run(run())
    except NotBotApi as exc:
        log.error("cannot reach the Telegram Bot API: %s", redact(str(exc), [settings.token]))
        return 1
    except InvalidToken:
        log.error("Telegram refused BOT_TOKEN: check the token BotFather gave you (see README)")
        return 1
    except NetworkError as exc:
        log.error(
            "cannot reach Telegram at %s: %s; check the network and TELEGRAM_API_URL",
            settings.TELEGRAM_API_URL,
            redact(str(exc), settings.secrets),
        )
        return 1
    except TelegramError as exc:
        log.error("Telegram refused to start the bot: %s", exc)
        return 1
    except (ListenError, WebhookListenError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        lock.release()
    return 0


async def _migrate(settings: Settings) -> int:
    async with await Database.open(settings.DATABASE_PATH) as db:
        schema = await db.schema_version()
    print(f"database {database_path(settings)} is at schema version {schema}")
    return 0


async def _backup(settings: Settings, target: Path) -> int:
    source = database_path(settings)
    if not settings.DATABASE_PATH.exists():
        log.error("no database at %s: check DATABASE_PATH", source)
        return 1
    await backup_file(settings.DATABASE_PATH, target)
    print(f"backup of {source} written to {_absolute(target)}")
    return 0


async def _restore(settings: Settings, source: Path) -> int:
    from datetime import datetime

    from bot.ops.restore import RestoreError, restore

    try:
        done = await restore(settings.DATABASE_PATH, source, datetime.now(settings.tz))
    except RestoreError as exc:
        log.error("restore refused: %s", exc)
        return 1
    print(f"checked {done.source}: integrity ok, a commune-bot database at schema version "
          f"{done.schema}")  # fmt: skip
    if done.aside is not None:
        print(f"the previous database is kept as {done.aside}")
    else:
        print(f"there was no database at {done.database} before")
    print(f"restored {done.source} to {done.database}; start the bot again (it upgrades the "
          "schema if the copy is older)")  # fmt: skip
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
            from storage.articles import ArticleStore
            from storage.subscriptions import DigestReader

            await ArticleStore(db).mark_announced(await DigestReader(db).unannounced())
    kind = "first run, backfill" if report.backfill else "update"
    print(
        f"ingest finished ({kind}): {len(report.new)} new, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged, {len(report.failures)} failed; "
        f"{report.requests} requests to the site; database {database_path(settings)}"
    )
    for url, reason in report.failures:
        print(f"  failed: {url}: {reason}")
    if not report.ok:
        log.error("could not read the website %s: %s", settings.NEWS_SITE_URL, report.site_error)
        return 1
    return 0
