-- Reading a category newest-first, and stepping to an article's neighbours in it, must not scan
-- the category: each membership carries its article's publication time, kept in step by
-- triggers, under an index in reading order.
ALTER TABLE article_categories ADD COLUMN published_at TEXT NOT NULL DEFAULT '';

UPDATE article_categories
SET published_at = (SELECT published_at FROM articles WHERE articles.article_id = article_categories.article_id);

CREATE INDEX article_categories_order
    ON article_categories (category_id, published_at DESC, article_id DESC);

CREATE TRIGGER article_categories_published_on_insert AFTER INSERT ON article_categories
BEGIN
    UPDATE article_categories
    SET published_at = (SELECT published_at FROM articles WHERE article_id = NEW.article_id)
    WHERE article_id = NEW.article_id AND category_id = NEW.category_id;
END;

CREATE TRIGGER article_categories_published_on_update AFTER UPDATE OF published_at ON articles
BEGIN
    UPDATE article_categories SET published_at = NEW.published_at
    WHERE article_id = NEW.article_id;
END;
