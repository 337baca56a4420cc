"""/subscribe, /settings and /unsubscribe: what news a chat receives, how and when.

The dialog is a few taps under one message, edited in place: what (all news, or chosen
categories), how (an alert for each new article, a daily digest at a chosen hour, or a weekly one
on a chosen day), then a confirmation that says in words what will come and how to stop. Its
state travels in the buttons (`SubscribeStep`), so a message's buttons work after a restart; where
each person's dialog stands, and the choices last offered, are also held on the bot's side
(`bot.services.subscribing`, in the `dialogs` table) for a front end without buttons. A
subscription belongs to the chat: in a group only the group's administrators may change it, and
its language is that of the person who set it.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    Chat,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.adapter import edit, markup, opening
from bot.callbacks import MAX_MASK_ID, StopSubscription, SubscribeStep
from bot.context import BotContext, Services
from bot.i18n import Catalog
from bot.views import View
from bot.views.subscriptions import (
    OFFERED_HOURS,
    WEEKLY_HOUR,
    describe,
    described,
    none_view,
    nothing_to_stop_view,
    settings_view,
    step_view,
    stop_view,
    what_view,
)
from storage.articles import Category
from storage.subscriptions import Mode, Saved, Subscription

__all__ = [
    "MAX_CATEGORY_BUTTONS",
    "OFFERED_HOURS",
    "WEEKLY_HOUR",
    "describe",
    "may_change",
    "on_step",
    "on_stop",
    "settings_command",
    "subscribe_command",
    "unsubscribe_command",
]

log = logging.getLogger(__name__)

# An inline keyboard holds at most 100 buttons: the categories, then "Done" and "Cancel".
MAX_CATEGORY_BUTTONS = 90
# Telegram shows at most 200 characters in a tap's answer.
_ANSWER_CHARS = 200


# -- who may change a chat's subscription -----------------------------------------------------


async def may_change(
    bot: ExtBot[None], chat: Chat, user: User | None, message: Message | None = None
) -> bool:
    """Anyone in their private chat; in a group, only its administrators."""
    if chat.type == ChatType.PRIVATE:
        return True
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return False
    if message is not None and message.sender_chat is not None:
        # An anonymous administrator writes as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except BadRequest as exc:
        log.info("could not check a member of a %s: %s", chat.type, exc)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


# -- commands ---------------------------------------------------------------------------------


async def _categories(services: Services) -> tuple[list[Category], dict[int, str]]:
    """The categories a dialog offers (those a button can carry), and every category's name."""
    every = await services.reading.categories()
    offered = [c for c in every if c.category_id <= MAX_MASK_ID][:MAX_CATEGORY_BUTTONS]
    return offered, {c.category_id: c.name for c in every}


def _group(chat: Chat) -> bool:
    return chat.type != ChatType.PRIVATE


async def subscribe_command(update: Update, context: BotContext) -> None:
    """/subscribe: start the dialog, or show the subscription the chat already has."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None:
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(user)
    if not await may_change(context.bot, chat, user, message):
        await message.reply_text(catalog.text("subscribe.admins_only", lang))
        return
    current = await services.subscriptions.get(chat.id)
    offered, names = await _categories(services)
    if current is None:
        view = what_view(catalog, lang, offered, None)
        if user is not None:
            await services.subscribing.shown(chat.id, user.id, SubscribeStep("what"), view)
    else:
        view = settings_view(catalog, lang, current, names, _group(chat))
    await message.reply_text(view.text, reply_markup=markup(view))


async def settings_command(update: Update, context: BotContext) -> None:
    """/settings: the chat's subscription in words, with buttons to change or stop it."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    current = await services.subscriptions.get(chat.id)
    if current is None:
        view = none_view(services.catalog, lang, _group(chat))
    else:
        _, names = await _categories(services)
        view = settings_view(services.catalog, lang, current, names, _group(chat))
    await message.reply_text(view.text, reply_markup=markup(view))


async def unsubscribe_command(update: Update, context: BotContext) -> None:
    """/unsubscribe: one confirming tap stops the news."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None:
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(user)
    if not await may_change(context.bot, chat, user, message):
        await message.reply_text(catalog.text("subscribe.admins_only", lang))
        return
    if await services.subscriptions.get(chat.id) is None:
        view = nothing_to_stop_view(catalog, lang, _group(chat))
    else:
        view = stop_view(catalog, lang, _group(chat))
    await message.reply_text(view.text, reply_markup=markup(view))


# -- taps -------------------------------------------------------------------------------------


def _plain(catalog: Catalog, lang: str, key: str) -> str:
    """A text for a tap's answer (plain text, at most 200 characters)."""
    return catalog.text(key, lang)[:_ANSWER_CHARS]


async def _edit(query: CallbackQuery, view: View) -> None:
    """Turn the tapped message into `view` (a second tap on a button already acted upon shows
    the same: not an error)."""
    await edit(query, view.text, markup(view))


async def _tapped_chat(query: CallbackQuery, context: BotContext, lang: str) -> Chat | None:
    """The chat of the tapped message if the tapper may change its subscription; else None.

    A refusal is answered here: the button stops spinning with the reason.
    """
    catalog = context.services.catalog
    if query.message is None:
        await query.answer(_plain(catalog, lang, "errors.stale_button"), show_alert=True)
        return None
    chat = query.message.chat
    if not await may_change(context.bot, chat, query.from_user):
        log.info("refused a subscription change in a %s: not an administrator", chat.type)
        await query.answer(_plain(catalog, lang, "subscribe.admins_only"), show_alert=True)
        return None
    return chat


async def on_step(update: Update, context: BotContext) -> None:
    """A tap in the /subscribe dialog: show the next step, or save the subscription."""
    opened = await opening(update, context, SubscribeStep)
    if opened is None:
        return
    query, tap, lang = opened.query, opened.data, opened.lang
    services = context.services
    catalog = services.catalog
    chat = await _tapped_chat(query, context, lang)
    if chat is None:
        return
    if tap.step == "cancel":
        await services.subscribing.end(chat.id, opened.user.id)
        await query.answer()
        await _edit(query, View(catalog.text("subscribe.cancelled", lang)))
        return
    offered, names = await _categories(services)
    chosen = tap.chosen
    known = {category.category_id for category in offered}
    if not chosen <= known or (tap.step == "toggle" and tap.value not in known):
        # A category that is not offered: forged, or from a database that has changed since.
        await query.answer(_plain(catalog, lang, "errors.stale_button"), show_alert=True)
        return
    if tap.step == "how" and not tap.every and not chosen:
        await query.answer(_plain(catalog, lang, "subscribe.need_category"), show_alert=True)
        return
    if tap.step in ("instant", "hour", "day"):
        await _save(query, context, chat, tap, lang, names)
        return
    current = await services.subscriptions.get(chat.id)
    view = step_view(catalog, lang, tap, offered, names, current)
    # Where the dialog stands is kept on the bot's side too (see bot.services.subscribing).
    await services.subscribing.shown(chat.id, opened.user.id, tap, view)
    # Answer first so the button stops spinning, then turn the message to the next step.
    await query.answer()
    await _edit(query, view)


async def _save(
    query: CallbackQuery,
    context: BotContext,
    chat: Chat,
    tap: SubscribeStep,
    lang: str,
    names: dict[int, str],
) -> None:
    """The last tap: store the subscription and say in words what will come."""
    mode: Mode = "instant" if tap.step == "instant" else "daily" if tap.step == "hour" else "weekly"
    subscription = Subscription(
        chat_id=chat.id,
        mode=mode,
        hour=tap.value if mode == "daily" else WEEKLY_HOUR,
        weekday=tap.value if mode == "weekly" else 0,
        all_categories=tap.every,
        category_ids=frozenset() if tap.every else tap.chosen,
        language=lang,  # the language of whoever set it
    )
    saved = await context.services.subscriptions.save(subscription)
    await context.services.subscribing.end(chat.id, query.from_user.id)
    log.info("subscription %s in a %s: %s", saved.value, chat.type, mode)
    await query.answer()
    catalog = context.services.catalog
    key = "subscribe.saved" if saved is Saved.NEW else "subscribe.changed"
    await _edit(
        query, View(catalog.text(key, lang, **described(catalog, lang, subscription, names)))
    )


async def on_stop(update: Update, context: BotContext) -> None:
    """ "Stop" under /settings asks; "Stop" under the question stops; "No" keeps."""
    opened = await opening(update, context, StopSubscription)
    if opened is None:
        return
    query, action, lang = opened.query, opened.data.action, opened.lang
    services = context.services
    catalog = services.catalog
    chat = await _tapped_chat(query, context, lang)
    if chat is None:
        return
    await query.answer()
    group = _group(chat)
    if action == "no":
        view = View(catalog.text("subscribe.kept", lang))
    elif action == "ask":
        exists = await services.subscriptions.get(chat.id) is not None
        view = (
            stop_view(catalog, lang, group)
            if exists
            else nothing_to_stop_view(catalog, lang, group)
        )
    elif await services.subscriptions.delete(chat.id):
        log.info("subscription stopped in a %s", chat.type)
        view = View(catalog.text("subscribe.stopped_group" if group else "subscribe.stopped", lang))
    else:
        view = nothing_to_stop_view(catalog, lang, group)
    await _edit(query, view)
