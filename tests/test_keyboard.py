"""Keyboards written to JSON directly say exactly what python-telegram-bot would send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import pytest
from telegram import (
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    LoginUrl,
    SwitchInlineQueryChosenChat,
)

from bot.callbacks import ListPage, OpenArticle
from bot.i18n import Catalog
from bot.keyboard import Keyboard, for_telegram
from bot.reading import render_article
from storage.articles import StoredArticle

ROWS = [
    [InlineKeyboardButton("◀ Tin cũ hơn", callback_data="a:4999:0:2")],
    [
        InlineKeyboardButton("🌐 Xem trên website", url="https://xa.example.vn/tin/1"),
        InlineKeyboardButton("↗️ Chia sẻ", url="https://t.me/share/url?url=x&text=T%C3%B4i"),
    ],
    # Buttons of other kinds are left to PTB, whatever they carry.
    [InlineKeyboardButton("Tìm", switch_inline_query_current_chat="dân vận")],
    [InlineKeyboardButton("Đăng nhập", login_url=LoginUrl("https://xa.example.vn/login"))],
    [InlineKeyboardButton("Chép", copy_text=CopyTextButton("0235 3123 456"))],
    [
        InlineKeyboardButton(
            "Gửi cho", switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat("tin")
        )
    ],
    [InlineKeyboardButton("Lạ", callback_data="x", api_kwargs={"future_field": 1})],
]


def test_same_json_as_ptb_for_every_kind_of_button() -> None:
    assert Keyboard(ROWS).to_dict() == InlineKeyboardMarkup(ROWS).to_dict()


def test_plain_buttons_skip_ptbs_reflection(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = InlineKeyboardMarkup(ROWS[:2]).to_dict()

    def refuse(self: object, recursive: bool = True) -> NoReturn:
        raise AssertionError("PTB's to_dict was used for a plain button")

    monkeypatch.setattr(InlineKeyboardButton, "to_dict", refuse)
    assert Keyboard(ROWS[:2]).to_dict() == expected
    with pytest.raises(AssertionError):  # and any other button still goes through PTB
        Keyboard(ROWS[2:3]).to_dict()


def test_a_keyboard_with_unknown_fields_goes_through_ptb() -> None:
    keyboard = Keyboard(ROWS[:1], api_kwargs={"future_field": True})
    assert (
        keyboard.to_dict()
        == InlineKeyboardMarkup(ROWS[:1], api_kwargs={"future_field": True}).to_dict()
    )
    assert keyboard.to_dict()["future_field"] is True


def test_an_article_view_keyboard_matches_ptb() -> None:
    article = StoredArticle(
        article_id=7,
        url="https://xa.example.vn/tin/7",
        title="Tiêm chủng & khám bệnh <miễn phí>",
        summary="Trạm Y tế xã tổ chức tiêm chủng.",
        body_html="<b>Đợt 1</b>\n\n" + "Nội dung. " * 800,
        body_text="Đợt 1\n\n" + "Nội dung. " * 800,
        author="Trạm Y tế",
        image_url=None,
        published_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        published_estimated=False,
        category="Y tế – Giáo dục",
        first_seen_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    rendered = for_telegram(
        render_article(article, 2, 3, (6, 8), Catalog.load("vi"), "vi", tz, "tinxa_bot")
    )
    keyboard = rendered.keyboard
    assert isinstance(keyboard, Keyboard)
    assert keyboard.to_dict() == InlineKeyboardMarkup(keyboard.inline_keyboard).to_dict()
    assert sum(len(row) for row in keyboard.inline_keyboard) >= 6


def test_an_article_view_is_channel_neutral_and_renders_to_the_same_message() -> None:
    """The article view carries typed actions, links and its picture, no Telegram type; the
    Telegram form packs each action into its button and shows the picture above the text."""
    article = StoredArticle(
        article_id=7,
        url="https://xa.example.vn/tin/7",
        title="Tiêm chủng",
        summary="Trạm Y tế xã tổ chức tiêm chủng.",
        body_html="Nội dung. " * 800,
        body_text="Nội dung. " * 800,
        author=None,
        image_url="https://xa.example.vn/anh/7.jpg",
        published_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        published_estimated=False,
        category="Y tế – Giáo dục",
        first_seen_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    view = render_article(article, 1, 3, (6, None), Catalog.load("vi"), "vi", tz, "tinxa_bot")
    buttons = [button for row in view.buttons for button in row]
    actions = [button.action for button in buttons if button.action is not None]
    assert OpenArticle(7, 2, 3) in actions  # the next page
    assert OpenArticle(6, 0, 3) in actions  # the older article
    assert ListPage(3, 1) in actions  # back to the list
    assert "https://xa.example.vn/tin/7" in [button.url for button in buttons]
    assert view.picture == "https://xa.example.vn/anh/7.jpg"
    rendered = for_telegram(view)
    assert rendered.keyboard is not None
    packed = [b.callback_data for row in rendered.keyboard.inline_keyboard for b in row]
    assert OpenArticle(7, 2, 3).pack() in packed
    assert rendered.preview is not None
    assert rendered.preview.url == view.picture
    assert rendered.preview.show_above_text
    # Its second page shows no picture: Telegram gets no preview at all.
    second = render_article(article, 2, 3, (6, None), Catalog.load("vi"), "vi", tz, "tinxa_bot")
    assert second.picture is None
    assert for_telegram(second).preview == LinkPreviewOptions(is_disabled=True)


def test_the_buttons_of_views_shown_lately_are_made_once() -> None:
    """PTB's button objects are frozen values: the same button in two views is one object,
    made once, and the keyboard says the same as a freshly made one."""
    article = StoredArticle(
        article_id=9,
        url="https://xa.example.vn/tin/9",
        title="Lịch tiêm chủng",
        summary="Tóm tắt.",
        body_html="Nội dung.",
        body_text="Nội dung.",
        author=None,
        image_url=None,
        published_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        published_estimated=False,
        category=None,
        first_seen_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    catalog = Catalog.load("vi")

    def keyboard(page: int) -> Keyboard:
        view = render_article(article, page, 0, (8, 10), catalog, "vi", tz, "tinxa_bot")
        made = for_telegram(view).keyboard
        assert isinstance(made, Keyboard)
        return made

    first, again, full = keyboard(0), keyboard(0), keyboard(1)
    assert first is not again
    assert all(
        a is b
        for row, other in zip(first.inline_keyboard, again.inline_keyboard, strict=True)
        for a, b in zip(row, other, strict=True)
    )
    back = ListPage(0, 1).pack()
    assert first.inline_keyboard[-1][0].callback_data == back
    assert full.inline_keyboard[-1][0] is first.inline_keyboard[-1][0]  # "☰ Danh sách tin"
    fresh = [
        [InlineKeyboardButton(b.text, callback_data=b.callback_data, url=b.url) for b in row]
        for row in again.inline_keyboard
    ]
    assert again.to_dict() == InlineKeyboardMarkup(fresh).to_dict()
    assert again == InlineKeyboardMarkup(fresh)
