"""The news reader against a hostile website: pages that never end, pages too large, redirect
loops, malformed links and bodies, other portals, bad canonical addresses, legacy encodings,
portals whose categories look different. Each is one page's recorded failure (or is read
right), quickly, and the run goes on."""

from __future__ import annotations

import asyncio
import re
import time
import tomllib
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.news.fetch import Fetcher, decode
from bot.news.reader import NewsReader, Source
from bot.news.text import fold
from bot.standins.website import FakePortal
from storage import Database
from storage.articles import ArticleData, ArticleReader, ArticleStore
from storage.ingest import IngestLog
from storage.migrate import bundled_migrations
from tests.conftest import TZ, Harness, article_ids
from tests.fixtures import PORTAL

FIXTURES = Path(__file__).parent / "fixtures" / "portal"
EXPECTED: dict[str, Any] = tomllib.loads((FIXTURES / "expected.toml").read_text("utf-8"))
ARTICLES = {case["nid"]: case for case in EXPECTED["article"]}
GOOD = (270892, 272301)  # two good articles every hostile list page also links


def list_page(*links: str, heading: str = "Tin thử") -> str:
    """A list page of the portal's shape linking these addresses (plus the two good ones)."""
    good = [ARTICLES[nid]["path"] for nid in GOOD]
    items = "\n".join(
        f'<div class="qti_tt_item"><a class="qti_tt_tieude" href="{href}">Tin {i}</a></div>'
        for i, href in enumerate([*good, *links])
    )
    return (
        '<html><head><meta charset="utf-8"><title>Tin thử</title></head><body>'
        f'<div class="qti_box"><h2 class="qti_title"><span class="Head">{heading}</span></h2>'
        f"{items}</div></body></html>"
    )


async def run_briefly(harness: Harness, sources: tuple[str, ...], **options: Any) -> Any:
    """Run the reader; a run that does not finish in 15 s fails the test (not the suite)."""
    async with asyncio.timeout(15):
        return await harness.reader(sources, **options).run()


async def good_articles_stored(harness: Harness) -> bool:
    return set(GOOD) <= set(await article_ids(harness.db, *GOOD))


# -- 1. a deadline per request and a size cap ------------------------------------------------


async def test_trickling_and_oversized_pages_fail_quickly_and_the_run_goes_on(
    site: Harness,
) -> None:
    trickle = "/chi-tiet-tin/group/130/nid/990001/nho-giot"
    huge = "/chi-tiet-tin/group/130/nid/990002/rat-lon"
    huge_declared = "/chi-tiet-tin/group/130/nid/990003/rat-lon-co-do-dai"
    site.portal.trickle(trickle, interval=0.1)  # never stalls long enough for a read timeout
    site.portal.oversized(huge, 50_000_000)  # streamed by the stand-in, never held in memory
    site.portal.oversized(huge_declared, 50_000_000, declare_length=True)
    site.portal.replace("/tin-thu", body=list_page(trickle, huge, huge_declared))
    started = time.monotonic()
    report = await run_briefly(site, ("/tin-thu",), limits={"deadline": 1.0, "max_bytes": 200_000})
    assert time.monotonic() - started < 8  # one deadline, not one per retry, nor forever
    reasons = dict(report.failures)
    assert "longer than 1 s" in reasons[site.portal.url_for(trickle)]
    assert "larger than 200,000 bytes" in reasons[site.portal.url_for(huge)]
    assert "larger than 200,000 bytes" in reasons[site.portal.url_for(huge_declared)]
    assert report.ok
    assert await good_articles_stored(site)
    assert await IngestLog(site.db).failures(report.run_id) == report.failures
    # No hostile page was asked for twice (they would do the same again): the list page,
    # two good articles, three hostile ones.
    assert report.requests == 6


async def test_a_source_that_trickles_is_a_failed_run_the_alert_counts(site: Harness) -> None:
    site.portal.trickle("/tin-cham", interval=0.1)
    report = await run_briefly(site, ("/tin-cham",), limits={"deadline": 0.5})
    assert not report.ok
    assert "longer than 0.5 s" in (report.site_error or "")
    assert await IngestLog(site.db).failed_in_a_row() == 1


# -- 2. redirect loops, malformed links, damaged bodies: each one page's failure -------------


async def test_redirect_loops_malformed_links_and_bad_gzip_are_each_one_pages_failure(
    site: Harness,
) -> None:
    loop = "/chi-tiet-tin/group/130/nid/990011/vong-lap"
    other = "/chi-tiet-tin/group/130/nid/990012/vong-lap-kia"
    site.portal.redirect(loop, other)
    site.portal.redirect(other, loop)
    to_bad_ipv6 = "/chi-tiet-tin/group/130/nid/990013/chuyen-sai"
    site.portal.redirect(to_bad_ipv6, "http://[::1/x")
    to_bad_port = "/chi-tiet-tin/group/130/nid/990014/cong-sai"
    site.portal.redirect(to_bad_port, "http://127.0.0.1:99999/x")
    gzip = "/chi-tiet-tin/group/130/nid/990015/nen-hong"
    site.portal.corrupt_gzip(gzip)
    port = site.portal.url.rpartition(":")[2]
    page = list_page(
        loop,
        to_bad_ipv6,
        to_bad_port,
        gzip,
        "http://[::1/chi-tiet-tin/group/130/nid/990016/ipv6-hong",
        f"http://127.0.0.1:99999/chi-tiet-tin/group/130/nid/990017/cong-{port}",
        "http://127.0.0.1:99999999999999999999/chi-tiet-tin/group/130/nid/990018/x",
    )
    site.portal.replace("/tin-thu", body=page)
    report = await run_briefly(site, ("/tin-thu",))
    reasons = dict(report.failures)
    assert "redirect" in reasons[site.portal.url_for(loop)]
    assert reasons[site.portal.url_for(to_bad_ipv6)]
    assert reasons[site.portal.url_for(to_bad_port)]
    assert "compressed" in reasons[site.portal.url_for(gzip)]
    assert len(report.failures) == 4  # malformed links are not followed at all
    assert report.ok
    assert await good_articles_stored(site)
    assert await IngestLog(site.db).failures(report.run_id) == report.failures


async def test_a_source_in_a_redirect_loop_is_a_failed_run_the_alert_counts(
    site: Harness,
) -> None:
    site.portal.redirect("/vong", "/vong-lai")
    site.portal.redirect("/vong-lai", "/vong")
    site.portal.corrupt_gzip("/nen-hong")
    report = await run_briefly(site, ("/vong", "/nen-hong"))
    assert not report.ok
    assert [url for url, _ in report.failures] == [
        site.portal.url_for("/vong"),
        site.portal.url_for("/nen-hong"),
    ]
    assert await IngestLog(site.db).failed_in_a_row() == 1
    # The loop ends after a bounded number of hops.
    assert len(site.portal.requests_to("/vong")) <= 12


# -- 5. encodings -------------------------------------------------------------------------


def cp1258(text: str) -> bytes:
    """`text` in windows-1258, as Vietnamese Windows writes it: the letters the code page has
    (â, ê, ô, ơ, ư, ă, đ), and tone marks as separate combining characters."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        for index, mark in enumerate(marks):  # ế = ê + acute: ê is a letter of the code page
            combined = unicodedata.normalize("NFC", base + mark)
            try:
                combined.encode("cp1258")
            except UnicodeEncodeError:
                continue
            base, marks = combined, marks[:index] + marks[index + 1 :]
            break
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


async def test_windows_1258_declared_only_in_meta(site: Harness) -> None:
    case = ARTICLES[270892]
    html = (FIXTURES / case["file"]).read_text("utf-8")
    html = html.replace(
        'content="text/html; charset=UTF-8"', 'content="text/html; charset=windows-1258"'
    )
    raw = cp1258(html)
    assert raw.decode("utf-8", "replace") != html  # really not UTF-8
    # The server names no charset: only the page's <meta> does.
    site.portal.replace(case["path"], body=raw, content_type="text/html")
    site.portal.replace("/tin-thu", body=list_page())
    report = await run_briefly(site, ("/tin-thu",))
    assert not report.failures
    article = await ArticleStore(site.db).get((await article_ids(site.db, 270892))[270892])
    assert article is not None
    assert (
        article.title
        == case["title"]
        == "Bình Chánh nâng cao hiệu quả công tác dân vận chính quyền"
    )
    assert unicodedata.is_normalized("NFC", article.body_text)
    assert article.body_text.startswith(case["body_starts"])


def test_charset_precedence() -> None:
    title = "Thông báo lịch tiếp dân"
    meta = f'<meta charset="windows-1258"><title>{title}</title>'.encode()
    assert decode(cp1258(meta.decode()), "text/html") == meta.decode()
    # The HTTP header wins over <meta>.
    assert decode(meta, "text/html; charset=utf-8") == meta.decode()
    # A byte order mark wins over <meta>.
    assert decode(b"\xef\xbb\xbf" + meta, "text/html") == meta.decode()
    # An unknown charset in the header falls through to <meta>.
    assert decode(cp1258(meta.decode()), "text/html; charset=x-nonsense") == meta.decode()
    # Nothing declared: UTF-8, bad bytes replaced.
    assert decode(b"<p>ok \xff</p>", "text/html") == "<p>ok \ufffd</p>"
    # Decomposed input comes out composed.
    assert decode("Bi\u0300nh".encode(), "text/html; charset=utf-8") == "Bình"


async def test_portal_fixture_still_reads_everything(portal: FakePortal, site: Harness) -> None:
    """The limits and checks leave the ordinary site alone."""
    report = await run_briefly(site, ("/", "/tin-tuc-su-kien", "/thong-bao"))
    assert report.ok
    assert not report.failures
    assert len(report.new) == 11


# -- 3. only the configured sites, keys per site -------------------------------------------------


def retitled(portal: FakePortal, nid: int, title: str) -> bytes:
    """The fixture page of article `nid` with another title: another site's article."""
    case = ARTICLES[nid]
    raw = (FIXTURES / case["file"]).read_text("utf-8").replace(case["title"], title)
    return raw.encode()


FOREIGN_TITLE = "Tam Kỳ tổng kết công tác dân vận năm 2020"


async def test_links_to_other_hosts_are_not_followed(site: Harness) -> None:
    port = site.portal.url.rpartition(":")[2]
    async with FakePortal(PORTAL) as province:
        # Another portal of the same platform, with its own article 270892.
        province.replace(ARTICLES[270892]["path"], body=retitled(province, 270892, FOREIGN_TITLE))
        box = [
            province.url + ARTICLES[270892]["path"],
            province.url + ARTICLES[273315]["path"],
            f"http://localhost:{port}/chi-tiet-tin/group/130/nid/990021/loopback-by-name",
            "http://127.0.0.1:1/chi-tiet-tin/group/130/nid/990022/another-port",
        ]
        site.portal.replace("/tin-thu", body=list_page(*box, heading="Tin tỉnh"))
        report = await run_briefly(site, ("/tin-thu",))
        assert province.requests == []
    assert not report.failures
    hosts = {r.headers.get("host") for r in site.portal.requests}
    assert hosts == {f"127.0.0.1:{port}"}
    store = ArticleStore(site.db)
    ids = await article_ids(site.db, 270892, 272301, 273315)
    assert set(ids) == {270892, 272301}
    ours = await store.get(ids[270892])
    assert ours is not None
    assert ours.title == ARTICLES[270892]["title"]


def list_page_first(*links: str) -> str:
    """A list page whose first links (a header box) come before the good ones."""
    items = "\n".join(f'<a href="{href}">Tin tỉnh {i}</a>' for i, href in enumerate(links))
    return list_page().replace("<body>", f"<body><div>{items}</div>")


async def test_a_foreign_article_listed_first_never_replaces_ours(site: Harness) -> None:
    async with FakePortal(PORTAL) as province:
        province.replace(ARTICLES[270892]["path"], body=retitled(province, 270892, FOREIGN_TITLE))
        site.portal.replace(
            "/tin-thu", body=list_page_first(province.url + ARTICLES[270892]["path"])
        )
        await run_briefly(site, ("/tin-thu",))
        assert province.requests == []
    ours = await ArticleStore(site.db).get((await article_ids(site.db, 270892))[270892])
    assert ours is not None
    assert ours.title == ARTICLES[270892]["title"]


async def test_two_configured_sites_with_the_same_nid_never_collide(site: Harness) -> None:
    async with FakePortal(PORTAL) as neighbour:
        neighbour.replace(ARTICLES[270892]["path"], body=retitled(neighbour, 270892, FOREIGN_TITLE))
        ours_list = site.portal.url_for("/danh-sach-tin/group/130/tin-tuc-su-kien")
        theirs_list = neighbour.url_for("/danh-sach-tin/group/130/tin-tuc-su-kien")
        report = await run_briefly(site, (ours_list, theirs_list))
        theirs_site, theirs_url = neighbour.url.removeprefix("http://"), neighbour.url
    assert report.ok
    assert not report.failures
    async with site.db.conn.execute(
        "SELECT k.external_id, a.title, a.url FROM article_keys AS k JOIN articles AS a"
        " USING (article_id) WHERE k.external_id LIKE '%:270892'"
    ) as cursor:
        rows = {key: (title, url) async for key, title, url in cursor}
    ours_site = site.portal.url.removeprefix("http://")
    assert rows[f"dnn:{ours_site}:270892"][0] == ARTICLES[270892]["title"]
    assert rows[f"dnn:{theirs_site}:270892"][0] == FOREIGN_TITLE
    assert rows[f"dnn:{theirs_site}:270892"][1].startswith(theirs_url)


async def test_database_at_the_previous_schema_upgrades_in_place(
    portal: FakePortal, tmp_path: Path
) -> None:
    path = tmp_path / "old.sqlite3"
    previous = [m for m in bundled_migrations() if m.version < 13]
    sources = [Source(portal.url_for(p)) for p in ("/", "/tin-tuc-su-kien", "/thong-bao")]
    relative = ARTICLES[273315]["path"]
    async with httpx.AsyncClient(timeout=5) as client:
        async with await Database.open(path, previous) as db:
            await NewsReader(db, Fetcher(client), sources, TZ).run()
            # What the previous version stored: keys by nid alone, a relative canonical
            # address kept as it was, a feed entry's guid.
            await db.conn.executescript(
                "UPDATE article_keys SET external_id ="
                " 'dnn:' || substr(external_id, length(rtrim(external_id, '0123456789')) + 1);"
                f"UPDATE articles SET url = '{relative}' WHERE url LIKE '%/nid/273315/%';"
                "INSERT INTO article_keys (external_id, article_id)"
                " SELECT 'feed:guid-1', min(article_id) FROM articles;"
            )
            # More announcements than portal articles: they point at t.me, not the site.
            for number in range(20):
                title = f"Thông báo của xã số {number}"
                await ArticleStore(db).upsert(
                    ArticleData((f"broadcast:{number}",), "https://t.me/tinxa_bot", title,
                                fold(title)),
                    datetime.now(UTC),
                )  # fmt: skip
            await db.conn.commit()
            async with db.conn.execute(
                "SELECT external_id, article_id FROM article_keys ORDER BY 1"
            ) as cursor:
                before = {key: article_id async for key, article_id in cursor}
            count = await ArticleStore(db).count()
        assert "dnn:270892" in before

        async with await Database.open(path) as db:
            assert await db.schema_version() >= 13
            async with db.conn.execute(
                "SELECT external_id, article_id FROM article_keys ORDER BY 1"
            ) as cursor:
                after = {key: article_id async for key, article_id in cursor}
            site_name = portal.url.removeprefix("http://")
            assert after == {
                (key if kind == "broadcast" else f"{kind}:{site_name}:{rest}"): article_id
                for key, article_id in before.items()
                for kind, _, rest in [key.partition(":")]
            }
            store = ArticleStore(db)
            fixed = await store.get(after[f"dnn:{site_name}:273315"])
            assert fixed is not None
            assert fixed.url == portal.url + relative
            # The upgraded database reads on: the same articles are found by their new keys.
            report = await NewsReader(db, Fetcher(client), sources, TZ).run()
            assert report.ok
            assert report.new == []
            assert await store.count() == count
            async with db.conn.execute("SELECT count(*) FROM article_keys") as cursor:
                assert tuple(await cursor.fetchone() or ()) == (len(after),)


# -- 4. only absolute http(s) addresses on the site are stored ------------------------------

BAD_CANONICAL = {
    270892: "/chi-tiet-tin/group/130/nid/270892/tuong-doi",  # relative
    272301: "//binhchanh.example/chi-tiet-tin/group/130/nid/272301/x",  # protocol-relative
    273320: "javascript:alert(1)//chi-tiet-tin/group/136/nid/273320/x",
    271548: "http://[::1/chi-tiet-tin/group/136/nid/271548/x",  # an invalid IPv6 literal
    271530: "ftp://binhchanh.example/chi-tiet-tin/group/136/nid/271530/x",
    273315: "http://other-portal.example/chi-tiet-tin/group/131/nid/273315/x",  # another site
}


def with_canonical(nid: int, canonical: str) -> bytes:
    """The fixture page of article `nid` declaring `canonical` as its og:url."""
    raw = (FIXTURES / ARTICLES[nid]["file"]).read_text("utf-8")
    start = raw.index('<meta property="og:url" content="') + len(
        '<meta property="og:url" content="'
    )
    end = raw.index('"', start)
    return (raw[:start] + canonical + raw[end:]).encode()


async def test_canonical_addresses_that_are_not_absolute_http_on_the_site_are_not_stored(
    site: Harness,
) -> None:
    for nid, canonical in BAD_CANONICAL.items():
        site.portal.replace(ARTICLES[nid]["path"], body=with_canonical(nid, canonical))
    site.portal.replace(
        "/tin-thu", body=list_page(*(ARTICLES[nid]["path"] for nid in BAD_CANONICAL))
    )
    report = await run_briefly(site, ("/tin-thu",))
    assert not report.failures
    store = ArticleStore(site.db)
    ids = await article_ids(site.db, *BAD_CANONICAL)
    assert set(ids) == set(BAD_CANONICAL)
    for nid, article_id in ids.items():
        article = await store.get(article_id)
        assert article is not None
        # The address it was fetched from: absolute, on the commune's site.
        assert article.url == site.portal.url_for(ARTICLES[nid]["path"]), nid


async def test_feed_links_are_made_absolute_on_the_site(site: Harness) -> None:
    root = site.portal.url
    feed = (FIXTURES / "rss.xml").read_text("utf-8")
    fixture_root = EXPECTED["fixture_root"]
    relative = ARTICLES[273320]["path"]
    feed = feed.replace(f"<link>{fixture_root}{relative}</link>", f"<link>{relative}</link>")
    hostile = f"<link>{fixture_root}{ARTICLES[273315]['path']}</link>"
    assert hostile in feed
    feed = feed.replace(hostile, "<link>javascript:alert(1)</link>")
    site.portal.replace("/rss.xml", body=feed, content_type="application/rss+xml")
    report = await run_briefly(site, ("feed:/rss.xml",))
    assert report.ok
    async with site.db.conn.execute("SELECT title, url FROM articles") as cursor:
        urls = {title: url async for title, url in cursor}
    assert urls[ARTICLES[273320]["title"]] == root + relative
    # No usable link: the feed it came from, never the script.
    assert urls[ARTICLES[273315]["title"]] == site.portal.url_for("/rss.xml")
    assert all(url.startswith(root + "/") for url in urls.values())


# -- 6. category names whatever the shape of the portal's category links --------------------

CATEGORY_LINK = r"/danh-sach-tin/group/(\d+)/([a-z-]+)"
OTHER_SHAPES = [
    r"/Default.aspx?tabid=60&amp;GroupId=\1",
    r"/chuyen-muc/\2/group-\1",
    r"/\2-group\1.aspx",
    r"/tin-tuc/danh-muc?group=\1&amp;trang=1",
]


async def categories_of(harness: Harness) -> dict[int, str | None]:
    """The main category of each stored portal article, by nid."""
    ids = await article_ids(harness.db, *ARTICLES)
    store = ArticleStore(harness.db)
    found = {}
    for nid, article_id in ids.items():
        article = await store.get(article_id)
        assert article is not None
        found[nid] = article.category
    return found


async def test_category_links_of_another_shape_still_name_the_categories(
    site: Harness,
) -> None:
    for shape in OTHER_SHAPES:
        site.portal.reset()
        site.portal.transform((CATEGORY_LINK, shape))
        async with await Database.open(site.db.path.with_name(f"{hash(shape)}.sqlite3")) as db:
            harness = Harness(site.portal, db, site.client, site.clock)
            report = await run_briefly(harness, ("/", "/tin-tuc-su-kien", "/thong-bao"))
            assert report.ok
            assert not report.unnamed_sites, shape
            found = await categories_of(harness)
            assert found, shape
            assert found == {nid: ARTICLES[nid]["category"] for nid in found}, shape
            names = {category.name for category in await ArticleReader(db).categories()}
            assert names == {ARTICLES[nid]["category"] for nid in found}


def without_category_names(portal: FakePortal) -> None:
    """The portal variant whose category links carry no group id: no name is known."""
    portal.transform((CATEGORY_LINK, r"/chuyen-muc/\2"))


async def test_without_category_names_articles_belong_where_they_were_found(
    site: Harness,
) -> None:
    without_category_names(site.portal)
    report = await run_briefly(site, ("/", "/tin-tuc-su-kien", "/thong-bao"))
    assert report.ok
    assert report.unnamed_sites == {site.portal.url.removeprefix("http://")}
    found = await categories_of(site)
    assert len(found) == 11
    headings = {"Tin tức – Sự kiện", "Thông báo"}  # the headings of the boxes they are listed in
    assert set(found.values()) == headings
    assert found[266120] == "Thông báo"  # listed only under "Thông báo"
    categories = await ArticleReader(site.db).categories()
    assert sum(category.count for category in categories) >= 11


@pytest.mark.parametrize(
    ("breadcrumb", "name"),
    [
        (
            '<div class="breadcrumb"><a href="/">Trang chủ</a> »'
            " <span>Y tế và Giáo dục</span></div>",
            "Y tế và Giáo dục",
        ),
        ("", "Y tế – Giáo dục"),  # no breadcrumb: the list's own heading
    ],
)
async def test_a_category_list_page_names_its_group_by_breadcrumb_or_heading(
    site: Harness, breadcrumb: str, name: str
) -> None:
    without_category_names(site.portal)
    # A list of one category, whose address carries the group id, names it by its
    # breadcrumb's last step, else its heading; the articles linked with that group id get
    # that name.
    page = re.sub(
        CATEGORY_LINK, r"/chuyen-muc/\2", (FIXTURES / "group-136.html").read_text("utf-8")
    ).replace('<td id="dnn_ContentPane"', f'<td>{breadcrumb}</td><td id="dnn_ContentPane"')
    site.portal.replace("/tin?groupid=136", body=page)
    report = await run_briefly(site, ("/tin?groupid=136",))
    assert report.ok
    assert not report.unnamed_sites
    assert await categories_of(site) == {273320: name, 271548: name, 271530: name}


async def test_impossible_dates_beside_links_do_not_lose_the_page(site: Harness) -> None:
    item = '<div class="qti_tt_item"><a href="{}">Tin lạ {}</a> <span>({})</span></div>'
    odd = [
        ("/chi-tiet-tin/group/130/nid/990031/nam-mot", "00:00 | 01/01/0001"),
        ("/chi-tiet-tin/group/130/nid/990032/ngay-31-2", "08:00 | 31/02/2021"),
        ("/chi-tiet-tin/group/130/nid/990033/gio-25", "25:61 | 01/04/2021"),
    ]
    boxes = "".join(item.format(path, i, when) for i, (path, when) in enumerate(odd))
    site.portal.replace("/tin-thu", body=list_page().replace("</body>", boxes + "</body>"))
    report = await run_briefly(site, ("/tin-thu",))
    assert report.ok
    assert await good_articles_stored(site)
    # The odd links are followed and fail as pages that do not exist, one each.
    assert sorted(url for url, _ in report.failures) == sorted(
        site.portal.url_for(path) for path, _ in odd
    )
