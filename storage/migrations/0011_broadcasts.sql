-- Staff announcements: the dialog that writes one, and what became of it.
CREATE TABLE broadcasts (
    broadcast_id     INTEGER PRIMARY KEY,
    created_by       INTEGER NOT NULL,         -- the staff member's Telegram id
    chat_id          INTEGER NOT NULL,         -- the staff chat the dialog and progress are in
    state            TEXT NOT NULL DEFAULT 'writing' CHECK (state IN (
                         'writing', 'choosing', 'timing', 'queued', 'sending', 'done',
                         'cancelled')),
    kind             TEXT CHECK (kind IN ('text', 'photo', 'document')),
    body             TEXT,                     -- JSON: the message as the outbox sends it
    text_html        TEXT,                     -- the text or caption, Telegram HTML
    categories       TEXT NOT NULL DEFAULT '', -- chosen category ids, "1,3"; '' = everyone
    channel          INTEGER NOT NULL DEFAULT 0 CHECK (channel IN (0, 1)),
    start_at         REAL,                     -- UTC epoch seconds; NULL = at once
    recipients       INTEGER,                  -- how many it was written for
    delivery_id      INTEGER REFERENCES deliveries (delivery_id),
    panel_message_id INTEGER,                  -- the dialog message, then the progress message
    article_id       INTEGER REFERENCES articles (article_id),  -- the announcement kept as news
    created_at       TEXT NOT NULL,            -- UTC ISO 8601
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX broadcasts_open ON broadcasts (state) WHERE state IN ('queued', 'sending');
CREATE INDEX broadcasts_author ON broadcasts (created_by, state);
