-- Staff and the audit log. The owners are ADMIN_IDS (configuration, never stored); the people
-- they make staff are kept here. The audit log records what staff did and every refused attempt
-- at a staff command.

CREATE TABLE staff (
    user_id  INTEGER PRIMARY KEY,            -- Telegram user id
    name     TEXT NOT NULL,                  -- display name as Telegram gave it when added
    added_by INTEGER NOT NULL,               -- the owner's Telegram user id
    added_at TEXT NOT NULL                   -- UTC, ISO 8601
) STRICT;

-- Staff are accountable: a staff member's row names them by Telegram id. A resident refused a
-- staff command is named only by the keyed hash of the interaction log (storage/stats.py), never
-- by their Telegram id, and /forget removes even that (actor NULL).
CREATE TABLE audit (
    audit_id INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,                  -- UTC, ISO 8601
    actor    TEXT,                           -- staff: Telegram id as text; resident: user key,
                                             -- NULL once that resident asked to be forgotten
    action   TEXT NOT NULL,                  -- staff_added, poll_created, refused, broadcast...
    detail   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))  -- a JSON object
) STRICT;
CREATE INDEX audit_action ON audit (action, audit_id);
