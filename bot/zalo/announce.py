"""A staff announcement as Zalo residents get it: plain text, one consultation message.

One small function, so that the conversation's renderer (`bot.zalo.render`) can take its place.
"""

from __future__ import annotations

import re

from bot.news.text import plain_text
from bot.zalo.messages import MAX_TEXT, ZaloMessage

__all__ = ["announcement_message"]

# A link of Telegram HTML (as staff wrote it, or as `text_html` quoted it): Zalo shows no links
# under words, so its address follows its text.
_LINK = re.compile(r"""<a\s+href=(["'])(.*?)\1\s*>(.*?)</a>""", re.IGNORECASE | re.DOTALL)


def _with_address(found: re.Match[str]) -> str:
    address, words = found.group(2), found.group(3)
    return address if plain_text(words).strip() == plain_text(address) else f"{words} ({address})"


def announcement_message(text_html: str | None) -> ZaloMessage | None:
    """The announcement's text (Telegram HTML) as a Zalo message: its formatting dropped, its
    links' addresses kept, cut between words with "…" past Zalo's 2,000 characters (the whole
    text is kept as news in "Thông báo"). None when there is no text (a photo without caption:
    Zalo cannot send a Telegram file)."""
    text = plain_text(_LINK.sub(_with_address, text_html or "")).strip()
    if not text:
        return None
    if len(text) > MAX_TEXT:
        cut = text[: MAX_TEXT - 1]
        if not text[MAX_TEXT - 1].isspace() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]  # never half a word
        text = cut.rstrip() + "…"
    return ZaloMessage(text)
