-- The Zalo Official Account's connection: its tokens, and the webhook events already handled.
--
-- Zalo's refresh token is single-use: every refresh returns a new one and the old one is dead.
-- So the pair a refresh returns is written in the statement that records the refresh, before
-- the new access token is used; a crash can then never leave us holding only a spent token.
-- `seed_hash` is the SHA-256 of the ZALO_REFRESH_TOKEN setting the chain started from: the
-- database's token wins over the setting until the operator puts a different one there (after
-- authorising the app again), which starts a new chain.
CREATE TABLE zalo_tokens (
    id                INTEGER PRIMARY KEY CHECK (id = 1),   -- one Official Account
    seed_hash         TEXT NOT NULL,
    refresh_token     TEXT NOT NULL,
    access_token      TEXT,                                 -- NULL until the first refresh
    access_expires_at TEXT,                                 -- UTC ISO 8601
    refreshed_at      TEXT,                                 -- the last refresh, UTC ISO 8601
    refreshes         INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Webhook events handled, so that one Zalo sends again (same msg_id; for a follow, the app,
-- the moment and the follower) is handled once. Only a SHA-256 of that key is kept: no Zalo id
-- is stored here. Rows older than a few days are pruned (Zalo retries within minutes).
CREATE TABLE zalo_events (
    event_hash  TEXT PRIMARY KEY,
    received_at TEXT NOT NULL                              -- UTC ISO 8601
) STRICT, WITHOUT ROWID;
CREATE INDEX zalo_events_received ON zalo_events (received_at);
