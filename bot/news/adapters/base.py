"""What every adapter provides: recognise its pages, read lists, read articles."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar
from zoneinfo import ZoneInfo

from bot.news.fetch import Page
from bot.news.models import ArticleData, ArticleRef, Listing, NotAnArticle
from bot.news.sites import Sites

__all__ = ["Adapter"]


class Adapter(ABC):
    """Reads one kind of site. Subclasses in `bot/news/adapters/` register themselves by `name`."""

    name: ClassVar[str]
    # When a source does not say which adapter it needs, the first that recognises the page
    # wins, in ascending priority.
    priority: ClassVar[int] = 100

    def __init__(self, tz: ZoneInfo, sites: Sites | None = None) -> None:
        self.tz = tz  # the site's local time zone, for dates written without one
        self.sites = sites  # the configured sites; None: only the page's own site

    def sites_for(self, page: Page) -> Sites:
        """The sites links may lead to when reading `page`."""
        return self.sites if self.sites is not None else Sites([page.url])

    @classmethod
    @abstractmethod
    def recognises(cls, page: Page) -> bool:
        """True if this adapter can read `page`."""

    @abstractmethod
    def listing(self, page: Page) -> Listing:
        """The articles a list page links to (or holds, for feeds); raises NotAnArticle."""

    def article(self, page: Page, ref: ArticleRef) -> ArticleData:
        """Read an article page found through `ref`; raises NotAnArticle.

        Adapters whose lists hold whole articles (feeds) never link to article pages, so by
        default there is nothing to read here.
        """
        raise NotAnArticle(f"{self.name} sources hold whole articles in their lists")
