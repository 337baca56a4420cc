-- Searches residents made, so result pages can be turned with a button (a button holds 64 bytes,
-- not a query). Old rows are pruned by the bot; the words are what the resident typed.
CREATE TABLE searches (
    search_id  INTEGER PRIMARY KEY,
    query      TEXT NOT NULL,   -- as typed, NFC
    fts        TEXT NOT NULL,   -- the FTS5 expression built from the folded words
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX searches_created ON searches (created_at);
