-- Subscriptions to the commune's news: one per chat (a resident's private chat or a group), the
-- categories it follows, and an anonymous record of subscribing and stopping for the statistics.

CREATE TABLE subscriptions (
    chat_id        INTEGER PRIMARY KEY,        -- Telegram chat id (a user's id for a private chat)
    mode           TEXT NOT NULL CHECK (mode IN ('instant', 'daily', 'weekly')),
    hour           INTEGER NOT NULL DEFAULT 7 CHECK (hour BETWEEN 0 AND 23),  -- local, TIMEZONE
    weekday        INTEGER NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday
    all_categories INTEGER NOT NULL DEFAULT 1 CHECK (all_categories IN (0, 1)),
    language       TEXT NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),  -- of the digests
    created_at     TEXT NOT NULL,              -- UTC, ISO 8601
    updated_at     TEXT NOT NULL,              -- UTC, ISO 8601
    -- Digests: articles up to this id were offered already (or predate the subscription) ...
    digest_cursor  INTEGER NOT NULL DEFAULT 0,
    -- ... and the scheduled time (UTC ISO 8601) of the last digest slot that was served.
    digest_slot    TEXT
) STRICT;
-- Digests are due by mode and hour (the weekday narrows the weekly ones).
CREATE INDEX subscriptions_schedule ON subscriptions (mode, hour);

-- The chosen categories of a subscription that does not take all news.
CREATE TABLE subscription_categories (
    chat_id     INTEGER NOT NULL
                REFERENCES subscriptions (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    PRIMARY KEY (chat_id, category_id)
) WITHOUT ROWID, STRICT;
CREATE INDEX subscription_categories_category ON subscription_categories (category_id, chat_id);

-- Subscribing, changing and stopping, for "subscriptions over time". No chat id on purpose: the
-- statistics need only how many, never who.
CREATE TABLE subscription_events (
    at    TEXT NOT NULL,                       -- UTC, ISO 8601
    day   TEXT NOT NULL,                       -- the date in the configured time zone, YYYY-MM-DD
    event TEXT NOT NULL CHECK (event IN ('subscribe', 'change', 'unsubscribe')),
    mode  TEXT NOT NULL CHECK (mode IN ('instant', 'daily', 'weekly'))  -- after; before a stop
) STRICT;
CREATE INDEX subscription_events_day ON subscription_events (day);
