"""Góp ý – phản ánh, the residents' side on Telegram: /gopy (and the main menu's button),
/phananh, the rating under the commune's answer, and telling staff of a new case (the staff's
/casetopics is `handlers.casetopics`).

The dialog's steps are `bot.services.reporting` (its draft in the `dialogs` table: a restart
loses nothing); this module parses what Telegram brings — a tap, a text, a photo (its file id,
never downloaded), a location, a contact shared with Telegram's own button — and shows the
view. At the location and phone steps a reply keyboard offers Telegram's "send location" and
"share contact" buttons; the main menu comes back when the dialog ends. Nothing about a case
happens in a group: there the commands answer politely that reports are taken in private.
"""

from __future__ import annotations

import logging

from telegram import (
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.ext import filters

from bot.adapter import Tap, markup, opening, tell_reopened, tell_staff
from bot.callbacks import RateCase, ReportAction
from bot.context import BotContext, Services
from bot.services.cases import Refusal, Reporter
from bot.services.reporting import Prompt
from bot.views import View
from bot.views.cases import (
    labels,
    mine_view,
    rated_view,
    refusal_view,
    report_view,
    sent_view,
    word_view,
)

__all__ = [
    "InDialog",
    "cancel_command",
    "gopy_command",
    "on_message",
    "on_rate",
    "on_report_button",
    "phananh_command",
]

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# The steps whose question comes with a reply keyboard (Telegram's request buttons).
_REPLY_STEPS = {"location": "cases.button_location", "phone": "cases.button_phone"}


def _reporter(user: User, chat_id: int) -> Reporter:
    return Reporter(CHANNEL, chat_id, user.id)


class InDialog(filters.MessageFilter):
    """Messages of a resident writing a report (or, with `words`, whose word about a rating is
    awaited), in their private chat."""

    def __init__(self, services: Services, *, words: bool) -> None:
        super().__init__(name="in the /gopy dialog")
        self._services = services
        self._words = words

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None or message.chat.type != ChatType.PRIVATE:
            return False
        reporting = self._services.reporting
        if reporting.is_reporting(message.chat.id, user.id):
            return True
        return self._words and reporting.is_wording(message.chat.id, user.id)


async def _private(update: Update, context: BotContext) -> tuple[Message, User, str] | None:
    """The message, its sender and their language, in a private chat; in a group, the polite
    refusal (nothing about a case is said there) and None."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return None
    lang = await context.services.language_of(user)
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(context.services.catalog.text("cases.private_only", lang))
        return None
    return message, user, lang


async def _show(context: BotContext, message: Message, lang: str, prompt: Prompt) -> None:
    """The dialog's message for the step it stands at."""
    services = context.services
    cases = services.cases
    draft = prompt.draft
    topics = await cases.topics() if draft.step == "topic" else []
    topic = await cases.topic(draft.topic_id) if draft.topic_id else None
    view = report_view(services.catalog, lang, prompt, topics, topic)
    request = _REPLY_STEPS.get(draft.step)
    if request is None:
        await message.reply_text(view.text, reply_markup=markup(view))
        return
    # Telegram's own buttons: the location or the contact of the person themselves.
    catalog = services.catalog
    ask = KeyboardButton(
        catalog.text(request, lang),
        request_location=draft.step == "location",
        request_contact=draft.step == "phone",
    )
    keyboard = ReplyKeyboardMarkup(
        [
            [ask],
            [catalog.text("cases.button_skip", lang), catalog.text("cases.button_cancel", lang)],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.reply_text(view.text, reply_markup=keyboard)


def _menu(context: BotContext, lang: str) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """The main menu back, after the dialog's own keyboard."""
    main_menu = context.bot_data.main_menu
    return main_menu(lang) if main_menu is not None else ReplyKeyboardRemove()


async def gopy_command(update: Update, context: BotContext) -> None:
    """/gopy (and the main menu's button): begin a report, unless a limit is reached."""
    opened = await _private(update, context)
    if opened is None:
        return
    message, user, lang = opened
    begun = await context.services.reporting.begin(_reporter(user, message.chat.id), lang)
    if isinstance(begun, Refusal):
        await message.reply_text(refusal_view(context.services.catalog, lang, begun).text)
        return
    await _show(context, message, lang, begun)


async def phananh_command(update: Update, context: BotContext) -> None:
    """/phananh: the person's reports and where each stands."""
    opened = await _private(update, context)
    if opened is None:
        return
    message, user, lang = opened
    services = context.services
    mine = await services.cases.mine(CHANNEL, user.id)
    topics = await services.cases.topics_by_id()
    view = mine_view(services.catalog, lang, mine, topics, services.settings.tz)
    await message.reply_text(view.text)


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel while writing a report."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = await context.services.language_of(user)
    await context.services.reporting.cancel(message.chat.id, user.id)
    text = context.services.catalog.text("cases.cancelled", lang)
    await message.reply_text(text, reply_markup=_menu(context, lang))


async def on_report_button(update: Update, context: BotContext) -> None:
    """A button of the dialog: a topic, "skip"/"done", "send", "cancel"."""
    tap = await opening(update, context, ReportAction)
    if tap is None or tap.message is None:
        return
    services = context.services
    catalog, lang, data = services.catalog, tap.lang, tap.data
    reporting = services.reporting
    chat_id, user = tap.message.chat.id, tap.user
    stale = catalog.text("errors.stale_button", lang)
    if data.action == "cancel":
        if not await reporting.cancel(chat_id, user.id):
            await tap.query.answer(stale, show_alert=True)
            return
        await tap.query.answer()
        await tap.query.edit_message_reply_markup(None)
        await tap.message.reply_text(
            catalog.text("cases.cancelled", lang), reply_markup=_menu(context, lang)
        )
        return
    if data.action == "send":
        await _send(context, tap.message, user, lang, tap)
        return
    if data.action == "topic":
        prompt = await reporting.choose_topic(chat_id, user.id, data.value)
    else:
        prompt = await reporting.skip(chat_id, user.id, data.step)
    if prompt is None:
        await tap.query.answer(stale, show_alert=True)
        return
    await tap.query.answer()
    # The tapped question is answered: its buttons go, the next step follows below it.
    await tap.query.edit_message_reply_markup(None)
    await _show(context, tap.message, lang, prompt)


async def _send(
    context: BotContext, message: Message, user: User, lang: str, tap: Tap[ReportAction]
) -> None:
    """ "Gửi": the case is stored, the resident gets its number, the staff are told."""
    services = context.services
    catalog = services.catalog
    sent = await services.reporting.send(_reporter(user, message.chat.id))
    if sent is None:
        await tap.query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
        return
    await tap.query.answer()
    await tap.query.edit_message_reply_markup(None)
    if isinstance(sent, Refusal):
        view = refusal_view(catalog, lang, sent)
        await message.reply_text(view.text, reply_markup=_menu(context, lang))
        return
    log.info("case %s received from %s", sent.number, services.who(user.id))
    await message.reply_text(sent_view(catalog, lang, sent).text, reply_markup=_menu(context, lang))
    await tell_staff(context.bot, services, sent)


async def on_message(update: Update, context: BotContext) -> None:
    """What a resident sends while writing a report (or their word after a rating)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    reporting = services.reporting
    chat_id = message.chat.id
    lang = await services.language_of(user)
    catalog = services.catalog
    if not reporting.is_reporting(chat_id, user.id):
        if message.text is not None and reporting.is_wording(chat_id, user.id):
            kept = await reporting.take_word(_reporter(user, chat_id), message.text)
            await message.reply_text(word_view(catalog, lang, kept is not None).text)
        return
    text = message.text
    if text is not None and text in labels(catalog, "cases.button_cancel"):
        await cancel_command(update, context)
        return
    draft = reporting.draft(chat_id, user.id)
    step = draft.step if draft is not None else None
    prompt: Prompt | None
    skipping = text is not None and text in labels(catalog, "cases.button_skip")
    if skipping and step is not None and step in _REPLY_STEPS:
        prompt = await reporting.skip(chat_id, user.id, step)
    elif text is not None:
        prompt = await reporting.take_text(chat_id, user.id, text)
    elif message.photo:
        prompt = await reporting.take_photo(chat_id, user.id, message.photo[-1].file_id)
        if prompt is not None and step == "description" and message.caption:
            # A photo with its caption: the caption is the description.
            prompt = await reporting.take_text(chat_id, user.id, message.caption)
    elif message.location is not None:
        location = message.location
        prompt = await reporting.take_location(
            chat_id, user.id, location.latitude, location.longitude
        )
    elif message.contact is not None:
        contact = message.contact
        if contact.user_id != user.id:
            # Only the person's own number, as Telegram vouches for it; never someone else's.
            prompt = Prompt(draft, "phone_use_button") if draft is not None else None
        else:
            prompt = await reporting.take_phone(chat_id, user.id, contact.phone_number)
    else:
        prompt = Prompt(draft, "use_buttons") if draft is not None else None
    if prompt is None:
        await message.reply_text(catalog.text("cases.expired", lang))
        return
    await _show(context, message, lang, prompt)


async def on_rate(update: Update, context: BotContext) -> None:
    """Under the commune's answer: satisfied (closes) or not (reopens); then "skip" a word."""
    tap = await opening(update, context, RateCase)
    if tap is None or tap.message is None:
        return
    services = context.services
    catalog, lang, data = services.catalog, tap.lang, tap.data
    chat_id, user = tap.message.chat.id, tap.user
    reporting = services.reporting
    if data.answer == "skip":
        if not await reporting.drop_word(chat_id, user.id, data.case_id):
            await tap.query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
            return
        await tap.query.answer()
        await tap.query.edit_message_text(word_view(catalog, lang, False).text)
        return
    if tap.message.chat.type != ChatType.PRIVATE:
        change = None
    else:
        reporter = _reporter(user, chat_id)
        change = await services.cases.rate(data.case_id, reporter, data.answer == "yes")
    if change is None:
        await tap.query.answer(catalog.text("errors.stale_button", lang), show_alert=True)
        return
    await tap.query.answer()
    await tap.query.edit_message_reply_markup(None)
    await reporting.await_word(chat_id, user.id, change.case.case_id)
    view: View = rated_view(catalog, lang, change)
    await tap.message.reply_text(view.text, reply_markup=markup(view))
    if change.kind == "reopened":
        await tell_reopened(context.bot, services, change.case)
