-- Góp ý – phản ánh: residents' reports ("cases"), tracked from receipt to a rated answer.
--
-- A case keeps its reporter as (channel, chat, person) — NULL once they asked to be forgotten
-- (/forget): the case stays, as the commune's record, without name, chat or phone. Photos are
-- the messenger's file references, never downloaded. Every step is a row of case_events.

-- The topics residents choose from; staff change the list (/casetopics). `code` names a topic
-- the bot seeded, whose label each language's catalogue gives (cases.topic.<code>); a topic
-- staff added or renamed has no code and is shown by its `name`.
CREATE TABLE case_topics (
    topic_id INTEGER PRIMARY KEY,
    code     TEXT UNIQUE,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
) STRICT;

INSERT INTO case_topics (topic_id, code, name, position) VALUES
    (1, 'roads', 'Giao thông – đường sá', 1),
    (2, 'utilities', 'Điện – nước', 2),
    (3, 'environment', 'Môi trường – vệ sinh', 3),
    (4, 'security', 'An ninh – trật tự', 4),
    (5, 'procedures', 'Thủ tục hành chính', 5),
    (6, 'other', 'Khác', 6);

-- Which staff handle which topic; a topic nobody handles goes to every staff member.
CREATE TABLE staff_topics (
    user_id  INTEGER NOT NULL,               -- the staff member's (or owner's) Telegram id
    topic_id INTEGER NOT NULL REFERENCES case_topics (topic_id),
    PRIMARY KEY (user_id, topic_id)
) STRICT;

-- The last number given each year: a case number is never reused.
CREATE TABLE case_numbers (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE cases (
    case_id      INTEGER PRIMARY KEY,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL,                    -- PA-<year>-<seq, 4 digits or more>
    channel      TEXT NOT NULL DEFAULT 'telegram',    -- the reporter's channel (kept: a record)
    chat_id      INTEGER,                             -- their private chat; NULL once forgotten
    person_id    INTEGER,                             -- the reporter; NULL once forgotten
    phone        TEXT,                                -- only from a shared contact
    language     TEXT NOT NULL,                       -- what the reporter is written to in
    topic_id     INTEGER NOT NULL REFERENCES case_topics (topic_id),
    description  TEXT NOT NULL,
    latitude     REAL,
    longitude    REAL,
    state        TEXT NOT NULL DEFAULT 'received' CHECK (state IN
                     ('received', 'assigned', 'answered', 'reopened', 'closed', 'duplicate',
                      'spam')),
    duplicate_of INTEGER REFERENCES cases (case_id),
    assignee     INTEGER,                             -- a staff member's Telegram id
    deadline     TEXT,                                -- the local date it is due, YYYY-MM-DD
    answer       TEXT,
    answered_by  INTEGER,
    rating       TEXT CHECK (rating IN ('satisfied', 'unsatisfied')),
    rating_word  TEXT,
    created_at   TEXT NOT NULL,                       -- UTC ISO 8601, as every moment below
    assigned_at  TEXT,
    answered_at  TEXT,
    rated_at     TEXT,
    reopened_at  TEXT,
    closed_at    TEXT,
    updated_at   TEXT NOT NULL,
    UNIQUE (year, seq),
    CHECK ((state = 'duplicate') = (duplicate_of IS NOT NULL))
) STRICT;
CREATE INDEX cases_state ON cases (state, deadline);
CREATE INDEX cases_reporter ON cases (channel, person_id, created_at);
CREATE INDEX cases_topic ON cases (topic_id, state);
CREATE INDEX cases_assignee ON cases (assignee, state);

CREATE TABLE case_photos (
    case_id  INTEGER NOT NULL REFERENCES cases (case_id),
    position INTEGER NOT NULL,                        -- 1..3
    file_ref TEXT NOT NULL,                           -- the messenger's reference (file_id)
    PRIMARY KEY (case_id, position)
) STRICT;

-- Internal notes: staff only, never shown to residents.
CREATE TABLE case_notes (
    note_id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (case_id),
    author  INTEGER NOT NULL,                         -- the staff member's Telegram id
    body    TEXT NOT NULL,
    at      TEXT NOT NULL
) STRICT;
CREATE INDEX case_notes_case ON case_notes (case_id, note_id);

-- Every step of a case: received, assigned, deadline, answered, rated, reopened, closed,
-- duplicate, spam, note. `actor` is a staff member's Telegram id as text, 'resident' for the
-- reporter (never their id), or NULL for the bot itself.
CREATE TABLE case_events (
    event_id INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases (case_id),
    at       TEXT NOT NULL,
    actor    TEXT,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX case_events_case ON case_events (case_id, event_id);
CREATE INDEX case_events_kind ON case_events (kind, at);
