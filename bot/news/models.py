"""What adapters read from a site: links to articles, and articles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.articles import ArticleData

__all__ = ["ArticleData", "ArticleRef", "Listing", "NotAnArticle"]


class NotAnArticle(ValueError):
    """The page is not something the adapter can read (not an article, not a list, garbage)."""


@dataclass(frozen=True)
class ArticleRef:
    """A link to an article found on a list page."""

    external_id: str  # "dnn:270892"
    url: str
    title: str = ""
    listed_at: datetime | None = None  # the date the list shows for it, if any
    category_key: str | None = None  # the site's category id in the link (DNN group)
    category_name: str | None = None  # that category's name, if the list page showed it
    found_under: str | None = None  # the heading the link was listed under: the category
    # of last resort, for an article whose group has no known name


@dataclass
class Listing:
    """What a list page (or feed) holds."""

    refs: list[ArticleRef] = field(default_factory=list)  # articles to fetch, newest first
    articles: list[ArticleData] = field(default_factory=list)  # complete ones (feeds)
    next_page: str | None = None
    categories: dict[str, str] = field(default_factory=dict)  # site key → name
    heading: str | None = None  # the list's own name (heading, breadcrumb, feed title)
