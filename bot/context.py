"""The bot's shared resources and the typed context handlers receive."""

from __future__ import annotations

from typing import Any

import httpx
from telegram import User
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.config import Settings
from bot.i18n import Catalog, pick_language
from bot.news import NewsReader, news_client, reader_for
from storage import Database, UserStore
from storage.articles import ArticleReader, ArticleStore
from storage.ingest import IngestLog, State

__all__ = ["BotApplication", "BotContext", "BotData", "Services"]


class Services:
    """Everything handlers share: settings, texts, and the resources opened at start-up."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._db: Database | None = None
        self._users: UserStore | None = None
        self._http: httpx.AsyncClient | None = None
        self.news: NewsReader | None = None  # None when no NEWS_SITE_URL is set

    async def open(self) -> None:
        """Open the database (applying migrations) and the news reader; called from post_init."""
        self._db = await Database.open(self.settings.DATABASE_PATH)
        self._users = UserStore(self._db)
        if self.settings.NEWS_SITE_URL:
            self._http = news_client(self.settings)
            self.news = reader_for(self.settings, self._db, self._http)

    async def close(self) -> None:
        """Close what open() opened; safe to call when open() failed or never ran."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
            self.news = None
        if self._db is not None:
            await self._db.close()
            self._db = None
            self._users = None

    @property
    def db(self) -> Database:
        """The open database."""
        if self._db is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._db

    @property
    def articles(self) -> ArticleStore:
        """The stored articles."""
        return ArticleStore(self.db)

    @property
    def reading(self) -> ArticleReader:
        """The queries residents' reading needs."""
        return ArticleReader(self.db)

    @property
    def state(self) -> State:
        """Small named values kept between runs."""
        return State(self.db)

    @property
    def news_log(self) -> IngestLog:
        """The record of the news reader's runs."""
        return IngestLog(self.db)

    @property
    def users(self) -> UserStore:
        """The users table."""
        if self._users is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._users

    async def language_of(self, user: User | None) -> str:
        """The language to answer `user` in."""
        default = self.settings.DEFAULT_LANGUAGE
        if user is None:
            return default
        chosen = await self.users.language(user.id)
        return pick_language(chosen, user.language_code, default)

    async def text_for(self, user: User | None, key: str, /, **values: object) -> str:
        """The catalogue text `key` in `user`'s language."""
        return self.catalog.text(key, await self.language_of(user), **values)


class BotData:
    """`context.bot_data`: holds the Services (PTB creates it without arguments)."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def attach(self, services: Services) -> None:
        """Give the bot its services; done once by the wiring."""
        self._services = services

    @property
    def services(self) -> Services:
        """The bot's services."""
        if self._services is None:
            raise RuntimeError("no services attached to the application")
        return self._services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every handler receives, with typed access to the services."""

    @property
    def services(self) -> Services:
        """The bot's services."""
        return self.bot_data.services


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[BotContext]
]
