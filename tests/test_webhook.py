"""Webhook mode: Telegram posts updates to the bot, which checks the secret on every request."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

from bot.app import build_application, running
from bot.standins.telegram import FakeTelegram
from tests.conftest import make_settings


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_answers_and_checks_the_secret(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram-hook"
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
                    hook,
                    content=json.dumps(forged),
                    headers={"Content-Type": "application/json", **headers},
                )
                assert response.status_code == 403
        reply = await telegram.reply_to(lan, "/help")
        assert not [
            c for c in telegram.calls[start:] if "/help" in str(c.params) and c is not reply
        ]
        assert len(telegram.calls_to("sendMessage", after=start)) == 1
