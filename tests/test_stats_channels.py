"""/stats and /staffstats count Telegram and Zalo separately and together (migration 0024)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.i18n import Catalog
from bot.services.stats import channel_counts
from bot.views.stats import Subscriptions, counter_text, staff_text
from storage import Database
from storage.migrate import apply_migrations, bundled_migrations
from storage.stats import Counter, Interaction, InteractionLog
from storage.subscriptions import Subscription, SubscriptionStore
from tests.conftest import TZ

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội, a Monday


async def test_the_counts_so_far_become_telegrams(tmp_path: Path) -> None:
    """A database from before 0024 keeps its totals, and they are Telegram's."""
    async with aiosqlite.connect(tmp_path / "old.sqlite3") as conn:
        conn.row_factory = aiosqlite.Row
        await apply_migrations(conn, [m for m in bundled_migrations() if m.version < 24])
        for key, day in [("a", "2026-11-29"), ("a", "2026-11-30"), ("b", "2026-11-30")]:
            await conn.execute(
                "INSERT INTO interactions (at, day, kind, user_key) VALUES (?, ?, 'cmd:latest', ?)",
                (f"{day}T01:00:00+00:00", day, key),
            )
        await conn.commit()
    async with await Database.open(tmp_path / "old.sqlite3") as db:
        stats = InteractionLog(db, TZ, b"k" * 32)
        before = Counter(total=3, today=2, week=2, month=3, year=3, residents=2)
        assert await stats.counter(NOW) == before
        assert await stats.counter(NOW, "telegram") == before
        assert await stats.counter(NOW, "zalo") == Counter(0, 0, 0, 0, 0, 0)
        await stats.record(Interaction("cmd:latest"), 42, NOW, channel="zalo")
        await stats.record(Interaction("cmd:stats"), 42, NOW, channel="zalo")
        assert await stats.counter(NOW) == Counter(5, 4, 4, 5, 5, residents=3)
        assert await stats.counter(NOW, "telegram") == before
        assert await stats.counter(NOW, "zalo") == Counter(2, 2, 2, 2, 2, residents=1)
        figures = await stats.staff_figures(NOW)
        assert figures.dau == 3
        assert figures.by_channel == {"telegram": (2, 2, 2), "zalo": (1, 1, 1)}


async def test_both_channels_separately_and_together(tmp_path: Path) -> None:
    catalog = Catalog.load("vi")
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        stats = InteractionLog(db, TZ, b"k" * 32)
        subscriptions = SubscriptionStore(db, TZ)
        # The same number on both channels is two people.
        for channel, person, times in [("telegram", 7, 3), ("zalo", 7, 2), ("zalo", 8, 1)]:
            for _ in range(times):
                await stats.record(Interaction("cmd:latest"), person, NOW, channel=channel)
        await subscriptions.save(Subscription(7, "instant"))
        await subscriptions.save(Subscription(7, "daily", channel="zalo"))
        await subscriptions.save(Subscription(8, "instant", channel="zalo"))
        counter = await stats.counter(NOW)
        assert (counter.total, counter.residents) == (6, 3)
        channels = await channel_counts(stats, subscriptions, NOW)
        shares = [
            (c.channel, c.counter.total, c.counter.residents, c.subscribers) for c in channels
        ]
        assert shares == [("telegram", 3, 1, 1), ("zalo", 3, 2, 2)]
        text = counter_text(catalog, "vi", counter, 3, "Asia/Ho_Chi_Minh", "10:00", channels)
        assert "Tổng cộng: <b>6</b> lượt" in text
        assert "Đang nhận tin qua bot: <b>3</b>" in text
        assert (
            "• Telegram: hôm nay 3, tháng này 3, tổng cộng 3 lượt; 1 người dùng; 1 đang nhận tin"
            in text
        )
        assert (
            "• Zalo: hôm nay 3, tháng này 3, tổng cộng 3 lượt; 2 người dùng; 2 đang nhận tin"
            in text
        )
        # One channel alone: no "by channel" block repeating the totals.
        telegram_only = counter_text(
            catalog, "vi", counter, 3, "Asia/Ho_Chi_Minh", "10:00", channels[:1]
        )
        assert "Theo kênh" not in telegram_only

        figures = await stats.staff_figures(NOW)
        subs = Subscriptions(await subscriptions.counts(), [], NOW.date())
        staff = staff_text(catalog, "vi", figures, {}, "10:00", subs, channels)
        assert "Người dùng hôm nay: <b>3</b>" in staff
        assert (
            "• Telegram: người dùng hôm nay 1 · 7 ngày 1 · 30 ngày 1; 1 đăng ký nhận tin" in staff
        )
        assert "• Zalo: người dùng hôm nay 2 · 7 ngày 2 · 30 ngày 2; 2 đăng ký nhận tin" in staff
