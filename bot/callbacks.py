"""Typed callback data: small frozen dataclasses packed into a button's 64 bytes and back.

A button's data is `prefix:field:field...`. Each kind of button is one subclass with a short
unique prefix; `pack()` writes it, `unpack()` reads it back and refuses anything malformed, so
handlers only ever see well-typed values. Stale or forged data never reaches a handler: it fails
`matches()` and is answered by the catch-all handler instead.

A number is read only as ASCII digits within SQLite's signed 64 bits (`parse_int`, which
handlers also use for ids typed after a command): Python's `int()` takes "٣" or "３" and any
length, and a number SQLite cannot hold fails every query it reaches.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, ClassVar, Literal, Self

from storage.db import SQLITE_MAX_INT, SQLITE_MIN_INT

__all__ = [
    "MAX_BYTES",
    "MAX_MASK_ID",
    "MAX_PAGE",
    "BroadcastAction",
    "BroadcastActionName",
    "CallbackData",
    "CallbackError",
    "CaseAction",
    "CaseActionName",
    "CaseList",
    "DraftAction",
    "DraftActionName",
    "ForgetAnswer",
    "ListPage",
    "OpenArticle",
    "RateCase",
    "ReportAction",
    "ReportActionName",
    "ReportStepName",
    "RunCommand",
    "RunCommandName",
    "SearchPage",
    "SetLanguage",
    "ShowCategories",
    "ShowResults",
    "StopSubscription",
    "SubscribeStep",
    "SubscribeStepName",
    "Vote",
    "decode",
    "kinds",
    "parse_int",
]

MAX_BYTES = 64  # Telegram's limit on callback_data, in UTF-8 bytes
# No list or article has this many pages; a page beyond it is forged, and a page times a page's
# length must stay an offset SQLite can hold.
MAX_PAGE = 1_000_000
_SAFE_STR = re.compile(r"[A-Za-z0-9_.-]{0,40}")  # always fullmatch: "$" lets a "\n" through
_INT = re.compile(r"-?[0-9]{1,19}")  # ASCII only: "\d" is any script's digit
_REGISTRY: dict[str, type[CallbackData]] = {}


class CallbackError(ValueError):
    """The callback data is not something this bot produced (stale, truncated or forged)."""


def parse_int(text: str) -> int | None:
    """`text` as an integer SQLite can store, or None: ASCII digits with an optional minus,
    within signed 64 bits. Everything that becomes an id goes through here."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if SQLITE_MIN_INT <= value <= SQLITE_MAX_INT else None


@dataclasses.dataclass(frozen=True)
class CallbackData:
    """Base of every button payload; subclasses set `prefix` and declare typed fields."""

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z]{1,4}", cls.prefix):
            raise TypeError(f"{cls.__name__}.prefix must be 1-4 lowercase letters")
        existing = _REGISTRY.get(cls.prefix)
        # dataclass(slots=True) re-creates the class, so the same class may register twice.
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"prefix {cls.prefix!r} is used by {_REGISTRY[cls.prefix].__name__}")
        _REGISTRY[cls.prefix] = cls

    def pack(self) -> str:
        """The string to put in a button; raises if it would exceed Telegram's 64 bytes."""
        parts = [self.prefix]
        for name, _ in _layout(type(self)):
            value = getattr(self, name)
            if isinstance(value, bool):
                parts.append("1" if value else "0")
            elif isinstance(value, int) and SQLITE_MIN_INT <= value <= SQLITE_MAX_INT:
                parts.append(str(value))
            elif isinstance(value, str) and _SAFE_STR.fullmatch(value):
                parts.append(value)
            else:
                raise CallbackError(f"{type(self).__name__}.{name}: cannot pack {value!r}")
        packed = ":".join(parts)
        if len(packed.encode()) > MAX_BYTES:
            raise CallbackError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, data: str) -> Self:
        """Parse `data` produced by `pack()`; raise CallbackError for anything else."""
        # A press is unpacked several times on its way (the handler's pattern, the handler, the
        # interaction log, the metrics): the values are frozen, so one parse serves them all.
        unpacked = _UNPACKED.get((cls, data))
        if unpacked is not None:
            return typing.cast(Self, unpacked)
        value = cls._parse_data(data)
        if len(_UNPACKED) >= _UNPACKED_MAX:  # a bound, not an LRU: a few recent presses win
            _UNPACKED.clear()
        _UNPACKED[cls, data] = value
        return value

    @classmethod
    def _parse_data(cls, data: str) -> Self:
        parts = data.split(":")
        layout = _layout(cls)
        if parts[0] != cls.prefix or len(parts) != len(layout) + 1:
            raise CallbackError(f"not a {cls.__name__}: {data[:MAX_BYTES]!r}")
        values = {
            name: _parse(kind, raw, name)
            for (name, kind), raw in zip(layout, parts[1:], strict=True)
        }
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise CallbackError(str(exc)) from exc

    @classmethod
    def matches(cls, data: object) -> bool:
        """True if `data` unpacks as this class (used as a CallbackQueryHandler pattern)."""
        if not isinstance(data, str):
            return False
        try:
            cls.unpack(data)
        except CallbackError:
            return False
        return True


_LAYOUTS: dict[type, tuple[tuple[str, Any], ...]] = {}
# Data unpacked lately, by kind and text (only what unpacked: a refusal is parsed again).
_UNPACKED: dict[tuple[type, str], CallbackData] = {}
_UNPACKED_MAX = 1024


def _layout(cls: type) -> tuple[tuple[str, Any], ...]:
    """A class's fields in order with their types, resolved once: every view packs several
    buttons and every press checks several classes."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        hints = typing.get_type_hints(cls)
        layout = tuple((field.name, hints[field.name]) for field in dataclasses.fields(cls))
        _LAYOUTS[cls] = layout
    return layout


def _parse(kind: Any, raw: str, name: str) -> Any:
    """One field's value from its text, checked against its declared type."""
    if kind is bool:
        if raw not in ("0", "1"):
            raise CallbackError(f"{name}: expected 0 or 1")
        return raw == "1"
    if kind is int:
        value = parse_int(raw)
        if value is None:
            raise CallbackError(f"{name}: expected a number SQLite can hold")
        return value
    if kind is str:
        if not _SAFE_STR.fullmatch(raw):
            raise CallbackError(f"{name}: unexpected characters")
        return raw
    if typing.get_origin(kind) is typing.Literal:
        if raw not in typing.get_args(kind):
            raise CallbackError(f"{name}: expected one of {typing.get_args(kind)}")
        return raw
    raise TypeError(f"unsupported callback field type {kind!r}")


def kinds() -> tuple[type[CallbackData], ...]:
    """Every registered kind of button data (those of handler modules once imported)."""
    return tuple(_REGISTRY.values())


def decode(data: object) -> CallbackData:
    """Unpack any registered kind of button data."""
    if not isinstance(data, str):
        raise CallbackError("no callback data")
    kind = _REGISTRY.get(data.split(":", 1)[0])
    if kind is None:
        raise CallbackError(f"unknown button kind: {data[:MAX_BYTES]!r}")
    return kind.unpack(data)


@dataclasses.dataclass(frozen=True, slots=True)
class SetLanguage(CallbackData):
    """The /language buttons."""

    prefix: ClassVar[str] = "lang"
    language: typing.Literal["vi", "en"]


@dataclasses.dataclass(frozen=True, slots=True)
class OpenArticle(CallbackData):
    """Show an article: page 0 is the short form, 1.. the pages of the full text."""

    prefix: ClassVar[str] = "a"
    article_id: int
    page: int
    category_id: int  # where the reader came from, for newer/older; 0 = all news

    def __post_init__(self) -> None:
        _check_page(self.page)


@dataclasses.dataclass(frozen=True, slots=True)
class ListPage(CallbackData):
    """A page of the newest articles, of one category or (0) of all news."""

    prefix: ClassVar[str] = "l"
    category_id: int
    page: int

    def __post_init__(self) -> None:
        _check_page(self.page)


@dataclasses.dataclass(frozen=True, slots=True)
class ShowCategories(CallbackData):
    """The list of categories."""

    prefix: ClassVar[str] = "c"


@dataclasses.dataclass(frozen=True, slots=True)
class SearchPage(CallbackData):
    """A page of a kept search's results."""

    prefix: ClassVar[str] = "s"
    search_id: int
    page: int

    def __post_init__(self) -> None:
        _check_page(self.page)


def _check_page(page: int) -> None:
    if not 0 <= page <= MAX_PAGE:
        raise ValueError(f"page {page} out of range")


RunCommandName = typing.Literal[
    "start", "latest", "search", "links", "poll", "subscribe", "settings", "unsubscribe",
    "stats", "forget", "language", "help",
]  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class RunCommand(CallbackData):
    """A menu choice that does what a command does (Zalo's menu, where no command menu is)."""

    prefix: ClassVar[str] = "run"
    command: RunCommandName


# -- subscriptions ----------------------------------------------------------------------------

SubscribeStepName = typing.Literal[
    "what", "pick", "toggle", "how", "instant", "daily", "weekly", "hour", "day", "cancel"
]
# Steps that subscribe, or lead only to subscribing: they need to know what was chosen.
_CHOSEN_STEPS = frozenset({"instant", "daily", "weekly", "hour", "day"})
# The chosen categories travel as a bit mask of their ids in at most 40 hexadecimal digits.
MAX_MASK_ID = 159
_MASK = re.compile(r"[1-9a-f][0-9a-f]{0,39}")
_STEP_VALUES = {"toggle": range(1, MAX_MASK_ID + 1), "hour": range(24), "day": range(7)}


@dataclasses.dataclass(frozen=True, slots=True)
class SubscribeStep(CallbackData):
    """A button of the /subscribe dialog: `sb:<step>:<all news>:<categories>:<value>`.

    The dialog keeps its state in its buttons: all news, or the chosen categories as a
    hexadecimal bit mask of their ids (bit i = category i), so it needs no memory between taps
    and survives a restart. The value is the category to toggle, the hour or the weekday.
    """

    prefix: ClassVar[str] = "sb"
    step: SubscribeStepName
    every: bool = False
    cats: str = ""
    value: int = 0

    def __post_init__(self) -> None:
        if self.cats and (not _MASK.fullmatch(self.cats) or int(self.cats, 16) & 1):
            raise ValueError("cats: not a mask of category ids")
        if self.every and self.cats:
            raise ValueError("all news and chosen categories at once")
        if self.step in _CHOSEN_STEPS and not (self.every or self.cats):
            raise ValueError(f"{self.step}: nothing chosen")
        if self.value not in _STEP_VALUES.get(self.step, range(1)):
            raise ValueError(f"{self.step}: value {self.value} out of range")

    @property
    def chosen(self) -> frozenset[int]:
        """The ids of the chosen categories."""
        mask = int(self.cats, 16) if self.cats else 0
        return frozenset(i for i in range(1, mask.bit_length()) if mask >> i & 1)

    @staticmethod
    def mask(category_ids: typing.Iterable[int]) -> str:
        """The `cats` value for these category ids (each 1..MAX_MASK_ID)."""
        mask = 0
        for category_id in category_ids:
            if not 1 <= category_id <= MAX_MASK_ID:
                raise CallbackError(f"category {category_id} does not fit in a button")
            mask |= 1 << category_id
        return format(mask, "x") if mask else ""


@dataclasses.dataclass(frozen=True, slots=True)
class StopSubscription(CallbackData):
    """The stop buttons: `sbx:ask` (from /settings) asks, `sbx:yes` stops, `sbx:no` keeps it."""

    prefix: ClassVar[str] = "sbx"
    action: typing.Literal["ask", "yes", "no"]


# -- the satisfaction poll ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Vote(CallbackData):
    """A tap on an option: `pv:<poll>:<option>`."""

    prefix: ClassVar[str] = "pv"
    poll: int
    option: int


@dataclasses.dataclass(frozen=True, slots=True)
class ShowResults(CallbackData):
    """ "See results" and "Update results": `pr:<poll>`."""

    prefix: ClassVar[str] = "pr"
    poll: int


DraftActionName = Literal["done", "create", "cancel"]


@dataclasses.dataclass(frozen=True, slots=True)
class DraftAction(CallbackData):
    """A button of the /newpoll dialog: `pn:<action>`."""

    prefix: ClassVar[str] = "pn"
    action: DraftActionName


# -- staff announcements -----------------------------------------------------------------------

BroadcastActionName = Literal[
    "cat", "ch", "go", "time", "back", "x", "p", "r", "stop", "stopok", "keep", "goz"
]


@dataclasses.dataclass(frozen=True, slots=True)
class BroadcastAction(CallbackData):
    """A button of a broadcast's panel: `bc:<broadcast>:<action>:<value>`."""

    prefix: ClassVar[str] = "bc"
    broadcast_id: int
    action: BroadcastActionName
    value: int = 0


# -- privacy ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ForgetAnswer(CallbackData):
    """The /forget confirmation buttons: `fg:1` deletes, `fg:0` keeps everything."""

    prefix: ClassVar[str] = "fg"
    confirmed: bool


# -- staff handling residents' cases (góp ý – phản ánh) ---------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class CaseList(CallbackData):
    """A page of /cases: `cl:<topic>:<state>:<page>:<pick>`.

    `topic` and `state` are the filters ("" = all; checked against the service's lists by the
    handler, so a topic staff removed since makes the button stale); `pick` shows the choice
    of a topic or a state instead of the list.
    """

    prefix: ClassVar[str] = "cl"
    topic: str = ""
    state: str = ""
    page: int = 0
    pick: Literal["no", "topic", "state"] = "no"

    def __post_init__(self) -> None:
        _check_page(self.page)


CaseActionName = Literal[
    "open",  # the case's view
    "asg",  # choose whom to assign it to
    "to",  # assign it to the staff member `value`
    "due",  # choose a deadline
    "dset",  # set the deadline `value` working days from today (0: the topic's default)
    "ans",  # type the answer to the resident
    "ansok",  # send the answer typed (held in the staff member's dialog)
    "note",  # type an internal note
    "dup",  # type the number of the case it duplicates
    "close",  # ask before closing
    "closeok",
    "spam",  # ask before marking it spam
    "spamok",
    "x",  # stop typing (answer, note, duplicate's number)
    "pics",  # send the case's photos to the staff member
]


@dataclasses.dataclass(frozen=True, slots=True)
class CaseAction(CallbackData):
    """A button of a case's view for staff: `ca:<case>:<action>:<value>`."""

    prefix: ClassVar[str] = "ca"
    case_id: int
    action: CaseActionName
    value: int = 0

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("value: negative")


# -- residents' reports (Góp ý – phản ánh) ------------------------------------------------------

ReportStepName = Literal["topic", "description", "photos", "location", "phone", "preview"]
ReportActionName = Literal["topic", "skip", "send", "cancel"]
# Where each button is offered ("cancel": at every step).
_REPORT_STEPS: dict[str, frozenset[str]] = {
    "topic": frozenset({"topic"}),
    "skip": frozenset({"photos", "location", "phone"}),
    "send": frozenset({"preview"}),
}


@dataclasses.dataclass(frozen=True, slots=True)
class ReportAction(CallbackData):
    """A button of the /gopy dialog: `gy:<action>:<step it was shown at>:<topic>`.

    The step makes a button of an earlier step stale (a "skip" under the photos' question must
    not skip the location); the dialog's draft itself is kept on the bot's side.
    """

    prefix: ClassVar[str] = "gy"
    action: ReportActionName
    step: ReportStepName
    value: int = 0

    def __post_init__(self) -> None:
        allowed = _REPORT_STEPS.get(self.action)
        if allowed is not None and self.step not in allowed:
            raise ValueError(f"{self.action} is not a button of the {self.step} step")
        if self.action == "topic" and self.value < 1:
            raise ValueError("no topic")
        if self.action != "topic" and self.value != 0:
            raise ValueError(f"{self.action}: no value")


@dataclasses.dataclass(frozen=True, slots=True)
class RateCase(CallbackData):
    """Under the commune's answer: `gr:<case>:yes|no`; after rating, `gr:<case>:skip` declines
    to add a word."""

    prefix: ClassVar[str] = "gr"
    case_id: int
    answer: Literal["yes", "no", "skip"]
