"""The OA article broadcasts' monthly count (storage.zalo_broadcasts), on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Database
from storage.zalo_broadcasts import ZaloBroadcastStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ZaloBroadcastStore]:
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        yield ZaloBroadcastStore(db)


async def test_the_quota_is_kept_and_a_refusal_gives_it_back(store: ZaloBroadcastStore) -> None:
    assert await store.reserve(1, "2026-11", 2, 1001)
    assert not await store.reserve(1, "2026-11", 2, 1001)  # once per announcement
    assert await store.reserve(2, "2026-11", 2, 1001)
    assert not await store.reserve(3, "2026-11", 2, 1001)  # the month's two are taken
    assert await store.reserve(3, "2026-12", 2, 1001)  # a new month
    await store.failed(2, "Zalo: package needed", None)
    assert await store.used("2026-11") == 1  # a refusal does not count
    assert await store.reserve(3, "2026-11", 2, 1001) is False  # 3 is December's already
    assert await store.reserve(2, "2026-11", 2, 1001)  # the refused one may be tried again
    await store.published(2, "article-9")
    published = await store.get(2)
    assert published is not None
    assert (published.state, published.article_id) == ("published", "article-9")
    assert await store.used("2026-11") == 2
