-- Article keys name their site: "dnn:270892" becomes "dnn:<host[:port]>:270892" and
-- "feed:<guid>" becomes "feed:<host[:port]>:<guid>", so another portal's article 270892 can
-- never overwrite the commune's. The site is taken from the article's stored address as
-- bot.news.sites.site_of does (lower case, userinfo and default ports dropped). An article
-- stored with a relative address (older versions kept such canonical links as they were) gets
-- the site most articles have, and its address made absolute on it.

CREATE TEMP TABLE article_sites AS
WITH split AS (
    SELECT article_id,
           lower(substr(url, 1, instr(url, '://') - 1)) AS scheme,
           substr(url, instr(url, '://') + 3) AS rest
    FROM articles
    WHERE lower(substr(url, 1, instr(url, '://') - 1)) IN ('http', 'https')
), authority AS (
    SELECT article_id, scheme,
           CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1)
                ELSE rest END AS auth
    FROM split
), bare AS (
    SELECT article_id, scheme,
           lower(CASE WHEN instr(auth, '@') > 0 THEN substr(auth, instr(auth, '@') + 1)
                      ELSE auth END) AS auth
    FROM (
        SELECT article_id, scheme,
               CASE WHEN instr(auth, '?') > 0 THEN substr(auth, 1, instr(auth, '?') - 1)
                    WHEN instr(auth, '#') > 0 THEN substr(auth, 1, instr(auth, '#') - 1)
                    ELSE auth END AS auth
        FROM authority
    )
)
SELECT article_id, scheme,
       CASE WHEN scheme = 'http' AND auth LIKE '%:80' THEN substr(auth, 1, length(auth) - 3)
            WHEN scheme = 'https' AND auth LIKE '%:443' THEN substr(auth, 1, length(auth) - 4)
            ELSE auth END AS site
FROM bare
WHERE auth <> '';

-- The commune's own site: the one most articles read from a portal are on (announcements,
-- stored under "broadcast:" keys, point at t.me).
CREATE TEMP TABLE main_site AS
SELECT scheme, site FROM article_sites
WHERE article_id IN (SELECT article_id FROM article_keys WHERE external_id LIKE 'dnn:%')
GROUP BY scheme, site ORDER BY count(*) DESC LIMIT 1;

UPDATE articles
SET url = (SELECT scheme || '://' || site FROM main_site) || url
WHERE url LIKE '/%' AND url NOT LIKE '//%' AND EXISTS (SELECT 1 FROM main_site);

INSERT INTO article_sites (article_id, scheme, site)
SELECT a.article_id, m.scheme, m.site FROM articles AS a, main_site AS m
WHERE a.article_id NOT IN (SELECT article_id FROM article_sites);

UPDATE OR IGNORE article_keys
SET external_id = 'dnn:' || (SELECT site FROM article_sites AS s
                             WHERE s.article_id = article_keys.article_id)
                  || ':' || substr(external_id, 5)
WHERE external_id GLOB 'dnn:[0-9]*' AND substr(external_id, 5) NOT GLOB '*[^0-9]*'
  AND article_id IN (SELECT article_id FROM article_sites);

UPDATE OR IGNORE article_keys
SET external_id = 'feed:' || (SELECT site FROM article_sites AS s
                              WHERE s.article_id = article_keys.article_id)
                  || ':' || substr(external_id, 6)
WHERE external_id LIKE 'feed:%'
  AND article_id IN (SELECT article_id FROM article_sites);

DROP TABLE article_sites;
DROP TABLE main_site;
