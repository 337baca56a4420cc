"""`commune-bot doctor` as a process against the stand-ins: all ✓, then each ✗ on its own."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ops.runlock import RunLock
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from bot.standins.zalo import OAUTH_PATH, PROFILE_PATH, FakeZalo
from storage import bundled_migrations
from storage.db import Database
from storage.zalo_tokens import ZaloTokenStore
from tests.test_process import bot_env, run_cli

pytestmark = pytest.mark.timeout(120)

CHECKS = ["settings", "database", "disk", "telegram", "webhook", "portal"]


def settings_for(telegram: FakeTelegram, portal: FakePortal, tmp_path: Path) -> dict[str, str]:
    """A good configuration: the stand-ins, a migrated database, an owner, a modest disk limit."""
    database = tmp_path / "data" / "bot.sqlite3"
    if not database.exists():
        made = run_cli(["migrate"], tmp_path, DATABASE_PATH=str(database))
        assert made.returncode == 0, made.stderr
    return {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "DATABASE_PATH": str(database),
        "NEWS_SITE_URL": portal.url,
        "NEWS_RETRIES": "0",
        "ADMIN_IDS": "1001",
        "DISK_MIN_FREE_MB": "1",
    }


async def doctor(tmp_path: Path, **values: str) -> tuple[int, dict[str, str]]:
    """Run `python -m bot doctor`; its exit status and its lines by check name."""

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "doctor"],
            cwd=tmp_path, env=bot_env(**values), capture_output=True, text=True, timeout=90,
            check=False,
        )  # fmt: skip

    # In a thread: the stand-ins answer on this test's event loop meanwhile.
    done = await asyncio.to_thread(run)
    assert done.stderr == ""
    lines: dict[str, str] = {}
    for line in done.stdout.splitlines():
        mark, _, rest = line.partition(" ")
        assert mark in ("✓", "✗"), line
        name, _, _ = rest.partition(":")
        assert name not in lines, line  # one line per check
        lines[name] = line
    return done.returncode, lines


def damage(database: Path) -> None:
    """Overwrite the first page's b-tree, as a disk fault or a copy taken mid-write would."""
    damaged = bytearray(database.read_bytes())
    damaged[100:4096] = b"\xff" * (4096 - 100)
    database.write_bytes(bytes(damaged))


def failing(lines: dict[str, str]) -> list[str]:
    return [name for name, line in lines.items() if line.startswith("✗")]


async def test_doctor_all_well(telegram: FakeTelegram, portal: FakePortal, tmp_path: Path) -> None:
    code, lines = await doctor(tmp_path, **settings_for(telegram, portal, tmp_path))
    assert code == 0, lines
    assert list(lines) == CHECKS
    assert failing(lines) == []
    latest = bundled_migrations()[-1].version
    database = tmp_path / "data" / "bot.sqlite3"
    assert lines["settings"] == "✓ settings: read from the environment; long polling"
    assert lines["database"].startswith(f"✓ database: {database}, ")
    assert f"schema version {latest}, integrity ok" in lines["database"]
    assert lines["telegram"] == (
        f"✓ telegram: {telegram.url} reachable, the token is accepted: @tinxa_test_bot"
    )
    assert lines["webhook"] == "✓ webhook: none (long polling); 0 updates waiting"
    assert lines["portal"].startswith(f"✓ portal: {portal.url}/ lists ")
    assert "(dnn); one read in full: " in lines["portal"]
    assert telegram.token not in "".join(lines.values())


async def test_doctor_bad_token(telegram: FakeTelegram, portal: FakePortal, tmp_path: Path) -> None:
    values = settings_for(telegram, portal, tmp_path)
    values["BOT_TOKEN"] = "987654321:AAHsomeoneELSEStokenabcdefghijklmnop"
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["telegram"]  # no webhook line: Telegram said nothing more
    assert lines["telegram"] == (
        f"✗ telegram: {telegram.url} refused BOT_TOKEN: copy the token again from @BotFather "
        "(/token)"
    )
    assert values["BOT_TOKEN"] not in "".join(lines.values())


async def test_doctor_telegram_unreachable(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    values = settings_for(telegram, portal, tmp_path)
    values["TELEGRAM_API_URL"] = nowhere
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["telegram"]
    assert lines["telegram"].startswith(f"✗ telegram: cannot reach Telegram at {nowhere} (")
    assert lines["telegram"].endswith("check the network, TELEGRAM_API_URL and HTTPS_PROXY")
    assert telegram.token not in lines["telegram"]


async def test_doctor_webhook_last_error(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    hook = "https://bot.example.vn/telegram"
    telegram.webhook = {"url": hook, "secret_token": "old-secret"}
    telegram.webhook_last_error = (int(time.time()) - 60, "Wrong response from the webhook: 403")
    values = settings_for(telegram, portal, tmp_path)
    code, lines = await doctor(tmp_path, **values, WEBHOOK_URL=hook, WEBHOOK_SECRET="new-secret")
    assert code == 1
    assert failing(lines) == ["webhook"]
    assert lines["settings"] == f"✓ settings: read from the environment; webhook at {hook}"
    assert lines["webhook"].startswith(f"✗ webhook: Telegram's last error delivering to {hook} (")
    assert "Wrong response from the webhook: 403; 0 updates waiting" in lines["webhook"]
    assert lines["webhook"].endswith("restart the bot after changing WEBHOOK_SECRET")
    assert "new-secret" not in "".join(lines.values())


async def test_doctor_webhook_not_registered(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    values = settings_for(telegram, portal, tmp_path)
    hook = "https://bot.example.vn/telegram"
    code, lines = await doctor(tmp_path, **values, WEBHOOK_URL=hook, WEBHOOK_SECRET="s3cret")
    assert code == 1
    assert failing(lines) == ["webhook"]
    assert lines["webhook"] == (
        f"✗ webhook: Telegram has webhook none, not WEBHOOK_URL {hook}: start the bot, which "
        "registers it"
    )


async def test_doctor_portal_down(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    portal.set_down(True)
    code, lines = await doctor(tmp_path, **settings_for(telegram, portal, tmp_path))
    assert code == 1
    assert failing(lines) == ["portal"]
    assert lines["portal"].startswith(f"✗ portal: cannot read {portal.url}/: ")
    assert "503" in lines["portal"]
    assert lines["portal"].endswith("and that the site opens from this server (curl it)")


async def test_doctor_portal_unparsable(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    portal.transform(lambda raw: "<html><body><p>Trang đang bảo trì</p></body></html>".encode())
    code, lines = await doctor(tmp_path, **settings_for(telegram, portal, tmp_path))
    assert code == 1
    assert failing(lines) == ["portal"]
    assert lines["portal"] == (
        f"✗ portal: read but not understood: {portal.url}/: not a list of news: no links to "
        "articles on this page: check NEWS_SITE_URL and NEWS_SOURCES; if the portal changed its "
        "layout, report its address"
    )


async def test_doctor_database_damaged(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    values = settings_for(telegram, portal, tmp_path)
    database = Path(values["DATABASE_PATH"])
    damage(database)
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["database"]
    assert lines["database"].startswith(f"✗ database: the database {database} is damaged")
    assert lines["database"].endswith(
        "restore the latest backup with commune-bot restore PATH (docs/operations.md)"
    )


async def test_doctor_low_disk(telegram: FakeTelegram, portal: FakePortal, tmp_path: Path) -> None:
    values = settings_for(telegram, portal, tmp_path)
    values["DISK_MIN_FREE_MB"] = str(10**9)  # a petabyte: no test machine has it free
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["disk"]
    assert lines["disk"].startswith("✗ disk: only ")
    assert "(DISK_MIN_FREE_MB is 1000000000): free some space" in lines["disk"]


async def test_doctor_bad_setting(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    values = settings_for(telegram, portal, tmp_path)
    code, lines = await doctor(tmp_path, **values, WEBHOOK_PORT="99999")
    assert code == 1
    assert lines["settings"].startswith(
        "✗ settings: Configuration error: WEBHOOK_PORT is malformed"
    )
    # What needs no Telegram settings is still checked; Telegram is not, with a bad one.
    assert list(lines) == ["settings", "database", "disk", "portal"]
    assert failing(lines) == ["settings"]


async def test_doctor_with_zalo_alone_checks_no_telegram(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    values = settings_for(telegram, portal, tmp_path)
    del values["BOT_TOKEN"], values["TELEGRAM_API_URL"]
    zalo = {
        "ZALO_APP_ID": "4512893018273645123",
        "ZALO_APP_SECRET": "appSECRET0123",
        "ZALO_OA_SECRET_KEY": "oaSECRETkey",
        "ZALO_REFRESH_TOKEN": "refresh-0123",
    }
    code, lines = await doctor(tmp_path, **values, **zalo, ZALO_WEBHOOK_LISTEN=free_address())
    assert code == 0, lines
    assert list(lines) == ["settings", "database", "disk", *ZALO_CHECKS, "portal"]
    assert lines["settings"] == "✓ settings: read from the environment; Zalo alone, no Telegram"
    assert not any(secret in "".join(lines.values()) for secret in zalo.values())


# -- Zalo: checked without spending the single-use refresh token -----------------------------

ZALO_CHECKS = ["zalo", "zalo token", "zalo webhook", "zalo api"]


def free_address() -> str:
    """A loopback address nobody listens on (as far as anyone can know in advance)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


async def with_zalo(
    telegram: FakeTelegram,
    portal: FakePortal,
    zalo: FakeZalo,
    tmp_path: Path,
    *,
    valid_for: timedelta | None,
) -> tuple[dict[str, str], str | None]:
    """Settings with the stand-in Zalo; the database holding the tokens a refresh stored, the
    access token valid for `valid_for` (negative: expired), or none stored (None)."""
    values = settings_for(telegram, portal, tmp_path)
    values.update(zalo.settings(), ZALO_WEBHOOK_LISTEN=free_address())
    access = None
    async with await Database.open(values["DATABASE_PATH"]) as db:
        store = ZaloTokenStore(db)
        await store.load(zalo.refresh_token)  # as the bot's first start does
        if valid_for is not None:
            access = zalo.issue_access_token()
            rotated = "rt-rotated-" + access[-8:]
            now = datetime.now(UTC)
            assert await store.record_refresh(zalo.refresh_token, rotated, access, now + valid_for)
    return values, access


async def test_doctor_zalo_with_a_fresh_token_reads_the_oa_profile_and_spends_nothing(
    telegram: FakeTelegram, portal: FakePortal, zalo: FakeZalo, tmp_path: Path
) -> None:
    values, access = await with_zalo(
        telegram, portal, zalo, tmp_path, valid_for=timedelta(hours=20)
    )
    assert access is not None
    code, lines = await doctor(tmp_path, **values)
    assert code == 0, lines
    assert list(lines) == [*CHECKS[:-1], *ZALO_CHECKS, "portal"]
    assert lines["settings"].endswith("long polling, and Zalo")
    assert lines["zalo"].startswith(f"✓ zalo: the four keys are set; OA API {zalo.url}, ")
    assert lines["zalo token"].startswith("✓ zalo token: an access token is stored, valid ")
    assert " more hours (until " in lines["zalo token"]
    listen = values["ZALO_WEBHOOK_LISTEN"]
    assert lines["zalo webhook"] == f"✓ zalo webhook: {listen} is free for the bot to listen on"
    assert lines["zalo api"] == (
        f"✓ zalo api: {zalo.url} answers with the stored token: the OA is 'UBND xã Tân Hòa' "
        f"(GET {PROFILE_PATH} (an unverified endpoint))"
    )
    [asked] = zalo.calls_to(PROFILE_PATH)
    assert asked.access_token == access
    assert zalo.calls_to(OAUTH_PATH) == []  # nothing refreshed: the refresh token is unspent
    shown = "".join(lines.values())
    assert access not in shown
    assert not any(secret in shown for secret in (zalo.app_secret, zalo.oa_secret_key,
                                                  zalo.refresh_token))  # fmt: skip


async def test_doctor_zalo_with_an_expired_token_calls_nobody(
    telegram: FakeTelegram, portal: FakePortal, zalo: FakeZalo, tmp_path: Path
) -> None:
    values, _ = await with_zalo(telegram, portal, zalo, tmp_path, valid_for=timedelta(hours=-2))
    code, lines = await doctor(tmp_path, **values)
    assert code == 0, lines
    assert lines["zalo token"].startswith("✓ zalo token: the stored access token expired at ")
    assert "the bot refreshes it when it starts; last refreshed " in lines["zalo token"]
    assert lines["zalo api"].startswith("✓ zalo api: not called: no valid access token is stored")
    assert zalo.calls == []  # neither the OA API nor the token server was asked anything


async def test_doctor_zalo_says_when_the_api_refuses(
    telegram: FakeTelegram, portal: FakePortal, zalo: FakeZalo, tmp_path: Path
) -> None:
    values, _ = await with_zalo(telegram, portal, zalo, tmp_path, valid_for=timedelta(hours=20))
    zalo.fail(-224, path=PROFILE_PATH)  # Zalo refuses the call: its words, and what to do
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["zalo api"]
    assert lines["zalo api"].startswith(
        f"✗ zalo api: Zalo refused GET {PROFILE_PATH} (an unverified endpoint) (-224: "
    )
    assert "this line alone is not a fault" in lines["zalo api"]
    zalo.revoke_access_tokens()  # Zalo no longer takes the stored access token (-216)
    code, lines = await doctor(tmp_path, **values)
    assert code == 1
    assert failing(lines) == ["zalo api"]
    assert lines["zalo api"].startswith(
        "✗ zalo api: Zalo refused the stored access token (-216: Access token is invalid): "
    )
    assert lines["zalo api"].endswith("restart the bot and read the log's 'Zalo' lines")
    assert zalo.calls_to(OAUTH_PATH) == []  # refused or not, nothing was refreshed


async def test_doctor_zalo_webhook_port_busy_or_held_by_the_running_bot(
    telegram: FakeTelegram, portal: FakePortal, zalo: FakeZalo, tmp_path: Path
) -> None:
    values, _ = await with_zalo(telegram, portal, zalo, tmp_path, valid_for=None)
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = f"127.0.0.1:{other.getsockname()[1]}"
        values["ZALO_WEBHOOK_LISTEN"] = taken
        code, lines = await doctor(tmp_path, **values)
        assert code == 1
        assert failing(lines) == ["zalo webhook"]
        assert lines["zalo webhook"].startswith(
            f"✗ zalo webhook: {taken} is taken by another program and the bot is not running: "
        )
        assert "set ZALO_WEBHOOK_LISTEN to a free port" in lines["zalo webhook"]
        assert lines["zalo token"] == (
            "✓ zalo token: no access token stored yet: the bot gets one at start"
        )
        # The bot runs (it holds the run lock) and listens there: that is as it should be.
        lock = RunLock(Path(values["DATABASE_PATH"]))
        with lock.held():
            code, lines = await doctor(tmp_path, **values)
    assert lines["zalo webhook"] == (
        f"✓ zalo webhook: {taken} is in use by the running bot (process {os.getpid()})"
    )
    # The running bot holding no access token is a fault: Zalo would not give it one.
    assert code == 1
    assert failing(lines) == ["zalo token"]
    assert "see the log's 'Zalo' lines" in lines["zalo token"]
