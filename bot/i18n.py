"""User-visible texts: one TOML catalogue per language in `bot/locales/`, and language choice."""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["LANGUAGES", "Catalog", "CatalogError", "Plural", "SafeHtml", "pick_language"]

LANGUAGES = ("vi", "en")
# CLDR's plural categories; a catalogue entry that is a table of these is a text with plural
# forms, chosen by its `count` value. Vietnamese has one form; English "one" and "other".
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


def _plural_form(lang: str, count: object) -> str:
    """The CLDR plural category of `count` in `lang` (an int, or a number already written)."""
    if lang == "en" and (count == 1 or count == "1"):
        return "one"
    return "other"


class Plural(dict[str, str]):
    """A text's plural forms: {"one": "{count} time", "other": "{count} times"}."""


Entry = str | Plural | tuple[str, ...]


class CatalogError(Exception):
    """A catalogue is missing, or a key or placeholder differs between languages."""


class SafeHtml(str):
    """Text already in Telegram HTML: inserted into a template without escaping."""

    __slots__ = ()


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Entry]:
    flat: dict[str, Entry] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and set(value) <= PLURAL_FORMS:
            if "other" not in value or not all(isinstance(v, str) for v in value.values()):
                raise CatalogError(f"{name}: plural forms must be texts, with an 'other' form")
            flat[name] = Plural({form: text.strip("\n") for form, text in value.items()})
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise CatalogError(f"{name}: a list holds texts only")
            flat[name] = tuple(value)
        elif isinstance(value, str):
            flat[name] = value.strip("\n")
        else:
            raise CatalogError(f"{name}: texts must be strings, found {type(value).__name__}")
    return flat


def _placeholders(entry: Entry) -> set[str]:
    texts = (
        entry.values()
        if isinstance(entry, Plural)
        else [entry]
        if isinstance(entry, str)
        else entry
    )
    return {field for text in texts for _, field, _, _ in string.Formatter().parse(text) if field}


def _shape(entry: Entry) -> str:
    """What kind of entry it is, for the check that the catalogues agree."""
    if isinstance(entry, tuple):
        return f"a list of {len(entry)}"
    return "a text"  # plural forms or not: a language has the forms it needs


class Catalog:
    """All texts of all languages; `text()` fills in a template and escapes what it inserts."""

    def __init__(self, texts: Mapping[str, Mapping[str, Entry]], default: str = "vi") -> None:
        if default not in texts:
            raise CatalogError(f"no catalogue for the default language {default!r}")
        reference = texts[default]
        for lang, table in texts.items():
            if set(table) != set(reference):
                missing = sorted(set(reference) ^ set(table))
                raise CatalogError(f"{lang}: keys differ from {default}: {', '.join(missing)}")
            for key, value in table.items():
                if _shape(value) != _shape(reference[key]):
                    raise CatalogError(
                        f"{lang}: {key} is {_shape(value)}, in {default} {_shape(reference[key])}"
                    )
                forms = value.values() if isinstance(value, Plural) else [value]
                for form in forms:
                    if _placeholders(form) != _placeholders(reference[key]):
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

    def items(self, key: str, lang: str | None = None, /) -> tuple[str, ...]:
        """The list `key` in `lang` (the days of the week, a file's column names)."""
        entry = self._texts.get(lang or self.default, self._texts[self.default])[key]
        if not isinstance(entry, tuple):
            raise CatalogError(f"{key} is not a list")
        return entry

    def text(self, key: str, lang: str | None = None, /, **values: object) -> str:
        """The text `key` in `lang`, with `values` filled in (HTML-escaped unless SafeHtml)."""
        language = lang if lang in self._texts else self.default
        entry = self._texts[language][key]
        if isinstance(entry, tuple):
            raise CatalogError(f"{key} is a list: read it with items()")
        if isinstance(entry, Plural):
            template = entry.get(_plural_form(language, values.get("count")), entry["other"])
        else:
            template = entry
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
