"""Site adapters. Each module here defines one Adapter subclass; adding a module adds an adapter."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from bot.news.adapters.base import Adapter

__all__ = ["Adapter", "adapters"]


@cache
def adapters() -> dict[str, type[Adapter]]:
    """Every adapter in this package, by name, in the order auto-detection tries them."""
    found: list[type[Adapter]] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        found.extend(
            value
            for value in vars(loaded).values()
            if isinstance(value, type)
            and issubclass(value, Adapter)
            and value is not Adapter
            and value.__module__ == loaded.__name__
        )
    found.sort(key=lambda adapter: adapter.priority)
    return {adapter.name: adapter for adapter in found}
