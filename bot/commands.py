"""The one table of the bot's commands: each command's name, who may use it, and in which menu
it is shown. The handlers (`handlers.register`), the command menus (`bot.menus`) and the
interaction log's known commands (`handlers.tracking`) are all derived from it; a command is
added here, with its handler in `handlers.ROUTES` (the bot refuses to start if the two differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COMMANDS",
    "KNOWN_COMMANDS",
    "MENU_COMMANDS",
    "OWNER_COMMANDS",
    "STAFF_COMMANDS",
    "Command",
]

Who = Literal["everyone", "staff", "owners"]
Menu = Literal["residents", "staff", "owners"]


@dataclass(frozen=True, slots=True)
class Command:
    """A command: its name, who may use it (checked by its handler), and the menu it is in
    (None: not in any menu — in the help text, or used within a dialog)."""

    name: str
    who: Who
    menu: Menu | None


# In menu order within each menu.
COMMANDS: tuple[Command, ...] = (
    Command("start", "everyone", "residents"),
    Command("latest", "everyone", "residents"),
    Command("categories", "everyone", "residents"),
    Command("search", "everyone", "residents"),
    Command("subscribe", "everyone", "residents"),
    Command("links", "everyone", "residents"),
    Command("poll", "everyone", "residents"),
    # Góp ý – phản ánh: a resident's report to the commune, and their reports.
    Command("gopy", "everyone", "residents"),
    Command("phananh", "everyone", "residents"),
    Command("stats", "everyone", "residents"),
    Command("language", "everyone", "residents"),
    Command("help", "everyone", "residents"),
    # /forget and /myid are in the help text, not the menu: they are rarely needed.
    Command("forget", "everyone", None),
    Command("myid", "everyone", None),
    Command("settings", "everyone", None),
    Command("unsubscribe", "everyone", None),
    # /cancel ends a dialog (a poll or an announcement being written).
    Command("cancel", "everyone", None),
    Command("newpoll", "staff", "staff"),
    Command("closepoll", "staff", "staff"),
    Command("pollchart", "staff", "staff"),
    Command("pollcsv", "staff", "staff"),
    Command("sendpoll", "staff", "staff"),
    Command("staffstats", "staff", "staff"),
    Command("senddigest", "staff", "staff"),
    Command("broadcast", "staff", "staff"),
    Command("broadcasts", "staff", "staff"),
    Command("staff", "staff", "staff"),
    # Residents' reports (góp ý – phản ánh), as staff handle them.
    Command("cases", "staff", "staff"),
    Command("casescsv", "staff", "staff"),
    Command("casetopics", "staff", "staff"),
    Command("addstaff", "owners", "owners"),
    Command("removestaff", "owners", "owners"),
    Command("audit", "owners", "owners"),
)


def _menu(menu: Menu) -> tuple[str, ...]:
    return tuple(command.name for command in COMMANDS if command.menu == menu)


# The residents' menu; descriptions come from the catalogue (`commands.*`).
MENU_COMMANDS = _menu("residents")
# What staff (and owners) see after the residents' commands, in their private chat only.
STAFF_COMMANDS = _menu("staff")
# What only the owners (ADMIN_IDS) see besides.
OWNER_COMMANDS = _menu("owners")
# Only the bot's own commands are logged by name: anything else after a slash could be a
# resident's private words, and the log keeps no message text but a search's.
KNOWN_COMMANDS = frozenset(command.name for command in COMMANDS)
