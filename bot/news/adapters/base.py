"""What every adapter provides: recognise its pages, read lists, read articles."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar
from zoneinfo import ZoneInfo

from bot.news.fetch import Page
from bot.news.models import ArticleData, ArticleRef, Listing, NotAnArticle

__all__ = ["Adapter"]


class Adapter(ABC):
    """Reads one kind of site. Subclasses in `bot/news/adapters/` register themselves by `name`."""

    name: ClassVar[str]
    # When a source does not say which adapter it needs, the first that recognises the page
    # wins, in ascending priority.
    priority: ClassVar[int] = 100

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz  # the site's local time zone, for dates written without one

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
