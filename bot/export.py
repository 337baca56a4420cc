"""Files staff download: CSV that opens correctly in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["excel_csv"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell that a spreadsheet never runs as a formula (a label may start with = + - @)."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def excel_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as CSV in UTF-8 with a byte-order mark, so Excel shows Vietnamese letters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
