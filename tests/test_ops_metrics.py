"""Health and metrics (METRICS_LISTEN): /healthz follows the portal, /metrics moves with the bot."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_application, running
from bot.context import BotApplication
from bot.delivery import outgoing
from bot.ops.server import ListenError
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from tests.conftest import make_settings, settled
from tests.test_process import bot_env

pytestmark = pytest.mark.timeout(90)


def ops_url(application: BotApplication, path: str) -> str:
    server = application.bot_data.services.ops_server
    assert server is not None, "METRICS_LISTEN is on: the listener must run"
    return f"http://127.0.0.1:{server.port}{path}"


async def scrape(client: httpx.AsyncClient, application: BotApplication) -> dict[str, float]:
    """/metrics parsed by prometheus-client's own parser: {'name{label="v",...}': value}."""
    response = await client.get(ops_url(application, "/metrics"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


async def scrape_until(
    client: httpx.AsyncClient,
    application: BotApplication,
    holds: Callable[[dict[str, float]], bool],
    timeout: float = 30,
) -> dict[str, float]:
    """Scrape /metrics until `holds` (a counter moves just after the state it counts)."""
    async with asyncio.timeout(timeout):
        while not holds(metrics := await scrape(client, application)):  # noqa: ASYNC110 - a scrape
            await asyncio.sleep(0.1)
    return metrics


async def wait_status(
    client: httpx.AsyncClient, application: BotApplication, status: int, timeout: float = 30
) -> httpx.Response:
    """Ask /healthz until it answers `status` (the state the test waits for)."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(ops_url(application, "/healthz"))
        if response.status_code == status:
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz never answered {status}: {response.text}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


async def test_metrics_off_by_default(telegram: FakeTelegram, tmp_path: Path) -> None:
    application = build_application(make_settings(tmp_path, telegram))
    async with running(application):
        assert application.bot_data.services.ops_server is None


async def test_metrics_count_updates_sends_and_429s_without_personal_data(
    telegram: FakeTelegram, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    lan = telegram.user(70_123_456, "Lan")
    minh = telegram.user(70_654_321, "Minh")
    telegram.block(minh.id)
    settings = make_settings(tmp_path, telegram, METRICS_LISTEN="127.0.0.1:0")
    application = build_application(settings)
    async with running(application):
        before = await scrape(client, application)
        assert before.get('commune_bot_updates_total{kind="cmd:start"}', 0) == 0
        assert before['commune_bot_portal_polls_total{result="failed"}'] == 0
        assert before['commune_bot_subscribers{mode="instant"}'] == 0
        assert before['commune_bot_outbox_depth{priority="5"}'] == 0
        assert before["commune_bot_database_bytes{}"] > 0

        await telegram.reply_to(lan, "/start")
        await telegram.reply_to(lan, "/start")
        await telegram.reply_to(lan, "/latest")
        telegram.fail_flood("sendMessage", retry_after=1)  # a reply meets a 429, waits, goes
        await telegram.reply_to(lan, "/help", timeout=10)
        await settled(telegram, application)
        after = await scrape(client, application)
        assert after['commune_bot_updates_total{kind="cmd:start"}'] == 2
        assert after['commune_bot_updates_total{kind="cmd:latest"}'] == 1
        assert after['commune_bot_update_handling_seconds_count{type="message"}'] == 4
        assert after['commune_bot_update_handling_seconds_bucket{le="+Inf",type="message"}'] == 4
        assert after['commune_bot_telegram_429_total{path="reply"}'] == 1

        # A bulk job: one recipient gets it, the other blocked the bot.
        services = application.bot_data.services
        job = await services.outbox.create(
            "alert", [outgoing("send_message", text="Tin mới")], [(lan.id, 0), (minh.id, 0)]
        )
        assert job is not None
        services.delivery.wake()
        deadline = time.monotonic() + 15
        while (progress := await services.outbox.progress(job)) is None or progress.state != "done":
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.05)
        sent = await scrape(client, application)
        assert sent['commune_bot_sends_total{channel="alert",outcome="sent"}'] == 1
        assert sent['commune_bot_sends_total{channel="alert",outcome="blocked"}'] == 1

        # Messages due and not sent (the engine stopped) show in the outbox depth by priority;
        # a job scheduled for later waits on purpose and does not.
        await services.delivery.stop()
        news = [outgoing("send_message", text="Tin")]
        await services.outbox.create("alert", news, [(lan.id, 0), (minh.id, 0)], priority=2)
        later = time.time() + 3600
        await services.outbox.create("broadcast", news, [(lan.id, 0)], priority=7, start_at=later)
        waiting = await scrape(client, application)
        assert waiting['commune_bot_outbox_depth{priority="2"}'] == 2
        assert waiting['commune_bot_outbox_depth{priority="5"}'] == 0
        assert 'commune_bot_outbox_depth{priority="7"}' not in waiting

        text = (await client.get(ops_url(application, "/metrics"))).text
        for person in (lan, minh):  # no id in any label or value
            assert str(person.id) not in text
        assert telegram.token not in text


async def test_healthz_turns_503_when_the_portal_is_down_too_long_and_200_when_back(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = make_settings(
        tmp_path,
        telegram,
        METRICS_LISTEN="127.0.0.1:0",
        NEWS_SITE_URL=portal.url,
        NEWS_RETRIES="0",
        NEWS_POLL_MINUTES="0.01",  # a poll every 0.6 s
        HEALTH_MAX_POLL_AGE_MINUTES="0.05",  # unhealthy after 3 s without a good poll
    )
    application = build_application(settings)
    async with running(application):
        well = await wait_status(client, application, 200)
        assert well.json()["status"] == "ok"
        assert well.json()["checks"]["database"] == "ok"
        assert well.json()["checks"]["delivery"] == "ok"

        portal.set_down(True)
        down = await wait_status(client, application, 503)
        body = down.json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["portal"] == "stale"
        assert body["checks"]["database"] == "ok"
        (problem,) = body["problems"]
        assert problem.startswith("the portal was last read ")
        assert "HEALTH_MAX_POLL_AGE_MINUTES" in problem
        metrics = await scrape_until(
            client, application, lambda m: m['commune_bot_portal_polls_total{result="failed"}'] >= 1
        )
        assert metrics["commune_bot_seconds_since_last_good_poll{}"] > 3

        portal.set_down(False)
        back = await wait_status(client, application, 200)
        assert back.json()["checks"]["portal"].startswith("read ")
        metrics = await scrape_until(
            client, application, lambda m: m['commune_bot_portal_polls_total{result="ok"}'] >= 1
        )
        assert metrics["commune_bot_seconds_since_last_good_poll{}"] < 3

        # The delivery engine stopped (crashed): unhealthy too, and said so.
        await application.bot_data.services.delivery.stop()
        stopped = await wait_status(client, application, 503)
        assert stopped.json()["checks"]["delivery"] == "stopped"


async def test_metrics_listen_taken_is_one_line(telegram: FakeTelegram, tmp_path: Path) -> None:
    first = build_application(make_settings(tmp_path, telegram, METRICS_LISTEN="127.0.0.1:0"))
    async with running(first):
        port = first.bot_data.services.ops_server.port  # type: ignore[union-attr]
        taken = make_settings(tmp_path / "second", telegram, METRICS_LISTEN=f"127.0.0.1:{port}")
        with pytest.raises(ListenError, match=f"cannot listen on METRICS_LISTEN 127.0.0.1:{port}"):
            async with running(build_application(taken)):
                pass


async def test_run_as_a_process_serves_health_and_metrics_and_logs_json(
    telegram: FakeTelegram, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    with socket.socket() as probe:  # a free port for METRICS_LISTEN
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "bot.log"
    env = bot_env(
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        ADMIN_IDS="1001",
        METRICS_LISTEN=f"127.0.0.1:{port}",
        LOG_FORMAT="json",
    )
    lan = telegram.user(71_234_567, "Lan")
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        await telegram.wait_for("setMyCommands", timeout=30, language_code="en")
        await telegram.reply_to(lan, "/start", timeout=15)
        health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200, health.text
        deadline = time.monotonic() + 15
        while True:  # the update is counted once its handlers are done
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            if 'commune_bot_updates_total{kind="cmd:start"} 1.0' in metrics:
                break
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.1)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.wait()
    assert process.returncode == 0
    output = await asyncio.to_thread(log.read_text, encoding="utf-8")
    events = [json.loads(line) for line in output.splitlines()]
    messages = [e["message"] for e in events]
    assert any(m.startswith("commune-bot ") and " starting: database " in m for m in messages)
    assert f"health and metrics on http://127.0.0.1:{port}/healthz and /metrics" in messages
    assert telegram.token not in output
    assert str(lan.id) not in output
