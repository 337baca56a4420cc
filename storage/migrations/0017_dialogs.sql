-- Dialogs in progress (/newpoll today): one row per (channel, chat, person, kind of dialog),
-- its state as JSON, so a restart loses no half-written draft.
CREATE TABLE dialogs (
    channel    TEXT NOT NULL DEFAULT 'telegram',
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL,                 -- 'newpoll'
    state      TEXT NOT NULL,                 -- JSON, as the dialog wrote it
    updated_at TEXT NOT NULL,                 -- UTC ISO 8601
    PRIMARY KEY (channel, chat_id, user_id, kind)
) STRICT;
