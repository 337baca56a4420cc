"""A staff announcement as Zalo residents get it: plain text, one consultation message.

The text is the conversation's plain text (`bot.zalo.render.plain`: an HTML parser drops the
formatting and spells each link's address after its words).
"""

from __future__ import annotations

from bot.zalo.messages import MAX_TEXT, ZaloMessage
from bot.zalo.render import plain

__all__ = ["announcement_message"]


def announcement_message(text_html: str | None) -> ZaloMessage | None:
    """The announcement's text (Telegram HTML) as a Zalo message: its formatting dropped, its
    links' addresses kept, cut between words with "…" past Zalo's 2,000 characters (the whole
    text is kept as news in "Thông báo"). None when there is no text (a photo without caption:
    Zalo cannot send a Telegram file)."""
    text = plain(text_html or "")
    if not text:
        return None
    if len(text) > MAX_TEXT:
        cut = text[: MAX_TEXT - 1]
        if not text[MAX_TEXT - 1].isspace() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]  # never half a word
        text = cut.rstrip() + "…"
    return ZaloMessage(text)
