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
the draft (who is writing, at which step, what was chosen) is held by
`bot.services.broadcast_drafts`, through `bot.services.Dialogs` like every dialog; what an
announcement does is in `bot.services.announcements`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from bot.adapter import Tap, edit, is_staff, markup, opening, refused, render, replace, reply
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
    """Messages of a staff member whose draft waits for its content or its time, or that they
    sent before its preview was shown (meant for it, too)."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="awaiting_broadcast")
        self._services = services

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self._services.broadcast_drafts.takes(
            message.chat.id, user.id, message.message_id
        )


class _Drafting(filters.MessageFilter):
    """Messages in a chat where a draft is being written (for /cancel, at any step)."""

    def __init__(self, services: Services) -> None:
        super().__init__(name="drafting_broadcast")
        self._services = services

    def filter(self, message: Message) -> bool:
        user = message.from_user
        drafts = self._services.broadcast_drafts
        return user is not None and drafts.draft(message.chat.id, user.id) is not None


_BROADCAST_COMMAND = re.compile(r"/broadcast(?:@\w+)?(?:\s|$)", re.IGNORECASE)


class Broadcaster:
    """The /broadcast dialog (its draft held by `services.broadcast_drafts`), the progress of
    sends, and /broadcasts."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.panels = ProgressPanels()  # the progress of sends, redrawn by jobs
        # The messages the dialog takes (its content or time), and the chats where /cancel is
        # its (see handlers.register).
        self.awaiting_filter = _Awaiting(services)
        self.drafting = _Drafting(services)

    def order_key(self, update: object) -> int | None:
        """The chat, if the update belongs to a dialog there, which must see its updates one at a
        time and in order: a /broadcast, and everything while its draft is open.

        Called for every update as it arrives, before any is handled (see bot.updates): the
        announcement sent right after /broadcast arrives before the draft is begun, and waits
        for it because the chat's /broadcast is still being handled (`ChatOrder` keeps a chat
        in order while an update it claimed is under way).
        """
        if not isinstance(update, Update):
            return None
        chat, user = update.effective_chat, update.effective_user
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        if user is not None and self._services.broadcast_drafts.draft(chat.id, user.id):
            return chat.id
        message = update.message
        if message is not None and _BROADCAST_COMMAND.match(message.text or ""):
            return chat.id
        return None

    # -- start ------------------------------------------------------------------------

    async def start(self, update: Update, context: BotContext) -> None:
        """/broadcast: a new draft, in the staff member's private chat."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        if await refused(update, context, "broadcast"):
            # Taken off the staff in the middle of a draft: it is theirs no more.
            await services.broadcast_drafts.cancel(message.chat.id, user.id)
            return
        lang = await services.language_of(user)
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(services.catalog.text("broadcast.private_only", lang))
            return
        drafts = services.broadcast_drafts
        draft = await drafts.begin(user.id, message.chat.id)  # an earlier draft is dropped
        panel = await reply(message, views.ask_content_panel(services.catalog, lang, draft))
        await drafts.shown(message.chat.id, user.id, draft.broadcast_id, panel.message_id)

    async def cancel_command(self, update: Update, context: BotContext) -> None:
        """/cancel while writing, choosing the audience or the time: drop the draft."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        await services.broadcast_drafts.cancel(message.chat.id, user.id)
        await message.reply_text(
            services.catalog.text("broadcast.cancelled", await services.language_of(user))
        )

    # -- messages: the content, then maybe the time -----------------------------------

    async def on_message(self, update: Update, context: BotContext) -> None:
        """A message of a draft: its content, its time, or one too many."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        services = context.services
        drafts = services.broadcast_drafts
        chat_id = message.chat.id
        found = await drafts.current(chat_id, user.id)
        if found is None:
            return
        draft, broadcast = found
        # An album comes as one message per photo: the first one is answered, not the rest.
        album = message.media_group_id
        if album is not None and not await drafts.first_of_album(chat_id, user.id, album):
            return
        if draft.step == "timing":
            await self._take_time(message, services, user.id)
        elif draft.step == "writing":
            await self._take_content(message, services, broadcast)
        else:  # sent before the preview was shown: an announcement is one message
            lang = await services.language_of(user)
            await message.reply_text(services.catalog.text("broadcast.one_message", lang))

    async def _take_content(self, message: Message, services: Services, draft: Broadcast) -> None:
        user = message.from_user
        assert user is not None
        lang = await services.language_of(user)
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
        drafts = services.broadcast_drafts
        fresh = await drafts.took_content(message.chat.id, user.id, kind, body, text_html)
        if fresh is None:
            return
        panel = await reply(message, await _audience_panel(services, lang, fresh))
        await drafts.shown(message.chat.id, user.id, draft.broadcast_id, panel.message_id)

    async def _take_time(self, message: Message, services: Services, user_id: int) -> None:
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
        draft = await services.broadcast_drafts.finish(message.chat.id, user_id)
        queued = None if draft is None else await services.announcements.schedule(draft, moment)
        if queued is None:
            return
        panel = await reply(message, views.queued_panel(catalog, lang, queued, tz))
        await services.broadcasts.update(queued.broadcast_id, panel_message_id=panel.message_id)

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
        chat_id = tap.message.chat.id
        drafts = services.broadcast_drafts
        draft = drafts.draft(chat_id, user.id)
        if (
            draft is None
            or draft.broadcast_id != broadcast.broadcast_id
            or (name != "x" and draft.step == "writing")
        ):
            await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
            return
        if name == "x":
            await drafts.cancel(chat_id, user.id)
            await query.answer()
            await query.edit_message_text(catalog.text("broadcast.cancelled", lang))
            return
        if name in ("go", "goz"):
            await query.answer()
            ready = await drafts.finish(chat_id, user.id)  # a double tap finds it finished
            sent = None if ready is None else await services.announcements.queue(ready, user.id)
            if ready is not None and sent is not None:
                await self.panels.redraw(services, sent.broadcast_id, query.get_bot(), force=True)
                if name == "goz":  # and as an article on the commune's Zalo OA, if quota allows
                    await _publish_on_zalo(tap, services, ready)
            return
        if name == "time":
            await drafts.choose(chat_id, user.id, step="timing")
            await query.answer()
            await replace(query, views.ask_time_panel(catalog, lang, broadcast))
            return
        if name == "cat":
            known = {c.category_id for c in await services.reading.categories()}
            if action.value not in known and action.value not in draft.categories:
                await query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
                return
            await drafts.choose(chat_id, user.id, category=action.value)
        elif name == "ch":
            await drafts.choose(chat_id, user.id, channel=True)
        elif name == "back":
            await drafts.choose(chat_id, user.id, step="choosing")
        await query.answer()
        found = await drafts.current(chat_id, user.id)
        if found is not None:
            await edit(query, *render(await _audience_panel(services, lang, found[1])))

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
        recent = []
        for broadcast in await services.broadcasts.recent(10):
            progress = None
            if broadcast.delivery_id is not None:
                progress = await services.outbox.progress(broadcast.delivery_id)
            recent.append((broadcast, progress, label(broadcast)))
        await reply(message, views.list_view(catalog, lang, recent, services.settings.tz))


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
