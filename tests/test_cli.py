"""The command line as an operator meets it: each mistake is one line saying what to do.

Every test runs `python -m bot` as a process, as cron or a service manager would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from storage import bundled_migrations
from tests.test_process import bot_env, complaints, run_cli

TOKEN = "123456789:AAHstandinTOKENabcdefghijklmnopqrstu"
SCHEMA = f"schema version {bundled_migrations()[-1].version}"


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command said (besides INFO lines), with no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = complaints(result.stderr)
    assert len(lines) == 1, result.stderr
    return lines[0]


def make_database(path: Path) -> Path:
    """A database at `path`, made by `migrate`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result = run_cli(["migrate"], path.parent, DATABASE_PATH=str(path), BOT_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    return path


# -- backup ---------------------------------------------------------------------------------


def test_backup_refuses_the_database_itself_by_any_name(tmp_path: Path) -> None:
    database = make_database(tmp_path / "data" / "bot.sqlite3")
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("INSERT INTO bot_state (key, value) VALUES ('marker', 'kept')")
    inode = database.stat().st_ino
    (tmp_path / "link.sqlite3").symlink_to(database)
    os.link(database, tmp_path / "hard.sqlite3")
    (tmp_path / "x").mkdir()
    (tmp_path / "linked-data").symlink_to(tmp_path / "data", target_is_directory=True)
    for target in (
        "data/bot.sqlite3",
        str(database),
        "link.sqlite3",  # a symbolic link to it
        "hard.sqlite3",  # a hard link: another name, the same file
        "./x/../data/bot.sqlite3",
        "linked-data/bot.sqlite3",  # through a linked folder
        "data/bot.sqlite3-wal",  # the files SQLite keeps beside it
        "data/bot.sqlite3-shm",
    ):
        result = run_cli(
            ["backup", target], tmp_path, DATABASE_PATH="data/bot.sqlite3", BOT_TOKEN=TOKEN
        )
        assert result.returncode == 1, target
        line = one_line(result)
        assert "is the live database's own file" in line, line
    assert database.stat().st_ino == inode  # never replaced
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT value FROM bot_state WHERE key = 'marker'").fetchall() == [
            ("kept",)
        ]
    assert not list(tmp_path.rglob("*.partial"))


def test_backup_to_a_folder_or_an_unwritable_place_is_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    make_database(tmp_path / "bot.sqlite3")
    (tmp_path / "backups").mkdir()
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    cases = {
        "backups": "is a folder: give the backup a file name in it",
        "backups/": "is a folder",
        "a-file/copy.sqlite3": "cannot write the backup to",
    }
    for target, expected in cases.items():
        result = run_cli(["backup", target], tmp_path, DATABASE_PATH="bot.sqlite3", BOT_TOKEN=TOKEN)
        assert result.returncode == 1, target
        assert expected in one_line(result)
    with read_only(tmp_path / "backups"):
        result = run_cli(
            ["backup", "backups/copy.sqlite3"],
            tmp_path,
            DATABASE_PATH="bot.sqlite3",
            BOT_TOKEN=TOKEN,
        )
    assert result.returncode == 1
    assert "cannot write the backup to" in one_line(result)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "backups", "bot.sqlite3"]


# -- settings only `run` needs ------------------------------------------------------------


async def test_commands_that_never_call_telegram_need_no_telegram_settings(
    portal: FakePortal, tmp_path: Path
) -> None:
    # No BOT_TOKEN at all, and webhook settings `run` would refuse.
    settings = {"WEBHOOK_URL": "http://bot.example.vn/hook", "WEBHOOK_PORT": "99999"}
    result = run_cli(["migrate"], tmp_path, DATABASE_PATH="bot.sqlite3", **settings)
    assert result.returncode == 0, result.stderr
    assert SCHEMA in result.stdout
    result = run_cli(["backup", "copy.sqlite3"], tmp_path, DATABASE_PATH="bot.sqlite3", **settings)
    assert result.returncode == 0, result.stderr
    result = await asyncio.to_thread(
        run_cli,
        ["ingest"],
        tmp_path,
        DATABASE_PATH="bot.sqlite3",
        NEWS_SITE_URL=portal.url,
        NEWS_BACKFILL_PAGES="1",
        BOT_TOKEN="not-a-token",
        **settings,
    )
    assert result.returncode == 0, result.stderr
    assert "ingest finished" in result.stdout
    # `run` still wants them, one line each (with a .env: without one, `run` is the demo).
    (tmp_path / ".env").write_text("# BOT_TOKEN= still to be filled in\n", encoding="utf-8")
    result = run_cli(["run"], tmp_path, DATABASE_PATH="bot.sqlite3")
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in one_line(result)
    result = run_cli(["run"], tmp_path, BOT_TOKEN=TOKEN, WEBHOOK_SECRET="s3cret", **settings)
    assert result.returncode == 2
    assert one_line(result).startswith("Configuration error: WEBHOOK_URL is malformed; expected")


def test_webhook_url_must_be_https_on_a_port_telegram_posts_to(tmp_path: Path) -> None:
    for url in (
        "http://bot.example.vn/hook",
        "ftp://bot.example.vn/hook",
        "https://bot.example.vn:8080/hook",
    ):
        result = run_cli(["run"], tmp_path, BOT_TOKEN=TOKEN, WEBHOOK_URL=url, WEBHOOK_SECRET="s")
        assert result.returncode == 2, url
        assert "WEBHOOK_URL is malformed; expected the public https:// address" in one_line(result)


# -- the command line itself --------------------------------------------------------------


def test_env_file_before_or_after_the_command_and_a_missing_one(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "bot.env").write_text("DATABASE_PATH=from-env-file.sqlite3\n", encoding="utf-8")
    for args in (["--env-file", "conf/bot.env", "migrate"], ["migrate", "--env-file=conf/bot.env"]):
        result = run_cli(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"database {conf / 'from-env-file.sqlite3'} is at {SCHEMA}" in result.stdout

    result = run_cli(["migrate", "--env-file", "conf/typo.env"], tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert "conf/typo.env" in line
    assert "does not exist" in line
    assert not (tmp_path / "data").exists()  # nothing was done with the defaults
    result = run_cli(["migrate", "--env-file", "conf"], tmp_path)
    assert result.returncode == 2
    assert "the settings file conf given with --env-file is not a file" in one_line(result)

    # Saved by an editor in a Windows code page instead of UTF-8.
    (conf / "bot.env").write_bytes("COMMUNE_NAME=Xã Bình Chánh\n".encode("cp1252"))
    result = run_cli(["migrate", "--env-file", "conf/bot.env"], tmp_path)
    assert result.returncode == 2
    assert "conf/bot.env is not UTF-8 text" in one_line(result)

    # The default .env may be absent: the environment alone is enough.
    result = run_cli(["migrate"], tmp_path, DATABASE_PATH="bot.sqlite3")
    assert result.returncode == 0, result.stderr


def test_bare_command_prints_the_help_and_version_is_the_package_version(tmp_path: Path) -> None:
    result = run_cli([], tmp_path)
    assert result.returncode == 2
    assert result.stderr == ""
    assert result.stdout == run_cli(["--help"], tmp_path).stdout
    result = run_cli(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"commune-bot {version('commune-bot')}"


# -- relative paths -------------------------------------------------------------------------


def test_relative_paths_in_the_env_file_are_from_its_folder(tmp_path: Path) -> None:
    home = tmp_path / "srv" / "commune-bot"
    home.mkdir(parents=True)
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    env_file = home / ".env"
    env_file.write_text("DATABASE_PATH=data/bot.sqlite3\n", encoding="utf-8")
    result = run_cli(["migrate", "--env-file", str(env_file)], elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"database {home / 'data' / 'bot.sqlite3'} is at {SCHEMA}" in result.stdout
    assert (home / "data" / "bot.sqlite3").exists()
    assert not (elsewhere / "data").exists()

    # Left at its default, DATABASE_PATH is beside the env file too.
    env_file.write_text("COMMUNE_NAME=Xã An Hải\n", encoding="utf-8")
    result = run_cli(["backup", "copy.sqlite3", "--env-file", str(env_file)], elsewhere)
    assert result.returncode == 1  # no database there yet: says where it looked
    assert f"no database at {home / 'data' / 'commune-bot.sqlite3'}" in one_line(result)

    # Set in the environment, a relative path is from the current directory, as in a shell.
    result = run_cli(["migrate", "--env-file", str(env_file)], elsewhere, DATABASE_PATH="x.db")
    assert f"database {elsewhere / 'x.db'} is at" in result.stdout


async def test_run_names_its_database_and_warns_when_nobody_can_administer_it(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text(
        f"BOT_TOKEN={telegram.token}\nTELEGRAM_API_URL={telegram.url}\n"
        "DATABASE_PATH=db/bot.sqlite3\nADMIN_IDS=\n",
        encoding="utf-8",
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--env-file", str(home / ".env"),
            cwd=tmp_path, env=bot_env(), stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        await telegram.wait_for("setMyCommands", timeout=30, language_code="en")
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.wait()
    assert process.returncode == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    assert f"INFO bot: commune-bot {version('commune-bot')} starting: database " + str(
        home / "db" / "bot.sqlite3"
    ) in "\n".join(lines)
    warnings = [line for line in lines if " WARNING " in line]
    assert len(warnings) == 1, lines
    assert "ADMIN_IDS is empty" in warnings[0]
    assert "set ADMIN_IDS to your Telegram user id" in warnings[0]


# -- what answers at TELEGRAM_API_URL -------------------------------------------------------


class _Answer(tornado.web.RequestHandler):
    """Whatever is at the address: the same answer to every request."""

    def initialize(self, status: int, content_type: str, body: bytes) -> None:
        self.answer = (status, content_type, body)

    def post(self, *_: str) -> None:
        status, content_type, body = self.answer
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(body)

    get = post

    def check_xsrf_cookie(self) -> None:
        """Not a form."""


@contextlib.asynccontextmanager
async def answering(status: int, content_type: str, body: bytes) -> AsyncIterator[str]:
    """A loopback HTTP server giving one answer to everything; yields its root address."""
    app = tornado.web.Application(
        [(r"/(.*)", _Answer, {"status": status, "content_type": content_type, "body": body})],
        log_function=lambda handler: None,
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    try:
        yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        server.stop()
        await server.close_all_connections()


PAGE = b"<html><body><h1>Wi-Fi login</h1>" + b"<p>Welcome to the hotel network</p>" * 40


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (404, "text/html", b"<html><body><h1>404 Not Found</h1>nginx</body></html>"),
        (502, "text/html; charset=utf-8", b"<html><h1>502 Bad Gateway</h1>" + PAGE),
        (200, "text/html", PAGE),  # a captive portal
        (200, "text/plain", b"ok"),
        (200, "application/json", b'{"status": "ok", "result": "not Telegram"}'),
        (401, "text/html", b"<html><h1>401 Authorization Required</h1></html>"),
    ],
    ids=["404-html", "502-html", "captive-portal", "200-text", "other-json", "401-html"],
)
async def test_an_answer_that_is_not_the_bot_api_is_one_line(
    tmp_path: Path, status: int, content_type: str, body: bytes
) -> None:
    async with answering(status, content_type, body) as root:
        result = await asyncio.to_thread(
            run_cli, ["run"], tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=root, ADMIN_IDS="1"
        )
    assert result.returncode == 1
    line = one_line(result)
    assert f"{root} answered HTTP {status} ({content_type.split(';')[0]})" in line
    assert "not the Telegram Bot API" in line
    assert "check TELEGRAM_API_URL and HTTPS_PROXY" in line
    assert "refused" not in line
    assert "Wi-Fi" not in result.stderr  # no page dumped
    assert TOKEN not in result.stderr
    assert TOKEN.split(":")[1] not in result.stderr


async def test_the_bot_apis_own_refusal_is_still_a_refused_token(tmp_path: Path) -> None:
    """The Bot API says 404 "Not Found" (JSON) to a token it cannot parse: a token problem."""
    body = b'{"ok":false,"error_code":404,"description":"Not Found"}'
    async with answering(404, "application/json", body) as root:
        result = await asyncio.to_thread(
            run_cli, ["run"], tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=root, ADMIN_IDS="1"
        )
    assert result.returncode == 1
    assert "Telegram refused BOT_TOKEN" in one_line(result)


# -- a database that cannot be used -------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file or folder read-only for this process, even for root (who ignores modes)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def unusable_databases(tmp_path: Path) -> dict[str, Path]:
    """A database file for each way one can be unusable (read-only ones made so by the test)."""
    good = make_database(tmp_path / "good" / "bot.sqlite3")
    content = good.read_bytes()
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "text.sqlite3").write_text("BOT_TOKEN=... not a database\n" * 100, encoding="utf-8")
    (cases / "truncated.sqlite3").write_bytes(content[: len(content) // 2])
    damaged = bytearray(content)
    damaged[4096:12288] = b"\xff" * 8192
    (cases / "damaged.sqlite3").write_bytes(bytes(damaged))
    (cases / "read-only.sqlite3").write_bytes(content)
    (cases / "locked-folder").mkdir()
    (cases / "locked-folder" / "bot.sqlite3").write_bytes(content)
    (cases / "a-file").write_text("x", encoding="utf-8")
    (cases / "a-folder").mkdir()
    return {
        "damaged or is not a SQLite database": cases / "text.sqlite3",
        "damaged or is not a SQLite database ": cases / "truncated.sqlite3",
        "damaged or is not a SQLite database  ": cases / "damaged.sqlite3",
        "cannot open the database": cases / "read-only.sqlite3",
        "cannot open the database ": cases / "locked-folder" / "bot.sqlite3",
        "cannot create the folder": cases / "a-file" / "db" / "bot.sqlite3",
        "is a folder: give the database a file name": cases / "a-folder",
    }


async def test_an_unusable_database_is_one_line_for_every_command(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    commands = {
        "migrate": ["migrate"],
        "backup": ["backup", str(tmp_path / "copy.sqlite3")],
        "ingest": ["ingest"],
        "run": ["run"],
    }
    settings = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "NEWS_SITE_URL": portal.url,
        "ADMIN_IDS": "1",
    }
    for expected, database in unusable_databases(tmp_path).items():
        for name, args in commands.items():
            if name == "backup" and expected.startswith("cannot create"):
                continue  # no database there: "no database at ...", tested elsewhere
            if name == "backup" and "read-only" in database.name:
                continue  # reading a read-only file is all a backup needs
            holder = database.parent if database.parent.name == "locked-folder" else database
            guard = read_only(holder) if "cannot open" in expected else contextlib.nullcontext()
            with guard:
                result = await asyncio.to_thread(
                    run_cli, args, tmp_path, DATABASE_PATH=str(database), **settings
                )
            assert result.returncode == 1, (name, database, result.stderr)
            line = one_line(result)
            assert expected.strip() in line, (name, line)
            where = database.parent if expected.startswith("cannot create") else database
            assert str(where) in line, (name, line)
    assert not (tmp_path / "copy.sqlite3").exists()
