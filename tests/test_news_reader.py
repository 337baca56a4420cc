"""The news reader against the stand-in website: backfill, cheap polls, edits, faults."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.news.reader import RunReport
from storage import Database
from storage.articles import ArticleData, ArticleStore
from storage.ingest import IngestLog
from tests.conftest import SOURCES, Harness, article_ids

FIXTURES = Path(__file__).parent / "fixtures" / "portal"
EXPECTED: dict[str, Any] = tomllib.loads((FIXTURES / "expected.toml").read_text("utf-8"))


async def stored_nids(db: Database) -> set[int]:
    async with db.conn.execute("SELECT external_id FROM article_keys") as cursor:
        return {int(key.rpartition(":")[2]) async for (key,) in cursor}


async def test_first_run_backfills_every_listed_article(site: Harness) -> None:
    report = await site.reader().run()
    assert report.ok
    assert report.backfill
    assert not report.failures
    listed = {
        nid for case in EXPECTED["list"] for nid in case["items"] if case["file"] != "rss.xml"
    }
    expected = {case["nid"] for case in EXPECTED["article"]} & listed
    assert await stored_nids(site.db) == expected
    assert len(report.new) == len(expected)
    # Each article page was fetched once, although several list pages link it.
    assert len(site.article_requests()) == len(set(site.article_requests())) == len(expected)
    # The second list pages were followed during the backfill.
    assert [r.query for r in site.portal.requests_to("/thong-bao")] == ["", "page=2"]


async def test_stored_fields(site: Harness) -> None:
    await site.reader().run()
    store = ArticleStore(site.db)
    by_nid = await article_ids(site.db, *(case["nid"] for case in EXPECTED["article"]))
    for case in EXPECTED["article"]:
        if case["nid"] not in by_nid:
            continue
        article = await store.get(by_nid[case["nid"]])
        assert article is not None
        assert article.title == case["title"]
        assert article.summary == case["summary"]
        assert article.category == case["category"]
        assert article.url == site.portal.url + case["path"] or article.url.endswith(case["path"])
        expected_time = case["published"] if case["published"] != "missing" else case["listed"]
        assert article.published_at == expected_time
        assert article.published_at.utcoffset() == timedelta(0)  # stored in UTC
        assert not article.published_estimated


async def test_second_run_with_nothing_new_fetches_no_article(site: Harness) -> None:
    reader = site.reader()
    await reader.run()
    site.portal.requests.clear()
    report = await reader.run()
    assert report.ok
    assert not report.backfill
    assert (report.new, report.updated) == ([], [])
    assert site.article_requests() == []
    # Only the watched list pages were asked, each answered 304 Not Modified.
    assert sorted(r.path for r in site.portal.requests) == sorted(SOURCES)
    assert {r.status for r in site.portal.requests} == {304}
    assert report.requests == len(SOURCES)


async def test_new_article_is_found_and_handed_to_listeners(site: Harness) -> None:
    reader = site.reader()
    heard: list[RunReport] = []

    async def listener(report: RunReport) -> None:
        heard.append(report)

    reader.add_listener(listener)
    await reader.run()
    site.portal.use_spares("new-article-273402")
    site.portal.requests.clear()
    report = await reader.run()
    assert len(report.new) == 1
    assert site.article_requests() == [EXPECTED["new_article"][0]["path"]]
    # Page 2 of Thông báo holds only known articles: not fetched again.
    assert all(r.query == "" for r in site.portal.requests_to("/thong-bao"))
    assert [len(h.new) for h in heard] == [len(heard[0].new), 1]
    assert heard[0].backfill
    assert not heard[1].backfill
    article = await ArticleStore(site.db).get(report.new[0])
    assert article is not None
    assert article.title == EXPECTED["new_article"][0]["title"]


async def test_edited_article_is_updated_in_place(site: Harness) -> None:
    reader = site.reader()
    await reader.run()
    store = ArticleStore(site.db)
    article_id = (await article_ids(site.db, 273315))[273315]
    count = await store.count()

    site.portal.use_spares("edited-273315")
    # The list pages did not change, so the next poll cannot see the edit...
    assert (await reader.run()).updated == []
    # ...but a day later recent articles are asked for again, conditionally.
    site.clock.now += timedelta(hours=25)
    site.portal.requests.clear()
    report = await reader.run()
    assert report.updated == [article_id]
    edited = await store.get(article_id)
    assert edited is not None
    assert edited.title == EXPECTED["edited"][0]["title"]
    assert await store.count() == count
    # Unchanged articles answered 304: only the edited page was sent in full.
    full = [r.path for r in site.portal.requests if r.status == 200]
    assert [p for p in full if p.startswith("/chi-tiet-tin/")] == [EXPECTED["edited"][0]["path"]]


async def test_same_article_under_two_groups_is_one_row(site: Harness) -> None:
    reader = site.reader((*SOURCES, "/thong-tin-chi-đao-đieu-hanh"))
    await reader.run()
    keys = await article_ids(site.db, 266120)
    assert len(keys) == 1
    async with site.db.conn.execute(
        "SELECT c.name FROM article_categories JOIN categories AS c USING (category_id)"
        " WHERE article_id = ? ORDER BY c.name",
        (keys[266120],),
    ) as cursor:
        names = [name async for (name,) in cursor]
    assert names == ["Thông báo", "Thông tin chỉ đạo điều hành"]
    # The Vietnamese path was requested percent-encoded and answered.
    assert site.portal.requests_to("/thong-tin-chi-đao-đieu-hanh")[0].status == 200


async def test_same_title_is_a_duplicate(site: Harness) -> None:
    store = ArticleStore(site.db)
    when = datetime(2021, 4, 1, tzinfo=UTC)
    first = ArticleData(("dnn:1",), "http://x/1", "Thông báo lịch tiếp dân tháng 4",
                        "thong bao lich tiep dan thang 4", published_at=when)  # fmt: skip
    again = ArticleData(("dnn:2",), "http://x/2", "THÔNG BÁO lịch tiếp dân tháng 4!",
                        "thong bao lich tiep dan thang 4", published_at=when)  # fmt: skip
    other_month = ArticleData(("dnn:3",), "http://x/3", "Thông báo lịch tiếp dân tháng 4",
                              "thong bao lich tiep dan thang 4",
                              published_at=when + timedelta(days=365))  # fmt: skip
    id1, _ = await store.upsert(first, when)
    id2, outcome = await store.upsert(again, when)
    id3, _ = await store.upsert(other_month, when)
    assert id1 == id2
    assert outcome == "updated"
    assert id3 != id1  # a year apart: a different article that happens to share its title
    assert await store.known(["dnn:1", "dnn:2"]) == {"dnn:1": id1, "dnn:2": id1}


async def test_site_down_keeps_everything(site: Harness) -> None:
    reader = site.reader()
    await reader.run()
    before = await stored_nids(site.db)
    site.portal.set_down(True)
    report = await reader.run()
    assert not report.ok
    assert "503" in (report.site_error or "")
    assert await stored_nids(site.db) == before
    assert await IngestLog(site.db).failed_in_a_row() == 1
    site.portal.set_down(False)
    assert (await reader.run()).ok
    assert await IngestLog(site.db).failed_in_a_row() == 0


async def test_one_broken_article_among_good_ones(site: Harness) -> None:
    broken = EXPECTED["article"][0]["path"]
    site.portal.fail(broken, status=500, times=10)  # fails every retry
    site.portal.fail(EXPECTED["article"][1]["path"], status=502, times=1)  # fails once
    report = await site.reader().run()
    assert report.ok
    assert [url for url, _ in report.failures] == [site.portal.url_for(broken)]
    assert "500" in report.failures[0][1]
    assert EXPECTED["article"][1]["nid"] in await stored_nids(site.db)  # retried, stored
    assert EXPECTED["article"][0]["nid"] not in await stored_nids(site.db)
    failures = await IngestLog(site.db).failures(report.run_id)
    assert failures == report.failures
    # The next poll tries the broken article again (it is still unknown) and succeeds.
    site.portal.reset()
    report = await site.reader().run()
    assert EXPECTED["article"][0]["nid"] in await stored_nids(site.db)


async def test_timeouts_and_pages_that_are_not_articles(site: Harness) -> None:
    slow = EXPECTED["article"][2]["path"]
    site.portal.delay(30, slow)  # longer than the client's 2 s read timeout
    garbage = next(c for c in EXPECTED["malformed"] if c["file"].endswith("garbage.html"))
    site.portal.replace(
        "/tin-bai-loi",
        body=f'<html><body><a href="{garbage["path"]}">Tin lỗi</a></body></html>',
    )
    report = await site.reader((*SOURCES, "/tin-bai-loi", "/gioi-thieu")).run()
    reasons = dict(report.failures)
    assert "did not answer in time" in reasons[site.portal.url_for(slow)]
    assert reasons[site.portal.url_for(garbage["path"])].startswith("not an article")
    assert reasons[site.portal.url_for("/gioi-thieu")].startswith("not a list of news")
    assert report.ok  # the rest of the site was read
    assert len(report.new) >= 8


async def test_rss_and_atom_feeds_use_the_same_pipeline(site: Harness) -> None:
    report = await site.reader(("feed:/rss.xml", "/atom.xml")).run()
    assert report.ok
    assert not report.failures
    nids = {nid for case in EXPECTED["feed"] for nid in case["items"]}
    assert await stored_nids(site.db) == nids
    assert site.article_requests() == []  # feeds hold whole articles
    # A later portal poll recognises the same articles by their nid: one row per article.
    await site.reader().run()
    all_nids = await stored_nids(site.db)
    assert all_nids > nids
    assert await ArticleStore(site.db).count() == len(all_nids)


async def test_concurrent_requests_are_capped_and_identified(site: Harness) -> None:
    site.portal.delay(0.2)  # every answer is slow, so requests pile up if nothing caps them
    reader = site.reader()  # the harness's fetcher allows 4 at once
    report = await reader.run()
    assert len(report.new) >= 10
    assert site.portal.peak_in_flight == 4
    agents = {r.headers.get("user-agent") for r in site.portal.requests}
    assert len(agents) == 1
