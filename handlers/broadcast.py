"""Staff announcements: /broadcast writes, previews, addresses and sends one; /broadcasts lists.

The dialog runs under one message in the staff member's private chat, its "panel":

1. /broadcast asks for the announcement: a text (formatting kept), or a photo or a document
   with a caption.
2. The bot sends the preview — the very message residents will get, through the same code the
   delivery engine sends with — and turns the panel into the audience: everyone subscribed, or
   those following chosen categories, and the channel if there is one, with the number of
   recipients. "Gửi ngay" sends, "Hẹn giờ" asks for a time, "Hủy" drops it.
3. Once confirmed, the announcement is written to the outbox (and kept as an article in
   "Thông báo"), and the panel becomes its progress: sent / total, blocked, failed, time left,
   edited every few seconds by a JobQueue job, with pause, resume and stop; then the final
   report. All state is in the database, so a restart loses none of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import CallbackData
from bot.context import BotApplication, BotContext, Services
from bot.delivery import Estimate, outgoing, send
from bot.i18n import Catalog, SafeHtml
from bot.news.text import fold
from bot.reading import plain_text
from bot.updates import ChatOrder
from handlers.buttons import ButtonHandler
from handlers.staff import is_staff, refused
from storage.articles import ArticleData
from storage.broadcasts import Broadcast, BroadcastStore
from storage.outbox import GONE_REASONS, Progress
from storage.subscriptions import DigestReader

__all__ = [
    "ANNOUNCEMENTS",
    "FOLLOW_SECONDS",
    "BroadcastAction",
    "Broadcaster",
    "announcement_title",
    "handlers",
    "parse_time",
    "progress_text",
]

log = logging.getLogger(__name__)

ANNOUNCEMENTS = "Thông báo"  # the category announcements are kept in, as on the portal
FOLLOW_SECONDS = 3.0  # how often progress messages are redrawn (Telegram allows ~1 edit/s)
BROADCAST_PRIORITY = 1  # before alerts and digests: a storm warning cannot wait
MAX_AHEAD = timedelta(days=30)  # the furthest a broadcast can be scheduled
TITLE_LIMIT = 150  # characters of an announcement's title when it is kept as news

ActionName = Literal["cat", "ch", "go", "time", "back", "x", "p", "r", "stop", "stopok", "keep"]


@dataclasses.dataclass(frozen=True, slots=True)
class BroadcastAction(CallbackData):
    """A button of a broadcast's panel: `bc:<broadcast>:<action>:<value>`."""

    prefix: ClassVar[str] = "bc"
    broadcast_id: int
    action: ActionName
    value: int = 0


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


def _number(value: int, lang: str) -> str:
    """1234 as "1.234" in Vietnamese, "1,234" in English."""
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text


def _duration(seconds: float, catalog: Catalog, lang: str) -> str:
    if seconds < 90:
        return catalog.text("broadcast.seconds", lang, count=max(1, round(seconds)))
    if seconds < 90 * 60:
        return catalog.text("broadcast.minutes", lang, count=round(seconds / 60))
    hours = f"{seconds / 3600:.1f}"
    return catalog.text(
        "broadcast.hours", lang, count=hours.replace(".", ",") if lang == "vi" else hours
    )


def _when(moment: float | datetime, tz: ZoneInfo) -> str:
    if isinstance(moment, float):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(tz).strftime("%H:%M %d/%m/%Y")


def _reasons(counts: dict[str, int], catalog: Catalog, lang: str) -> str:
    """Failure reasons in words: "3 tài khoản đã xóa, 2 lỗi mạng"."""
    known = {"deactivated", "kicked", "blocked", "chat_not_found", "network", "bad_request",
             "no_rights", "forbidden", "invalid", "inactive", "moved", "cancelled"}  # fmt: skip
    parts = []
    for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
        name = reason if reason in known else "other"
        parts.append(catalog.text(f"broadcast.reason_{name}", lang, count=_number(count, lang)))
    return ", ".join(parts)


def progress_text(
    estimate: Estimate, broadcast: Broadcast, catalog: Catalog, lang: str, tz: ZoneInfo
) -> str:
    """The progress message: where the sending stands, or the final report."""
    progress: Progress = estimate.progress
    values: dict[str, Any] = {
        "total": _number(progress.total, lang),
        "sent": _number(progress.sent, lang),
        "blocked": _number(progress.blocked, lang),
        "failed": _number(progress.errors, lang),
    }
    if progress.state == "done" or (progress.state == "cancelled" and progress.pending == 0):
        failed = {r: n for r, n in progress.failed.items() if r not in GONE_REASONS}
        gone = {r: n for r, n in (*progress.failed.items(), *progress.skipped.items())
                if r in GONE_REASONS}  # fmt: skip
        lines = [
            catalog.text(
                "broadcast.report_done" if progress.state == "done" else "broadcast.report_stopped",
                lang,
                when=_when(datetime.fromisoformat(progress.finished_at), tz)
                if progress.finished_at
                else "",
            ),
            catalog.text("broadcast.report_total", lang, total=values["total"]),
            catalog.text("broadcast.report_sent", lang, sent=values["sent"]),
        ]
        for key, counts in (("broadcast.report_gone", gone), ("broadcast.report_failed", failed)):
            if counts:
                lines.append(
                    catalog.text(
                        key, lang,
                        count=_number(sum(counts.values()), lang),
                        reasons=SafeHtml(_reasons(counts, catalog, lang)),
                    )
                )  # fmt: skip
        stopped = progress.skipped.get("cancelled", 0)
        if stopped:
            lines.append(
                catalog.text("broadcast.report_not_sent", lang, count=_number(stopped, lang))
            )
        return "\n".join(lines)
    if progress.start_at is not None and progress.start_at > datetime.now(UTC).timestamp():
        return "\n".join(
            [
                catalog.text("broadcast.queued", lang, when=_when(progress.start_at, tz)),
                catalog.text("broadcast.report_total", lang, total=values["total"]),
            ]
        )
    if progress.state == "paused":
        head = catalog.text("broadcast.paused", lang)
    else:
        head = catalog.text("broadcast.sending", lang)
    lines = [head, catalog.text("broadcast.progress", lang, **values)]
    if estimate.seconds_left is not None and progress.state == "running":
        left = _duration(estimate.seconds_left, catalog, lang)
        lines.append(catalog.text("broadcast.time_left", lang, left=left))
    return "\n".join(lines)


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


def _label(broadcast: Broadcast) -> str:
    """The first line of an announcement, as staff see it in lists."""
    plain = plain_text(broadcast.text_html or "").strip()
    return plain.splitlines()[0][:60] if plain else (broadcast.kind or "")


# -- the dialog ------------------------------------------------------------------------------


class _Awaiting(filters.MessageFilter):
    """Messages of a staff member whose broadcast waits for its content or its time, or that
    they sent before its preview was shown (meant for it, too)."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        super().__init__(name="awaiting_broadcast")
        self._broadcaster = broadcaster

    def filter(self, message: Message) -> bool:
        chat_id = message.chat.id
        shown = self._broadcaster.previewed.get(chat_id)
        return chat_id in self._broadcaster.awaiting or (
            shown is not None and message.message_id < shown[1]
        )


class _Drafting(filters.MessageFilter):
    """Messages in a chat where a draft is being written (for /cancel, at any step)."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        super().__init__(name="drafting_broadcast")
        self._broadcaster = broadcaster

    def filter(self, message: Message) -> bool:
        chat_id = message.chat.id
        return chat_id in self._broadcaster.awaiting or chat_id in self._broadcaster.previewed


_BROADCAST_COMMAND = re.compile(r"/broadcast(?:@\w+)?(?:\s|$)", re.IGNORECASE)


class Broadcaster:
    """The /broadcast dialog, the progress of sends, and /broadcasts."""

    def __init__(self) -> None:
        # Chat id → broadcast waiting for a message there (content or time). The database holds
        # the truth; this mirror only lets the text filter decide without a query.
        self.awaiting: dict[int, int] = {}
        # Chat id → (broadcast, its audience panel) for a draft whose preview is shown: a message
        # older than the panel was sent before the staff member saw the preview.
        self.previewed: dict[int, tuple[int, int]] = {}
        # Chats whose updates are handled one at a time, in order (see order_key).
        self.ordered: set[int] = set()
        self._albums: dict[int, str] = {}  # chat → the last album answered there
        self._shown: dict[int, str] = {}  # broadcast → the progress text last drawn

    def order_key(self, update: object) -> int | None:
        """The chat, if the update belongs to a dialog there, which must see its updates one at a
        time and in order: from /broadcast until the draft is sent or dropped.

        Called for every update as it arrives, before any is handled (see bot.updates): so a
        /broadcast marks its chat at once, and the announcement sent right after it waits for it.
        """
        if not isinstance(update, Update):
            return None
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        if chat.id in self.ordered:
            return chat.id
        message = update.message
        if message is not None and _BROADCAST_COMMAND.match(message.text or ""):
            self.ordered.add(chat.id)
            return chat.id
        return None

    def _finished(self, chat_id: int) -> None:
        """The chat's draft is sent, scheduled or dropped: its messages are its own again."""
        self.awaiting.pop(chat_id, None)
        self.previewed.pop(chat_id, None)
        self.ordered.discard(chat_id)
        self._albums.pop(chat_id, None)

    def handlers(self) -> list[BaseHandler[Update, BotContext, None]]:
        awaiting = _Awaiting(self)
        # Anything a person can send: what cannot be announced gets a reply saying so.
        content = filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL
        return [
            CommandHandler("broadcast", self.start),
            CommandHandler("broadcasts", self.list_command),
            CommandHandler("cancel", self.cancel_command, filters=_Drafting(self)),
            ButtonHandler(self.on_button, BroadcastAction),
            MessageHandler(filters.ChatType.PRIVATE & content & awaiting, self.on_message),
        ]

    # -- start ------------------------------------------------------------------------

    async def restore(self, context: BotContext) -> None:
        """After a restart: whose next message belongs to a draft."""
        for draft in await BroadcastStore(context.services.db).drafts():
            self.ordered.add(draft.chat_id)
            if draft.state in ("writing", "timing"):
                self.awaiting[draft.chat_id] = draft.broadcast_id

    async def start(self, update: Update, context: BotContext) -> None:
        """/broadcast: a new draft, in the staff member's private chat."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        if await refused(update, context, "broadcast"):
            self._finished(message.chat.id)
            return
        lang = await services.language_of(user)
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(services.catalog.text("broadcast.private_only", lang))
            return
        store = BroadcastStore(services.db)
        draft = await store.begin(user.id, message.chat.id)
        self._finished(message.chat.id)  # an earlier draft here is dropped
        self.ordered.add(message.chat.id)
        self.awaiting[message.chat.id] = draft.broadcast_id
        panel = await message.reply_text(
            services.catalog.text("broadcast.ask_content", lang),
            reply_markup=self._markup([[self._button(services, lang, draft, "x")]]),
        )
        await store.update(draft.broadcast_id, panel_message_id=panel.message_id)

    async def cancel_command(self, update: Update, context: BotContext) -> None:
        """/cancel while writing, choosing the audience or the time: drop the draft."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        shown = self.previewed.get(message.chat.id)
        broadcast_id = self.awaiting.get(message.chat.id) or (shown[0] if shown else None)
        self._finished(message.chat.id)
        if broadcast_id is not None:
            await BroadcastStore(services.db).update(
                broadcast_id, expect=("writing", "choosing", "timing"), state="cancelled"
            )
        await message.reply_text(
            services.catalog.text("broadcast.cancelled", await services.language_of(user))
        )

    # -- messages: the content, then maybe the time -----------------------------------

    async def on_message(self, update: Update, context: BotContext) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        chat_id = message.chat.id
        store = BroadcastStore(services.db)
        shown = self.previewed.get(chat_id)
        broadcast_id = self.awaiting.get(chat_id) or (shown[0] if shown else 0)
        broadcast = await store.get(broadcast_id)
        if broadcast is None or broadcast.created_by != user.id or not broadcast.is_draft:
            self._finished(chat_id)
            return
        if message.media_group_id is not None:
            # An album comes as one message per photo: the first one is answered, not the rest.
            if self._albums.get(chat_id) == message.media_group_id:
                return
            self._albums[chat_id] = message.media_group_id
        if broadcast.state == "timing":
            await self._take_time(message, services, broadcast)
        elif broadcast.state == "writing":
            await self._take_content(message, services, broadcast)
        else:  # sent before the preview was shown: an announcement is one message
            lang = await services.language_of(user)
            await message.reply_text(services.catalog.text("broadcast.one_message", lang))

    async def _take_content(self, message: Message, services: Services, draft: Broadcast) -> None:
        lang = await services.language_of(message.from_user)
        catalog = services.catalog
        if message.media_group_id is not None:
            # Residents would get one photo of the album: refused, with what to do instead.
            await message.reply_text(catalog.text("broadcast.album", lang))
            return
        if message.photo:
            kind = "photo"
            text_html = message.caption_html or ""
            body = outgoing(
                "send_photo", photo=message.photo[-1].file_id, caption=text_html or None,
                parse_mode="HTML",
            )  # fmt: skip
        elif message.document is not None and message.animation is None:
            # (A GIF comes with a `document` too, but it is an animation.)
            kind = "document"
            text_html = message.caption_html or ""
            body = outgoing(
                "send_document", document=message.document.file_id,
                caption=text_html or None, parse_mode="HTML",
            )  # fmt: skip
        elif message.text:
            kind = "text"
            text_html = message.text_html
            body = outgoing("send_message", text=text_html, parse_mode="HTML")
        else:
            await message.reply_text(catalog.text("broadcast.unsupported", lang))
            return
        body["params"] = {k: v for k, v in body["params"].items() if v is not None}
        # The preview is the message itself, sent as residents will get it.
        try:
            await send(message.get_bot(), message.chat.id, body)
        except TelegramError as exc:
            log.warning("Telegram refused a broadcast's preview: %s", exc)
            await message.reply_text(catalog.text("broadcast.refused", lang, error=str(exc)))
            return
        await BroadcastStore(services.db).update(
            draft.broadcast_id,
            expect=("writing",),
            state="choosing",
            kind=kind,
            body=body,
            text_html=text_html,
        )
        self.awaiting.pop(message.chat.id, None)
        fresh = await BroadcastStore(services.db).get(draft.broadcast_id)
        assert fresh is not None
        text, markup = await self._audience_panel(services, lang, fresh)
        panel = await message.reply_text(text, reply_markup=markup)
        self.previewed[message.chat.id] = (draft.broadcast_id, panel.message_id)
        await BroadcastStore(services.db).update(
            draft.broadcast_id, panel_message_id=panel.message_id
        )

    async def _take_time(self, message: Message, services: Services, draft: Broadcast) -> None:
        lang = await services.language_of(message.from_user)
        catalog = services.catalog
        tz = services.settings.tz
        now = datetime.now(UTC)
        moment = parse_time(message.text or "", now, tz)
        if moment is None:
            await message.reply_text(catalog.text("broadcast.time_unclear", lang))
            return
        if moment <= now or moment - now > MAX_AHEAD:
            await message.reply_text(catalog.text("broadcast.time_out_of_range", lang))
            return
        self._finished(message.chat.id)
        # Only the time is fixed now: who gets it is decided when it goes out, so a resident
        # who stops their subscription overnight does not get a 06:30 announcement.
        store = BroadcastStore(services.db)
        expected = len(await self._recipients(services, draft))
        if not await store.update(
            draft.broadcast_id,
            expect=("timing",),
            state="queued",
            start_at=moment.timestamp(),
            recipients=expected,
        ):
            return
        await self._audit(services, draft, None, expected, moment.timestamp())
        log.info(
            "broadcast %s scheduled by staff %s", draft.broadcast_id, services.who(draft.created_by)
        )
        queued = await store.get(draft.broadcast_id)
        assert queued is not None
        text, markup = self._queued_panel(services, lang, queued)
        panel = await message.reply_text(text, reply_markup=markup)
        await store.update(draft.broadcast_id, panel_message_id=panel.message_id)

    # -- buttons ----------------------------------------------------------------------

    async def on_button(self, update: Update, context: BotContext) -> None:
        query = update.callback_query
        if query is None or query.data is None or query.message is None:
            return
        action = BroadcastAction.unpack(query.data)
        services = context.services
        catalog = services.catalog
        user = query.from_user
        lang = await services.language_of(user)
        # Staff first: nothing a resident's tap carries is looked up.
        if not await is_staff(services, user):
            await query.answer()
            await refused(update, context, "broadcast")
            return
        store = BroadcastStore(services.db)
        broadcast = await store.get(action.broadcast_id)
        if broadcast is None or broadcast.chat_id != query.message.chat.id:
            await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
            return
        name = action.action
        if name in ("p", "r", "stop", "stopok", "keep"):
            await self._control(update, services, lang, broadcast, name)
            return
        if not broadcast.is_draft or (name != "x" and broadcast.state == "writing"):
            await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
            return
        if name == "x":
            await store.update(broadcast.broadcast_id, expect=("writing", "choosing", "timing"),
                               state="cancelled")  # fmt: skip
            self._finished(broadcast.chat_id)
            await query.answer()
            await query.edit_message_text(catalog.text("broadcast.cancelled", lang))
            return
        if name == "cat":
            chosen = set(broadcast.categories) ^ {action.value}
            known = {c.category_id for c in await services.reading.categories()}
            if action.value not in known and action.value not in broadcast.categories:
                await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
                return
            await store.update(broadcast.broadcast_id, categories=frozenset(chosen))
        elif name == "ch":
            await store.update(broadcast.broadcast_id, channel=not broadcast.channel)
        elif name == "back":
            await store.update(broadcast.broadcast_id, expect=("timing",), state="choosing")
            self.awaiting.pop(broadcast.chat_id, None)
        elif name == "time":
            await store.update(broadcast.broadcast_id, expect=("choosing",), state="timing")
            self.awaiting[broadcast.chat_id] = broadcast.broadcast_id
            await query.answer()
            await query.edit_message_text(
                catalog.text("broadcast.ask_time", lang),
                reply_markup=self._markup(
                    [[self._button(services, lang, broadcast, "back"),
                      self._button(services, lang, broadcast, "x")]]
                ),
            )  # fmt: skip
            return
        elif name == "go":
            await query.answer()
            self._finished(broadcast.chat_id)
            sent = await self._queue(services, broadcast, user.id)
            if sent is not None:
                await self._redraw(services, sent.broadcast_id, query.get_bot(), force=True)
            return
        await query.answer()
        fresh = await store.get(broadcast.broadcast_id)
        assert fresh is not None
        text, markup = await self._audience_panel(services, lang, fresh)
        with contextlib.suppress(BadRequest):  # "not modified" after a double tap
            await query.edit_message_text(text, reply_markup=markup)

    async def _control(
        self, update: Update, services: Services, lang: str, broadcast: Broadcast, name: str
    ) -> None:
        query = update.callback_query
        assert query is not None
        catalog = services.catalog
        if broadcast.delivery_id is None and broadcast.state == "queued":
            await self._control_queued(update, services, lang, broadcast, name)
            return
        if broadcast.delivery_id is None or broadcast.state not in ("queued", "sending"):
            await query.answer(catalog.text("broadcast.already_over", lang), show_alert=True)
            return
        engine = services.delivery
        if name == "p":
            done = await engine.pause(broadcast.delivery_id)
        elif name == "r":
            done = await engine.resume(broadcast.delivery_id)
        elif name == "stop":
            await query.answer()
            await query.edit_message_reply_markup(self._confirm_stop(services, lang, broadcast))
            return
        elif name == "stopok":
            done = await engine.cancel(broadcast.delivery_id)
        else:  # keep
            done = True
        await query.answer(None if done else catalog.text("broadcast.already_over", lang))
        await self._redraw(services, broadcast.broadcast_id, query.get_bot(), force=True)

    async def _control_queued(
        self, update: Update, services: Services, lang: str, broadcast: Broadcast, name: str
    ) -> None:
        """Stop (after a confirmation) an announcement waiting for its time."""
        query = update.callback_query
        assert query is not None
        catalog = services.catalog
        await query.answer()
        if name == "stop":
            await query.edit_message_reply_markup(self._confirm_stop(services, lang, broadcast))
            return
        if name == "stopok" and await BroadcastStore(services.db).update(
            broadcast.broadcast_id, expect=("queued",), state="cancelled"
        ):
            await self._audit(services, broadcast, None, 0, None, "đã hủy trước giờ gửi")
            await query.edit_message_text(catalog.text("broadcast.cancelled", lang))
            return
        text, markup = self._queued_panel(services, lang, broadcast)
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text, reply_markup=markup)

    def _queued_panel(
        self, services: Services, lang: str, broadcast: Broadcast
    ) -> tuple[str, InlineKeyboardMarkup]:
        catalog = services.catalog
        assert broadcast.start_at is not None
        text = "\n".join(
            [
                catalog.text(
                    "broadcast.queued", lang, when=_when(broadcast.start_at, services.settings.tz)
                ),
                catalog.text(
                    "broadcast.expected", lang, count=_number(broadcast.recipients or 0, lang)
                ),
            ]
        )
        return text, self._markup([[self._button(services, lang, broadcast, "stop")]])

    # -- sending ----------------------------------------------------------------------

    async def _queue(self, services: Services, draft: Broadcast, staff_id: int) -> Broadcast | None:
        """Write the announcement to the outbox for its audience as it is now, and send it."""
        if draft.body is None:
            return None
        store = BroadcastStore(services.db)
        recipients = await self._recipients(services, draft)
        key = f"broadcast:{draft.broadcast_id}"
        delivery_id = await services.outbox.create(
            "broadcast",
            [draft.body],
            [(chat_id, 0) for chat_id in recipients],
            label=_label(draft),
            dedupe_key=key,
            priority=BROADCAST_PRIORITY,
            created_by=staff_id,
            also=store.sending(draft.broadcast_id, len(recipients), key),
        )
        if delivery_id is None:
            return None  # a double tap: the first one queued it
        await self._audit(services, draft, delivery_id, len(recipients), None)
        log.info(
            "broadcast %s queued by staff %s for %d recipients",
            draft.broadcast_id, services.who(staff_id), len(recipients),
        )  # fmt: skip
        services.delivery.wake()
        await self._keep_as_news(services, draft.broadcast_id)
        return await store.get(draft.broadcast_id)

    async def _audit(
        self,
        services: Services,
        broadcast: Broadcast,
        delivery_id: int | None,
        recipients: int,
        start_at: float | None,
        outcome: str | None = None,
    ) -> None:
        """Who sent what to whom, and (once known) with what outcome, for the owners' /audit."""
        categories = await services.reading.categories()
        names = [c.name for c in categories if c.category_id in broadcast.categories]
        audience = ", ".join(names) if names else "tất cả người đăng ký"
        if broadcast.channel and services.channel is not None:
            audience += " + kênh"
        if outcome is None:
            outcome = (
                f"hẹn gửi lúc {_when(start_at, services.settings.tz)}" if start_at else "đang gửi"
            )
        await services.audit.record(
            str(broadcast.created_by),
            "broadcast",
            {
                "delivery_id": delivery_id if delivery_id is not None else "—",
                "audience": audience,
                "recipients": recipients,
                "outcome": outcome,
                "text": plain_text(broadcast.text_html or "")[:200],
            },
        )

    async def _recipients(self, services: Services, broadcast: Broadcast) -> list[int]:
        chats = await DigestReader(services.db).audience(broadcast.categories)
        channel = services.channel
        if broadcast.channel and channel is not None and channel not in chats:
            chats.append(channel)
        return chats

    async def _keep_as_news(self, services: Services, broadcast_id: int) -> None:
        """Store the announcement as an article in "Thông báo" (once)."""
        store = BroadcastStore(services.db)
        broadcast = await store.get(broadcast_id)
        if broadcast is None or broadcast.article_id is not None:
            return
        body_html = (broadcast.text_html or "").strip()
        body_text = plain_text(body_html).strip()
        now = datetime.now(UTC)
        title = announcement_title(body_text) or services.catalog.text(
            "broadcast.untitled", services.settings.DEFAULT_LANGUAGE,
            date=now.astimezone(services.settings.tz).strftime("%d/%m/%Y"),
        )  # fmt: skip
        # The whole announcement is the body: its title is only a name for lists, and a reader
        # who comes later must find everything, down to the phone number at its end.
        data = ArticleData(
            external_ids=(f"broadcast:{broadcast_id}",),
            url=f"https://t.me/{services.delivery.bot.username}",
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
        article_id, _ = await services.articles.upsert(data, now, announced=True)
        await store.update(broadcast_id, article_id=article_id)

    # -- following --------------------------------------------------------------------

    async def follow(self, context: BotContext) -> None:
        """JobQueue: redraw the progress of every broadcast queued or sending."""
        services = context.services
        for broadcast in await BroadcastStore(services.db).following():
            try:
                await self._redraw(services, broadcast.broadcast_id, context.bot)
            except Exception:
                log.exception("could not update the progress of broadcast %s",
                              broadcast.broadcast_id)  # fmt: skip

    async def _redraw(
        self, services: Services, broadcast_id: int, bot: Any, *, force: bool = False
    ) -> None:
        store = BroadcastStore(services.db)
        broadcast = await store.get(broadcast_id)
        if broadcast is not None and broadcast.state == "queued" and broadcast.delivery_id is None:
            if (broadcast.start_at or 0) > datetime.now(UTC).timestamp():
                return  # its panel says when; nothing changes until then
            # Its time has come: the audience is who is subscribed now.
            broadcast = await self._queue(services, broadcast, broadcast.created_by)
            force = True
        if broadcast is None or broadcast.delivery_id is None:
            return
        estimate = await services.delivery.estimate(broadcast.delivery_id)
        if estimate is None:
            return
        progress = estimate.progress
        final = progress.finished_at is not None
        lang = (
            await services.users.language(broadcast.created_by)
            or services.settings.DEFAULT_LANGUAGE
        )
        text = progress_text(estimate, broadcast, services.catalog, lang, services.settings.tz)
        markup = None if final else self._controls(services, lang, broadcast, progress)
        shown = text + repr(markup.to_dict() if markup else None)
        if force or self._shown.get(broadcast_id) != shown:
            self._shown[broadcast_id] = shown
            if broadcast.panel_message_id is not None:
                try:
                    await bot.edit_message_text(
                        text, chat_id=broadcast.chat_id,
                        message_id=broadcast.panel_message_id, reply_markup=markup,
                    )  # fmt: skip
                except BadRequest as exc:
                    if "not modified" not in exc.message.lower():
                        raise
        if final:
            state = "done" if progress.state == "done" else "cancelled"
            if await store.update(broadcast_id, expect=("queued", "sending"), state=state):
                failed = progress.errors
                outcome = (
                    f"{'đã gửi xong' if state == 'done' else 'đã dừng'}: nhận {progress.sent},"
                    f" đã chặn {progress.blocked}, lỗi {failed},"
                    f" chưa gửi {progress.skipped.get('cancelled', 0)}"
                )
                await self._audit(
                    services, broadcast, broadcast.delivery_id, progress.total, None, outcome
                )
            self._shown.pop(broadcast_id, None)
            log.info("broadcast %s finished: %s", broadcast_id, progress.summary())

    # -- /broadcasts ------------------------------------------------------------------

    async def list_command(self, update: Update, context: BotContext) -> None:
        """/broadcasts: the last ten announcements and what became of them."""
        message, user = update.effective_message, update.effective_user
        if message is None:
            return
        services = context.services
        catalog = services.catalog
        if await refused(update, context, "broadcasts"):
            return
        lang = await services.language_of(user)
        lines = [catalog.text("broadcast.list_title", lang)]
        tz = services.settings.tz
        for broadcast in await BroadcastStore(services.db).recent(10):
            if broadcast.delivery_id is None:  # waiting for its time
                assert broadcast.start_at is not None
                label = _label(broadcast)
                lines.append(
                    catalog.text(
                        "broadcast.list_queued", lang, when=_when(broadcast.created_at, tz),
                        label=label, at=_when(broadcast.start_at, tz),
                        total=_number(broadcast.recipients or 0, lang),
                    )
                )  # fmt: skip
                continue
            progress = await services.outbox.progress(broadcast.delivery_id)
            if progress is None:
                continue
            outcome = {
                "done": "list_done", "cancelled": "list_stopped", "paused": "list_paused",
            }.get(progress.state, "list_sending")  # fmt: skip
            if progress.start_at and progress.start_at > datetime.now(UTC).timestamp():
                outcome = "list_queued"
            lines.append(
                catalog.text(
                    f"broadcast.{outcome}",
                    lang,
                    when=_when(broadcast.created_at, tz),
                    label=progress.label,
                    sent=_number(progress.sent, lang),
                    total=_number(progress.total, lang),
                    blocked=_number(progress.blocked, lang),
                    failed=_number(progress.errors, lang),
                    at=_when(progress.start_at, tz) if progress.start_at else "",
                )
            )
        if len(lines) == 1:
            lines.append(catalog.text("broadcast.list_none", lang))
        await message.reply_text("\n".join(lines))

    # -- drawing ----------------------------------------------------------------------

    async def _audience_panel(
        self, services: Services, lang: str, broadcast: Broadcast
    ) -> tuple[str, InlineKeyboardMarkup]:
        catalog = services.catalog
        count = len(await self._recipients(services, broadcast))
        categories = await services.reading.categories()
        names = [c.name for c in categories if c.category_id in broadcast.categories]
        audience = (
            catalog.text("broadcast.audience_categories", lang, names=", ".join(names))
            if names
            else catalog.text("broadcast.audience_all", lang)
        )
        if broadcast.channel and services.channel is not None:
            audience += catalog.text("broadcast.audience_channel", lang)
        text = catalog.text("broadcast.choose", lang, audience=audience, count=_number(count, lang))
        rows: list[list[InlineKeyboardButton]] = []
        toggles = [
            InlineKeyboardButton(
                ("✅ " if c.category_id in broadcast.categories else "▫️ ") + c.name[:30],
                callback_data=BroadcastAction(broadcast.broadcast_id, "cat", c.category_id).pack(),
            )
            for c in categories[:20]
        ]
        rows += [toggles[i : i + 2] for i in range(0, len(toggles), 2)]
        if services.channel is not None:
            key = "broadcast.channel_on" if broadcast.channel else "broadcast.channel_off"
            rows.append(
                [InlineKeyboardButton(
                    catalog.text(key, lang),
                    callback_data=BroadcastAction(broadcast.broadcast_id, "ch").pack(),
                )]
            )  # fmt: skip
        rows.append(
            [
                InlineKeyboardButton(
                    catalog.text("broadcast.go_button", lang, count=_number(count, lang)),
                    callback_data=BroadcastAction(broadcast.broadcast_id, "go").pack(),
                ),
                self._button(services, lang, broadcast, "time"),
            ]
        )
        rows.append([self._button(services, lang, broadcast, "x")])
        return text, InlineKeyboardMarkup(rows)

    def _controls(
        self, services: Services, lang: str, broadcast: Broadcast, progress: Progress
    ) -> InlineKeyboardMarkup:
        first: ActionName = "r" if progress.state == "paused" else "p"
        if progress.start_at and progress.start_at > datetime.now(UTC).timestamp():
            return self._markup([[self._button(services, lang, broadcast, "stop")]])
        return self._markup(
            [[self._button(services, lang, broadcast, first),
              self._button(services, lang, broadcast, "stop")]]
        )  # fmt: skip

    @staticmethod
    def _button(
        services: Services, lang: str, broadcast: Broadcast, action: ActionName
    ) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            services.catalog.text(f"broadcast.button_{action}", lang),
            callback_data=BroadcastAction(broadcast.broadcast_id, action).pack(),
        )

    @staticmethod
    def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(rows)

    @classmethod
    def _confirm_stop(
        cls, services: Services, lang: str, broadcast: Broadcast
    ) -> InlineKeyboardMarkup:
        """The two buttons that ask "really stop?" (for a send under way or a queued one)."""
        return cls._markup(
            [[cls._button(services, lang, broadcast, "stopok"),
              cls._button(services, lang, broadcast, "keep")]]
        )  # fmt: skip


def handlers(application: BotApplication) -> list[BaseHandler[Update, BotContext, None]]:
    """The broadcast handlers, and the jobs that follow sends and restore drafts."""
    broadcaster = Broadcaster()
    processor = application.update_processor
    if isinstance(processor, ChatOrder):
        # What staff see must be what residents get: a draft's messages are taken in order.
        processor.claim(broadcaster.order_key)
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            broadcaster.follow, interval=FOLLOW_SECONDS, first=FOLLOW_SECONDS,
            name="broadcast-progress",
        )  # fmt: skip
        application.job_queue.run_once(broadcaster.restore, when=0, name="broadcast-restore")
    return broadcaster.handlers()
