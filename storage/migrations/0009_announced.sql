-- Whether a new article has been announced (instant alerts, the channel). Articles stored before
-- this migration count as announced: only what the news reader finds from now on is news.
ALTER TABLE articles ADD COLUMN announced INTEGER NOT NULL DEFAULT 0 CHECK (announced IN (0, 1));
UPDATE articles SET announced = 1;
CREATE INDEX articles_unannounced ON articles (article_id) WHERE announced = 0;
