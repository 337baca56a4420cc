-- The copy of the portal's news: articles, the keys they are known by, categories, search.

CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,          -- as the site names it, NFC
    site_key    TEXT                           -- the site's own id (DNN group id), if any
) STRICT;

CREATE TABLE articles (
    article_id          INTEGER PRIMARY KEY,
    url                 TEXT NOT NULL,         -- canonical address on the site
    title               TEXT NOT NULL,
    title_key           TEXT NOT NULL,         -- folded title, a second guard against duplicates
    summary             TEXT NOT NULL DEFAULT '',
    body_html           TEXT NOT NULL DEFAULT '',  -- Telegram HTML, paragraphs split by blank lines
    body_text           TEXT NOT NULL DEFAULT '',
    author              TEXT,
    image_url           TEXT,
    published_at        TEXT NOT NULL,         -- UTC ISO 8601
    published_estimated INTEGER NOT NULL DEFAULT 0 CHECK (published_estimated IN (0, 1)),
    category_id         INTEGER REFERENCES categories (category_id),  -- the main one
    content_hash        TEXT NOT NULL,         -- changes when the site edits the article
    first_seen_at       TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    checked_at          TEXT NOT NULL          -- last time the site was asked for it
) STRICT;
CREATE INDEX articles_published ON articles (published_at DESC, article_id DESC);
CREATE INDEX articles_title_key ON articles (title_key);

-- Every identifier an article is known by (the portal's nid, a feed's guid); one row each.
CREATE TABLE article_keys (
    external_id TEXT PRIMARY KEY,              -- "dnn:270892", "feed:<guid>"
    article_id  INTEGER NOT NULL REFERENCES articles (article_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX article_keys_article ON article_keys (article_id);

-- An article can sit in several categories (the same nid under two group ids).
CREATE TABLE article_categories (
    article_id  INTEGER NOT NULL REFERENCES articles (article_id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    PRIMARY KEY (article_id, category_id)
) WITHOUT ROWID, STRICT;
CREATE INDEX article_categories_category ON article_categories (category_id, article_id);

-- Search over folded text (no diacritics, đ→d, lower case); rowid = article_id.
CREATE VIRTUAL TABLE articles_search USING fts5 (
    title, summary, body, tokenize = 'unicode61 remove_diacritics 0'
);

-- Validators for conditional requests, saved only after the page's content was stored.
CREATE TABLE http_cache (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    checked_at    TEXT NOT NULL
) STRICT;

-- One row per poll of the site, with what it found and what went wrong.
CREATE TABLE ingest_runs (
    run_id      INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    backfill    INTEGER NOT NULL DEFAULT 0,
    ok          INTEGER,                       -- NULL while running; 0 = the site could not be read
    new         INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT
) STRICT;

CREATE TABLE ingest_failures (
    run_id INTEGER NOT NULL REFERENCES ingest_runs (run_id) ON DELETE CASCADE,
    url    TEXT NOT NULL,
    reason TEXT NOT NULL
) STRICT;

-- Small named values the bot keeps between runs (alert states, generated keys).
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
