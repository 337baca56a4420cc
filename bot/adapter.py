"""The Telegram front end's shared parts: what every handler module uses, so none imports
another (see tests/test_imports.py).

- `ButtonHandler`: the handler for one kind of button data.
- `opening`: the common start of a button handler — unpack its data, the person's language.
- `edit`: edit a message, ignoring only Telegram's "message is not modified".
- `render`: a channel-neutral `bot.views.View` as Telegram HTML and an inline keyboard (the
  renderer itself, `for_telegram` and `markup`, is `bot.keyboard`'s, shared with `bot.push`);
  `reply` answers with a view: its text, its buttons or its main menu (a reply keyboard), or
  its file (a photo or a document, the text as caption).
- `refused`, `is_staff`, `is_owner`, `record`: roles, as a Telegram update asks about them.
- `tell_reporter`, `tell_case`, `send_case_photos`, `tell_staff`, `tell_reopened`,
  `message_staff`, `private_name`: a case's news to its reporter (on Telegram here, on Zalo
  through `bot.zalo.notices`), a case with its photos and location to a staff member, a new
  case to the staff who handle its topic, a reopened case to its assignee, a message to a
  staff member, the name Telegram gives an owner (Góp ý – phản ánh; shared by the residents'
  and the staff's side, the jobs, and — through `Services.on_new_case` and
  `on_reopened_case`, set by the wiring — Zalo's conversation).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, ExtBot

from bot.callbacks import CallbackData
from bot.context import BotContext, Services
from bot.i18n import SafeHtml
from bot.keyboard import markup, menu_keyboard
from bot.services.cases import Case, Change, Told
from bot.views import View
from bot.views.cases import resident_notice, staff_new_case_view
from bot.zalo import notices as zalo_notices
from storage.zalo import CHANNEL as ZALO

__all__ = [
    "ButtonHandler",
    "Tap",
    "edit",
    "is_owner",
    "is_staff",
    "markup",
    "message_staff",
    "not_modified",
    "opening",
    "private_name",
    "record",
    "refused",
    "render",
    "replace",
    "reply",
    "send_case_photos",
    "tell_case",
    "tell_reopened",
    "tell_reporter",
    "tell_staff",
]

log = logging.getLogger(__name__)

D = TypeVar("D", bound=CallbackData)


class ButtonHandler(CallbackQueryHandler[BotContext, None]):
    """`CallbackQueryHandler(callback, pattern=kind.matches)`, except for a query without data.

    PTB hands a callback query that carries neither data nor a game to every handler, pattern or
    not, so the first button handler registered would unpack nothing and fail. Such a query is
    nobody's button: it goes on to the catch-all `handlers.errors.stale_button`.
    """

    def __init__(
        self,
        callback: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
        kind: type[CallbackData],
    ) -> None:
        super().__init__(callback, pattern=kind.matches)
        self.kind = kind

    def check_update(self, update: object) -> bool | object | None:
        """True only for a press whose data unpacks as this handler's kind."""
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        if not isinstance(update.callback_query.data, str):
            return False
        return super().check_update(update)


@dataclass(frozen=True, slots=True)
class Tap(Generic[D]):
    """A button press, opened: the query, its data unpacked, who pressed, in which language."""

    query: CallbackQuery
    data: D
    user: User
    lang: str
    message: Message | None


async def opening(update: Update, context: BotContext, kind: type[D]) -> Tap[D] | None:
    """The common start of a button handler: None for a press with nothing to act on.
    The tap is not answered here: what the answer says depends on what the handler finds."""
    query = update.callback_query
    if query is None or query.data is None:
        return None
    data = kind.unpack(query.data)
    lang = await context.services.language_of(query.from_user)
    message = query.message if isinstance(query.message, Message) else None
    return Tap(query, data, query.from_user, lang, message)


async def reply(message: Message, view: View) -> Message:
    """Answer `message` with a view: a text with its buttons, or with the main menu, or a
    picture or document with the text as its caption."""
    text, keyboard = render(view)
    if view.file is not None:
        if view.file.kind == "picture":
            return await message.reply_photo(
                view.file.content, caption=text or None, reply_markup=keyboard
            )
        return await message.reply_document(
            view.file.content, filename=view.file.name or None, caption=text or None,
            reply_markup=keyboard,
        )  # fmt: skip
    if keyboard is None and view.menu is not None:
        return await message.reply_text(text, reply_markup=menu_keyboard(view.menu))
    return await message.reply_text(text, reply_markup=keyboard)


async def replace(target: CallbackQuery, view: View) -> None:
    """Turn the message into `view` (every refusal raised: see `edit` for a redraw)."""
    text, keyboard = render(view)
    await target.edit_message_text(text, reply_markup=keyboard)


def not_modified(exc: BadRequest) -> bool:
    """Whether Telegram refused an edit only because it would change nothing."""
    return "message is not modified" in exc.message.lower()


async def edit(
    target: CallbackQuery,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    link_preview_options: LinkPreviewOptions | None = None,
) -> None:
    """Edit a message's text and buttons; an edit that changes nothing (a double tap, a redraw
    of the same figures) is no error. Every other refusal is raised."""
    try:
        await target.edit_message_text(
            text, reply_markup=reply_markup, link_preview_options=link_preview_options
        )
    except BadRequest as exc:
        if not not_modified(exc):
            raise


def render(view: View) -> tuple[str, InlineKeyboardMarkup | None]:
    """A view as Telegram shows it: HTML text (the view's vocabulary is Telegram HTML's subset)
    and an inline keyboard."""
    return view.text, markup(view)


# -- roles, as an update asks about them ------------------------------------------------------


async def is_owner(services: Services, user: User | None) -> bool:
    """Whether `user` is one of the owners (ADMIN_IDS)."""
    return services.roles.is_owner(None if user is None else user.id)


async def is_staff(services: Services, user: User | None) -> bool:
    """Whether `user` may use the staff commands: an owner, or a staff member the owners added."""
    return await services.roles.is_staff(None if user is None else user.id)


async def record(services: Services, user: User, action: str, /, **detail: Any) -> None:
    """Add a staff member's action to the audit log, under their Telegram id."""
    await services.roles.record(user.id, action, **detail)


async def refused(
    update: Update, context: BotContext, command: str, *, owners_only: bool = False
) -> bool:
    """Refuse `command` politely unless the sender may use it, and record the refusal.

    Returns True when the sender was refused (the caller stops there). Under a button (the
    /newpoll dialog's "Create") the refusal replaces the message; the caller answered the tap.
    """
    services = context.services
    user = update.effective_user
    if await is_owner(services, user):
        return False
    staff = await is_staff(services, user)
    if staff and not owners_only:
        return False
    if staff:
        assert user is not None
        # Staff are accountable: they are named by their id.
        actor: str | None = str(user.id)
        role, key = "staff", "staff.owners_only"
        log.info("refused /%s to staff member %s: owners only", command, services.who(user.id))
    else:
        # A resident is never identified in the logs: the interaction log's key stands for them.
        actor = None if user is None else services.stats.key_of(user.id)
        role, key = "resident", "poll.not_staff"
        log.info("refused /%s to a resident: not staff", command)
    await services.audit.record(actor, "refused", {"command": command, "role": role})
    text = await services.text_for(user, key)
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_text(text)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return True


# -- Góp ý – phản ánh: telling the people of a case -------------------------------------------


async def tell_reporter(bot: ExtBot[None], services: Services, change: Change) -> Told:
    """Send the reporter what they are told of `change` (`bot.views.cases.resident_notice`),
    on their channel and by its rules: on Telegram in their private chat; on Zalo inside the
    interaction window, else held for their next message (`bot.zalo.notices.tell`). NO_ONE
    when there is nothing to tell, nobody to tell (forgotten), or Telegram refused (blocked:
    logged, not raised)."""
    case = change.case
    view = resident_notice(services.catalog, change)
    if view is None or case.reporter is None:
        return Told.NO_ONE
    if case.channel == ZALO:
        return await zalo_notices.tell(services, change)
    if case.channel != "telegram":
        log.warning("no way to tell a reporter on channel %s of %s", case.channel, case.number)
        return Told.NO_ONE
    text, keyboard = render(view)
    try:
        await bot.send_message(case.reporter.chat_id, text, reply_markup=keyboard)
    except (Forbidden, BadRequest) as exc:
        log.info(
            "could not tell %s of %s (%s): %s",
            services.who(case.reporter.chat_id), case.number, change.kind, exc,
        )  # fmt: skip
        return Told.NO_ONE
    return Told.SENT


async def send_case_photos(
    bot: ExtBot[None], services: Services, chat_id: int, case: Case, *, numbered: bool = False
) -> None:
    """A case's photos to a staff member's chat, by the messenger's reference (never
    downloaded): Telegram's file ids, or a Zalo photo's address, which Telegram fetches itself;
    if Telegram cannot fetch those, their addresses as links. An album for several, or one by
    one with their position (`numbered`)."""
    if not case.photos:
        return
    try:
        if numbered or len(case.photos) == 1:
            for position, photo in enumerate(case.photos, 1):
                caption = f"{case.number} · {position}/{len(case.photos)}" if numbered else None
                await bot.send_photo(chat_id, photo, caption=caption or case.number)
        else:
            album = [InputMediaPhoto(ref) for ref in case.photos]
            album[0] = InputMediaPhoto(case.photos[0], caption=case.number)
            await bot.send_media_group(chat_id, album)
    except BadRequest as exc:
        if case.channel == "telegram":
            raise
        # Zalo's addresses Telegram could not fetch (a private or expired link): the links.
        log.info("Telegram could not show %s's photos by address: %s", case.number, exc)
        lang = await services.casework.language(chat_id)
        links = "\n".join(f'<a href="{html.escape(url)}">{position}</a>'
                          for position, url in enumerate(case.photos, 1))  # fmt: skip
        text = services.catalog.text(
            "cases.staff_photo_links", lang, number=case.number, links=SafeHtml(links)
        )
        await bot.send_message(chat_id, text)


async def tell_case(
    bot: ExtBot[None], services: Services, chat_id: int, view: View, case: Case
) -> bool:
    """Send a staff member a case: the view, then its photos (an album) and its location.
    False when Telegram refused (a staff member who never opened the bot: logged)."""
    text, keyboard = render(view)
    try:
        await bot.send_message(chat_id, text, reply_markup=keyboard)
        await send_case_photos(bot, services, chat_id, case)
        if case.location is not None:
            await bot.send_location(chat_id, *case.location)
    except TelegramError as exc:
        log.info("could not send %s to staff %s: %s", case.number, services.who(chat_id), exc)
        return False
    return True


async def tell_staff(bot: ExtBot[None], services: Services, case: Case) -> int:
    """Send a new case, with its photos and location and the channel it came by, to the staff
    who handle its topic (or every staff member); how many were reached. Whatever the
    resident's channel: staff work on Telegram."""
    topic = await services.cases.topic(case.topic_id)
    reached = 0
    for staff_id in await services.cases.handlers_of(case.topic_id):
        lang = await services.casework.language(staff_id)
        view = staff_new_case_view(services.catalog, lang, case, topic, services.settings.tz)
        reached += await tell_case(bot, services, staff_id, view, case)
    return reached


async def tell_reopened(bot: ExtBot[None], services: Services, case: Case) -> None:
    """A resident not satisfied: the case is the staff's again. Its assignee is told (or, with
    nobody assigned, the staff who handle its topic)."""
    for staff_id in await services.casework.to_tell_of_reopened(case):
        lang = await services.casework.language(staff_id)
        text = services.catalog.text("cases.staff_reopened", lang, number=case.number)
        try:
            await bot.send_message(staff_id, text)
        except TelegramError as exc:
            log.info("could not tell staff %s of %s: %s", services.who(staff_id), case.number, exc)


async def message_staff(bot: ExtBot[None], services: Services, chat_id: int, view: View) -> bool:
    """Send a view to a staff member's private chat; False if Telegram refuses (never opened
    the bot, blocked it: logged). Any other failure (the network, a 5xx) is raised."""
    text, keyboard = render(view)
    try:
        await bot.send_message(chat_id, text, reply_markup=keyboard)
    except (Forbidden, BadRequest) as exc:
        log.info("cannot message %s: %s", services.who(chat_id), exc)
        return False
    return True


async def private_name(bot: ExtBot[None], services: Services, user_id: int) -> str:
    """The name Telegram gives a person in their private chat with the bot now, or "" if the
    bot cannot see their chat (an owner not on the staff list is named this way; /staff names
    a person added by their id so)."""
    try:
        chat = await bot.get_chat(user_id)
    except TelegramError as exc:
        log.info("no name from Telegram for %s: %s", services.who(user_id), exc)
        return ""
    return (chat.full_name or "") if chat.type == ChatType.PRIVATE else ""
