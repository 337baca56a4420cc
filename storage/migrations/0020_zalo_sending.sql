-- Sending on Zalo.
--
-- Zalo names a sent message by a string (`data.message_id`), Telegram by a number: the outbox
-- keeps a channel's string id beside `sent_message_id` (which stays Telegram's number).
ALTER TABLE outbox ADD COLUMN sent_message_ref TEXT;

-- The commune's OA article broadcasts: Zalo's package allows a few a month
-- (ZALO_BROADCASTS_PER_MONTH). One row per announcement published so (a double tap publishes
-- once); a row counts against its month unless the publication failed.
CREATE TABLE zalo_broadcasts (
    broadcast_id INTEGER PRIMARY KEY,           -- the announcement (`broadcasts`)
    month        TEXT NOT NULL,                -- local month, TIMEZONE: 2026-11
    state        TEXT NOT NULL DEFAULT 'publishing'
                 CHECK (state IN ('publishing', 'published', 'failed')),
    article_id   TEXT,                         -- Zalo's id of the OA article, once created
    detail       TEXT,                         -- Zalo's words when it failed
    created_by   INTEGER,                      -- staff member's Telegram id
    created_at   TEXT NOT NULL                 -- UTC ISO 8601
) STRICT;
CREATE INDEX zalo_broadcasts_month ON zalo_broadcasts (month, state);
