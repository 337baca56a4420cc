-- Chats the bot sends to unasked (subscribers, groups, the channel) and the outbox of bulk sends.

-- Whether a chat can still be reached. A row exists once the bot has reason to send to the chat;
-- no row means "never heard otherwise", which counts as reachable.
CREATE TABLE chats (
    chat_id       INTEGER PRIMARY KEY,         -- Telegram chat id (a user's id for private chats)
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    reason        TEXT,                        -- why inactive: blocked, deactivated, kicked, ...
    changed_at    TEXT NOT NULL                -- UTC ISO 8601, when `active` last changed
) STRICT;

-- A group that became a supergroup: sends to the old id go to the new one.
CREATE TABLE chat_moves (
    old_chat_id INTEGER PRIMARY KEY,
    new_chat_id INTEGER NOT NULL,
    moved_at    TEXT NOT NULL
) STRICT;

-- One bulk job: a digest run, an alert, a channel post, a staff broadcast.
CREATE TABLE deliveries (
    delivery_id INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,                 -- digest, alert, channel, broadcast, poll
    dedupe_key  TEXT UNIQUE,                   -- the same key twice makes one job ("alert:273402")
    label       TEXT NOT NULL DEFAULT '',      -- what staff see in lists
    priority    INTEGER NOT NULL DEFAULT 5,    -- lower goes first
    state       TEXT NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'paused', 'cancelled', 'done')),
    created_by  INTEGER,                       -- staff member's Telegram id, NULL for the bot
    created_at  TEXT NOT NULL,                 -- UTC ISO 8601
    start_at    REAL,                          -- UTC epoch seconds; NULL = at once
    finished_at TEXT,
    total       INTEGER NOT NULL DEFAULT 0,
    summary     TEXT                           -- JSON counts by outcome, kept when finished
) STRICT;
CREATE INDEX deliveries_state ON deliveries (state, priority, delivery_id);

-- What to send: a Bot API method and its parameters, as JSON. One per variant of a job
-- (one per language for an alert, one per subscriber for a digest).
CREATE TABLE delivery_messages (
    message_key INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
    body        TEXT NOT NULL                  -- {"method": "sendMessage", "params": {...}}
) STRICT;
CREATE INDEX delivery_messages_delivery ON delivery_messages (delivery_id);

-- One row per recipient of a job, written before anything is sent.
CREATE TABLE outbox (
    outbox_id   INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    message_key INTEGER NOT NULL REFERENCES delivery_messages (message_key),
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL,                          -- UTC epoch seconds: a retry waits until then
    sent_message_id INTEGER,                   -- Telegram's id of the message, once sent
    reason      TEXT,                          -- why failed or skipped
    detail      TEXT,                          -- Telegram's own words, for staff
    updated_at  REAL,
    UNIQUE (delivery_id, chat_id)
) STRICT;
CREATE INDEX outbox_open ON outbox (delivery_id, state) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_chat ON outbox (chat_id);
