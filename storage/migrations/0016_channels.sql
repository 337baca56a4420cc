-- Channel in the data: a chat or a person is known by (channel, id), so a second messenger (Zalo)
-- plugs into the same subscriptions, outbox, poll and statistics without its ids ever meeting
-- Telegram's. Every row there is today is Telegram's.
--
-- A key that must include the channel means rebuilding the table (SQLite cannot change a
-- primary key in place): each is created anew, filled from the old one, and put in its place.
-- Children are dropped before their parents, so a foreign key never cascades a delete.

-- The poll's triggers name poll_votes: they go while it is rebuilt, and come back unchanged.
DROP TRIGGER polls_question_frozen;
DROP TRIGGER poll_options_frozen_insert;
DROP TRIGGER poll_options_frozen_update;
DROP TRIGGER poll_options_frozen_delete;

-- Subscriptions and their categories --------------------------------------------------------

CREATE TABLE subscriptions_0016 (
    channel        TEXT NOT NULL DEFAULT 'telegram',  -- telegram, zalo
    chat_id        INTEGER NOT NULL,           -- the channel's chat id (a user's id for a private chat)
    mode           TEXT NOT NULL CHECK (mode IN ('instant', 'daily', 'weekly')),
    hour           INTEGER NOT NULL DEFAULT 7 CHECK (hour BETWEEN 0 AND 23),  -- local, TIMEZONE
    weekday        INTEGER NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday
    all_categories INTEGER NOT NULL DEFAULT 1 CHECK (all_categories IN (0, 1)),
    language       TEXT NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),  -- of the digests
    created_at     TEXT NOT NULL,              -- UTC, ISO 8601
    updated_at     TEXT NOT NULL,              -- UTC, ISO 8601
    digest_cursor  INTEGER NOT NULL DEFAULT 0, -- articles up to this id were offered already
    digest_slot    TEXT,                       -- the last digest slot served, UTC ISO 8601
    PRIMARY KEY (channel, chat_id)
) STRICT;
INSERT INTO subscriptions_0016 (channel, chat_id, mode, hour, weekday, all_categories, language,
                                created_at, updated_at, digest_cursor, digest_slot)
SELECT 'telegram', chat_id, mode, hour, weekday, all_categories, language, created_at, updated_at,
       digest_cursor, digest_slot
FROM subscriptions;

CREATE TABLE subscription_categories_0016 (
    channel     TEXT NOT NULL DEFAULT 'telegram',
    chat_id     INTEGER NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    PRIMARY KEY (channel, chat_id, category_id),
    FOREIGN KEY (channel, chat_id) REFERENCES subscriptions_0016 (channel, chat_id)
        ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID, STRICT;
INSERT INTO subscription_categories_0016 (channel, chat_id, category_id)
SELECT 'telegram', chat_id, category_id FROM subscription_categories;

DROP TABLE subscription_categories;
DROP TABLE subscriptions;
-- Renaming the parent rewrites the child's foreign key to the new name.
ALTER TABLE subscriptions_0016 RENAME TO subscriptions;
ALTER TABLE subscription_categories_0016 RENAME TO subscription_categories;
CREATE INDEX subscriptions_schedule ON subscriptions (mode, hour);
CREATE INDEX subscription_categories_category
    ON subscription_categories (category_id, channel, chat_id);

-- People: the language each chose -----------------------------------------------------------

CREATE TABLE users_0016 (
    channel    TEXT NOT NULL DEFAULT 'telegram',
    user_id    INTEGER NOT NULL,               -- the channel's user id
    language   TEXT CHECK (language IN ('vi', 'en')),  -- chosen with /language; NULL: the app's
    first_seen TEXT NOT NULL,                  -- UTC, ISO 8601
    last_seen  TEXT NOT NULL,                  -- UTC, ISO 8601
    PRIMARY KEY (channel, user_id)
) STRICT;
INSERT INTO users_0016 (channel, user_id, language, first_seen, last_seen)
SELECT 'telegram', user_id, language, first_seen, last_seen FROM users;
DROP TABLE users;
ALTER TABLE users_0016 RENAME TO users;

-- Reachability of chats, and groups that moved -----------------------------------------------

CREATE TABLE chats_0016 (
    channel    TEXT NOT NULL DEFAULT 'telegram',
    chat_id    INTEGER NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    reason     TEXT,                           -- why inactive: blocked, deactivated, kicked, ...
    changed_at TEXT NOT NULL,                  -- UTC ISO 8601, when `active` last changed
    PRIMARY KEY (channel, chat_id)
) STRICT;
INSERT INTO chats_0016 (channel, chat_id, active, reason, changed_at)
SELECT 'telegram', chat_id, active, reason, changed_at FROM chats;
DROP TABLE chats;
ALTER TABLE chats_0016 RENAME TO chats;

CREATE TABLE chat_moves_0016 (
    channel     TEXT NOT NULL DEFAULT 'telegram',
    old_chat_id INTEGER NOT NULL,
    new_chat_id INTEGER NOT NULL,
    moved_at    TEXT NOT NULL,
    PRIMARY KEY (channel, old_chat_id)
) STRICT;
INSERT INTO chat_moves_0016 (channel, old_chat_id, new_chat_id, moved_at)
SELECT 'telegram', old_chat_id, new_chat_id, moved_at FROM chat_moves;
DROP TABLE chat_moves;
ALTER TABLE chat_moves_0016 RENAME TO chat_moves;

-- The outbox's recipients ---------------------------------------------------------------------

CREATE TABLE outbox_0016 (
    outbox_id   INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
    channel     TEXT NOT NULL DEFAULT 'telegram',
    chat_id     INTEGER NOT NULL,
    message_key INTEGER NOT NULL REFERENCES delivery_messages (message_key),
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL,                          -- UTC epoch seconds: a retry waits until then
    sent_message_id INTEGER,                   -- the channel's id of the message, once sent
    reason      TEXT,                          -- why failed or skipped
    detail      TEXT,                          -- the channel's own words, for staff
    updated_at  REAL,
    UNIQUE (delivery_id, channel, chat_id)
) STRICT;
INSERT INTO outbox_0016 (outbox_id, delivery_id, channel, chat_id, message_key, state, attempts,
                         not_before, sent_message_id, reason, detail, updated_at)
SELECT outbox_id, delivery_id, 'telegram', chat_id, message_key, state, attempts, not_before,
       sent_message_id, reason, detail, updated_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0016 RENAME TO outbox;
CREATE INDEX outbox_open ON outbox (delivery_id, state) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_chat ON outbox (channel, chat_id);

-- Votes: one per person per poll, the person being (channel, user id) -------------------------

CREATE TABLE poll_votes_0016 (
    poll_id   INTEGER NOT NULL REFERENCES polls (poll_id),
    channel   TEXT NOT NULL DEFAULT 'telegram',
    user_id   INTEGER NOT NULL,                -- the channel's user id
    option_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,                -- update id of the tap: orders concurrent taps
    voted_at  TEXT NOT NULL,                   -- UTC, ISO 8601
    PRIMARY KEY (poll_id, channel, user_id),
    FOREIGN KEY (poll_id, option_id) REFERENCES poll_options (poll_id, option_id)
) WITHOUT ROWID, STRICT;
INSERT INTO poll_votes_0016 (poll_id, channel, user_id, option_id, seq, voted_at)
SELECT poll_id, 'telegram', user_id, option_id, seq, voted_at FROM poll_votes;
DROP TABLE poll_votes;
ALTER TABLE poll_votes_0016 RENAME TO poll_votes;
CREATE INDEX poll_votes_option ON poll_votes (poll_id, option_id);

CREATE TRIGGER polls_question_frozen BEFORE UPDATE OF question ON polls
WHEN NEW.question IS NOT OLD.question
    AND EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = OLD.poll_id)
BEGIN
    SELECT RAISE(ABORT, 'poll has votes: its question cannot change');
END;

CREATE TRIGGER poll_options_frozen_insert BEFORE INSERT ON poll_options
WHEN EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = NEW.poll_id)
BEGIN
    SELECT RAISE(ABORT, 'poll has votes: its options cannot change');
END;

CREATE TRIGGER poll_options_frozen_update BEFORE UPDATE ON poll_options
WHEN EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = OLD.poll_id)
BEGIN
    SELECT RAISE(ABORT, 'poll has votes: its options cannot change');
END;

CREATE TRIGGER poll_options_frozen_delete BEFORE DELETE ON poll_options
WHEN EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = OLD.poll_id)
BEGIN
    SELECT RAISE(ABORT, 'poll has votes: its options cannot change');
END;

-- The interaction log: which channel each event came through. Its people are keyed hashes that
-- already differ by channel (storage/stats.py user_key), so the daily counts need no change.
ALTER TABLE interactions ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
