"""What /start, /help and /language show, and the main menu, as channel-neutral views: the
Telegram adapter shows the menu as big buttons under the typing field, another front end as
numbered choices (each entry names the command it stands for)."""

from __future__ import annotations

from bot.callbacks import SetLanguage
from bot.i18n import Catalog
from bot.views import Button, Menu, MenuItem, View

__all__ = [
    "MENU",
    "help_view",
    "language_changed_view",
    "language_view",
    "main_menu",
    "menu_command",
    "menu_labels",
    "search_help_view",
    "welcome_view",
]

# The main menu: each entry's label in the catalogue and the command it stands for, in order.
MENU: tuple[tuple[str, str], ...] = (
    ("menu.latest", "latest"),
    ("menu.categories", "categories"),
    ("menu.search", "search"),
    ("menu.links", "links"),
    ("menu.poll", "poll"),
    ("menu.subscribe", "subscribe"),
    ("menu.gopy", "gopy"),
    ("menu.help", "help"),
)
_MENU_WIDTH = 2  # entries to a row


def main_menu(catalog: Catalog, lang: str) -> Menu:
    """The main things, one tap each."""
    items = [MenuItem(catalog.text(key, lang), command) for key, command in MENU]
    rows = tuple(tuple(items[i : i + _MENU_WIDTH]) for i in range(0, len(items), _MENU_WIDTH))
    return Menu(rows, catalog.text("menu.placeholder", lang))


def menu_labels(catalog: Catalog) -> list[str]:
    """Every label of the main menu, in every language (to route taps on them)."""
    return [catalog.text(key, lang) for key, _ in MENU for lang in catalog.languages]


def menu_command(catalog: Catalog, label: str) -> str | None:
    """The command a menu label (in any language) stands for; None for other text."""
    return next(
        (
            command
            for key, command in MENU
            for lang in catalog.languages
            if catalog.text(key, lang) == label
        ),
        None,
    )


def welcome_view(catalog: Catalog, lang: str, *, name: str, commune: str, with_menu: bool) -> View:
    """/start: the greeting, with the main menu where the person talks to the bot alone."""
    text = catalog.text("start.welcome", lang, name=name, commune=commune)
    return View(text, menu=main_menu(catalog, lang) if with_menu else None)


def help_view(catalog: Catalog, lang: str, commune: str) -> View:
    """/help: what the bot does and its commands."""
    return View(catalog.text("help.text", lang, commune=commune))


def search_help_view(catalog: Catalog, lang: str) -> View:
    """The menu's "search": how to search."""
    return View(catalog.text("read.search_help", lang))


def language_view(catalog: Catalog, lang: str) -> View:
    """/language: one button per language, each labelled in its own language."""
    buttons = tuple(
        Button(catalog.text("language_name", code), SetLanguage(code))  # type: ignore[arg-type]
        for code in catalog.languages
    )
    return View(catalog.text("language.choose", lang), (buttons,))


def language_changed_view(catalog: Catalog, lang: str) -> View:
    """The language chosen, confirmed in it."""
    return View(catalog.text("language.changed", lang))
