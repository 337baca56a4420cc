-- What a reporter on Zalo is told of their case (assigned, answered, closed, duplicate, spam),
-- held while the OA may not write to them (outside the interaction window): a row is written
-- before the notice is tried, deleted once Zalo took it, and otherwise shown first with the
-- resident's next message. `/forget` deletes a person's rows (storage.privacy).
CREATE TABLE case_notices (
    notice_id     INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (case_id),
    channel       TEXT NOT NULL,
    chat_id       INTEGER NOT NULL,        -- the reporter's chat on that channel
    kind          TEXT NOT NULL,           -- the change: assigned, answered, closed, ...
    other_case_id INTEGER REFERENCES cases (case_id),  -- for a duplicate: the case it repeats
    created_at    TEXT NOT NULL
);
CREATE INDEX case_notices_chat ON case_notices (channel, chat_id, notice_id);
