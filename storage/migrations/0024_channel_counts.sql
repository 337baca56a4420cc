-- The statistics by channel: /stats and /staffstats count Telegram and Zalo separately and
-- together. The daily counts (migration 0006) stay the totals; beside them, the same counts per
-- channel, kept by the same triggers in the same statement as the event. Every count so far is
-- Telegram's (Zalo did not exist yet), so they are copied as Telegram's.

CREATE TABLE daily_channel_counts (
    day           TEXT NOT NULL,               -- YYYY-MM-DD in the configured time zone
    channel       TEXT NOT NULL,               -- telegram, zalo
    interactions  INTEGER NOT NULL DEFAULT 0,
    residents     INTEGER NOT NULL DEFAULT 0,  -- distinct residents of the channel active that day
    new_residents INTEGER NOT NULL DEFAULT 0,  -- of them, first seen that day
    PRIMARY KEY (day, channel)
) WITHOUT ROWID, STRICT;
INSERT INTO daily_channel_counts (day, channel, interactions, residents, new_residents)
SELECT day, 'telegram', interactions, residents, new_residents FROM daily_counts;

-- A key is one person on one channel (storage/stats.py user_key): the channel goes with it.
ALTER TABLE daily_users ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE stats_residents ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';

DROP TRIGGER interactions_counted;
DROP TRIGGER daily_users_counted;
DROP TRIGGER stats_residents_counted;

CREATE TRIGGER interactions_counted AFTER INSERT ON interactions
BEGIN
    INSERT OR IGNORE INTO daily_counts (day) VALUES (NEW.day);
    UPDATE daily_counts SET interactions = interactions + 1 WHERE day = NEW.day;
    INSERT OR IGNORE INTO daily_channel_counts (day, channel) VALUES (NEW.day, NEW.channel);
    UPDATE daily_channel_counts SET interactions = interactions + 1
        WHERE day = NEW.day AND channel = NEW.channel;
    INSERT OR IGNORE INTO daily_users (day, user_key, channel)
        SELECT NEW.day, NEW.user_key, NEW.channel WHERE NEW.user_key IS NOT NULL;
    INSERT OR IGNORE INTO stats_residents (user_key, first_day, channel)
        SELECT NEW.user_key, NEW.day, NEW.channel WHERE NEW.user_key IS NOT NULL;
END;

-- An ignored INSERT OR IGNORE fires no trigger: these count only first appearances.
CREATE TRIGGER daily_users_counted AFTER INSERT ON daily_users
BEGIN
    UPDATE daily_counts SET residents = residents + 1 WHERE day = NEW.day;
    UPDATE daily_channel_counts SET residents = residents + 1
        WHERE day = NEW.day AND channel = NEW.channel;
END;

CREATE TRIGGER stats_residents_counted AFTER INSERT ON stats_residents
BEGIN
    UPDATE daily_counts SET new_residents = new_residents + 1 WHERE day = NEW.first_day;
    UPDATE daily_channel_counts SET new_residents = new_residents + 1
        WHERE day = NEW.first_day AND channel = NEW.channel;
END;
