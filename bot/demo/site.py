"""The demo's sample commune website: articles.toml as DotNetNuke-like pages, on loopback.

The pages are shaped like the real portal's (see shared PORTAL.md: `_lbl_ct_<field>` ids,
`/chi-tiet-tin/group/<g>/nid/<n>/<slug>` addresses, "Chuyên mục" links), so the bot reads them
with its real news reader. They are served by the stand-in website (`FakePortal`), which answers
conditional requests like a real server.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.standins.website import FakePortal

__all__ = ["SITE_DIR", "SampleArticle", "SampleSite"]

SITE_DIR = Path(__file__).resolve().parent / "site"
IMAGES = "/Portals/0/demo/"


@dataclass(frozen=True)
class Category:
    """A category of the site: its group id, name and address slug."""

    group: int
    name: str
    slug: str

    @property
    def path(self) -> str:
        return f"/danh-sach-tin/group/{self.group}/{self.slug}"


@dataclass(frozen=True)
class SampleArticle:
    """One article of articles.toml, dated when it is published on the sample site."""

    nid: int
    group: int
    slug: str
    title: str
    summary: str
    author: str
    image: str
    body: tuple[str, ...]
    caption: str = ""
    published: datetime | None = None

    @property
    def path(self) -> str:
        return f"/chi-tiet-tin/group/{self.group}/nid/{self.nid}/{self.slug}"


def _article(item: dict[str, Any], published: datetime | None) -> SampleArticle:
    return SampleArticle(
        nid=int(item["nid"]),
        group=int(item["group"]),
        slug=str(item["slug"]),
        title=str(item["title"]),
        summary=str(item["summary"]),
        author=str(item["author"]),
        image=str(item["image"]),
        body=tuple(str(p) for p in item["body"]),
        caption=str(item.get("caption", "")),
        published=published,
    )


def _when(moment: datetime | None) -> str:
    """The portal's date form, "HH:MM | dd/mm/yyyy", in local time."""
    return moment.strftime("%H:%M | %d/%m/%Y") if moment else ""


class SampleSite:
    """The sample site: published articles, the spare ones `publish()` adds, the pages."""

    def __init__(self, tz: ZoneInfo, now: datetime | None = None) -> None:
        data = tomllib.loads((SITE_DIR / "articles.toml").read_text("utf-8"))
        self.tz = tz
        self.name = str(data["site"]["name"])
        start = (now or datetime.now(tz)).astimezone(tz).replace(second=0, microsecond=0)
        self.categories = {
            int(c["group"]): Category(int(c["group"]), str(c["name"]), str(c["slug"]))
            for c in data["category"]
        }
        self.articles = [
            _article(item, start - timedelta(hours=int(item["hours_ago"])))
            for item in data["article"]
        ]
        self.spares = [_article(item, None) for item in data.get("spare", [])]
        self.portal = FakePortal(SITE_DIR)
        self.publish_url: str | None = None

    async def start(self) -> None:
        """Listen on a loopback port and serve every page."""
        await self.portal.start()
        self._render()

    async def stop(self) -> None:
        await self.portal.stop()

    @property
    def url(self) -> str:
        return self.portal.url

    def offer_publishing(self, url: str) -> None:
        """Show a "publish a new article" button on the home page, posting to `url`."""
        self.publish_url = url
        self._render()

    def publish(self, now: datetime | None = None) -> SampleArticle | None:
        """Put the next spare article on the site, dated now; None when none is left."""
        if not self.spares:
            return None
        spare = self.spares.pop(0)
        moment = (now or datetime.now(self.tz)).astimezone(self.tz).replace(second=0, microsecond=0)
        article = SampleArticle(**{**spare.__dict__, "published": moment})
        self.articles.insert(0, article)
        self._render()
        return article

    # -- pages ------------------------------------------------------------------------------

    def _render(self) -> None:
        newest = sorted(self.articles, key=lambda a: a.published or datetime.min, reverse=True)
        self.portal.replace("/", body=self._list_page("Tin mới nhất", newest, home=True))
        for category in self.categories.values():
            items = [a for a in newest if a.group == category.group]
            self.portal.replace(category.path, body=self._list_page(category.name, items))
        for article in newest:
            self.portal.replace(article.path, body=self._article_page(article, newest))

    def _page(self, title: str, main: str) -> str:
        menu = "".join(
            f'<li><a href="{c.path}">{escape(c.name)}</a></li>' for c in self.categories.values()
        )
        return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - {escape(self.name)}</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; margin: 0; color: #222; background: #f4f4f0; }}
header {{ background: #b71c1c; color: #fff; padding: 12px 16px; font-size: 22px; }}
header a {{ color: #fff; text-decoration: none; }}
.wrap {{ max-width: 960px; margin: auto; padding: 12px; display: flex; gap: 20px;
  flex-wrap: wrap; }}
main {{ flex: 3 1 400px; background: #fff; padding: 12px 16px; }}
aside {{ flex: 1 1 200px; background: #fff; padding: 12px 16px; }}
.qti_tt_item {{ display: flex; gap: 12px; border-bottom: 1px solid #eee; padding: 10px 0; }}
.qti_tt_item img {{ width: 160px; height: 90px; object-fit: cover; }}
.qti_tt_tieude {{ font-weight: bold; color: #0d47a1; }}
.qti_tt_ngay {{ color: #777; font-size: 15px; }}
figure {{ margin: 12px 0; }} figure img {{ max-width: 100%; }}
form.demo {{ background: #fff8e1; border: 1px solid #f0c36d; padding: 8px 12px; }}
form.demo button {{ font: inherit; padding: 6px 12px; }}
@media (max-width: 600px) {{
  .qti_tt_item {{ flex-direction: column; }}
  .qti_tt_item img {{ width: 100%; height: auto; }}
}}
</style></head>
<body><header><a href="/">{escape(self.name)}</a></header>
<div class="wrap"><main>{main}</main>
<aside><h3>Chuyên mục</h3><ul>{menu}</ul></aside></div></body></html>
"""

    def _list_page(self, title: str, items: list[SampleArticle], home: bool = False) -> str:
        rows = "".join(
            f'<div class="qti_tt_item"><a href="{a.path}"><img src="{IMAGES}{a.image}" alt=""></a>'
            f'<div><a class="qti_tt_tieude" href="{a.path}">{escape(a.title)}</a> '
            f'<span class="qti_tt_ngay">({_when(a.published)})</span>'
            f'<div class="qti_tt_gioithieu">{escape(a.summary)}</div></div></div>'
            for a in items
        )
        banner = ""
        if home and self.publish_url:
            left = len(self.spares)
            banner = (
                f'<form class="demo" method="post" action="{escape(self.publish_url)}">'
                "<b>Bản thử:</b> trang web này là trang mẫu. "
                f'<button type="submit" {"" if left else "disabled"}>📰 Đăng một bài mới</button>'
                f" (còn {left} bài) — người đăng ký nhận tin sẽ được báo ngay trong bot.</form>"
            )
        return self._page(title, f"{banner}<h2>{escape(title)}</h2>{rows or '<p>Chưa có tin.</p>'}")

    def _article_page(self, article: SampleArticle, newest: list[SampleArticle]) -> str:
        category = self.categories[article.group]
        prefix = "dnn_ctr412_Main"
        paragraphs = [f"<p>{escape(text)}</p>" for text in article.body]
        figure = (
            f'<figure><img src="{IMAGES}{article.image}" alt="{escape(article.caption)}">'
            f"<figcaption>{escape(article.caption)}</figcaption></figure>"
        )
        paragraphs.insert(1 if len(paragraphs) > 1 else 0, figure)
        index = newest.index(article)
        older = "".join(
            f'<li><a href="{a.path}">{escape(a.title)}</a> ({_when(a.published)[8:]})</li>'
            for a in newest[index + 1 : index + 4]
        )
        main = f"""<div>Chi tiết tin · <a href="{category.path}">{escape(category.name)}</a></div>
<h1 id="{prefix}_lbl_ct_tieude">{escape(article.title)}</h1>
<div id="{prefix}_lbl_ct_ngaydang">{_when(article.published)}</div>
<p><b id="{prefix}_lbl_ct_gioithieu">{escape(article.summary)}</b></p>
<div id="{prefix}_lbl_ct_noidung">{"".join(paragraphs)}
<div class="qti_ct_tacgia">Tác giả:
<span id="{prefix}_lbl_ct_tacgia">{escape(article.author)}</span></div>
</div>
<div id="fb-root"></div>
<h4>Các tin cũ hơn:</h4><ul>{older}</ul>"""
        return self._page(article.title, main)
