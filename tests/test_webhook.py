"""Webhook mode: Telegram posts updates to the bot, which checks the secret on every request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.app import build_application, running
from bot.standins.telegram import FakeTelegram
from bot.webhook import MAX_BODY_BYTES, SECRET_HEADER
from tests.conftest import make_settings
from tests.test_process import bot_env


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_answers_and_checks_the_secret(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    # Telegram posts to the public https address; the operator's reverse proxy (here the
    # stand-in's) passes it on to where the bot listens.
    hook = "https://bot.example.vn/telegram-hook"
    telegram.reverse_proxy["https://bot.example.vn"] = f"http://127.0.0.1:{port}"
    local = f"http://127.0.0.1:{port}/telegram-hook"
    settings = make_settings(
        tmp_path,
        telegram,
        WEBHOOK_URL=hook,
        WEBHOOK_SECRET="xa-binh-chanh-2026",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    lan = telegram.user(801, "Lan")
    async with running(build_application(settings)):
        registration = telegram.calls_to("setWebhook")[-1]
        assert registration.params["url"] == hook
        assert registration.params["secret_token"] == "xa-binh-chanh-2026"

        reply = await telegram.reply_to(lan, "/start")  # delivered by POST to the webhook
        assert reply.params["text"].startswith("Xin chào Lan!")
        assert telegram.get_updates_calls == 0
        assert telegram.webhook_deliveries[-1][1] == 200

        # A request without the secret, or with a wrong one, is refused and not handled.
        forged = {
            "update_id": 99999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": lan.id, "type": "private"},
                "from": lan.to_api(),
                "text": "/help",
            },
        }
        start = telegram.mark()
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "doan-sai"}):
                response = await client.post(
                    local,
                    content=json.dumps(forged),
                    headers={"Content-Type": "application/json", **headers},
                )
                assert response.status_code == 403
        reply = await telegram.reply_to(lan, "/help")
        assert not [
            c for c in telegram.calls[start:] if "/help" in str(c.params) and c is not reply
        ]
        assert len(telegram.calls_to("sendMessage", after=start)) == 1


SECRET = "xa-binh-chanh-2026"
FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture
async def hook(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[str]:
    """The bot running in webhook mode; yields the webhook's address."""
    port = free_port()
    address = f"http://127.0.0.1:{port}/telegram-hook"
    # Telegram posts to the public https address; the stand-in's reverse proxy passes it on.
    telegram.reverse_proxy["https://bot.example.vn"] = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path,
        telegram,
        WEBHOOK_URL="https://bot.example.vn/telegram-hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    async with running(build_application(settings)):
        yield address


async def post_headers(
    address: str, headers: dict[str, str], method: str = "POST"
) -> tuple[bytes, bytes]:
    """Send a POST's headers only, none of its body; the status line the server answers with
    (within 5 s) and what it sent until it closed the connection."""
    url = urlsplit(address)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        lines = [f"{method} {url.path} HTTP/1.1", f"Host: {url.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        async with asyncio.timeout(5):
            status = await reader.readline()
            rest = await reader.read()  # the server closes: it will not read the body
        return status, rest
    finally:
        writer.close()


@pytest.mark.parametrize("secret", [None, "doan-sai", SECRET[:-1], SECRET + "x"])
async def test_a_wrong_secret_is_refused_before_the_body_is_read(
    telegram: FakeTelegram, hook: str, secret: str | None
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(FIFTY_MB)}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    status, _ = await post_headers(hook, headers)
    assert status.startswith(b"HTTP/1.1 403")


async def test_other_addresses_and_methods_are_refused_before_the_body_is_read(
    telegram: FakeTelegram, hook: str
) -> None:
    headers = {"Content-Length": str(FIFTY_MB), SECRET_HEADER: SECRET}
    status, _ = await post_headers(hook.replace("/telegram-hook", "/elsewhere"), headers)
    assert status.startswith(b"HTTP/1.1 404")
    status, _ = await post_headers(hook, headers, method="PUT")
    assert status.startswith(b"HTTP/1.1 405")


async def test_a_body_over_the_cap_is_refused_with_413(telegram: FakeTelegram, hook: str) -> None:
    # Declared too large: refused at once, nothing read.
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(MAX_BODY_BYTES + 1),
        SECRET_HEADER: SECRET,
    }
    status, _ = await post_headers(hook, headers)
    assert status.startswith(b"HTTP/1.1 413")

    # Sent in chunks with no length declared: refused once the cap is passed, long before
    # the 50 MB are sent.
    url = urlsplit(hook)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nTransfer-Encoding: chunked\r\n"
        f"{SECRET_HEADER}: {SECRET}\r\n\r\n"
    )
    writer.write(head.encode())
    sent = 0

    async def send_chunks() -> None:
        nonlocal sent
        chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
        with contextlib.suppress(ConnectionError):
            while sent < FIFTY_MB:
                writer.write(chunk)
                await writer.drain()
                sent += 65536
            writer.write(b"0\r\n\r\n")

    sender = asyncio.create_task(send_chunks())
    try:
        async with asyncio.timeout(10):
            try:
                status = await reader.readline()
            except ConnectionResetError:
                # The server answered and closed with our chunks still unread in its buffer:
                # its kernel resets the connection, which may drop the answer on our side.
                status = b"reset"
            await sender  # ends when the server has closed the connection
        assert status.startswith(b"HTTP/1.1 413") or status == b"reset"
        # It read past the cap, then stopped: the rest of the 50 MB could not be sent.
        assert MAX_BODY_BYTES < sent < 16 * 1024 * 1024
    finally:
        writer.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender

    # And the bot still takes a good update.
    lan = telegram.user(802, "Lan")
    reply = await telegram.reply_to(lan, "/start")
    assert reply.params["text"].startswith("Xin chào Lan!")
    assert telegram.webhook_deliveries[-1][1] == 200


async def test_a_good_update_of_any_size_up_to_the_cap_is_taken(
    telegram: FakeTelegram, hook: str
) -> None:
    lan = telegram.user(803, "Lan")
    mark = telegram.mark()
    # A long message (Telegram allows 4,096 characters) from a resident: a search.
    update = {
        "update_id": 424242,
        "message": {
            "message_id": 7,
            "date": 0,
            "chat": {"id": lan.id, "type": "private"},
            "from": lan.to_api(),
            "text": "dân vận " * 500,
        },
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(
            hook, content=json.dumps(update), headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200
        for bad in (b"not json", b"[1, 2]", b'{"no_update_id": 1}'):
            response = await client.post(hook, content=bad, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 400
    await telegram.wait_for("sendMessage", after=mark, chat_id=lan.id)


async def test_the_secret_is_in_no_log_line_even_at_debug(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`commune-bot run` at DEBUG in webhook mode: PTB logs setWebhook's parameters, the
    secret among them, and the log masks it like the token."""
    port = free_port()
    address = f"http://127.0.0.1:{port}/telegram-hook"
    telegram.reverse_proxy["https://bot.example.vn"] = f"http://127.0.0.1:{port}"
    log = tmp_path / "bot.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=tmp_path,
            env=bot_env(
                BOT_TOKEN=telegram.token,
                TELEGRAM_API_URL=telegram.url,
                DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
                LOG_LEVEL="DEBUG",
                WEBHOOK_URL="https://bot.example.vn/telegram-hook",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
            ),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    try:
        await telegram.wait_for("setWebhook", timeout=30)
        lan = telegram.user(804, "Lan")
        reply = await telegram.reply_to(lan, "/start", timeout=15)
        assert reply.params["text"].startswith("Xin chào Lan!")
        async with httpx.AsyncClient() as client:
            for headers in ({}, {SECRET_HEADER: "doan-sai"}, {SECRET_HEADER: SECRET[:-1]}):
                response = await client.post(address, content=b"{}", headers=headers)
                assert response.status_code == 403
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.wait()
    output = log.read_text(encoding="utf-8")
    assert "Calling Bot API endpoint `setWebhook`" in output  # the line that held it
    assert SECRET not in output
    assert SECRET[:-1] not in output
