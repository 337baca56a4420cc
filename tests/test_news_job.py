"""The scheduled news poll inside the running bot, and the staff alerts about the website."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert f"; database {tmp_path / 'bot.sqlite3'}" in second.stdout

    portal.set_down(True)
    down = await asyncio.to_thread(ingest)
    assert down.returncode == 1
    assert "could not read the website" in down.stderr


async def test_owners_told_once_when_the_site_shows_no_category_names(
    telegram: FakeTelegram, portal: FakePortal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    owner = telegram.user(1001, "Chị Hoa")
    away = telegram.user(1987654, "Anh Tư")
    telegram.block(away.id)  # an owner who blocked the bot: logged, without their id
    resident = telegram.user(2002, "Lan")
    no_group_ids = (r"/danh-sach-tin/group/(\d+)/([a-z-]+)", r"/chuyen-muc/\2")
    portal.transform(no_group_ids)  # a portal whose category links carry no group id
    settings = make_settings(
        tmp_path,
        telegram,
        NEWS_SITE_URL=portal.url,
        NEWS_RETRIES="0",
        ADMIN_IDS=f"{owner.id},{away.id}",
    )
    caplog.set_level(logging.INFO)
    application = build_application(settings)
    async with running(application):
        await wait_for_runs(application, 1)
        told = await telegram.wait_for("sendMessage", chat_id=owner.id)
        assert told.ok
        assert "không tìm thấy tên chuyên mục" in told.params["text"]
        assert portal.url.removeprefix("http://") in told.params["text"]
        # Residents still find the news by category.
        categories = await telegram.reply_to(resident, "/categories")
        assert "Chưa có chuyên mục nào" not in categories.params["text"]
        assert "Tin tức – Sự kiện" in json.dumps(categories.params, ensure_ascii=False)
        # A later poll with a new article, still without names: no second message.
        portal.use_spares("new-article-273402")
        portal.transform(no_group_ids)
        await run_poll(application)
        async with application.bot_data.services.db.conn.execute(
            "SELECT count(*) FROM articles"
        ) as cursor:
            assert tuple(await cursor.fetchone() or ()) == (12,)
        assert len(telegram.calls_to("sendMessage", chat_id=owner.id)) == 1
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("yields articles but no category names" in line for line in logged)
    assert any("could not tell owner #" in line for line in logged)
    assert not [line for line in logged if str(away.id) in line]
