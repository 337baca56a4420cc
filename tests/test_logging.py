"""The bot token never reaches a log line, even at DEBUG level with failures on the way."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.logs import configure_logging, mask, redact
from bot.standins.telegram import FakeTelegram
from tests.conftest import make_settings


@pytest.fixture
def debug_log(settings: Settings) -> Iterator[io.StringIO]:
    """Everything logged during the test, through the bot's own logging set-up at DEBUG."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    handler = configure_logging("DEBUG", secrets=[settings.token], stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


async def test_token_absent_from_debug_logs(
    telegram: FakeTelegram, settings: Settings, debug_log: io.StringIO
) -> None:
    lan = telegram.user(601, "Lan")
    async with running(build_application(settings)):
        await telegram.reply_to(lan, "/start")
        telegram.fail_server("sendMessage", 502)  # an error, logged with its traceback
        start = telegram.mark()
        await telegram.send(lan, "/help")
        await telegram.wait_for("sendMessage", after=start, where=lambda c: c.ok)
        telegram.fail_flood("sendMessage", retry_after=1)  # a 429, logged and waited out
        start = telegram.mark()
        await telegram.send(lan, "/help")
        await telegram.wait_for("sendMessage", after=start, where=lambda c: c.ok)

    output = debug_log.getvalue()
    # The log is really at DEBUG and really saw the request addresses that carry the token...
    assert "DEBUG" in output
    assert "/bot[REDACTED]/sendMessage" in output
    assert "update 2 failed" in output
    assert "Traceback" in output
    assert "Telegram asked to wait 1s before sendMessage" in output
    # ...and the token is nowhere, in any form.
    assert settings.token not in output
    assert quote(settings.token, safe="") not in output
    assert settings.token.split(":")[1] not in output


def test_redact_masks_plain_and_url_encoded() -> None:
    token = "123:abc/def"
    text = f"GET /bot{token}/getMe and /bot{quote(token, safe='')}/x"
    assert redact(text, [token]) == "GET /bot[REDACTED]/getMe and /bot[REDACTED]/x"


OWNER_ID = 7_300_000_001  # ids long enough that no key, port or timestamp holds them by chance
RESIDENT_ID = 5_550_777_001
NEWCOMER_ID = 5_550_777_002  # never opened the bot: Telegram knows no chat with them
GROUP_ID = -1_009_876_543_210


async def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until `check()` holds (a log line written after the call a test can wait for)."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the state checked is the log's, not an event
            await asyncio.sleep(0.05)


async def test_no_telegram_id_in_log_lines_at_info_or_above(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(tmp_path, telegram, ADMIN_IDS=str(OWNER_ID))
    owner = telegram.user(OWNER_ID, "Chủ tịch")
    lan = telegram.user(RESIDENT_ID, "Lan")
    group = telegram.group(GROUP_ID, "Thôn Mỹ Trà")

    def logged(part: str) -> bool:
        return any(part in r.getMessage() for r in caplog.records)

    async with running(build_application(settings)):
        # A reply fails, and so does the apology that follows.
        telegram.fail_server("sendMessage", times=2)
        await telegram.send(lan, "/help")
        await eventually(lambda: logged("about the failure"))
        # A resident tries a staff command.
        await telegram.reply_to(lan, "/addstaff 123456789")
        # An owner adds someone Telegram cannot name nor give a menu, then removes them while
        # Telegram refuses to remove the menu.
        await telegram.reply_to(owner, f"/addstaff {NEWCOMER_ID}")
        telegram.fail("deleteMyCommands", 400, "Bad Request: chat not found")
        await telegram.reply_to(owner, f"/removestaff {NEWCOMER_ID}")
        # The poll in a group: a vote, and the redraw of the shared message is refused.
        start = telegram.mark()
        await telegram.send(owner, "/poll", chat=group)
        posted = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
        option = posted.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        telegram.fail("editMessageText", 400, "Bad Request: message can't be edited")
        await telegram.press(lan, telegram.message(group.id, posted.result["message_id"]), option)
        await eventually(lambda: logged("can no longer be edited"))
        await telegram.reply_to(owner, "/closepoll")

    for part in ("refused /addstaff to a resident", "made", "removed", "command menu", "closed by"):
        assert logged(part), part
    ids = {str(OWNER_ID), str(RESIDENT_ID), str(NEWCOMER_ID), str(-GROUP_ID)}
    plain = logging.Formatter("%(message)s")
    loud = [plain.format(r) for r in caplog.records if r.levelno >= logging.INFO]
    assert [line for line in loud if any(i in line for i in ids)] == []
    # The scan would have seen them: the ids are there at DEBUG level.
    quiet = [plain.format(r) for r in caplog.records if r.levelno < logging.INFO]
    assert any(str(NEWCOMER_ID) in line for line in quiet)


WEBHOOK_SECRET = "hook-secret-8f3a9c2d71"
STATS_KEY = 'k"e\\y with quotes and a backslash 5d41402abc4b2a76'


async def test_json_log_lines_parse_and_hold_no_secret_or_id(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, telegram, ADMIN_IDS=str(OWNER_ID), WEBHOOK_SECRET=WEBHOOK_SECRET,
        STATS_KEY=STATS_KEY,
    )  # fmt: skip
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    handler = configure_logging("DEBUG", settings.secrets, stream=stream, log_format="json")
    lan = telegram.user(RESIDENT_ID, "Lan")
    try:
        async with running(build_application(settings)):
            await telegram.reply_to(lan, "/start")
            telegram.fail_server("sendMessage", times=2)  # an error with its traceback
            await telegram.send(lan, "/help")
            await eventually(lambda: "about the failure" in stream.getvalue())
            await telegram.reply_to(lan, "/addstaff 123456789")  # refused: logged at INFO
            logging.getLogger("bot.test").warning(
                "secrets passed by mistake: %s %s %s", settings.token, WEBHOOK_SECRET, STATS_KEY,
                extra={"component": "test"},
            )  # fmt: skip
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)

    output = stream.getvalue()
    events = [json.loads(line) for line in output.splitlines()]  # one object per line
    assert len(events) > 20
    for event in events:
        assert {"time", "level", "logger", "message", "pid"} <= event.keys()
        assert event["time"].endswith("Z")
        datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert any(e["level"] == "DEBUG" and "/bot[REDACTED]/" in e["message"] for e in events)
    failed = [e for e in events if "exception" in e]
    assert failed
    assert "Traceback" in failed[0]["exception"]
    (mistake,) = [e for e in events if e["message"].startswith("secrets passed by mistake")]
    assert mistake["message"] == "secrets passed by mistake: [REDACTED] [REDACTED] [REDACTED]"
    assert mistake["component"] == "test"
    assert mistake["level"] == "WARNING"
    assert mistake["logger"] == "bot.test"
    for secret in (settings.token, WEBHOOK_SECRET, STATS_KEY, json.dumps(STATS_KEY)[1:-1]):
        assert secret not in output
    assert settings.token.split(":")[1] not in output
    loud = [json.dumps(e) for e in events if e["level"] not in ("DEBUG",)]
    assert any("refused /addstaff" in line for line in loud)
    assert [line for line in loud if str(RESIDENT_ID) in line or str(OWNER_ID) in line] == []


def test_log_format_json_from_the_settings(tmp_path: Path) -> None:
    from tests.test_process import run_cli

    done = run_cli(
        ["backup", str(tmp_path / "copy.sqlite3")],
        tmp_path,
        DATABASE_PATH=str(tmp_path / "missing.sqlite3"),
        LOG_FORMAT="json",
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    event = json.loads(line)
    assert event["level"] == "ERROR"
    assert event["message"].startswith("no database at ")
    assert event["logger"] == "bot"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_secret_learnt_while_running_is_masked_from_then_on(log_format: str) -> None:
    # Zalo's tokens rotate: the settings never knew them, the log must mask them all the same.
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", secrets=[], stream=stream, log_format=log_format)  # type: ignore[arg-type]
    try:
        logging.getLogger("test").debug("before: at-rotated-0123")
        mask("at-rotated-0123")
        logging.getLogger("test").debug("after: %s", ("at-rotated-0123",))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    before, after = stream.getvalue().splitlines()
    assert "at-rotated-0123" in before
    assert "at-rotated-0123" not in after
    assert "[REDACTED]" in after
