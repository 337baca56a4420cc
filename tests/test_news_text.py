"""Folding Vietnamese for search: diacritics, đ, NFD input and old tone placement all match."""

from __future__ import annotations

import unicodedata

import pytest

from bot.news.reader import NewsReader
from bot.news.text import clean, fold, title_key
from tests.conftest import Harness


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Dân vận", "dan van"),
        ("ĐƯỜNG", "duong"),
        (unicodedata.normalize("NFD", "Đường Quyền"), "duong quyen"),
        ("thuỷ", "thuy"),
        ("thủy", "thuy"),
        ("hoà", "hoa"),
        ("hòa", "hoa"),
        ("ðiện", "dien"),  # ð (U+00F0) from text converted out of legacy encodings
        ("  Nguyễn\u00a0\tVăn  A ", "nguyen van a"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_clean_and_title_key() -> None:
    assert (
        clean(unicodedata.normalize("NFD", " Tiêm\u00a0chủng \n mở rộng ")) == "Tiêm chủng mở rộng"
    )
    assert title_key("Hỏi – đáp (Q&A) về thuế!") == "hoi dap q a ve thue"


async def test_search_index_holds_folded_text(site: Harness) -> None:
    reader: NewsReader = site.reader()
    await reader.run()

    async def search(query: str) -> set[int]:
        async with site.db.conn.execute(
            "SELECT rowid FROM articles_search WHERE articles_search MATCH ?", (fold(query),)
        ) as cursor:
            return {row[0] async for row in cursor}

    assert await search("dân vận") == await search("dan van") != set()
    assert await search("đường") == await search("duong") != set()
    assert await search(unicodedata.normalize("NFD", "tiêm chủng")) == await search("tiem chung")
    assert await search("binh ch*") >= await search("Bình Chánh") != set()
