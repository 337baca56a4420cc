"""Reading on Zalo: the latest news, a category's list, an article in pages, search.

The conversation (`bot.zalo.chat`) hands this module a resident's reading: a command word
("tin mới", "tìm …"), or a list's or article's choice typed as its number or tapped. What is
fetched and shown is the Telegram handlers' own (`bot.reading`: `list_view`, `article_view`,
`search_found`, `search_page_view`); what is Zalo's here is the log's channel, the resident's
key for /forget, the help for an empty search and no Telegram share link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.news.text import search_expression
from bot.reading import LIST_SIZE, article_view, list_view, search_found, search_page_view
from bot.views import View
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["ZaloReading"]

log = logging.getLogger(__name__)


class ZaloReading:
    """The reading part of the Zalo conversation: each method gives the view to answer with."""

    def __init__(self, services: Services, clock: Callable[[], datetime]) -> None:
        self._services = services
        self._clock = clock

    async def article(self, lang: str, article_id: int, page: int, category: int) -> View | None:
        """An article's page (None: it is gone)."""
        services = self._services
        return await article_view(
            services.reading, article_id, page, category, services.catalog, lang,
            services.settings.tz, "",  # no Telegram username: its share link is left out
        )  # fmt: skip

    async def list(self, lang: str, category_id: int, page: int) -> View:
        """A page of the latest news, of one category or all (0)."""
        services = self._services
        tz = services.settings.tz
        return await list_view(services.reading, category_id, page, services.catalog, lang, tz)

    async def search(self, person: int, update_id: int, lang: str, query: str) -> View:
        """ "tìm …": the first page of what matches, logged as the event `update_id`."""
        services = self._services
        catalog = services.catalog
        query = " ".join(query.split())[:200]
        expression = search_expression(query)
        if expression is None:
            return View(catalog.text("zalo.search_help", lang))
        found = await services.reading.search(expression, 0, LIST_SIZE)
        try:  # the log gets the words and result count; a failure there must not stop the reply
            await services.stats.searched(update_id, query, found[1], channel=ZALO)
        except Exception:
            log.exception("could not log the search")
        key = services.stats.key_of(person, ZALO)  # for /forget
        return await search_found(
            services.reading, query, expression, found, key, self._clock(), catalog, lang,
            services.settings.tz,
        )  # fmt: skip

    async def search_page(self, lang: str, search_id: int, page: int) -> View:
        """Another page of a kept search ("search again" once it is no longer kept)."""
        services = self._services
        catalog = services.catalog
        view = await search_page_view(
            services.reading, search_id, page, catalog, lang, services.settings.tz
        )
        return view or View(catalog.text("read.search_expired", lang))
