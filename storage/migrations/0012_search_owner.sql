-- Whose search a kept search is, by the interaction log's keyed hash (never the Telegram id), so
-- /forget removes the words a resident typed with everything else. Searches kept before this
-- have no owner; they are pruned within a week like any other.
ALTER TABLE searches ADD COLUMN user_key TEXT;
CREATE INDEX searches_user ON searches (user_key) WHERE user_key IS NOT NULL;
