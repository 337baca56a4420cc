"""A view as Zalo shows it: plain text within 2,000 characters, numbered choices, buttons."""

from __future__ import annotations

import random

import pytest

from bot.callbacks import ListPage, OpenArticle, ShowCategories
from bot.i18n import Catalog
from bot.views import Button, View
from bot.zalo.messages import MAX_TEXT
from bot.zalo.render import for_zalo, one_message, plain, split_text

CATALOG = Catalog.load("vi")


def test_the_vocabulary_becomes_plain_text_with_links_spelled_out() -> None:
    text = plain(
        '<b>Lịch</b> &amp; <i>giờ</i> <a href="https://xa.vn/p">trang xã</a>, '
        '<a href="https://xa.vn">https://xa.vn</a>, <a href="https://t.me/bot?start=a1">Tin</a>'
        "\n<blockquote>trích</blockquote>\n<pre>a &lt; b</pre>"
    )
    assert text == "Lịch & giờ trang xã (https://xa.vn/p), https://xa.vn, Tin\ntrích\na < b"


@pytest.mark.parametrize("seed", range(20))
def test_long_text_is_cut_between_paragraphs_then_lines_then_words(seed: int) -> None:
    rng = random.Random(seed)
    words = ["tiêm", "chủng", "mở", "rộng", "thôn", "Phú", "Bình", "ĐH21", "x" * 30]
    paragraphs = [
        "\n".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
            for _ in range(rng.randint(1, 8))
        )
        for _ in range(rng.randint(1, 12))
    ]
    text = "\n\n".join(paragraphs)
    pieces = split_text(text)
    assert all(0 < len(piece) <= MAX_TEXT for piece in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())  # nothing lost
    for piece in pieces[:-1]:  # never inside a word
        end = text.index(piece) + len(piece)
        assert text[end].isspace()


def test_a_paragraph_break_in_the_second_half_is_where_a_message_ends() -> None:
    first, second = "a " * 700, "b " * 700
    assert split_text(f"{first.strip()}\n\n{second.strip()}") == [first.strip(), second.strip()]


def list_view() -> View:
    return View(
        "<b>📰 Tin mới nhất</b> · trang 2/3\n\n6. Lịch tiêm — 01/12\n7. Cắt điện — 30/11",
        (
            (Button("6. Lịch tiêm", OpenArticle(16, 0, 0)),),
            (Button("7. Cắt điện", OpenArticle(17, 0, 0)),),
            (Button("◀ Trang trước", ListPage(0, 1)), Button("Trang sau ▶", ListPage(0, 3))),
            (Button("📂 Chuyên mục", ShowCategories()),),
            (
                Button("🌐 Xem trên website", url="https://xa.vn/tin/16"),
                Button("↗️ Chia sẻ", url="https://t.me/share/url?url=x"),
            ),
        ),
        picture="https://xa.vn/anh.jpg",
    )


def test_buttons_become_numbered_choices_and_query_buttons() -> None:
    rendered = for_zalo(list_view(), CATALOG, "vi")
    (message,) = rendered.messages
    # The list's own numbers are kept (page 2 starts at 6); the other choices follow them.
    assert rendered.choices == {
        6: "a:16:0:0", 7: "a:17:0:0", 8: "l:0:1", 9: "l:0:3", 10: "c",
    }  # fmt: skip
    assert message.text == (
        "📰 Tin mới nhất · trang 2/3\n\n6. Lịch tiêm — 01/12\n7. Cắt điện — 30/11\n\n"
        "👉 Gõ số để chọn:\n8 — ◀ Trang trước\n9 — Trang sau ▶\n10 — 📂 Chuyên mục\n\n"
        "🌐 Xem trên website: https://xa.vn/tin/16"
    )
    assert [(b.title, b.payload, b.url) for b in message.buttons] == [
        ("6. Lịch tiêm", "#a:16:0:0", None),
        ("7. Cắt điện", "#a:17:0:0", None),
        ("◀ Trang trước", "#l:0:1", None),
        ("Trang sau ▶", "#l:0:3", None),
        ("📂 Chuyên mục", "#c", None),
    ]  # at most five; the numbers offer every choice
    assert message.image_url == "https://xa.vn/anh.jpg"
    english = for_zalo(list_view(), Catalog.load("vi"), "en").messages[0].text
    assert "👉 Type a number to choose:" in english


def test_a_long_view_is_several_messages_picture_first_buttons_last() -> None:
    body = "\n\n".join(f"Đoạn {n}: " + "nội dung thông báo của xã " * 30 for n in range(8))
    view = View(
        body, ((Button("📖 Đọc toàn bài", OpenArticle(1, 1, 0)),),), picture="https://xa.vn/a.jpg"
    )
    messages = for_zalo(view, CATALOG, "vi").messages
    assert len(messages) >= 3
    assert all(len(m.text) <= MAX_TEXT for m in messages)
    assert messages[0].image_url == "https://xa.vn/a.jpg"
    assert all(m.image_url is None for m in messages[1:])
    assert all(not m.buttons for m in messages[:-1])
    assert messages[-1].buttons[0].payload == "#a:1:1:0"
    assert messages[-1].text.endswith("1 — 📖 Đọc toàn bài")


def test_a_message_sent_unasked_has_no_numbers_and_fits_one_message() -> None:
    message = one_message(list_view(), CATALOG, "vi", "Gõ “tin mới” để xem các tin mới nhất.")
    assert "Gõ số" not in message.text
    assert message.text.endswith("Gõ “tin mới” để xem các tin mới nhất.")
    assert message.buttons[0].payload == "#a:16:0:0"
    long = one_message(View("chữ " * 1000), CATALOG, "vi")
    assert len(long.text) <= MAX_TEXT
    assert long.text.endswith("chữ…")
