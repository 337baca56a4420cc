"""User-visible texts: one TOML catalogue per language in `bot/locales/`, and language choice."""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["LANGUAGES", "Catalog", "CatalogError", "SafeHtml", "pick_language"]

LANGUAGES = ("vi", "en")


class CatalogError(Exception):
    """A catalogue is missing, or a key or placeholder differs between languages."""


class SafeHtml(str):
    """Text already in Telegram HTML: inserted into a template without escaping."""

    __slots__ = ()


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, str):
            flat[name] = value.strip("\n")
        else:
            raise CatalogError(f"{name}: texts must be strings, found {type(value).__name__}")
    return flat


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


class Catalog:
    """All texts of all languages; `text()` fills in a template and escapes what it inserts."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], default: str = "vi") -> None:
        if default not in texts:
            raise CatalogError(f"no catalogue for the default language {default!r}")
        reference = texts[default]
        for lang, table in texts.items():
            if set(table) != set(reference):
                missing = sorted(set(reference) ^ set(table))
                raise CatalogError(f"{lang}: keys differ from {default}: {', '.join(missing)}")
            for key, value in table.items():
                if _placeholders(value) != _placeholders(reference[key]):
                    raise CatalogError(f"{lang}: placeholders of {key} differ from {default}")
        self._texts = {lang: dict(table) for lang, table in texts.items()}
        self.default = default

    @classmethod
    def load(cls, default: str = "vi") -> Catalog:
        """Load the catalogues shipped with the bot."""
        folder = resources.files("bot") / "locales"
        texts = {
            lang: _flatten(tomllib.loads((folder / f"{lang}.toml").read_text(encoding="utf-8")))
            for lang in LANGUAGES
        }
        return cls(texts, default)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the catalogue has."""
        return tuple(self._texts)

    def text(self, key: str, lang: str | None = None, /, **values: object) -> str:
        """The text `key` in `lang`, with `values` filled in (HTML-escaped unless SafeHtml)."""
        table = self._texts.get(lang or self.default, self._texts[self.default])
        template = table[key]
        if not values:
            return template
        escaped = {
            name: value if isinstance(value, SafeHtml) else html.escape(str(value), quote=False)
            for name, value in values.items()
        }
        return template.format(**escaped)


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's language: their /language choice, else Telegram's language if we have it."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default
