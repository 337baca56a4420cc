"""Numbers, dates and times as residents and staff read them, in one place per language.

Vietnamese writes 1.234 and 1,5; English 1,234 and 1.5. Both are written for a Vietnamese
commune, so dates are day/month/year and times 24-hour in both (an English-speaking resident of
the commune reads its dates the commune's way). Babel would bring CLDR's patterns for every
locale; two languages with one shared date pattern do not need it.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

__all__ = ["article_stamp", "day", "day_month", "decimal", "number", "stamp", "stamp_day_first"]

# Per language: the thousands separator, the decimal mark.
_MARKS = {"vi": (".", ","), "en": (",", ".")}
# Per language: a date, a date with its time (time first, as on the portal), a day and month.
_DAY = {"vi": "%d/%m/%Y", "en": "%d/%m/%Y"}
_STAMP = {"vi": "%H:%M %d/%m/%Y", "en": "%H:%M %d/%m/%Y"}
_STAMP_DAY_FIRST = {"vi": "%d/%m/%Y %H:%M", "en": "%d/%m/%Y %H:%M"}
_DAY_MONTH = {"vi": "%d/%m", "en": "%d/%m"}
_ARTICLE = {"vi": "%H:%M · %d/%m/%Y", "en": "%H:%M · %d/%m/%Y"}


def number(value: int, lang: str = "vi") -> str:
    """1234 as "1.234" in Vietnamese, "1,234" in English."""
    thousands, _ = _MARKS.get(lang, _MARKS["vi"])
    return f"{value:,}".replace(",", thousands)


def decimal(value: float, lang: str = "vi", digits: int = 1) -> str:
    """1.5 as "1,5" in Vietnamese, "1.5" in English."""
    _, mark = _MARKS.get(lang, _MARKS["vi"])
    return f"{value:.{digits}f}".replace(".", mark)


def _local(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment.astimezone(tz) if tz is not None else moment


def day(moment: datetime | date, tz: tzinfo | None = None, lang: str = "vi") -> str:
    """A date: 28/11/2026 (a datetime in the time zone `tz`)."""
    if isinstance(moment, datetime):
        moment = _local(moment, tz)
    return moment.strftime(_DAY.get(lang, _DAY["vi"]))


def day_month(moment: datetime | date, lang: str = "vi") -> str:
    """A day of a chart or a week: 28/11."""
    return moment.strftime(_DAY_MONTH.get(lang, _DAY_MONTH["vi"]))


def stamp(moment: datetime, tz: tzinfo | None = None, lang: str = "vi") -> str:
    """A moment: 06:30 28/11/2026, in the time zone `tz`."""
    return _local(moment, tz).strftime(_STAMP.get(lang, _STAMP["vi"]))


def stamp_day_first(moment: datetime, tz: tzinfo | None = None, lang: str = "vi") -> str:
    """A moment with its date first (a chart's or a digest's footer): 28/11/2026 06:30."""
    return _local(moment, tz).strftime(_STAMP_DAY_FIRST.get(lang, _STAMP_DAY_FIRST["vi"]))


def article_stamp(moment: datetime, tz: tzinfo | None = None, lang: str = "vi") -> str:
    """When an article was published, in its header: 06:30 · 28/11/2026."""
    return _local(moment, tz).strftime(_ARTICLE.get(lang, _ARTICLE["vi"]))
