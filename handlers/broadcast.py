"""Staff announcements in Telegram: /broadcast writes, previews, addresses and sends one;
/broadcasts lists.

The dialog runs under one message in the staff member's private chat, its "panel":

1. /broadcast asks for the announcement: a text (formatting kept), or a photo or a document
   with a caption.
2. The bot sends the preview — the very message residents will get, through the same code the
   delivery engine sends with — and turns the panel into the audience: everyone subscribed, or
   those following chosen categories, and the channel if there is one, with the number of
   recipients. "Gửi ngay" sends, "Hẹn giờ" asks for a time, "Hủy" drops it.
3. Once confirmed, the announcement is written to the outbox (and kept as an article in
   "Thông báo") by `bot.services.announcements`, and the panel becomes its progress: sent /
   total, blocked, failed, time left, edited every few seconds by a job, with pause, resume and
   stop; then the final report. All state is in the database, so a restart loses none of it.

This module only reads what staff send and tap and draws the panels (`bot.views.announcements`);
what an announcement does is the service's.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from bot.adapter import (
    Tap,
    edit,
    is_staff,
    markup,
    opening,
    refused,
    render,
    replace,
)
from bot.callbacks import BroadcastAction
from bot.context import BotContext, Services
from bot.delivery import forwardable, send
from bot.progress import ProgressPanels
from bot.services.announcements import MAX_AHEAD, label, parse_time
from bot.views import View
from bot.views import announcements as views
from storage.broadcasts import Broadcast

__all__ = ["Broadcaster"]

log = logging.getLogger(__name__)


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
        self.panels = ProgressPanels()  # the progress of sends, redrawn by jobs
        # The messages the dialog takes (its content or time), and the chats where /cancel is
        # its (see handlers.register).
        self.awaiting_filter = _Awaiting(self)
        self.drafting = _Drafting(self)

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

    # -- start ------------------------------------------------------------------------

    async def restore(self, context: BotContext) -> None:
        """After a restart: whose next message belongs to a draft."""
        for draft in await context.services.broadcasts.drafts():
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
        store = services.broadcasts
        draft = await store.begin(user.id, message.chat.id)
        self._finished(message.chat.id)  # an earlier draft here is dropped
        self.ordered.add(message.chat.id)
        self.awaiting[message.chat.id] = draft.broadcast_id
        view = View(
            services.catalog.text("broadcast.ask_content", lang),
            ((views.button(services.catalog, lang, draft, "x"),),),
        )
        text, keyboard = render(view)
        panel = await message.reply_text(text, reply_markup=keyboard)
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
            await services.broadcasts.update(
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
        store = services.broadcasts
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
        taken = forwardable(message)
        if taken is None:
            await message.reply_text(catalog.text("broadcast.unsupported", lang))
            return
        kind, text_html, body = taken
        # The preview is the message itself, sent as residents will get it.
        try:
            await send(message.get_bot(), message.chat.id, body)
        except TelegramError as exc:
            log.warning("Telegram refused a broadcast's preview: %s", exc)
            await message.reply_text(catalog.text("broadcast.refused", lang, error=str(exc)))
            return
        store = services.broadcasts
        await store.update(
            draft.broadcast_id,
            expect=("writing",),
            state="choosing",
            kind=kind,
            body=body,
            text_html=text_html,
        )
        self.awaiting.pop(message.chat.id, None)
        fresh = await store.get(draft.broadcast_id)
        assert fresh is not None
        text, keyboard = render(await _audience_panel(services, lang, fresh))
        panel = await message.reply_text(text, reply_markup=keyboard)
        self.previewed[message.chat.id] = (draft.broadcast_id, panel.message_id)
        await store.update(draft.broadcast_id, panel_message_id=panel.message_id)

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
        queued = await services.announcements.schedule(draft, moment)
        if queued is None:
            return
        text, keyboard = render(views.queued_panel(catalog, lang, queued, tz))
        panel = await message.reply_text(text, reply_markup=keyboard)
        await services.broadcasts.update(draft.broadcast_id, panel_message_id=panel.message_id)

    # -- buttons ----------------------------------------------------------------------

    async def on_button(self, update: Update, context: BotContext) -> None:
        tap = await opening(update, context, BroadcastAction)
        if tap is None or tap.message is None:
            return
        query, action, lang, user = tap.query, tap.data, tap.lang, tap.user
        services = context.services
        catalog = services.catalog
        # Staff first: nothing a resident's tap carries is looked up.
        if not await is_staff(services, user):
            await query.answer()
            await refused(update, context, "broadcast")
            return
        store = services.broadcasts
        broadcast = await store.get(action.broadcast_id)
        if broadcast is None or broadcast.chat_id != tap.message.chat.id:
            await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
            return
        name = action.action
        if name in ("p", "r", "stop", "stopok", "keep"):
            await self._control(tap, services, broadcast)
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
            view = View(
                catalog.text("broadcast.ask_time", lang),
                ((views.button(catalog, lang, broadcast, "back"),
                  views.button(catalog, lang, broadcast, "x")),),
            )  # fmt: skip
            await replace(query, view)
            return
        elif name in ("go", "goz"):
            await query.answer()
            self._finished(broadcast.chat_id)
            sent = await services.announcements.queue(broadcast, user.id)
            if sent is not None:
                await self.panels.redraw(services, sent.broadcast_id, query.get_bot(), force=True)
            if name == "goz":  # and as an article on the commune's Zalo OA, if the quota allows
                await _publish_on_zalo(tap, services, broadcast)
            return
        await query.answer()
        fresh = await store.get(broadcast.broadcast_id)
        assert fresh is not None
        await edit(query, *render(await _audience_panel(services, lang, fresh)))

    async def _control(
        self, tap: Tap[BroadcastAction], services: Services, broadcast: Broadcast
    ) -> None:
        """Pause, resume or stop a send (stop asks first)."""
        query, lang, name = tap.query, tap.lang, tap.data.action
        catalog = services.catalog
        if broadcast.delivery_id is None and broadcast.state == "queued":
            await self._control_queued(tap, services, broadcast)
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
            buttons = views.confirm_stop(catalog, lang, broadcast)
            await query.edit_message_reply_markup(markup(View("", buttons)))
            return
        elif name == "stopok":
            done = await engine.cancel(broadcast.delivery_id)
        else:  # keep
            done = True
        await query.answer(None if done else catalog.text("broadcast.already_over", lang))
        await self.panels.redraw(services, broadcast.broadcast_id, query.get_bot(), force=True)

    async def _control_queued(
        self, tap: Tap[BroadcastAction], services: Services, broadcast: Broadcast
    ) -> None:
        """Stop (after a confirmation) an announcement waiting for its time."""
        query, lang, name = tap.query, tap.lang, tap.data.action
        catalog = services.catalog
        await query.answer()
        if name == "stop":
            buttons = views.confirm_stop(catalog, lang, broadcast)
            await query.edit_message_reply_markup(markup(View("", buttons)))
            return
        if name == "stopok" and await services.announcements.cancel_queued(broadcast):
            await query.edit_message_text(catalog.text("broadcast.cancelled", lang))
            return
        await edit(
            query, *render(views.queued_panel(catalog, lang, broadcast, services.settings.tz))
        )

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
        for broadcast in await services.broadcasts.recent(10):
            progress = None
            if broadcast.delivery_id is not None:
                progress = await services.outbox.progress(broadcast.delivery_id)
            line = views.list_line(catalog, lang, broadcast, progress, label(broadcast), tz)
            if line is not None:
                lines.append(line)
        if len(lines) == 1:
            lines.append(catalog.text("broadcast.list_none", lang))
        await message.reply_text("\n".join(lines))


async def _audience_panel(services: Services, lang: str, broadcast: Broadcast) -> View:
    announcements = services.announcements
    audience = await announcements.audience(broadcast)
    categories = await services.reading.categories()
    zalo = None
    if services.settings.zalo_enabled:
        zalo = views.ZaloPreview(
            len(audience.zalo_now),
            len(audience.zalo_waiting),
            await announcements.zalo_broadcasts_left(),
        )
    return views.audience_panel(
        services.catalog, lang, broadcast, categories, audience.now,
        services.channel is not None, zalo,
    )  # fmt: skip


async def _publish_on_zalo(
    tap: Tap[BroadcastAction], services: Services, broadcast: Broadcast
) -> None:
    """The staff chose to post it as an OA article too: publish it, say what came of it."""
    outcome, detail = await services.announcements.publish_on_zalo(broadcast, tap.user.id)
    key = {
        "published": "broadcast.zalo_published",
        "already": "broadcast.zalo_already",
        "no_quota": "broadcast.zalo_no_quota",
    }.get(outcome, "broadcast.zalo_publish_failed")
    text = services.catalog.text(key, tap.lang, error=detail or "—")
    if tap.message is not None:
        await tap.message.reply_text(text)
