"""The results chart: a PNG whose Vietnamese text the font can draw, without font warnings."""

from __future__ import annotations

import struct
import unicodedata
import warnings

from bot import charts
from bot.config import Settings
from bot.i18n import Catalog
from storage.polls import shares

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def draw(labels: list[str], counts: list[int], question: str = "Câu hỏi?") -> bytes:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.results_chart(
            question,
            labels,
            counts,
            shares(counts),
            votes_label="Số phiếu",
            footer="Tổng cộng: 3 phiếu · Xã Bình Chánh · 16/04/2021 08:00",
        )
    assert [str(w.message) for w in caught] == []  # e.g. "Glyph ... missing from font(s)"
    return png


def test_the_font_draws_every_vietnamese_letter() -> None:
    catalog = Catalog.load()
    texts = [
        VIETNAMESE,
        VIETNAMESE.upper(),
        Settings.model_fields["POLL_QUESTION"].default,
        *Settings.model_fields["POLL_OPTIONS"].default,
        catalog.text("poll.chart_votes"),
        catalog.text("poll.chart_footer", total=3, commune="Xã Bình Chánh", when="16/04/2021"),
    ]
    for text in texts:
        assert charts.drawable(text) == " ".join(text.split()), text


def test_chart_is_a_png_of_the_expected_width() -> None:
    png = draw(["Thật tuyệt vời", "Tốt", "Khá", "Trung bình"], [12, 30, 7, 1])
    width, height = png_size(png)
    assert width == charts.WIDTH_PX
    assert 250 <= height <= 800


def test_chart_grows_with_options_and_takes_long_labels_and_no_votes() -> None:
    four = png_size(draw(["A", "B", "C", "D"], [0, 0, 0, 0]))
    labels = [
        f"Lựa chọn số {n} khá dài để xuống dòng cho dễ đọc trên điện thoại" for n in range(10)
    ]
    ten = png_size(draw(labels, list(range(10)), question="Câu hỏi dài " * 25))
    assert ten[0] == four[0] == charts.WIDTH_PX
    assert ten[1] > four[1]


def test_characters_the_font_lacks_are_dropped_without_warnings() -> None:
    assert charts.drawable("👍 Tốt  lắm 🎉") == "Tốt lắm"
    assert charts.drawable(unicodedata.normalize("NFD", "Hài lòng")) == "Hài lòng"
    png = draw(["👍 Tốt", "🙁", "Khá 中文"], [1, 1, 1], question="Bạn thấy sao? 🤔")
    assert png_size(png)[0] == charts.WIDTH_PX
