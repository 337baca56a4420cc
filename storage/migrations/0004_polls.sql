-- The satisfaction poll: questions, their options, and one vote per Telegram user per poll.

CREATE TABLE polls (
    poll_id    INTEGER PRIMARY KEY,
    question   TEXT NOT NULL CHECK (length(question) BETWEEN 1 AND 300),
    created_by INTEGER,                        -- staff member's Telegram id; NULL for the configured default
    created_at TEXT NOT NULL,                  -- UTC, ISO 8601
    closed_at  TEXT                            -- UTC, ISO 8601; NULL while residents can vote
) STRICT;

CREATE TABLE poll_options (
    option_id INTEGER PRIMARY KEY,
    poll_id   INTEGER NOT NULL REFERENCES polls (poll_id),
    position  INTEGER NOT NULL,                -- order of the buttons, from 0
    label     TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    UNIQUE (poll_id, position),
    UNIQUE (poll_id, label),
    UNIQUE (poll_id, option_id)                -- lets a vote's option be checked against its poll
) STRICT;

-- The primary key is the guarantee of one vote per person per poll: a second tap updates the row.
CREATE TABLE poll_votes (
    poll_id   INTEGER NOT NULL REFERENCES polls (poll_id),
    user_id   INTEGER NOT NULL,                -- Telegram user id
    option_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,                -- Telegram update id of the tap: orders taps handled concurrently
    voted_at  TEXT NOT NULL,                   -- UTC, ISO 8601
    PRIMARY KEY (poll_id, user_id),
    FOREIGN KEY (poll_id, option_id) REFERENCES poll_options (poll_id, option_id)
) WITHOUT ROWID, STRICT;
CREATE INDEX poll_votes_option ON poll_votes (poll_id, option_id);

-- Once someone has voted, the question and options they answered must stay as they were: the
-- numbers would otherwise count answers to a different question.
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
