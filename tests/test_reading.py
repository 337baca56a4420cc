"""A resident reads the news through the stand-in Bot API: lists, articles, categories, search."""

from __future__ import annotations

import random
import tomllib
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.app import build_application, running
from bot.callbacks import ListPage, OpenArticle, SearchPage
from bot.config import Settings
from bot.context import BotApplication
from bot.keyboard import for_telegram
from bot.news.fetch import Fetcher
from bot.news.reader import NewsReader, Source
from bot.news.text import fold
from bot.reading import BODY_LIMIT, render_alert, split_html
from bot.standins.telegram import ApiCall, FakeTelegram, User
from bot.standins.tghtml import parse_html
from bot.standins.website import FakePortal
from storage import Database
from storage.articles import ArticleData
from tests.conftest import SOURCES, TZ, article_ids

FIXTURES = Path(__file__).parent / "fixtures" / "portal"
EXPECTED: dict[str, Any] = tomllib.loads((FIXTURES / "expected.toml").read_text("utf-8"))
TITLES = {case["nid"]: case["title"] for case in EXPECTED["article"]}


@pytest.fixture
async def reading_bot(
    telegram: FakeTelegram, portal: FakePortal, settings: Settings
) -> AsyncIterator[BotApplication]:
    """The bot over a database the news reader has filled from the stand-in website."""
    async with (
        await Database.open(settings.DATABASE_PATH) as db,
        httpx.AsyncClient(timeout=5) as client,
    ):
        sources = [
            Source(portal.url_for(path)) for path in (*SOURCES, "/thong-tin-chi-đao-đieu-hanh")
        ]
        report = await NewsReader(db, Fetcher(client), sources, TZ).run()
        assert len(report.new) == 11
    application = build_application(settings)
    async with running(application):
        yield application


def buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def button(call: ApiCall, label: str) -> dict[str, Any]:
    found = [b for b in buttons(call) if label in b["text"]]
    assert found, f"no button {label!r} in {[b['text'] for b in buttons(call)]}"
    return found[0]


def has_button(call: ApiCall, label: str) -> bool:
    return any(label in b["text"] for b in buttons(call))


async def press(telegram: FakeTelegram, user: User, message_id: int, data: str) -> ApiCall:
    """Tap a button and return the message edit it caused."""
    mark = telegram.mark()
    answer = await telegram.tap(user, message_id, data)
    assert answer.ok
    return await telegram.wait_for("editMessageText", after=mark, message_id=message_id)


async def test_latest_lists_and_pages(telegram: FakeTelegram, reading_bot: BotApplication) -> None:
    lan = telegram.user(901, "Lan")
    reply = await telegram.reply_to(lan, "/latest")
    text = reply.params["text"]
    assert text.startswith("📰 <b>Tin mới nhất</b> · trang 1/3")
    assert (
        f"1. {TITLES[273320].replace('&', '&amp;').replace('>', '&gt;')} — <i>13/04/2021</i>"
        in text
    )
    assert len([b for b in buttons(reply) if b.get("callback_data", "").startswith("a:")]) == 5
    assert not has_button(reply, "Trang trước")  # first page: no dead button
    message_id = reply.result["message_id"]

    page2 = await press(telegram, lan, message_id, button(reply, "Trang sau")["callback_data"])
    assert "trang 2/3" in page2.params["text"]
    assert page2.params["text"].split("\n")[2].startswith("6. ")
    page3 = await press(telegram, lan, message_id, ListPage(0, 3).pack())
    assert "trang 3/3" in page3.params["text"]
    assert not has_button(page3, "Trang sau")  # last page: no dead button
    assert has_button(page3, "Trang trước")


async def test_article_short_then_full_in_pages(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(902, "Lan")
    services = reading_bot.bot_data.services
    long_id = (await article_ids(services.db, 268010))[268010]
    listing = await telegram.reply_to(lan, "/latest")
    message_id = listing.result["message_id"]

    short = await press(telegram, lan, message_id, OpenArticle(long_id, 0, 0).pack())
    text = short.params["text"]
    assert text.startswith(
        f"<b>{TITLES[268010]}</b>\n📅 10:30 · 22/02/2021 · 📂 Kinh tế – Đời sống"
    )
    assert len(text) < 1200  # the short form: no body
    assert short.params["link_preview_options"]["url"].endswith("ntm-binh-chanh.jpg")
    website = button(short, "Xem trên website")
    assert website["url"].endswith(
        "/nid/268010/ket-qua-xay-dung-nong-thon-moi-nam-2020-va-phuong-huong-nhiem-vu-nam-2021"
    )

    page = await press(telegram, lan, message_id, button(short, "Đọc toàn bài")["callback_data"])
    total = int(page.params["text"].split("trang 1/")[1].split("<")[0])
    assert total >= 3  # ~12,000 characters of body
    seen = []
    for number in range(1, total + 1):
        if number > 1:
            page = await press(telegram, lan, message_id, OpenArticle(long_id, number, 0).pack())
        assert page.ok  # within 4096 characters, valid HTML: the stand-in checks both
        assert f"trang {number}/{total}" in page.params["text"]
        assert has_button(page, f"Trang {number + 1}/{total}") == (number < total)
        assert has_button(page, f"Trang {number - 1}/{total}") == (number > 1)
        plain, _ = parse_html(page.params["text"])
        seen.append(plain)
    # Every paragraph of the stored body appears, in order, across the pages.
    article = await services.articles.get(long_id)
    assert article is not None
    joined = "\n".join(seen)
    positions = [joined.find(paragraph[:40]) for paragraph in article.body_text.split("\n\n")]
    assert -1 not in positions
    assert positions == sorted(positions)

    back = await press(telegram, lan, message_id, button(page, "Thu gọn")["callback_data"])
    assert "Đọc toàn bài" in buttons(back)[0]["text"]


async def test_article_with_characters_telegram_needs_escaped(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(903, "Lan")
    services = reading_bot.bot_data.services
    article_id = (await article_ids(services.db, 273320))[273320]
    listing = await telegram.reply_to(lan, "/latest")
    full = await press(
        telegram, lan, listing.result["message_id"], OpenArticle(article_id, 1, 0).pack()
    )
    assert full.ok
    assert "nhiệt độ &gt; 35°C" in full.params["text"]
    assert "Q&amp;A" in full.params["text"]
    plain, _ = parse_html(full.params["text"])
    assert "người dân & học sinh" in plain


async def test_newer_older_within_category_and_its_ends(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(904, "Lan")
    services = reading_bot.bot_data.services
    categories = {c.name: c for c in await services.reading.categories()}
    health = categories["Y tế – Giáo dục"]  # 273320, 271548, 271530, newest first
    ids = await article_ids(services.db, 273320, 271548, 271530)
    newest, oldest = ids[273320], ids[271530]
    listing = await telegram.reply_to(lan, "/latest")
    message_id = listing.result["message_id"]

    first = await press(
        telegram, lan, message_id, OpenArticle(newest, 0, health.category_id).pack()
    )
    assert not has_button(first, "Tin mới hơn")  # the newest of the category
    step = await press(telegram, lan, message_id, button(first, "Tin cũ hơn")["callback_data"])
    assert step.params["text"].startswith(f"<b>{TITLES[271548]}</b>")
    assert step.params["message_id"] == message_id  # edited in place
    assert (
        button(step, "Tin mới hơn")["callback_data"]
        == OpenArticle(newest, 0, health.category_id).pack()
    )
    last = await press(telegram, lan, message_id, button(step, "Tin cũ hơn")["callback_data"])
    assert last.params["text"].startswith(f"<b>{TITLES[271530]}</b>")
    assert not has_button(last, "Tin cũ hơn")  # the oldest of the category
    assert has_button(last, "Tin mới hơn")

    # In all news the same article has neighbours outside the category.
    everywhere = await press(telegram, lan, message_id, OpenArticle(oldest, 0, 0).pack())
    assert has_button(everywhere, "Tin cũ hơn")


async def test_categories_with_counts(telegram: FakeTelegram, reading_bot: BotApplication) -> None:
    lan = telegram.user(905, "Lan")
    reply = await telegram.reply_to(lan, "/categories")
    labels = [b["text"] for b in buttons(reply)]
    assert "Thông báo (4)" in labels
    assert "Y tế – Giáo dục (3)" in labels
    assert "Thông tin chỉ đạo điều hành (1)" in labels  # 266120 sits in two categories
    notices = button(reply, "Thông báo (4)")
    listing = await press(telegram, lan, reply.result["message_id"], notices["callback_data"])
    assert listing.params["text"].startswith("📂 <b>Thông báo</b> · trang 1/1")
    assert TITLES[273315] in listing.params["text"]
    assert has_button(listing, "Chuyên mục")


@pytest.mark.parametrize(
    ("query", "nid"),
    [
        ("dân vận", 270892),
        ("dan van", 270892),
        (unicodedata.normalize("NFD", "dân vận chính quyền"), 270892),
        ("DUONG ONG", 268455),
        ("đường ống", 268455),
        ("tiem chung", 271530),
        ("bầu cử", 272301),
    ],
)
async def test_search_forgives_diacritics(
    telegram: FakeTelegram, reading_bot: BotApplication, query: str, nid: int
) -> None:
    lan = telegram.user(906, "Lan")
    reply = await telegram.reply_to(lan, f"/search {query}")
    assert "Kết quả tìm" in reply.params["text"]
    assert TITLES[nid].replace("&", "&amp;") in reply.params["text"]
    # The same by plain text in the private chat.
    typed = await telegram.reply_to(lan, query)
    assert TITLES[nid].replace("&", "&amp;") in typed.params["text"]


async def test_search_empty_none_and_pages(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(907, "Lan")
    empty = await telegram.reply_to(lan, "/search")
    assert "Gõ vài từ cần tìm" in empty.params["text"]
    none = await telegram.reply_to(lan, "/search khủng long")
    assert none.params["text"].startswith("Không tìm thấy tin nào có “khủng long”")
    assert "/latest" in none.params["text"]

    many = await telegram.reply_to(lan, "/search xã")
    assert "trang 1/" in many.params["text"]
    turn = button(many, "Trang sau")["callback_data"]
    assert SearchPage.matches(turn)
    page2 = await press(telegram, lan, many.result["message_id"], turn)
    assert "trang 2/" in page2.params["text"]
    assert page2.params["text"].split("\n")[2].startswith("6. ")


async def test_links_deep_link_and_share(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(908, "Lan")
    links = await telegram.reply_to(lan, "/links")
    assert [b["url"] for b in buttons(links)] == [
        "https://dichvucong.gov.vn",
        "https://chinhphu.vn",
    ]
    services = reading_bot.bot_data.services
    article_id = (await article_ids(services.db, 270892))[270892]
    opened = await telegram.reply_to(lan, f"/start a{article_id}")
    assert opened.params["text"].startswith(f"<b>{TITLES[270892]}</b>")
    share = urlsplit(button(opened, "Chia sẻ")["url"])
    assert (share.netloc, share.path) == ("t.me", "/share/url")
    shared = parse_qs(share.query)
    assert shared["url"] == [f"https://t.me/tinxa_test_bot?start=a{article_id}"]
    assert shared["text"] == [TITLES[270892]]
    gone = await telegram.reply_to(lan, "/start a999999")
    assert gone.params["text"].startswith("Tin này không còn")


async def test_inline_mode_offers_matching_articles(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(909, "Lan")
    mark = telegram.mark()
    query_id = await telegram.inline_query(lan, "dan van")
    answer = await telegram.wait_for("answerInlineQuery", after=mark, inline_query_id=query_id)
    assert answer.ok  # every result's text passed the stand-in's HTML check
    results = answer.params["results"]
    assert results[0]["title"] == TITLES[270892]
    assert results[0]["reply_markup"]["inline_keyboard"][0][0]["url"].startswith(
        "https://t.me/tinxa_test_bot?start=a"
    )
    mark = telegram.mark()
    query_id = await telegram.inline_query(lan, "")
    latest = await telegram.wait_for("answerInlineQuery", after=mark, inline_query_id=query_id)
    assert latest.params["results"][0]["title"] == TITLES[273320]


async def test_main_menu_buttons(telegram: FakeTelegram, reading_bot: BotApplication) -> None:
    lan = telegram.user(910, "Lan")
    await telegram.reply_to(lan, "/start")
    keyboard = telegram.keyboards[lan.id]["keyboard"]
    labels = [[b["text"] if isinstance(b, dict) else b for b in row] for row in keyboard]
    assert labels == [
        ["📰 Tin mới nhất", "📂 Chuyên mục"],
        ["🔎 Tìm tin", "🔗 Liên kết web"],
        ["📊 Thăm dò ý kiến", "🔔 Đăng ký nhận tin"],
        ["📝 Góp ý – Phản ánh", "❓ Hướng dẫn"],
    ]
    latest = await telegram.reply_to(lan, "📰 Tin mới nhất")
    assert latest.params["text"].startswith("📰 <b>Tin mới nhất</b>")
    search = await telegram.reply_to(lan, "🔎 Tìm tin")
    assert "Gõ vài từ cần tìm" in search.params["text"]
    poll = await telegram.reply_to(lan, "📊 Thăm dò ý kiến")
    assert any(b["text"] == "Thật tuyệt vời" for b in buttons(poll))
    subscribe = await telegram.reply_to(lan, "🔔 Đăng ký nhận tin")
    assert "Bạn muốn nhận tin gì?" in subscribe.params["text"]
    assert has_button(subscribe, "Tất cả tin của xã")


async def test_deleted_article_button_is_answered_politely(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(911, "Lan")
    listing = await telegram.reply_to(lan, "/latest")
    answer = await telegram.tap(lan, listing.result["message_id"], OpenArticle(999999, 0, 0).pack())
    assert answer.params["text"].startswith("Tin này không còn")


async def test_200_forged_or_random_buttons(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(912, "Lan")
    listing = await telegram.reply_to(lan, "/latest")
    message_id = listing.result["message_id"]
    rng = random.Random(20261126)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:-_ệđ"
    payloads = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))[:64] for _ in range(120)
    ]
    payloads += [
        f"a:{rng.randint(-(10**12), 10**12)}:{rng.randint(-5, 99)}:{rng.randint(-3, 10**6)}"
        for _ in range(40)
    ]
    payloads += [f"l:{rng.randint(-100, 10**6)}:{rng.randint(-100, 10**6)}" for _ in range(20)]
    payloads += [f"s:{rng.randint(-100, 10**6)}:{rng.randint(-100, 100)}" for _ in range(20)]
    mark = telegram.mark()
    query_ids = [await telegram.press(lan, message_id, data) for data in payloads]
    for query_id in query_ids:
        answer = await telegram.wait_for(
            "answerCallbackQuery", after=mark, callback_query_id=query_id
        )
        assert answer.ok
    # No press reached the error handler: no apology was sent to the chat.
    apologies = [
        c for c in telegram.calls_to("sendMessage", after=mark) if "Xin lỗi" in c.params["text"]
    ]
    assert apologies == []
    # Some valid-looking payloads re-open the page already shown: Telegram answers "not
    # modified", which the bot expects. Nothing else failed.
    failed = [c.response["description"] for c in telegram.calls[mark:] if not c.ok]
    assert all("message is not modified" in reason for reason in failed)


async def test_old_search_results_ask_to_search_again(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(913, "Lan")
    many = await telegram.reply_to(lan, "/search xã")
    # What the daily job does a week later.
    pruned = await reading_bot.bot_data.services.reading.prune_searches(
        datetime.now(UTC) + timedelta(days=1)
    )
    assert pruned == 1
    answer = await telegram.tap(
        lan, many.result["message_id"], button(many, "Trang sau")["callback_data"]
    )
    assert answer.params["text"] == "Kết quả tìm kiếm này đã cũ. Bạn vui lòng tìm lại."


BAD_ADDRESSES = [
    "/chi-tiet-tin/group/130/nid/1/tuong-doi",  # relative: what older versions kept from og:url
    "//binhchanh.example/chi-tiet-tin/group/130/nid/2/x",  # protocol-relative
    "javascript:alert(1)",
    "http://[::1/x",  # an invalid IPv6 literal
    "http://binhchanh.example:99999/x",  # a port out of range
    "http://binhchanh.example/co khoang trang",  # a space
]


async def test_an_article_whose_address_telegram_refuses_still_opens(
    telegram: FakeTelegram, reading_bot: BotApplication
) -> None:
    lan = telegram.user(910, "Lan")
    services = reading_bot.bot_data.services
    for index, bad in enumerate(BAD_ADDRESSES):
        title = f"Tin thử địa chỉ hỏng số {index}"
        data = ArticleData(
            (f"test:{index}",), bad, title, fold(title), summary="Tóm tắt.",
            body_html="Nội dung.", body_text="Nội dung.", image_url=bad,
        )  # fmt: skip
        article_id, _ = await services.articles.upsert(data, datetime.now(UTC))
        opened = await telegram.reply_to(lan, f"/start a{article_id}")
        assert opened.ok, opened.response
        assert opened.params["text"].startswith(f"<b>{title}</b>")
        labels = [b["text"] for b in buttons(opened)]
        assert "🌐 Xem trên website" not in labels
        assert "↗️ Chia sẻ" in labels
        # An alert about it goes out too.
        article = await services.articles.get(article_id)
        assert article is not None
        for private in (True, False):
            alert = for_telegram(
                render_alert(article, services.catalog, "vi", TZ, "tinxa_test_bot", private=private)
            )
            assert alert.keyboard is not None
            urls = [b.url for row in alert.keyboard.inline_keyboard for b in row if b.url]
            assert bad not in urls
            assert alert.preview is not None
            assert alert.preview.is_disabled


# -- pages: every page valid Telegram HTML, whatever the markup -----------------------------

_WORDS = ["Thông", "báo", "cắt", "nước", "ngày", "28/11", "&amp;", "&lt;khu&gt;", "&quot;A&quot;",
          "&#272;ường", "xã", "Bình", "Chánh", "0235.3123.456", "x" * 90]  # fmt: skip
_SPACES = [" ", " ", " ", "\n", "\n\n", "  "]
_PLAIN = ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler"]


def _markup(rng: random.Random, depth: int = 0, inside: frozenset[str] = frozenset()) -> str:
    """Random Telegram HTML as a staff member's formatting or a website's article gives it."""
    parts: list[str] = []
    for _ in range(rng.randint(1, 12 if depth else 40)):
        roll = rng.random()
        if roll < 0.6 or depth >= 3:
            parts.append(rng.choice(_WORDS) + rng.choice(_SPACES))
            continue
        kind = rng.choice(["plain", "plain", "a", "code", "pre", "quote", "span"])
        if kind == "a" and "a" not in inside:
            href = rng.choice(["https://xa.example.vn/tb?id=1&amp;p=2", "https://t.me/x"])
            parts.append(f'<a href="{href}">{_markup(rng, depth + 1, inside | {"a"})}</a>')
        elif kind == "code":
            parts.append(f"<code>{rng.choice(_WORDS)} {rng.choice(_WORDS)}</code>")
        elif kind == "pre":
            lines = "\n".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))
            if rng.random() < 0.5:
                parts.append(f'<pre><code class="language-python">{lines}</code></pre>')
            else:
                parts.append(f"<pre>{lines}</pre>")
        elif kind == "quote" and "blockquote" not in inside:
            opening = rng.choice(["<blockquote>", "<blockquote expandable>"])
            inner = _markup(rng, depth + 1, inside | {"blockquote"})
            parts.append(f"{opening}{inner}</blockquote>")
        elif kind == "span":
            parts.append(f'<span class="tg-spoiler">{_markup(rng, depth + 1, inside)}</span>')
        else:
            tag = rng.choice(_PLAIN)
            parts.append(f"<{tag}>{_markup(rng, depth + 1, inside)}</{tag}>")
    return "".join(parts)


def _formatted_characters(markup: str) -> list[tuple[str, frozenset[tuple[str, str]]]]:
    """Each visible character with the formatting Telegram applies to it (spaces left out)."""
    text, entities = parse_html(markup)  # raises as Telegram would refuse
    marks: list[set[tuple[str, str]]] = [set() for _ in text]
    for entity in entities:
        detail = str(entity.get("url") or entity.get("language") or "")
        for index in range(entity["offset"], entity["offset"] + entity["length"]):
            marks[index].add((entity["type"], detail))
    return [(char, frozenset(mark)) for char, mark in zip(text, marks, strict=True)
            if not char.isspace()]  # fmt: skip


@pytest.mark.parametrize("seed", range(300))
def test_pages_of_any_markup_are_valid_and_keep_everything(seed: int) -> None:
    """Cut anywhere: each page is accepted by Telegram, fits, and together they hold every
    character of the text with exactly its formatting."""
    rng = random.Random(seed)
    body = _markup(rng)
    limit = rng.choice([200, 300, 700, BODY_LIMIT])
    pages = split_html(body, limit)
    for page in pages:
        assert len(page) <= limit, page
        parse_html(page)  # no "can't parse entities"
    kept = [mark for page in pages for mark in _formatted_characters(page)]
    assert kept == _formatted_characters(body)


def test_pages_end_between_paragraphs_then_lines_then_words() -> None:
    """A page ends at a paragraph break when one is in its second half; a long quote is cut
    between lines, and the quote goes on, reopened, on the next page."""
    paragraph = "Người dân chú ý. " * 60  # ~1,000 characters
    body = f"{paragraph}\n\n{paragraph}\n\n<blockquote><b>" + "Dòng thông báo\n" * 400 + "</b>"
    body += "</blockquote>"
    pages = split_html(body, 3000)
    assert pages[0] == f"{paragraph}\n\n{paragraph}".strip()
    assert pages[1].startswith("<blockquote><b>Dòng thông báo\n")
    assert pages[1].endswith("Dòng thông báo</b></blockquote>")
    assert all(page.startswith("<blockquote><b>Dòng") for page in pages[1:])
    for page in pages:
        parse_html(page)
