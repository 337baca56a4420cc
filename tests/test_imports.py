"""The import contract between the layers, read from the source with `ast`.

- storage imports neither the services nor the handlers nor python-telegram-bot;
- the services (`bot/services/`) and the views (`bot/views/`, and reading's, `bot/reading.py`)
  import no Telegram library and no handler, directly or through another module of ours they import;
- handler modules are independent: none imports another (`handlers/__init__.py`, the wiring,
  imports them all);
- no module of ours imports a private module of python-telegram-bot at run time.

Imports made only for the type checker (under `if TYPE_CHECKING:`) are not run, so they are not
counted, except that the one private type we name there is checked to still exist.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    is_package = MODULES.get(module, Path()).name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def imports(module: str) -> frozenset[str]:
    """What `module` imports when it runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            found.add(base)
            # `from handlers import poll` imports the module handlers.poll.
            found.update(
                f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES
            )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return frozenset(found)


def _ours(name: str) -> list[str]:
    """The modules of ours that importing `name` runs: it and its packages."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES]


def reachable(module: str) -> set[str]:
    """Every module importing `module` runs, ours and others', transitively through ours."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for name in imports(current):
            if name in seen:
                continue
            seen.add(name)
            todo.extend(m for m in _ours(name) if m not in seen or m == name)
    return seen


def _top(name: str) -> str:
    return name.split(".")[0]


def _within(prefix: str) -> list[str]:
    return sorted(m for m in MODULES if m == prefix or m.startswith(prefix + "."))


def test_the_contract_sees_the_modules() -> None:
    # The walk is only worth something if it finds the imports it is meant to judge.
    assert "bot.services.announcements" in MODULES
    assert "handlers.broadcast" in MODULES
    assert "telegram" in {_top(name) for name in reachable("handlers.broadcast")}
    assert "storage.broadcasts" in imports("bot.services.announcements")
    # A TYPE_CHECKING import is not run: bot.request names PTB's private type only there.
    assert "telegram._utils.types" not in imports("bot.request")


@pytest.mark.parametrize("module", _within("storage"))
def test_storage_imports_no_services_handlers_or_telegram(module: str) -> None:
    bad = {
        name
        for name in reachable(module)
        if _top(name) in ("telegram", "handlers") or name.startswith("bot")
    }
    assert not bad, f"{module} imports {sorted(bad)}"


# bot.reading is the reading's views (the hot path's): channel-neutral like the rest; the Zalo
# front end (bot.zalo) reaches residents without Telegram.
@pytest.mark.parametrize(
    "module",
    _within("bot.services") + _within("bot.views") + _within("bot.reading") + _within("bot.zalo"),
)
def test_services_and_views_import_no_telegram_and_no_handler(module: str) -> None:
    bad = {name for name in reachable(module) if _top(name) in ("telegram", "handlers")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", [m for m in _within("handlers") if m != "handlers"])
def test_handler_modules_are_independent(module: str) -> None:
    others = {name for name in imports(module) if name.startswith("handlers")}
    assert not others, f"{module} imports {sorted(others)}"


def test_bot_imports_handlers_only_in_the_wiring() -> None:
    for module in _within("bot"):
        if module == "bot.app":
            continue
        assert not {n for n in imports(module) if _top(n) == "handlers"}, module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_module_of_python_telegram_bot_at_run_time(module: str) -> None:
    private = {name for name in imports(module) if name.startswith("telegram._")}
    assert not private, f"{module} imports {sorted(private)}"


def test_the_private_type_named_for_the_checker_is_still_there() -> None:
    # bot/request.py declares JsonRequest.do_request with PTB's own ODVInput, imported for the
    # type checker only. A PTB release that moves or renames it must fail here, loudly, and
    # not in CI's type check with no word of why.
    from telegram._utils.types import ODVInput
    from telegram.request import BaseRequest

    parameters = inspect.signature(BaseRequest.do_request).parameters
    for name in ("read_timeout", "write_timeout", "connect_timeout", "pool_timeout"):
        assert parameters[name].annotation == ODVInput[float], name
