"""`commune-bot doctor` as a process against the stand-ins: all ✓, then each ✗ on its own."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from storage import bundled_migrations
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
    code, lines = await doctor(tmp_path, **values, **zalo)
    assert code == 0, lines
    assert list(lines) == ["settings", "database", "disk", "portal"]
    assert lines["settings"] == "✓ settings: read from the environment; Zalo alone, no Telegram"
    assert not any(secret in "".join(lines.values()) for secret in zalo.values())
