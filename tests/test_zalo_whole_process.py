"""The Zalo front end whole, as a process: `commune-bot run` on Zalo alone (no BOT_TOKEN), its
news poll reading the stand-in website, residents subscribing through Zalo's signed webhook, the
delivery engine sending a new article's alert inside a resident's window, and the resident whose
window closed getting it as "Bạn có N tin mới" with their next message. No raw Zalo id in any
log line at INFO or above."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.standins.website import FakePortal
from bot.standins.zalo import FakeZalo, SentMessage
from tests.test_delivery import until
from tests.test_zalo_process import bot_run, zalo_env

pytestmark = pytest.mark.timeout(150)

LAN = "8100000000000000011"  # writes often: her window stays open
KIM = "8100000000000000022"  # subscribed, then silent for longer than the window
NEW_ARTICLE = "new-article-273402"  # the stand-in website's spare set: one new article


def query(database: Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read (or prepare) the bot's database as another process would."""
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, args).fetchall()


def choice(text: str, label: str) -> str:
    """The number a message offers for a choice whose label contains `label`."""
    found = re.search(rf"(?m)^(\d+) — .*{re.escape(label)}", text)
    assert found, f"no choice {label!r} in:\n{text}"
    return found.group(1)


async def ask(zalo: FakeZalo, user_id: str, text: str, replies: int = 1) -> list[SentMessage]:
    """`user_id` writes `text`; the `replies` messages the bot sends back."""
    before = len(zalo.messages_to(user_id))
    assert await zalo.say(user_id, text) == 200
    return (await zalo.wait_sent(user_id, before + replies, timeout=60))[before:]


async def subscribe_to_everything(zalo: FakeZalo, user_id: str) -> None:
    """/subscribe by typed numbers: every category, an alert for each new article."""
    [what] = await ask(zalo, user_id, "đăng ký")
    [how] = await ask(zalo, user_id, choice(what.text, "Tất cả tin của xã"))
    [saved] = await ask(zalo, user_id, choice(how.text, "Báo ngay khi có tin mới"))
    assert saved.text.startswith("✅ Đã đăng ký nhận tin!")


def info_and_above(stderr: str) -> list[str]:
    """The log's records at INFO or above (a record's traceback lines are indented under it)."""
    records: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("    ") and records:
            records[-1] += "\n" + line
        else:
            records.append(line)
    return [record for record in records if " DEBUG " not in record.split(": ", 1)[0]]


async def test_zalo_alone_alert_inside_the_window_sent_outside_it_held_for_the_next_message(
    zalo: FakeZalo, portal: FakePortal, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    zalo.enforce_window(hours=48, messages=8)
    env = {
        **zalo_env(zalo, database),
        "NEWS_SITE_URL": portal.url,
        "NEWS_POLL_MINUTES": "0.02",  # a poll every 1.2 s
    }
    async with bot_run(tmp_path, **env) as bot:
        zalo.webhook_url = bot.webhook
        # The first reading of the site is old news (a backfill): announced, alerting nobody.
        finished = "SELECT COUNT(*) FROM ingest_runs WHERE finished_at IS NOT NULL"
        unannounced = "SELECT COUNT(*) FROM articles WHERE announced = 0"
        await until(
            lambda: query(database, finished)[0][0] != 0 and query(database, unannounced) == [(0,)],
            timeout=60, step=0.1,
        )  # fmt: skip
        await subscribe_to_everything(zalo, LAN)
        await subscribe_to_everything(zalo, KIM)
        # Kim last wrote two days ago, as far as the bot knows: the OA may not write to her.
        long_ago = (datetime.now(UTC) - timedelta(hours=49)).isoformat()
        query(database, "UPDATE zalo_people SET last_inbound_at = ? WHERE user_id = ?",
              (long_ago, KIM))  # fmt: skip
        kim_before = len(zalo.messages_to(KIM))

        portal.use_spares(NEW_ARTICLE)  # the commune publishes; the next poll finds it
        [alert] = (await zalo.wait_sent(LAN, len(zalo.messages_to(LAN)) + 1, timeout=60))[-1:]
        assert alert.text.startswith("🔔 Tin mới\n")
        title = alert.text.split("\n")[1]
        assert alert.text.endswith("Gõ “tin mới” để xem các tin mới nhất.")
        # Sent by the delivery engine, as an outbox row on channel zalo, once.
        rows = "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state"
        await until(lambda: query(database, rows) == [("zalo", "sent", 1)], timeout=30)
        assert len(zalo.messages_to(KIM)) == kim_before  # outside her window: nothing sent

        # Kim writes: the answer begins with what she missed, and a number opens it.
        held, latest = await ask(zalo, KIM, "tin mới", replies=2)
        assert held.text.startswith("🔔 Bạn có 1 tin mới:")
        assert title in held.text
        assert latest.text.startswith("📰 Tin mới nhất")
        [article] = await ask(zalo, KIM, "1")
        assert article.text.startswith(title)  # 1 of the last list: the newest, this one
        # Not twice: her next message brings nothing held, and no alert row was written for her.
        [stats] = await ask(zalo, KIM, "thống kê")
        assert stats.text.startswith("📈 Thống kê sử dụng bot")
        assert query(database, rows) == [("zalo", "sent", 1)]
        # Zalo refuses a reply (Kim no longer follows), and Lan unfollows: logged, by no id.
        zalo.fail(-213, user_id=KIM)
        calls = zalo.mark()
        assert await zalo.say(KIM, "menu") == 200
        await zalo.wait_for("/v3.0/oa/message/cs", calls, where=lambda c: c.error == -213)
        assert await zalo.unfollow(LAN) == 200
        person = "SELECT following FROM zalo_people WHERE user_id = ?"
        await until(lambda: query(database, person, (LAN,)) == [(0,)], timeout=30)
        status, stderr = await bot.stop()
    assert status == 0
    assert "Traceback" not in stderr
    assert "ready on Zalo alone" in stderr
    said = info_and_above(stderr)
    assert any("was not sent (unreachable)" in record for record in said)
    leaks = [record for record in said if LAN in record or KIM in record]
    assert leaks == []
