"""News a Zalo subscriber missed outside the interaction window, brought by their next message.

The OA may write to a resident only for a while after the resident's last message (ZALO.md).
An alert or a digest due while that window is closed is not written (bot/push.py): the
subscription's bookmark (`digest_cursor`) stays where it was. The next message the resident
sends opens the window again, and its answer is preceded by "Bạn có N tin mới" with the list
of what they missed; the bookmark then moves past it. The list is numbered only when the answer
offers no numbers of its own (`held_view`): a number typed next means one item, of one list.

What was missed: for alerts, the articles after the bookmark that alerts have had already
(those not yet announced come as alerts, now that the window is open); for digests, the
articles after the bookmark stored by the last digest slot (a digest written moves the
bookmark past everything stored by its slot, so only a skipped one leaves any). A staff
announcement, kept as news, is not missed by whoever was sent it as a message.

The poll staff send (/sendpoll) waits the same way: the engine skipped the resident's row
("window"), and their next message brings it, once (`take_held_poll`), if it is still open and
they have not voted.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from bot.callbacks import OpenArticle
from bot.formats import day
from bot.i18n import Catalog
from bot.views import Button, View
from storage.broadcasts import BroadcastStore
from storage.db import Database
from storage.outbox import OutboxStore
from storage.polls import sent_key
from storage.subscriptions import DigestBookmark, DigestReader, NewArticle, SubscriptionStore
from storage.zalo import CHANNEL as ZALO
from storage.zalo import ZaloPeople

__all__ = ["HELD_POLL_REASONS", "HELD_SHOWN", "held_view", "take_held", "take_held_poll"]

HELD_SHOWN = 10  # articles listed; the rest are counted ("and N more")
TITLE_CHARS = 48  # of a title on a button
# Why the engine sent a Zalo resident nothing for Zalo's rules (bot.zalo.delivery): the poll,
# or an alert, waits for them. A job cancelled, or a resident no longer following, is not waiting.
HELD_POLL_REASONS = ("window", "night", "quota", "package")
_ALERT = "alert:"  # an alert job's dedupe key: "alert:<article id>" (bot.push)


async def take_held(db: Database, person: int) -> list[NewArticle]:
    """The articles the Zalo subscriber `person` missed, newest first; the bookmark moves past
    them (and past the other articles looked at) in one transaction.

    Missed are also the alerts written for them inside the window that the delivery engine then
    skipped for Zalo's rules (the window's messages used up by earlier alerts, or the window
    closed before their turn): their bookmark had moved past those articles when the alert was
    written, so the skipped rows themselves name them, each brought once (migration 0028)."""
    reader = DigestReader(db)
    subscriber = await reader.subscriber(person, ZALO)
    if subscriber is None:
        return []
    if subscriber.subscription.mode == "instant":
        candidates = await reader.articles_after(subscriber.cursor, announced=True)
    elif subscriber.slot is not None:
        candidates = await reader.articles_after(subscriber.cursor, stored_by=subscriber.slot)
    else:
        candidates = []
    skipped = await OutboxStore(db).skipped_rows(
        "alert", ZALO, person, HELD_POLL_REASONS, after=await ZaloPeople(db).alerts_brought(person)
    )
    alerted = {int(key.removeprefix(_ALERT)) for _, key in skipped if key.startswith(_ALERT)}
    alerted -= {article.article_id for article in candidates}
    if alerted:
        candidates += await reader.articles_after(0, only=sorted(alerted))
    if not candidates and not skipped:
        return []
    async with db.transaction() as conn:
        if candidates:
            top = max(max(a.article_id for a in candidates), subscriber.cursor)
            marks = [DigestBookmark(person, top, None, ZALO)]
            await SubscriptionStore.save_bookmarks(conn, marks)
        if skipped:
            await ZaloPeople.bring_alerts_in(conn, person, skipped[-1][0])
    wanted = [a for a in candidates if subscriber.wants(a.categories)]
    # A staff announcement is kept as news too; whoever got it as a message has seen it.
    seen = await BroadcastStore(db).received(ZALO, person, [a.article_id for a in wanted])
    wanted = [a for a in wanted if a.article_id not in seen]
    return sorted(wanted, key=lambda a: (a.published_at, a.article_id), reverse=True)


def held_view(
    articles: list[NewArticle], catalog: Catalog, lang: str, tz: ZoneInfo, *, numbered: bool = True
) -> View:
    """ "Bạn có N tin mới": the missed articles, each a button opening it.

    `numbered`: the titles are numbered and the numbers open them (the resident's numbers,
    when nothing else in the answer offers numbers). Otherwise the answer they asked for holds
    the numbers, so the titles are listed without numbers (a "1." shown here would open the
    answer's first item, not this one), as buttons only (the caller renders this view
    unnumbered), with a line saying to tap one or type "tin mới"."""
    shown = articles[:HELD_SHOWN]
    lines = [catalog.text("zalo.held", lang, count=len(articles)), ""]
    rows = []
    for number, article in enumerate(shown, start=1):
        mark = f"{number}." if numbered else "•"
        when = day(article.published_at, tz)
        lines.append(f"{mark} {html.escape(article.title)} — <i>{when}</i>")
        title = article.title if len(article.title) <= TITLE_CHARS else article.title[:47] + "…"
        label = f"{number}. {title}" if numbered else title
        rows.append((Button(label, OpenArticle(article.article_id, 0, 0)),))
    if len(articles) > len(shown):
        lines += ["", catalog.text("zalo.held_more", lang, count=len(articles) - len(shown))]
    if not numbered:
        lines += ["", catalog.text("zalo.held_hint", lang)]
    return View("\n".join(lines), tuple(rows))


async def take_held_poll(db: Database, person: int, poll_id: int) -> bool:
    """Whether the poll `poll_id` (open, not voted by them: the caller's to know) waits for the
    Zalo resident `person` — /sendpoll's row for them was skipped for Zalo's rules — and was
    not brought before; it counts as brought from now on (once)."""
    if not await OutboxStore(db).skipped_for(sent_key(poll_id), ZALO, person, HELD_POLL_REASONS):
        return False
    return await ZaloPeople(db).bring_poll(person, poll_id)
