"""Which addresses belong to the configured sites, and how articles are keyed per site.

The reader follows links only to the hosts of its configured sources: a "provincial news" box
linking another portal of the same platform, or a link to a loopback address, is not read.
Article keys carry the site (`dnn:<site>:<nid>`), so two portals that both have an article
270892 never overwrite each other. Migration 0013 re-keyed older `dnn:<nid>` rows the same way
(`site_of` and the SQL there must agree).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["Sites", "absolute_http", "site_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def site_of(url: str) -> str | None:
    """`host` or `host:port` (a port other than the scheme's default) of an absolute http(s)
    address, in lower case; None if `url` is not one (relative, another scheme, malformed)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[::1/x", a port out of range
        return None
    host = parts.hostname
    if parts.scheme.lower() not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        host = f"{host}:{port}"
    return host


@functools.lru_cache(maxsize=512)
def absolute_http(url: str | None) -> bool:
    """True for an absolute http(s) address with a valid host and port and nothing a browser
    (or Telegram) would refuse: no spaces, no control characters. (Kept for the addresses seen
    lately: every article view checks its link and its picture.)"""
    if not url or any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        return False
    return site_of(url) is not None


class Sites:
    """The configured sites: the hosts links may point to."""

    def __init__(self, roots: Iterable[str]) -> None:
        self._hosts = {site for site in map(site_of, roots) if site is not None}

    def of(self, url: str) -> str | None:
        """The site `url` belongs to, or None if it is not on a configured site."""
        site = site_of(url)
        return site if site in self._hosts else None

    def allows(self, url: str) -> bool:
        """True if `url` may be fetched."""
        return self.of(url) is not None
