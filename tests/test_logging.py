"""The bot token never reaches a log line, even at DEBUG level with failures on the way."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.logs import configure_logging, redact
from bot.standins.telegram import FakeTelegram


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
