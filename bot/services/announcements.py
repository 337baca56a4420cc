"""Staff announcements, apart from any front end: the audience, the queue, the release of a
scheduled announcement when its time comes, keeping it as news, and its audit entries.

The Telegram dialog (`handlers/broadcast.py`) only parses what staff send and tap and shows
the panels; everything an announcement *does* is here, so another front end does the same.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from bot import formats
from bot.config import Settings
from bot.i18n import Catalog
from bot.news.text import fold, plain_text
from bot.zalo.announce import announcement_message
from bot.zalo.messages import outgoing as zalo_outgoing
from storage.articles import ArticleData, ArticleReader, ArticleStore
from storage.audit import AuditLog
from storage.broadcasts import DRAFT_STATES, Broadcast, BroadcastStore
from storage.channels import DEFAULT_CHANNEL as TELEGRAM
from storage.outbox import OutboxStore
from storage.subscriptions import DigestReader
from storage.zalo import CHANNEL as ZALO
from storage.zalo import ZaloPeople
from storage.zalo_broadcasts import ZaloBroadcastStore

__all__ = [
    "ANNOUNCEMENTS",
    "BROADCAST_PRIORITY",
    "MAX_AHEAD",
    "TITLE_LIMIT",
    "Announcements",
    "Audience",
    "OaArticles",
    "Published",
    "announcement_title",
    "label",
    "parse_time",
    "when",
]

log = logging.getLogger(__name__)

ANNOUNCEMENTS = "Thông báo"  # the category announcements are kept in, as on the portal
BROADCAST_PRIORITY = 1  # before alerts and digests: a storm warning cannot wait
MAX_AHEAD = timedelta(days=30)  # the furthest a broadcast can be scheduled
TITLE_LIMIT = 150  # characters of an announcement's title when it is kept as news
ZALO_TITLE_LIMIT = 149  # an OA article's title: under 150 characters (ZALO.md)

# What came of publishing an announcement on the commune's OA.
Published = Literal["published", "already", "no_quota", "failed", "unavailable"]


# -- pure parts ------------------------------------------------------------------------------


_TIME = re.compile(r"(?<!\d)(\d{1,2})\s*(?:[:hg]\s*(\d{2})?|giờ\s*(\d{2})?)", re.IGNORECASE)
_DATE = re.compile(r"(?<![\d:])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?(?![\d:])")
_TOMORROW = re.compile(r"\b(mai|ngày mai|tomorrow)\b", re.IGNORECASE)


def parse_time(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A time staff typed ("06:30", "6h30 mai", "18:00 28/11", "07:00 1/12/2026"), in `tz`.

    A time without a date is today's if still ahead, else tomorrow's. Returns None if there is
    no time in the text or it names an impossible date; the caller checks it is in the future.
    """
    local_now = now.astimezone(tz)
    cleaned = _DATE.sub(" ", text)
    found = _TIME.search(cleaned)
    if found is None:
        return None
    hour = int(found.group(1))
    minute = int(found.group(2) or found.group(3) or 0)
    if hour > 23 or minute > 59:
        return None
    dated = _DATE.search(text)
    try:
        if dated is not None:
            year = int(dated.group(3)) if dated.group(3) else local_now.year
            day = datetime(year, int(dated.group(2)), int(dated.group(1)), hour, minute, tzinfo=tz)
            if dated.group(3) is None and day < local_now - timedelta(days=1):
                day = day.replace(year=year + 1)  # "5/1" typed in December means next year
            return day
    except ValueError:
        return None
    moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if _TOMORROW.search(text) or moment <= local_now:
        moment += timedelta(days=1)
    return moment


def when(moment: float | datetime, tz: tzinfo) -> str:
    """A moment as staff read it: "06:30 28/11/2026", in the commune's time zone."""
    if isinstance(moment, float):
        moment = datetime.fromtimestamp(moment, UTC)
    return formats.stamp(moment, tz)


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def announcement_title(text: str, limit: int = TITLE_LIMIT) -> str:
    """A title for an announcement kept as news: its first line, or that line's first
    sentence when the line is longer than `limit`, cut between words if it is still longer."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= limit:
        return first
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0].strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    if not sentence[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # never half a word
    return cut.rstrip(" ,;:-–") + "…"


def label(broadcast: Broadcast) -> str:
    """The first line of an announcement, as staff see it in lists."""
    plain = plain_text(broadcast.text_html or "").strip()
    return plain.splitlines()[0][:60] if plain else (broadcast.kind or "")


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets an announcement if it goes now."""

    telegram: tuple[int, ...]  # chats: the subscribers, and the channel if chosen
    zalo_now: tuple[int, ...] = ()  # Zalo residents inside their window: a message now
    zalo_waiting: tuple[int, ...] = ()  # Zalo residents outside it: it waits for them as news

    @property
    def zalo(self) -> tuple[int, ...]:
        """Every Zalo resident it is for."""
        return self.zalo_now + self.zalo_waiting

    @property
    def now(self) -> int:
        """How many get it as a message now."""
        return len(self.telegram) + len(self.zalo_now)

    @property
    def total(self) -> int:
        """The job's rows: those who get it now and the Zalo residents it waits for."""
        return len(self.telegram) + len(self.zalo)

    @property
    def by_channel(self) -> dict[str, int]:
        """The recipients on each messenger (the audit log names them)."""
        return {TELEGRAM: len(self.telegram), ZALO: len(self.zalo)}

    def rows(self) -> list[tuple[str, int, int]]:
        """The outbox's recipients: Telegram's with the first message, Zalo's with the second."""
        return [(TELEGRAM, chat_id, 0) for chat_id in self.telegram] + [
            (ZALO, person_id, 1) for person_id in self.zalo
        ]


class OaArticles(Protocol):
    """What publishing an announcement on the commune's OA needs of the OA API client."""

    async def create_article(self, title: str, text: str) -> str:
        """Create (and verify) an OA article; Zalo's id of it."""
        ...

    async def broadcast_article(self, article_id: str) -> str:
        """Send the article to the OA's followers as a broadcast; Zalo's id of the message."""
        ...


# -- the service -----------------------------------------------------------------------------


class Announcements:
    """What an announcement does once staff have written it, whatever the front end."""

    def __init__(
        self,
        *,
        broadcasts: BroadcastStore,
        outbox: OutboxStore,
        digests: DigestReader,
        articles: ArticleStore,
        reading: ArticleReader,
        audit: AuditLog,
        settings: Settings,
        catalog: Catalog,
        channel: Callable[[], int | None],
        wake: Callable[[], None],
        bot_username: Callable[[], str],
        who: Callable[[int | None], str],
        zalo: ZaloPeople | None = None,
        zalo_broadcasts: ZaloBroadcastStore | None = None,
        oa_articles: Callable[[], OaArticles | None] | None = None,
    ) -> None:
        self.broadcasts = broadcasts
        self._outbox = outbox
        self._digests = digests
        self._articles = articles
        self._reading = reading
        self._audit = audit
        self._settings = settings
        self._catalog = catalog
        self._channel = channel
        self._wake = wake
        self._bot_username = bot_username
        self._who = who
        # Zalo's residents, when the Zalo front end runs (None: announcements are Telegram's).
        self._zalo = zalo
        # The OA article broadcasts (ZALO_BROADCASTS_PER_MONTH > 0 and the OA API at hand).
        self._zalo_broadcasts = zalo_broadcasts
        self._oa = oa_articles or (lambda: None)

    async def recipients(self, broadcast: Broadcast) -> list[int]:
        """Who gets it on Telegram if it goes now: the subscribers of its categories, and the
        channel."""
        chats = await self._digests.audience(broadcast.categories)
        channel = self._channel()
        if broadcast.channel and channel is not None and channel not in chats:
            chats.append(channel)
        return chats

    async def audience(self, broadcast: Broadcast) -> Audience:
        """Who gets it if it goes now, on every channel: on Zalo, the subscribers inside their
        interaction window get it as a message; the others are written down too, and the
        engine skips them ("window"): the announcement waits for them as news."""
        telegram = await self.recipients(broadcast)
        zalo = self._zalo
        if zalo is None or announcement_message(broadcast.text_html) is None:
            return Audience(tuple(telegram))
        settings = self._settings
        subscribers = await self._digests.audience(broadcast.categories, channel=ZALO)
        inside, outside = await zalo.windows(
            subscribers,
            timedelta(hours=settings.ZALO_WINDOW_HOURS),
            settings.ZALO_WINDOW_MESSAGES,
        )
        return Audience(tuple(telegram), tuple(inside), tuple(outside))

    async def queue(self, draft: Broadcast, staff_id: int) -> Broadcast | None:
        """Write the announcement to the outbox for its audience as it is now, and send it.
        None when there is nothing to send or it was already queued (a double tap)."""
        if draft.body is None:
            return None
        store = self.broadcasts
        audience = await self.audience(draft)
        messages = [draft.body]
        zalo_message = announcement_message(draft.text_html)
        if audience.zalo and zalo_message is not None:
            messages.append(zalo_outgoing(zalo_message))
        key = f"broadcast:{draft.broadcast_id}"
        delivery_id = await self._outbox.create(
            "broadcast",
            messages,
            audience.rows(),
            label=label(draft),
            dedupe_key=key,
            priority=BROADCAST_PRIORITY,
            created_by=staff_id,
            also=store.sending(draft.broadcast_id, audience.total, key),
        )
        if delivery_id is None:
            return None  # a double tap: the first one queued it
        await self.record(draft, delivery_id, audience.total, None, by_channel=audience.by_channel)
        log.info(
            "broadcast %s queued by staff %s for %d recipients (on Zalo %d now, %d waiting)",
            draft.broadcast_id, self._who(staff_id), audience.total, len(audience.zalo_now),
            len(audience.zalo_waiting),
        )  # fmt: skip
        self._wake()
        await self.keep_as_news(draft.broadcast_id)
        return await store.get(draft.broadcast_id)

    async def schedule(self, draft: Broadcast, moment: datetime) -> Broadcast | None:
        """Queue the announcement for `moment`. Only the time is fixed now: who gets it is
        decided when it goes out, so a resident who stops their subscription overnight does
        not get a 06:30 announcement. None if the draft was no longer waiting for a time."""
        store = self.broadcasts
        audience = await self.audience(draft)
        expected = audience.total
        if not await store.update(
            draft.broadcast_id,
            expect=DRAFT_STATES,
            state="queued",
            start_at=moment.timestamp(),
            recipients=expected,
        ):
            return None
        await self.record(draft, None, expected, moment.timestamp(), by_channel=audience.by_channel)
        log.info(
            "broadcast %s scheduled by staff %s", draft.broadcast_id, self._who(draft.created_by)
        )
        return await store.get(draft.broadcast_id)

    async def release_due(self, now: datetime | None = None) -> list[Broadcast]:
        """Queue every scheduled announcement whose time has come, for who is subscribed now.
        Returns the ones released (their progress is drawn at once)."""
        moment = (now or datetime.now(UTC)).timestamp()
        released = []
        for broadcast in await self.broadcasts.following():
            if broadcast.state != "queued" or broadcast.delivery_id is not None:
                continue
            if (broadcast.start_at or 0) > moment:
                continue
            try:
                sent = await self.queue(broadcast, broadcast.created_by)
            except Exception:
                log.exception("could not send scheduled broadcast %s", broadcast.broadcast_id)
                continue
            if sent is not None:
                released.append(sent)
        return released

    async def cancel_queued(self, broadcast: Broadcast) -> bool:
        """Stop an announcement still waiting for its time; False if it no longer was."""
        if not await self.broadcasts.update(
            broadcast.broadcast_id, expect=("queued",), state="cancelled"
        ):
            return False
        await self.record(broadcast, None, 0, None, "cancelled")
        return True

    async def finished(
        self, broadcast: Broadcast, done: bool, sent: int, blocked: int, failed: int,
        not_sent: int, total: int,
    ) -> bool:  # fmt: skip
        """Record that a send ended (done, or stopped); False if that was recorded already."""
        state = "done" if done else "cancelled"
        if not await self.broadcasts.update(
            broadcast.broadcast_id, expect=("queued", "sending"), state=state
        ):
            return False
        counts = {"sent": sent, "blocked": blocked, "failed": failed, "not_sent": not_sent}
        outcome = "done" if done else "stopped"
        by_channel = (
            await self._outbox.rows_by_channel(broadcast.delivery_id)
            if broadcast.delivery_id is not None
            else None
        )
        await self.record(
            broadcast, broadcast.delivery_id, total, None, outcome, counts, by_channel=by_channel
        )
        return True

    async def record(
        self,
        broadcast: Broadcast,
        delivery_id: int | None,
        recipients: int,
        start_at: float | None,
        outcome: str | None = None,
        counts: dict[str, int] | None = None,
        *,
        by_channel: dict[str, int] | None = None,
    ) -> None:
        """Who sent what to whom, and (once known) with what outcome, for the owners' /audit.

        Stored as data (the categories' names, whether the channel too, the recipients on each
        messenger, an outcome code and its figures); /audit puts it in words in the reader's
        language (`bot.views.announcements`).
        """
        categories = await self._reading.categories()
        names = [c.name for c in categories if c.category_id in broadcast.categories]
        if outcome is None:
            outcome = "scheduled" if start_at else "sending"
        detail: dict[str, object] = {
            "delivery_id": delivery_id if delivery_id is not None else "—",
            "categories": names,
            "channel": bool(broadcast.channel and self._channel() is not None),
            "recipients": recipients,
            "outcome_code": outcome,
            "text": plain_text(broadcast.text_html or "")[:200],
        }
        if start_at:
            detail["start_at"] = start_at
        if by_channel is not None:
            detail["by_channel"] = by_channel
        if counts:
            detail.update(counts)
        await self._audit.record(str(broadcast.created_by), "broadcast", detail)

    # -- the OA article broadcast (Zalo) ----------------------------------------------------

    def _month(self, now: datetime | None) -> str:
        return (now or datetime.now(UTC)).astimezone(self._settings.tz).strftime("%Y-%m")

    async def zalo_broadcasts_left(self, now: datetime | None = None) -> int | None:
        """OA article broadcasts left this month (local month); None when there are none to
        offer (ZALO_BROADCASTS_PER_MONTH is 0, or the Zalo front end does not run)."""
        quota = self._settings.ZALO_BROADCASTS_PER_MONTH
        if quota <= 0 or self._zalo_broadcasts is None or self._oa() is None:
            return None
        return max(0, quota - await self._zalo_broadcasts.used(self._month(now)))

    async def publish_on_zalo(
        self, broadcast: Broadcast, staff_id: int, now: datetime | None = None
    ) -> tuple[Published, str | None]:
        """Publish the announcement as an OA article and broadcast it to the OA's followers,
        counted against this month's quota (once per announcement, however often it is asked):
        what came of it, and Zalo's words if it refused. A refusal gives the month's count back;
        a crash midway keeps it counted (the quota is never overrun)."""
        store, oa = self._zalo_broadcasts, self._oa()
        message = announcement_message(broadcast.text_html)
        if store is None or oa is None or message is None:
            return "unavailable", None
        quota = self._settings.ZALO_BROADCASTS_PER_MONTH
        if not await store.reserve(broadcast.broadcast_id, self._month(now), quota, staff_id, now):
            done = await store.get(broadcast.broadcast_id)
            return ("already" if done is not None and done.state != "failed" else "no_quota"), None
        title = announcement_title(message.text, ZALO_TITLE_LIMIT) or label(broadcast)
        article_id: str | None = None
        try:
            article_id = await oa.create_article(title, message.text)
            await oa.broadcast_article(article_id)
        except Exception as exc:  # Zalo's refusal, or the network: nothing counted
            detail = str(exc)[:300]
            log.warning("Zalo did not publish broadcast %s: %s", broadcast.broadcast_id, detail)
            await store.failed(broadcast.broadcast_id, detail, article_id)
            await self._audit.record(
                str(staff_id), "zalo_broadcast_failed",
                {"broadcast_id": broadcast.broadcast_id, "detail": detail},
            )  # fmt: skip
            return "failed", detail
        await store.published(broadcast.broadcast_id, article_id)
        await self._audit.record(
            str(staff_id), "zalo_broadcast", {"broadcast_id": broadcast.broadcast_id}
        )
        log.info("broadcast %s published as an OA article", broadcast.broadcast_id)
        return "published", None

    async def keep_as_news(self, broadcast_id: int) -> None:
        """Store the announcement as an article in "Thông báo" (once)."""
        store = self.broadcasts
        broadcast = await store.get(broadcast_id)
        if broadcast is None or broadcast.article_id is not None:
            return
        settings = self._settings
        body_html = (broadcast.text_html or "").strip()
        body_text = plain_text(body_html).strip()
        now = datetime.now(UTC)
        title = announcement_title(body_text) or self._catalog.text(
            "broadcast.untitled", settings.DEFAULT_LANGUAGE,
            date=formats.day(now, settings.tz),
        )  # fmt: skip
        # The whole announcement is the body: its title is only a name for lists, and a reader
        # who comes later must find everything, down to the phone number at its end.
        data = ArticleData(
            external_ids=(f"broadcast:{broadcast_id}",),
            url=f"https://t.me/{self._bot_username()}",
            title=title,
            # Its own key, not its folded title: two announcements headed alike ("Thông báo cắt
            # điện") are two articles, and neither ever overwrites a portal article.
            title_key=f"broadcast {broadcast_id}",
            summary="",
            body_html=body_html,
            body_text=body_text,
            published_at=now,
            categories=((ANNOUNCEMENTS, None),),
            search_text=(fold(title), "", fold(body_text)),
        )
        article_id, _ = await self._articles.upsert(data, now, announced=True)
        await store.update(broadcast_id, article_id=article_id)
