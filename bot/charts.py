"""Charts as PNG (poll results, the bot's activity), drawn with matplotlib's Agg renderer.

matplotlib is imported inside the functions: it takes a noticeable moment to load, and only staff
asking for a chart need it, so the bot's start-up does not pay for it.
"""

from __future__ import annotations

import functools
import io
import textwrap
import threading
import unicodedata
from collections.abc import Sequence

__all__ = ["FONT_FAMILY", "WIDTH_PX", "activity_chart", "drawable", "results_chart"]

# DejaVu Sans ships with matplotlib and has every Vietnamese letter (Latin Extended Additional).
FONT_FAMILY = "DejaVu Sans"
WIDTH_PX = 900
_DPI = 100
_BAR_COLOUR = "#1f6fb2"

# matplotlib's font cache and text layout are not thread-safe; charts are drawn one at a time.
_DRAWING = threading.Lock()


@functools.cache
def _font_characters() -> frozenset[int]:
    """Code points the chart's font can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(
        font_manager.FontProperties(family=FONT_FAMILY), fallback_to_default=False
    )
    return frozenset(FT2Font(path).get_charmap())


def drawable(text: str) -> str:
    """`text` in NFC without characters the font lacks (emoji would print as empty boxes)."""
    known = _font_characters()
    kept = "".join(c for c in unicodedata.normalize("NFC", text) if c.isspace() or ord(c) in known)
    return " ".join(kept.split())


def results_chart(
    question: str,
    labels: Sequence[str],
    counts: Sequence[int],
    percents: Sequence[int],
    *,
    votes_label: str,
    footer: str,
) -> bytes:
    """A horizontal bar per option, with its count and percentage; returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [textwrap.fill(drawable(label) or "?", 30) for label in labels]
    title = textwrap.fill(drawable(question), 60)
    label_lines = sum(name.count("\n") + 1 for name in names)
    title_lines = title.count("\n") + 1
    height = 1.4 + 0.32 * title_lines + max(0.55 * len(names), 0.28 * label_lines)
    top = max(max(counts, default=0), 1)
    with _DRAWING:
        figure = Figure(figsize=(WIDTH_PX / _DPI, height), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(names)))
        bars = axes.barh(positions, list(counts), color=_BAR_COLOUR, height=0.6)
        axes.set_yticks(positions, names, fontfamily=FONT_FAMILY, fontsize=11)
        axes.invert_yaxis()  # first option on top, as on the buttons
        axes.set_xlim(0, top * 1.25)  # room for the numbers after the longest bar
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for tick in axes.get_xticklabels():
            tick.set_fontfamily(FONT_FAMILY)
        axes.set_xlabel(drawable(votes_label), fontfamily=FONT_FAMILY, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        for bar, count, percent in zip(bars, counts, percents, strict=True):
            axes.text(
                bar.get_width() + top * 0.02,
                bar.get_y() + bar.get_height() / 2,
                f"{count} ({percent}%)",
                va="center",
                fontfamily=FONT_FAMILY,
                fontsize=10,
            )
        figure.suptitle(title, fontfamily=FONT_FAMILY, fontsize=13, fontweight="bold")
        figure.supxlabel(drawable(footer), fontfamily=FONT_FAMILY, fontsize=9, color="#555555")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def activity_chart(
    days: Sequence[str],
    interactions: Sequence[int],
    residents: Sequence[int],
    *,
    title: str,
    interactions_label: str,
    residents_label: str,
) -> bytes:
    """Interactions per day as bars and active residents as a line; returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _DRAWING:
        figure = Figure(figsize=(WIDTH_PX / _DPI, 4.5), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(days)))
        axes.bar(
            positions, list(interactions), color=_BAR_COLOUR, label=drawable(interactions_label)
        )
        axes.plot(
            positions, list(residents), color="#d9822b", marker="o", label=drawable(residents_label)
        )
        # Every third day is labelled: thirty dates side by side would overlap.
        axes.set_xticks(positions[::3], list(days)[::3], fontfamily=FONT_FAMILY, fontsize=9)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(prop={"family": FONT_FAMILY, "size": 10}, frameon=False)
        figure.suptitle(drawable(title), fontfamily=FONT_FAMILY, fontsize=13, fontweight="bold")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
