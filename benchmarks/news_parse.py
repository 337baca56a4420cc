"""How fast article pages are read: our DNN adapter against a bare HTML parse of the same pages.

Run: python -m benchmarks.news_parse [--seconds 3]

Prints article pages per second on one core for (a) the full adapter (fields, Telegram-safe
body, search text) and (b) the baseline: lexbor parsing the page and extracting its text, the
least any HTML-based reader must do. The ratio shows what our own code costs on top.
"""

from __future__ import annotations

import argparse
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from bot.news.adapters.dnn import DnnPortal
from bot.news.fetch import Page
from bot.news.models import ArticleRef
from storage.ingest import Validators

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "portal"


def pages() -> list[tuple[Page, ArticleRef]]:
    expected = tomllib.loads((FIXTURES / "expected.toml").read_text("utf-8"))
    root = expected["fixture_root"]
    found = []
    for case in expected["article"]:
        content = (FIXTURES / case["file"]).read_bytes()
        page = Page(
            root + case["path"], "text/html", content, content.decode(), Validators(None, None)
        )
        found.append((page, ArticleRef(f"dnn:{case['nid']}", page.url)))
    return found


def rate(work: Callable[[], None], seconds: float, per_call: int) -> float:
    """Calls of `work` per second over about `seconds` (after one warm-up call)."""
    work()
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        work()
        calls += 1
    return calls * per_call / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    corpus = pages()
    portal = DnnPortal(ZoneInfo("Asia/Ho_Chi_Minh"))
    size = sum(len(page.content) for page, _ in corpus) / len(corpus)

    def ours() -> None:
        for page, ref in corpus:
            portal.article(page, ref)

    def baseline() -> None:
        for page, _ in corpus:
            LexborHTMLParser(page.text).body.text(deep=True)  # type: ignore[union-attr]

    full = rate(ours, args.seconds, len(corpus))
    bare = rate(baseline, args.seconds, len(corpus))
    print(f"corpus: {len(corpus)} article pages, {size / 1024:.1f} KiB on average")
    print(f"DNN adapter (all fields + Telegram HTML body): {full:,.0f} pages/s")
    print(f"baseline (lexbor parse + page text):            {bare:,.0f} pages/s")
    print(f"adapter cost / baseline cost: {bare / full:.2f}x")
    print(f"target 200 pages/s: {'met' if full >= 200 else 'NOT met'} ({full / 200:.1f}x)")


if __name__ == "__main__":
    main()
