"""Typed callback data: small frozen dataclasses packed into a button's 64 bytes and back.

A button's data is `prefix:field:field...`. Each kind of button is one subclass with a short
unique prefix; `pack()` writes it, `unpack()` reads it back and refuses anything malformed, so
handlers only ever see well-typed values. Stale or forged data never reaches a handler: it fails
`matches()` and is answered by the catch-all handler instead.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, ClassVar, Self

__all__ = [
    "MAX_BYTES",
    "CallbackData",
    "CallbackError",
    "ListPage",
    "OpenArticle",
    "SearchPage",
    "SetLanguage",
    "ShowCategories",
    "decode",
]

MAX_BYTES = 64  # Telegram's limit on callback_data, in UTF-8 bytes
_SAFE_STR = re.compile(r"^[A-Za-z0-9_.-]{0,40}$")
_INT = re.compile(r"^-?\d{1,19}$")
_REGISTRY: dict[str, type[CallbackData]] = {}


class CallbackError(ValueError):
    """The callback data is not something this bot produced (stale, truncated or forged)."""


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
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool):
                parts.append("1" if value else "0")
            elif isinstance(value, int):
                parts.append(str(value))
            elif isinstance(value, str) and _SAFE_STR.match(value):
                parts.append(value)
            else:
                raise CallbackError(f"{type(self).__name__}.{field.name}: cannot pack {value!r}")
        packed = ":".join(parts)
        if len(packed.encode()) > MAX_BYTES:
            raise CallbackError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, data: str) -> Self:
        """Parse `data` produced by `pack()`; raise CallbackError for anything else."""
        parts = data.split(":")
        fields = dataclasses.fields(cls)
        if parts[0] != cls.prefix or len(parts) != len(fields) + 1:
            raise CallbackError(f"not a {cls.__name__}: {data[:MAX_BYTES]!r}")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for field, raw in zip(fields, parts[1:], strict=True):
            values[field.name] = _parse(hints[field.name], raw, field.name)
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


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A class's field types, resolved once: every button press checks several classes."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _parse(kind: Any, raw: str, name: str) -> Any:
    """One field's value from its text, checked against its declared type."""
    if kind is bool:
        if raw not in ("0", "1"):
            raise CallbackError(f"{name}: expected 0 or 1")
        return raw == "1"
    if kind is int:
        if not _INT.match(raw):
            raise CallbackError(f"{name}: expected a number")
        return int(raw)
    if kind is str:
        if not _SAFE_STR.match(raw):
            raise CallbackError(f"{name}: unexpected characters")
        return raw
    if typing.get_origin(kind) is typing.Literal:
        if raw not in typing.get_args(kind):
            raise CallbackError(f"{name}: expected one of {typing.get_args(kind)}")
        return raw
    raise TypeError(f"unsupported callback field type {kind!r}")


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


@dataclasses.dataclass(frozen=True, slots=True)
class ListPage(CallbackData):
    """A page of the newest articles, of one category or (0) of all news."""

    prefix: ClassVar[str] = "l"
    category_id: int
    page: int


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
