-- The interaction log and the counts /stats reads. No Telegram id is stored here: residents are
-- known only by a keyed hash (user_key), and /forget turns even that to NULL.

CREATE TABLE interactions (
    event_id   INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,              -- UTC, ISO 8601
    day        TEXT NOT NULL,              -- the date in the configured time zone, YYYY-MM-DD
    kind       TEXT NOT NULL,              -- cmd:latest, article_open, search, vote, inline_query...
    target     INTEGER,                    -- article id or poll id, when there is one
    chat_type  TEXT,                       -- private, group, supergroup, channel, sender
    user_key   TEXT,                       -- HMAC of the Telegram id, truncated; NULL once forgotten
    update_id  INTEGER,                    -- Telegram's update id: lets the search add its words
    words      TEXT,                       -- the search's words, for kind 'search' only
    results    INTEGER                     -- the search's number of results
) STRICT;
CREATE INDEX interactions_at ON interactions (at);
CREATE INDEX interactions_kind_day ON interactions (kind, day, target);
CREATE INDEX interactions_user ON interactions (user_key) WHERE user_key IS NOT NULL;
CREATE INDEX interactions_update ON interactions (update_id);

-- One row per local day, maintained by the triggers below in the same statement as the event,
-- so /stats reads a few hundred rows however long the log grows. Deleting old events (retention)
-- or forgetting a resident never changes these numbers.
CREATE TABLE daily_counts (
    day           TEXT PRIMARY KEY,        -- YYYY-MM-DD in the configured time zone
    interactions  INTEGER NOT NULL DEFAULT 0,
    residents     INTEGER NOT NULL DEFAULT 0,  -- distinct residents active that day
    new_residents INTEGER NOT NULL DEFAULT 0   -- residents seen for the first time that day
) WITHOUT ROWID, STRICT;

-- Who was active on which day (for distinct counts over a week or month).
CREATE TABLE daily_users (
    day      TEXT NOT NULL,
    user_key TEXT NOT NULL,
    PRIMARY KEY (day, user_key)
) WITHOUT ROWID, STRICT;
CREATE INDEX daily_users_key ON daily_users (user_key);

-- Every resident ever reached, by key: a new row marks a first contact.
CREATE TABLE stats_residents (
    user_key  TEXT PRIMARY KEY,
    first_day TEXT NOT NULL
) WITHOUT ROWID, STRICT;

CREATE TRIGGER interactions_counted AFTER INSERT ON interactions
BEGIN
    INSERT OR IGNORE INTO daily_counts (day) VALUES (NEW.day);
    UPDATE daily_counts SET interactions = interactions + 1 WHERE day = NEW.day;
    INSERT OR IGNORE INTO daily_users (day, user_key)
        SELECT NEW.day, NEW.user_key WHERE NEW.user_key IS NOT NULL;
    INSERT OR IGNORE INTO stats_residents (user_key, first_day)
        SELECT NEW.user_key, NEW.day WHERE NEW.user_key IS NOT NULL;
END;

-- An ignored INSERT OR IGNORE fires no trigger: these count only first appearances.
CREATE TRIGGER daily_users_counted AFTER INSERT ON daily_users
BEGIN
    UPDATE daily_counts SET residents = residents + 1 WHERE day = NEW.day;
END;

CREATE TRIGGER stats_residents_counted AFTER INSERT ON stats_residents
BEGIN
    UPDATE daily_counts SET new_residents = new_residents + 1 WHERE day = NEW.first_day;
END;
