"""The text catalogues and the callback-data codec."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

import pytest

from bot.callbacks import MAX_BYTES, CallbackData, CallbackError, SetLanguage, decode
from bot.i18n import Catalog, CatalogError, Plural, SafeHtml, pick_language
from bot.standins.tghtml import parse_html


def test_shipped_catalogues_agree_and_are_valid_telegram_html() -> None:
    catalog = Catalog.load()
    assert catalog.languages == ("vi", "en")
    for lang in catalog.languages:
        for key in ("start.welcome", "help.text", "errors.generic", "errors.stale_button"):
            text = catalog.text(key, lang, name="<Tí>", commune="Xã & Thôn")
            parse_html(text)  # raises if Telegram would refuse it


def test_catalogue_mismatch_is_refused() -> None:
    with pytest.raises(CatalogError, match="keys differ"):
        Catalog({"vi": {"a": "x", "b": "y"}, "en": {"a": "x"}})
    with pytest.raises(CatalogError, match="placeholders of a differ"):
        Catalog({"vi": {"a": "Chào {name}"}, "en": {"a": "Hello {nam}"}})


def test_values_are_escaped_unless_marked_safe() -> None:
    catalog = Catalog({"vi": {"k": "<b>{x}</b> {y}"}})
    assert catalog.text("k", "vi", x="a<b>&", y=SafeHtml("<i>ok</i>")) == (
        "<b>a&lt;b&gt;&amp;</b> <i>ok</i>"
    )


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [("en", "vi", "en"), (None, "en-US", "en"), (None, "vi", "vi"), (None, "de", "vi"),
     (None, None, "vi"), ("xx", "en", "en")],
)  # fmt: skip
def test_pick_language(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert pick_language(chosen, telegram, "vi") == expected


@dataclasses.dataclass(frozen=True, slots=True)
class _Page(CallbackData):
    prefix: ClassVar[str] = "tpg"
    article: int
    page: int
    full: bool
    view: Literal["all", "cat"]


def test_callback_round_trip_and_size() -> None:
    page = _Page(article=9_223_372_036_854_775_807, page=3, full=True, view="cat")
    packed = page.pack()
    assert packed == "tpg:9223372036854775807:3:1:cat"
    assert len(packed.encode()) <= MAX_BYTES
    assert _Page.unpack(packed) == page
    assert decode(packed) == page
    assert decode("lang:en") == SetLanguage("en")


@pytest.mark.parametrize(
    "data",
    ["tpg:1:2:1", "tpg:1:2:1:cat:x", "tpg:a:2:1:cat", "tpg:1:2:2:cat", "tpg:1:2:1:none",
     "nope:1", "", "tpg:1:2:1:cat;DROP", "tpg:" + "9" * 60 + ":1:1:cat"],
)  # fmt: skip
def test_forged_callback_data_is_refused(data: str) -> None:
    assert not _Page.matches(data)
    with pytest.raises(CallbackError):
        decode(data)
    with pytest.raises(CallbackError):  # every time: a refusal is not remembered
        _Page.unpack(data)


def test_a_press_is_parsed_once_on_its_way() -> None:
    """The handler's pattern, the handler, the interaction log and the metrics all unpack the
    same data: the frozen value is parsed once and shared."""
    packed = _Page(article=42, page=1, full=False, view="cat").pack()
    first = _Page.unpack(packed)
    assert _Page.matches(packed)
    assert _Page.unpack(packed) is first
    assert decode(packed) is first
    assert first == _Page(article=42, page=1, full=False, view="cat")
    # The same text is another kind's only if that kind's prefix says so.
    assert not SetLanguage.matches(packed)


def test_callback_data_that_would_not_fit_is_refused_when_packing() -> None:
    @dataclasses.dataclass(frozen=True)
    class Wide(CallbackData):
        prefix: ClassVar[str] = "wide"
        a: str
        b: str

    with pytest.raises(CallbackError, match="more than 64 bytes"):
        Wide("x" * 40, "y" * 40).pack()
    with pytest.raises(CallbackError, match="cannot pack"):
        Wide("có dấu", "y").pack()


def test_duplicate_prefix_is_refused() -> None:
    with pytest.raises(TypeError, match="prefix 'lang' is used"):

        @dataclasses.dataclass(frozen=True)
        class Clash(CallbackData):
            prefix: ClassVar[str] = "lang"


def test_plural_forms_and_lists() -> None:
    catalog = Catalog(
        {
            "vi": {"n": "{count} lần", "days": ("Thứ Hai", "Thứ Ba")},
            "en": {
                "n": Plural({"one": "{count} time", "other": "{count} times"}),
                "days": ("Monday", "Tuesday"),
            },
        }
    )
    assert catalog.text("n", "en", count=1) == "1 time"
    assert catalog.text("n", "en", count=2) == "2 times"
    assert catalog.text("n", "en", count="1") == "1 time"  # a number already written
    assert catalog.text("n", "vi", count=1) == "1 lần"
    assert catalog.items("days", "en") == ("Monday", "Tuesday")
    with pytest.raises(CatalogError, match="is a list"):
        catalog.text("days", "en")
    with pytest.raises(CatalogError, match="a list of 1"):
        Catalog({"vi": {"days": ("Thứ Hai", "Thứ Ba")}, "en": {"days": ("Monday",)}})
    with pytest.raises(CatalogError, match="placeholders of n differ"):
        Catalog(
            {"vi": {"n": "{count} lần"}, "en": {"n": Plural({"one": "one", "other": "{count}"})}}
        )


def test_the_shipped_english_counts_agree_with_their_number() -> None:
    catalog = Catalog.load()
    assert catalog.text("stats.staff_not_found_line", "en", words="x", count=1).endswith("1 time")
    assert catalog.text("stats.staff_not_found_line", "en", words="x", count=3).endswith("3 times")
    assert catalog.text("broadcast.minutes", "en", count=1) == "1 minute"
    assert len(catalog.items("subscribe.weekdays", "vi")) == 7


def test_numbers_and_dates_are_written_in_one_place_per_language() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot import formats

    assert formats.number(1234567, "vi") == "1.234.567"
    assert formats.number(1234567, "en") == "1,234,567"
    assert formats.decimal(1.25, "vi", 1) == "1,2"
    assert formats.decimal(1.5, "en") == "1.5"
    moment = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 06:30 on the 28th in Vietnam
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    assert formats.stamp(moment, tz) == "06:30 28/11/2026"
    assert formats.day(moment, tz) == "28/11/2026"
    assert formats.stamp_day_first(moment, tz) == "28/11/2026 06:30"
    assert formats.article_stamp(moment, tz) == "06:30 · 28/11/2026"
    assert formats.day_month(moment.astimezone(tz)) == "28/11"
