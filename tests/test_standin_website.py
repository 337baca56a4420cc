"""The stand-in commune website answers like the real portal and fails, slows or changes on cue."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
import tomllib
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.standins.website import FakePortal
from tests.fixtures import PORTAL

SEED = (
    "/chi-tiet-tin/group/130/nid/270892/binh-chanh-nang-cao-hieu-qua-cong-tac-dan-van-chinh-quyen"
)
VOTERS = (
    "/chi-tiet-tin/group/131/nid/273315/"
    "niem-yet-danh-sach-cu-tri-bau-cu-dai-bieu-quoc-hoi-khoa-xv-va-dai-bieu-hdnd-cac-cap"
)
DIRECTIVES = "/thong-tin-chi-đao-đieu-hanh"


@pytest.fixture
async def portal() -> AsyncIterator[FakePortal]:
    """A started stand-in portal."""
    async with FakePortal(PORTAL) as site:
        yield site


@pytest.fixture
async def client(portal: FakePortal) -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client pointed at the portal."""
    async with httpx.AsyncClient(base_url=portal.url, timeout=30) as http:
        yield http


def expected() -> dict[str, object]:
    """The parsed expected.toml of the fixtures."""
    return tomllib.loads((PORTAL / "expected.toml").read_text("utf-8"))


async def test_every_route_answers_its_file_with_its_content_type(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    assert len(portal.routes) > 40
    for route in portal.routes:
        address = route.address
        response = await client.get(portal.url_for(address))
        assert response.status_code == 200, address
        assert response.headers["content-type"] == route.content_type, address
        raw = (PORTAL / route.file).read_bytes()
        assert response.content == raw.replace(portal.fixture_root.encode(), portal.url.encode())


async def test_content_types_of_feeds_pages_and_images(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    kinds = {
        "/": "text/html; charset=utf-8",
        "/rss.xml": "application/rss+xml",
        "/atom.xml": "application/atom+xml",
        "/Portals/54/Images/2021/3/12/binhchanh-doi-thoai-my-tra.jpg": "image/jpeg",
    }
    for path, kind in kinds.items():
        response = await client.get(path)
        assert response.headers["content-type"].split(";")[0] == kind.split(";")[0], path
    image = await client.get("/Portals/54/Images/2021/3/12/binhchanh-doi-thoai-my-tra.jpg")
    assert image.content.startswith(b"\xff\xd8")
    assert image.content.endswith(b"\xff\xd9")
    rss = await client.get("/rss.xml")
    assert f"<link>{portal.url}/chi-tiet-tin/group/136/nid/273320/" in rss.text


async def test_absolute_links_are_rewritten_to_the_portal(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    home = (await client.get("/")).text
    assert portal.fixture_root not in home
    # The "Tin mới" widget writes unquoted hrefs, one of them absolute.
    assert f"<a href={portal.url}/chi-tiet-tin/group/130/nid/272301/" in home
    assert '<a href="/chi-tiet-tin/group/136/nid/273320/' in home


async def test_percent_encoded_vietnamese_path(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    response = await client.get("/thong-tin-chi-%C4%91ao-%C4%91ieu-hanh")
    assert response.status_code == 200
    assert "Thông tin chỉ đạo điều hành" in response.text
    assert "/chi-tiet-tin/group/132/nid/266120/" in response.text
    assert portal.requests[-1].path == DIRECTIVES
    assert portal.url_for(DIRECTIVES) == portal.url + "/thong-tin-chi-%C4%91ao-%C4%91ieu-hanh"


async def test_query_selects_page_two_and_unknown_queries_fall_back(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/tin-tuc-su-kien")
    second = await client.get("/tin-tuc-su-kien", params={"page": "2"})
    other = await client.get("/tin-tuc-su-kien", params={"utm_source": "zalo"})
    assert 'href="/tin-tuc-su-kien?page=2">Trang sau' in first.text
    assert "/nid/269010/" in second.text
    assert "/nid/269010/" not in first.text
    assert other.status_code == 200
    assert other.content == first.content


async def test_old_address_form_and_second_group_serve_the_same_article(
    client: httpx.AsyncClient,
) -> None:
    slug = "khan-truong-trien-khai-cac-bien-phap-ung-pho-voi-bao-so-13-bao-vamco"
    canonical = await client.get(f"/chi-tiet-tin/group/131/nid/266120/{slug}")
    other_group = await client.get(f"/chi-tiet-tin/group/132/nid/266120/{slug}")
    old = await client.get(f"/Default.aspx?tabid=246&Group=131&NID=266120&{slug}")
    reordered = await client.get(f"/Default.aspx?NID=266120&{slug}&Group=131&tabid=246")
    assert canonical.status_code == 200
    assert canonical.content == other_group.content == old.content == reordered.content
    assert (await client.get("/Default.aspx")).status_code == 404


async def test_unknown_path_gives_dnn_404(portal: FakePortal, client: httpx.AsyncClient) -> None:
    response = await client.get("/chi-tiet-tin/group/130/nid/999999/khong-co")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Không tìm thấy trang" in response.text
    assert "etag" not in response.headers
    assert portal.requests[-1].status == 404


async def test_conditional_get_then_edit(portal: FakePortal, client: httpx.AsyncClient) -> None:
    first = await client.get(VOTERS)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get(VOTERS, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    by_date = await client.get(VOTERS, headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    older = email.utils.formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
    stale = await client.get(VOTERS, headers={"If-Modified-Since": older})
    assert stale.status_code == 200
    assert stale.content == first.content

    portal.replace(VOTERS, "article-273315-edited.html")
    edited = await client.get(VOTERS, headers={"If-None-Match": etag})
    assert edited.status_code == 200
    assert "(cập nhật)" in edited.text
    assert "(cập nhật)" not in first.text
    assert edited.headers["etag"] != etag
    new_time = email.utils.parsedate_to_datetime(edited.headers["last-modified"])
    assert new_time > email.utils.parsedate_to_datetime(modified)
    since_edit = await client.get(VOTERS, headers={"If-Modified-Since": modified})
    assert since_edit.status_code == 200
    settled = await client.get(VOTERS, headers={"If-None-Match": edited.headers["etag"]})
    assert settled.status_code == 304
    assert [r.status for r in portal.requests_to(VOTERS)] == [200, 304, 304, 200, 200, 200, 304]


async def test_spare_set_publishes_a_new_article(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    new = "/chi-tiet-tin/group/131/nid/273402/thong-bao-lich-tam-ngung-cung-cap-dien-ngay-20-4-2021"
    before = await client.get("/")
    assert "/nid/273402/" not in before.text
    assert (await client.get(new)).status_code == 404
    portal.use_spares("new-article-273402")
    assert {spare.spare_set for spare in portal.spares} == {"edited-273315", "new-article-273402"}
    after = await client.get("/", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert "/nid/273402/" in after.text
    article = await client.get(new)
    assert article.status_code == 200
    assert "Thông báo lịch tạm ngừng cung cấp điện ngày 20/4/2021" in article.text
    assert "/nid/273402/" in (await client.get("/rss.xml")).text
    assert "/nid/267340/" in (await client.get("/thong-bao?page=2")).text
    with pytest.raises(KeyError):
        portal.use_spares("no-such-set")


async def test_two_edits_in_one_second_have_increasing_last_modified(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    portal.replace(SEED, body="<html><body>một</body></html>")
    one = await client.get(SEED)
    portal.replace(SEED, body="<html><body>hai</body></html>")
    two = await client.get(SEED)
    assert two.text == "<html><body>hai</body></html>"
    first = email.utils.parsedate_to_datetime(one.headers["last-modified"])
    assert email.utils.parsedate_to_datetime(two.headers["last-modified"]) > first
    portal.replace(SEED, body=two.content)  # same content: not an edit
    three = await client.get(SEED, headers={"If-None-Match": two.headers["etag"]})
    assert three.status_code == 304


async def test_replace_adds_pages_and_remove_deletes_them(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    new = "/chi-tiet-tin/group/131/nid/273400/thong-bao-moi"
    assert (await client.get(new)).status_code == 404
    portal.replace(new, body=b"<p>Th\xc3\xb4ng b\xc3\xa1o m\xe1\xbb\x9bi</p>")
    added = await client.get(new)
    assert added.status_code == 200
    assert added.text == "<p>Thông báo mới</p>"
    assert added.headers["content-type"] == "text/html; charset=utf-8"
    portal.replace("/tin-moi.xml", body="<rss/>", content_type="application/rss+xml")
    assert (await client.get("/tin-moi.xml")).headers["content-type"] == "application/rss+xml"
    portal.remove(SEED)
    assert (await client.get(SEED)).status_code == 404
    with pytest.raises(ValueError, match="exactly one"):
        portal.replace(SEED)
    with pytest.raises(ValueError, match="exactly one"):
        portal.replace(SEED, "article-270892.html", body="x")


async def test_fail_answers_the_next_requests_with_an_error(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    portal.fail("/thong-bao", status=502, times=2)
    assert (await client.get("/")).status_code == 200
    assert [(await client.get("/thong-bao")).status_code for _ in range(3)] == [502, 502, 200]
    portal.fail(None, status=500)
    failed = await client.get("/gioi-thieu")
    assert failed.status_code == 500
    assert "Internal Server Error" in failed.text
    assert (await client.get("/gioi-thieu")).status_code == 200
    with pytest.raises(ValueError, match="4xx or 5xx"):
        portal.fail(None, status=200)


async def test_set_down_answers_503_until_up_again(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    portal.set_down(True)
    statuses = [(await client.get(path)).status_code for path in ("/", SEED, "/rss.xml", "/x")]
    assert statuses == [503, 503, 503, 503]
    portal.set_down(False)
    assert (await client.get("/")).status_code == 200
    assert [r.status for r in portal.requests] == [503, 503, 503, 503, 200]


async def test_delay_slows_answers_until_a_client_times_out(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    portal.delay(0.3, "/thong-bao")
    started = time.monotonic()
    assert (await client.get("/thong-bao")).status_code == 200
    assert time.monotonic() - started >= 0.3
    # Only that path waits: the home page answers while /thong-bao is still held back.
    portal.delay(30, "/thong-bao")
    held = asyncio.create_task(client.get("/thong-bao", timeout=60))
    assert (await client.get("/")).status_code == 200
    assert not held.done()
    held.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await held
    portal.delay(5)
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/", timeout=httpx.Timeout(10, read=0.1))
    portal.delay(0)
    assert (await client.get("/")).status_code == 200  # the path's own delay still applies
    portal.delay(0, "/thong-bao")
    assert (await client.get("/thong-bao")).status_code == 200


async def test_reset_restores_pages_and_forgets_everything(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    original = await client.get(VOTERS)
    portal.replace(VOTERS, "article-273315-edited.html")
    portal.remove(SEED)
    portal.fail(None, times=5)
    portal.delay(5)
    portal.set_down(True)
    portal.reset()
    assert portal.requests == []
    restored = await client.get(VOTERS)
    assert restored.status_code == 200
    assert restored.content == original.content
    assert restored.headers["etag"] == original.headers["etag"]
    assert (await client.get(SEED)).status_code == 200


async def test_requests_are_recorded_with_headers_and_query(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    await client.get("/thong-bao?page=2", headers={"User-Agent": "commune-bot/0.1"})
    await client.head(SEED)
    get, head = portal.requests
    assert (get.method, get.path, get.query, get.status) == ("GET", "/thong-bao", "page=2", 200)
    assert get.headers["user-agent"] == "commune-bot/0.1"
    assert (head.method, head.path, head.status) == ("HEAD", SEED, 200)


async def test_head_has_the_headers_of_get_without_body(client: httpx.AsyncClient) -> None:
    got = await client.get(SEED)
    head = await client.head(SEED)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]


async def test_other_methods_are_not_allowed(portal: FakePortal, client: httpx.AsyncClient) -> None:
    response = await client.post(SEED, data={"__EVENTTARGET": ""})
    assert response.status_code == 405
    assert portal.requests[-1].status == 405


async def test_stop_closes_even_with_a_delayed_answer_pending() -> None:
    portal = FakePortal(PORTAL)
    await portal.start()
    url = portal.url
    portal.delay(30)
    async with httpx.AsyncClient(base_url=url) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/", timeout=httpx.Timeout(10, read=0.1))
        started = time.monotonic()
        await portal.stop()
        assert time.monotonic() - started < 15  # not the 30 s the answer was held for
        with pytest.raises(httpx.ConnectError):
            await http.get("/", timeout=1)
    with pytest.raises(RuntimeError, match="not started"):
        _ = portal.url


async def test_every_article_of_expected_toml_is_served(
    portal: FakePortal, client: httpx.AsyncClient
) -> None:
    data = expected()
    articles = data["article"]
    assert isinstance(articles, list)
    assert len(articles) >= 9
    for article in articles:
        for path in article["paths"]:
            response = await client.get(portal.url_for(path))
            assert response.status_code == 200, path
            assert f"{article['id_prefix']}_lbl_ct_noidung" in response.text
    lists = data["list"]
    assert isinstance(lists, list)
    for listing in lists:
        address = listing["path"] + (f"?{listing['query']}" if listing["query"] else "")
        text = (await client.get(portal.url_for(address))).text
        for nid in listing["items"]:
            assert f"/nid/{nid}/" in text, (address, nid)
    spare_files = {spare.file for spare in portal.spares}
    new_lists = data["new_list"]
    assert isinstance(new_lists, list)
    assert {listing["file"] for listing in new_lists} <= spare_files
