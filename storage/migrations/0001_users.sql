-- Residents and staff who have talked to the bot, with the language they chose.
CREATE TABLE users (
    user_id    INTEGER PRIMARY KEY,            -- Telegram user id
    language   TEXT CHECK (language IN ('vi', 'en')),  -- chosen with /language; NULL follows Telegram
    first_seen TEXT NOT NULL,                  -- UTC, ISO 8601
    last_seen  TEXT NOT NULL                   -- UTC, ISO 8601
) STRICT;
