-- Residents on Zalo. Zalo names a follower of the commune's Official Account by a string id
-- (digits today, possibly longer than SQLite's integers); every table of ours keys a person by
-- (channel, INTEGER id). So each Zalo user gets a local number here, never reused, and the
-- rest of the database knows them as ('zalo', person_id). /forget deletes the row.
--
-- The row also holds the interaction window Zalo enforces: the OA may reply freely only for a
-- while after the resident's last message, and only so many times (ZALO_WINDOW_HOURS,
-- ZALO_WINDOW_MESSAGES).
CREATE TABLE zalo_people (
    person_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL UNIQUE,          -- Zalo's id of the follower (sender.id)
    following       INTEGER NOT NULL DEFAULT 1 CHECK (following IN (0, 1)),
    first_seen_at   TEXT NOT NULL,                 -- UTC ISO 8601
    last_inbound_at TEXT,                          -- the resident's last message, UTC ISO 8601
    sent_in_window  INTEGER NOT NULL DEFAULT 0     -- our messages since that one
) STRICT;
