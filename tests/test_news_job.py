"""The scheduled news poll inside the running bot, and the staff alerts about the website."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import build_application, running
from bot.context import BotApplication
from bot.standins.telegram import FakeTelegram
from bot.standins.website import FakePortal
from handlers.news import JOB_NAME
from tests.conftest import make_settings
from tests.test_process import bot_env


async def finished_runs(application: BotApplication) -> int:
    async with application.bot_data.services.db.conn.execute(
        "SELECT count(*) FROM ingest_runs WHERE finished_at IS NOT NULL"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def wait_for_runs(application: BotApplication, count: int) -> None:
    """Wait until the reader has finished `count` polls in all (it tells its listeners)."""
    reader = application.bot_data.services.news
    assert reader is not None
    finished = asyncio.Event()

    async def heard(report: object) -> None:
        finished.set()

    reader.add_listener(heard)
    async with asyncio.timeout(10):
        while await finished_runs(application) < count:
            await finished.wait()
            finished.clear()


async def run_poll(application: BotApplication) -> None:
    """Run the scheduled job once now, as the JobQueue would."""
    assert application.job_queue is not None
    (job,) = application.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(application)


async def test_poll_runs_on_schedule_and_stores_news(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, telegram, NEWS_SITE_URL=portal.url)
    application = build_application(settings)
    async with running(application):
        await wait_for_runs(application, 1)  # the first poll starts a second after start-up
        async with application.bot_data.services.db.conn.execute(
            "SELECT count(*) FROM articles"
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        assert row[0] >= 10


async def test_staff_alerted_once_when_site_is_down_and_once_when_back(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path
) -> None:
    owner = telegram.user(1001, "Chị Hoa")
    settings = make_settings(
        tmp_path,
        telegram,
        NEWS_SITE_URL=portal.url,
        NEWS_ALERT_AFTER_FAILURES="2",
        NEWS_RETRIES="0",  # a down site fails at once instead of after backing off
    )
    portal.set_down(True)
    application = build_application(settings)
    async with running(application):
        await wait_for_runs(application, 1)
        assert not telegram.calls_to("sendMessage", chat_id=owner.id)
        await run_poll(application)  # second failure in a row: alert
        alert = await telegram.wait_for("sendMessage", chat_id=owner.id)
        assert alert.params["text"].startswith("⚠️ Bot chưa đọc được trang tin của xã sau 2 lần")
        assert "503" in alert.params["text"]
        await run_poll(application)  # third failure: no second alert
        assert len(telegram.calls_to("sendMessage", chat_id=owner.id)) == 1

        portal.set_down(False)
        mark = telegram.mark()
        await run_poll(application)
        back = await telegram.wait_for("sendMessage", after=mark, chat_id=owner.id)
        assert back.params["text"].startswith("✅")
        await run_poll(application)
        assert len(telegram.calls_to("sendMessage", chat_id=owner.id)) == 2


async def test_ingest_command_prints_progress_and_summary(
    portal: FakePortal, tmp_path: Path
) -> None:
    env = bot_env(
        BOT_TOKEN="123456789:AAHstandinTOKENabcdefghijklmnopqrstu",
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        NEWS_SITE_URL=portal.url,
        NEWS_RETRIES="0",
    )

    def ingest() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "ingest"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    first = await asyncio.to_thread(ingest)
    assert first.returncode == 0, first.stderr
    assert "articles: 100%" in first.stderr  # the progress bar reached its end
    assert "ingest finished (first run, backfill): 11 new, 0 updated" in first.stdout
    # Old news read by hand before the bot ever ran is not alerted when the bot starts.
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM articles WHERE announced = 0").fetchone() == (0,)
    second = await asyncio.to_thread(ingest)
    assert second.returncode == 0, second.stderr
    assert (
        "ingest finished (update): 0 new, 0 updated, 0 unchanged, 0 failed; 3 requests to the site"
        in second.stdout
    )

    portal.set_down(True)
    down = await asyncio.to_thread(ingest)
    assert down.returncode == 1
    assert "could not read the website" in down.stderr
