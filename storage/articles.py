"""The stored copy of the portal's news: articles, their keys and categories, the search index."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import aiosqlite

from storage.db import Database
from storage.searches import SearchStore
from storage.timestamps import iso, parse_iso

__all__ = [
    "ArticleData",
    "ArticleReader",
    "ArticleStore",
    "Category",
    "Headline",
    "StoredArticle",
    "Upsert",
    "iso",
    "parse_iso",
]

Upsert = Literal["new", "updated", "unchanged"]

# A title shared by two articles counts as a duplicate only if it says enough (not just
# "Thông báo") and the two were published within a few days of each other.
_MIN_TITLE_WORDS = 3
_SAME_TITLE_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class ArticleData:
    """One article as read from the site, ready to store."""

    external_ids: tuple[str, ...]  # "dnn:270892", "feed:<guid>": the first is the main one
    url: str
    title: str
    title_key: str  # folded title
    summary: str = ""
    body_html: str = ""
    body_text: str = ""
    author: str | None = None
    image_url: str | None = None
    published_at: datetime | None = None  # aware; None when the site shows no date
    categories: tuple[tuple[str, str | None], ...] = ()  # (name, site key), main one first
    search_text: tuple[str, str, str] = ("", "", "")  # folded title, summary, body

    def content_hash(self) -> str:
        """Changes whenever anything a reader sees changes."""
        published = iso(self.published_at) if self.published_at else ""
        parts = (self.title, self.summary, self.body_html, self.author or "",
                 self.image_url or "", published)  # fmt: skip
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class StoredArticle:
    """An article as the bot holds it."""

    article_id: int
    url: str
    title: str
    summary: str
    body_html: str
    body_text: str
    author: str | None
    image_url: str | None
    published_at: datetime
    published_estimated: bool
    category: str | None
    first_seen_at: datetime
    updated_at: datetime
    keys: tuple[str, ...] = field(default=())


_SELECT = """
SELECT a.article_id, a.url, a.title, a.summary, a.body_html, a.body_text, a.author,
       a.image_url, a.published_at, a.published_estimated, c.name AS category, a.first_seen_at,
       a.updated_at
FROM articles AS a LEFT JOIN categories AS c ON c.category_id = a.category_id
"""


def _stored(row: aiosqlite.Row) -> StoredArticle:
    return StoredArticle(
        article_id=row["article_id"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        body_html=row["body_html"],
        body_text=row["body_text"],
        author=row["author"],
        image_url=row["image_url"],
        published_at=parse_iso(row["published_at"]),
        published_estimated=bool(row["published_estimated"]),
        category=row["category"],
        first_seen_at=parse_iso(row["first_seen_at"]),
        updated_at=parse_iso(row["updated_at"]),
    )


def _headline(row: aiosqlite.Row) -> Headline:
    return Headline(
        int(row["article_id"]),
        str(row["title"]),
        parse_iso(row["published_at"]),
        bool(row["published_estimated"]),
    )


def _category_of(row: aiosqlite.Row) -> Category:
    return Category(int(row["category_id"]), str(row["name"]), int(row["n"]))


class ArticleStore:
    """Reads and writes articles; every write keeps the search index in step."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self, data: ArticleData, now: datetime, *, announced: bool = False
    ) -> tuple[int, Upsert]:
        """Store an article read from the site: insert it, update it in place, or leave it.

        `announced` stores a new article as already pushed to subscribers (a staff
        announcement, which went out as a broadcast), so no alert repeats it.
        """
        async with self._db.transaction() as conn:
            article_id = await self._find(conn, data)
            digest = data.content_hash()
            if article_id is None:
                article_id = await self._insert(conn, data, digest, now, announced)
                outcome: Upsert = "new"
            else:
                outcome = await self._update(conn, article_id, data, digest, now)
            for key in data.external_ids:
                await conn.execute(
                    "INSERT OR IGNORE INTO article_keys (external_id, article_id) VALUES (?, ?)",
                    (key, article_id),
                )
            for name, site_key in data.categories:
                category_id = await self._category(conn, name, site_key)
                await conn.execute(
                    "INSERT OR IGNORE INTO article_categories (article_id, category_id)"
                    " VALUES (?, ?)",
                    (article_id, category_id),
                )
        return article_id, outcome

    async def _find(self, conn: aiosqlite.Connection, data: ArticleData) -> int | None:
        marks = ",".join("?" * len(data.external_ids))
        async with conn.execute(
            f"SELECT article_id FROM article_keys WHERE external_id IN ({marks}) LIMIT 1",
            data.external_ids,
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return int(row["article_id"])
        if len(data.title_key.split()) < _MIN_TITLE_WORDS:
            return None
        async with conn.execute(
            "SELECT article_id, published_at, published_estimated FROM articles"
            " WHERE title_key = ? ORDER BY article_id",
            (data.title_key,),
        ) as cursor:
            candidates = await cursor.fetchall()
        for candidate in candidates:
            if data.published_at is None or candidate["published_estimated"]:
                return int(candidate["article_id"])
            published = parse_iso(candidate["published_at"])
            if abs(published - data.published_at) <= _SAME_TITLE_WINDOW:
                return int(candidate["article_id"])
        return None

    async def _category(self, conn: aiosqlite.Connection, name: str, site_key: str | None) -> int:
        await conn.execute(
            "INSERT INTO categories (name, site_key) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET site_key = COALESCE(excluded.site_key, site_key)",
            (name, site_key),
        )
        async with conn.execute(
            "SELECT category_id FROM categories WHERE name = ?", (name,)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row["category_id"])

    async def _insert(
        self,
        conn: aiosqlite.Connection,
        data: ArticleData,
        digest: str,
        now: datetime,
        announced: bool = False,
    ) -> int:
        main_category = await self._category(conn, *data.categories[0]) if data.categories else None
        published = data.published_at or now
        cursor = await conn.execute(
            "INSERT INTO articles (url, title, title_key, summary, body_html, body_text, author,"
            " image_url, published_at, published_estimated, category_id, content_hash,"
            " first_seen_at, updated_at, checked_at, announced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                data.url, data.title, data.title_key, data.summary, data.body_html,
                data.body_text, data.author, data.image_url, iso(published),
                int(data.published_at is None), main_category, digest, iso(now), iso(now),
                iso(now), int(announced),
            ),
        )  # fmt: skip
        article_id = cursor.lastrowid
        assert article_id is not None
        await conn.execute(
            "INSERT INTO articles_search (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article_id, *data.search_text),
        )
        return article_id

    async def _update(
        self,
        conn: aiosqlite.Connection,
        article_id: int,
        data: ArticleData,
        digest: str,
        now: datetime,
    ) -> Upsert:
        async with conn.execute(
            "SELECT content_hash FROM articles WHERE article_id = ?", (article_id,)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        if row["content_hash"] == digest:
            await conn.execute(
                "UPDATE articles SET checked_at = ? WHERE article_id = ?", (iso(now), article_id)
            )
            return "unchanged"
        # A date the site now shows replaces an estimated one; a date it stopped showing is kept.
        await conn.execute(
            "UPDATE articles SET url = ?, title = ?, title_key = ?, summary = ?, body_html = ?,"
            " body_text = ?, author = ?, image_url = ?,"
            " published_at = COALESCE(?, published_at),"
            " published_estimated = CASE WHEN ? IS NULL THEN published_estimated ELSE 0 END,"
            " content_hash = ?, updated_at = ?, checked_at = ? WHERE article_id = ?",
            (
                data.url, data.title, data.title_key, data.summary, data.body_html,
                data.body_text, data.author, data.image_url,
                iso(data.published_at) if data.published_at else None,
                iso(data.published_at) if data.published_at else None,
                digest, iso(now), iso(now), article_id,
            ),
        )  # fmt: skip
        await conn.execute("DELETE FROM articles_search WHERE rowid = ?", (article_id,))
        await conn.execute(
            "INSERT INTO articles_search (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article_id, *data.search_text),
        )
        return "updated"

    async def link_category(self, article_id: int, name: str, site_key: str | None) -> None:
        """Put the article in one more category (no-op if it is there already)."""
        async with self._db.transaction() as conn:
            category_id = await self._category(conn, name, site_key)
            await conn.execute(
                "INSERT OR IGNORE INTO article_categories (article_id, category_id) VALUES (?, ?)",
                (article_id, category_id),
            )

    async def known(self, external_ids: list[str]) -> dict[str, int]:
        """Which of these keys are stored, with their article ids."""
        if not external_ids:
            return {}
        marks = ",".join("?" * len(external_ids))
        rows = await self._db.fetchall(
            f"SELECT external_id, article_id FROM article_keys WHERE external_id IN ({marks})",
            external_ids,
        )
        return {str(row["external_id"]): int(row["article_id"]) for row in rows}

    async def get(self, article_id: int) -> StoredArticle | None:
        """One article by id."""
        row = await self._db.fetchone(_SELECT + " WHERE a.article_id = ?", (article_id,))
        return None if row is None else _stored(row)

    async def get_many(self, article_ids: list[int]) -> dict[int, StoredArticle]:
        """Several articles by id, in one query."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = await self._db.fetchall(_SELECT + f" WHERE a.article_id IN ({marks})", article_ids)
        return {article.article_id: article for article in map(_stored, rows)}

    async def titles(self, article_ids: list[int]) -> dict[int, str]:
        """Stored titles of these articles."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = await self._db.fetchall(
            f"SELECT article_id, title FROM articles WHERE article_id IN ({marks})", article_ids
        )
        return {int(row["article_id"]): str(row["title"]) for row in rows}

    async def count(self) -> int:
        """How many articles are stored."""
        row = await self._db.fetchone("SELECT count(*) AS n FROM articles")
        return int(row["n"]) if row else 0

    async def due_for_recheck(
        self, now: datetime, every: timedelta, within: timedelta, key_prefix: str = ""
    ) -> list[tuple[int, str]]:
        """Recent articles (with a key starting `key_prefix`) not asked for in `every`."""
        async with self._db.conn.execute(
            "SELECT article_id, url FROM articles WHERE checked_at <= ?"
            " AND (published_at >= ? OR first_seen_at >= ?)"
            " AND EXISTS (SELECT 1 FROM article_keys AS k WHERE k.article_id = articles.article_id"
            " AND substr(k.external_id, 1, length(?)) = ?)"
            " ORDER BY checked_at",
            (iso(now - every), iso(now - within), iso(now - within), key_prefix, key_prefix),
        ) as cursor:
            return [(int(row["article_id"]), str(row["url"])) async for row in cursor]

    async def mark_checked(self, article_id: int, now: datetime) -> None:
        """The site was asked for the article and had nothing new."""
        await self._db.write(
            "UPDATE articles SET checked_at = ? WHERE article_id = ?", (iso(now), article_id)
        )

    async def mark_announced(
        self, article_ids: Sequence[int], conn: aiosqlite.Connection | None = None
    ) -> None:
        """Alerts for these articles are written (on `conn`, inside the caller's transaction)."""
        if not article_ids:
            return
        marks = ",".join("?" * len(article_ids))
        sql = f"UPDATE articles SET announced = 1 WHERE article_id IN ({marks})"
        if conn is None:
            await self._db.write(sql, tuple(article_ids))
        else:
            await conn.execute(sql, tuple(article_ids))


@dataclass(frozen=True)
class Headline:
    """An article as a line in a list."""

    article_id: int
    title: str
    published_at: datetime
    published_estimated: bool


@dataclass(frozen=True)
class Category:
    """A category with how many articles it holds."""

    category_id: int
    name: str
    count: int


class ArticleReader:
    """The queries residents' reading needs: lists, neighbours, categories, search."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._searches = SearchStore(db)  # the searches kept for paging are its table

    async def latest(
        self, category_id: int | None, offset: int, limit: int
    ) -> tuple[list[Headline], int]:
        """A page of the newest articles (of one category, or all) and how many there are."""
        columns = "a.article_id, a.title, a.published_at, a.published_estimated"
        if category_id is None:
            count = "SELECT count(*) AS n FROM articles"
            query = (
                f"SELECT {columns}, ({count}) AS total FROM articles AS a"
                " ORDER BY a.published_at DESC, a.article_id DESC LIMIT :limit OFFSET :offset"
            )
        else:
            count = "SELECT count(*) AS n FROM article_categories WHERE category_id = :category"
            # Walk the category's own index in reading order (see migration 0005).
            query = (
                f"SELECT {columns}, ({count}) AS total FROM article_categories AS ac"
                " JOIN articles AS a ON a.article_id = ac.article_id"
                " WHERE ac.category_id = :category"
                " ORDER BY ac.published_at DESC, ac.article_id DESC LIMIT :limit OFFSET :offset"
            )
        names = {"category": category_id, "limit": limit, "offset": offset}
        rows = await self._db.quick_read(query, names)  # the count rides along: one query
        if rows:
            total = int(rows[0]["total"])
        else:  # a page past the end still says how many there are
            row = await self._db.fetchone(count, names)
            total = int(row["n"]) if row else 0
        return [_headline(row) for row in rows], total

    async def open(
        self, article_id: int, category_id: int | None
    ) -> tuple[StoredArticle | None, int | None, int | None]:
        """An article with the ids of its older and newer neighbours, in one round trip."""
        table, scope = (
            ("articles", "")
            if category_id is None
            else ("article_categories", " AND category_id = :category")
        )
        here = "(SELECT published_at, article_id FROM articles WHERE article_id = :id)"
        rows = await self._db.quick_read(
            _SELECT.replace(
                "FROM articles AS a",
                f", (SELECT article_id FROM {table} WHERE (published_at, article_id) < {here}"
                f"{scope} ORDER BY published_at DESC, article_id DESC LIMIT 1) AS older,"
                f" (SELECT article_id FROM {table} WHERE (published_at, article_id) > {here}"
                f"{scope} ORDER BY published_at ASC, article_id ASC LIMIT 1) AS newer"
                " FROM articles AS a",
            )
            + " WHERE a.article_id = :id",
            {"id": article_id, "category": category_id},
        )
        if not rows:
            return None, None, None
        row = rows[0]
        older, newer = row["older"], row["newer"]
        return (
            _stored(row),
            int(older) if older is not None else None,
            int(newer) if newer is not None else None,
        )

    async def categories(self) -> list[Category]:
        """Every category that holds articles, the fullest first."""
        rows = await self._db.fetchall(
            "SELECT c.category_id, c.name, count(*) AS n FROM categories AS c"
            " JOIN article_categories AS ac USING (category_id)"
            " GROUP BY c.category_id ORDER BY n DESC, c.name"
        )
        return [_category_of(row) for row in rows]

    async def category(self, category_id: int) -> Category | None:
        """One category with its count."""
        row = await self._db.fetchone(
            "SELECT c.category_id, c.name, count(ac.article_id) AS n FROM categories AS c"
            " LEFT JOIN article_categories AS ac USING (category_id)"
            " WHERE c.category_id = ? GROUP BY c.category_id",
            (category_id,),
        )
        return _category_of(row) if row else None

    async def search(self, fts: str, offset: int, limit: int) -> tuple[list[Headline], int]:
        """Articles matching an FTS5 expression, by relevance weighed with recency."""
        # bm25 is negative, smaller is better; dividing by 1 + age in years moves old articles
        # towards zero, so among equally good matches the newer comes first.
        rows = await self._db.fetchall(
            "SELECT a.article_id, a.title, a.published_at, a.published_estimated"
            " FROM articles_search AS s JOIN articles AS a ON a.article_id = s.rowid"
            " WHERE articles_search MATCH ?"
            " ORDER BY bm25(articles_search, 10.0, 4.0, 1.0)"
            " / (1.0 + max(0.0, julianday('now') - julianday(a.published_at)) / 365.0),"
            " a.published_at DESC LIMIT ? OFFSET ?",
            (fts, limit, offset),
        )
        # bm25() cannot share a query with a window function: the count is a second query.
        row = await self._db.fetchone(
            "SELECT count(*) AS n FROM articles_search WHERE articles_search MATCH ?", (fts,)
        )
        total = int(row["n"]) if row else 0
        return [_headline(row) for row in rows], total

    # Kept searches are SearchStore's table; these names stay for the callers written
    # against them.

    async def save_search(
        self, query: str, fts: str, now: datetime, user_key: str | None = None
    ) -> int:
        """Keep a search so its result pages can be turned (`SearchStore.save`)."""
        return await self._searches.save(query, fts, now, user_key)

    async def saved_search(self, search_id: int) -> tuple[str, str] | None:
        """(query, fts) of a kept search (`SearchStore.get`)."""
        return await self._searches.get(search_id)

    async def prune_searches(self, before: datetime) -> int:
        """Forget searches older than `before`; returns how many (`SearchStore.prune`)."""
        return await self._searches.prune(before)
