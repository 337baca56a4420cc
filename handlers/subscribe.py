"""/subscribe, /settings and /unsubscribe: what news a chat receives, how and when.

The dialog is a few taps under one message, edited in place: what (all news, or chosen
categories), how (an alert for each new article, a daily digest at a chosen hour, or a weekly one
on a chosen day), then a confirmation that says in words what will come and how to stop. Its
state travels in the buttons (`SubscribeStep`), so nothing waits in memory between taps and a
dialog survives a restart. A subscription belongs to the chat: in a group only the group's
administrators may change it, and its language is that of the person who set it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.callbacks import MAX_MASK_ID, StopSubscription, SubscribeStep, SubscribeStepName
from bot.context import BotContext, Services
from bot.i18n import Catalog
from storage.articles import Category
from storage.subscriptions import DEFAULT_HOUR, Mode, Saved, Subscription

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

# Hours a daily digest can come at: early morning, the usual 07:00, noon, evening, night.
OFFERED_HOURS = (6, 7, 12, 18, 20)
WEEKLY_HOUR = DEFAULT_HOUR  # a weekly digest comes in the morning of its day
# An inline keyboard holds at most 100 buttons: the categories, then "Done" and "Cancel".
MAX_CATEGORY_BUTTONS = 90
# Telegram shows at most 200 characters in a tap's answer.
_ANSWER_CHARS = 200


@dataclass(frozen=True, slots=True)
class View:
    """A message's text and buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


# -- what the dialog shows --------------------------------------------------------------------


def _step(label: str, step: SubscribeStep | StopSubscription) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=step.pack())


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def clock(hour: int) -> str:
    """An hour as residents read it: 07:00."""
    return f"{hour:02d}:00"


def describe(
    catalog: Catalog,
    lang: str,
    mode: Mode,
    hour: int,
    weekday: int,
    every: bool,
    chosen: Iterable[int],
    names: dict[int, str],
) -> dict[str, str]:
    """What a subscription brings and when, in words: the `what` and `when` of a text."""
    if every:
        what = catalog.text("subscribe.what_all", lang)
    else:
        listed = sorted(names.get(category, f"#{category}") for category in chosen)
        what = catalog.text("subscribe.what_some", lang, names=", ".join(listed))
    if mode == "instant":
        when = catalog.text("subscribe.when_instant", lang)
    elif mode == "daily":
        when = catalog.text("subscribe.when_daily", lang, time=clock(hour))
    else:
        day = catalog.text("subscribe.weekdays", lang).split("|")[weekday]
        when = catalog.text("subscribe.when_weekly", lang, day=day, time=clock(hour))
    return {"what": what, "when": when}


def _described(
    catalog: Catalog, lang: str, subscription: Subscription, names: dict[int, str]
) -> dict[str, str]:
    return describe(
        catalog,
        lang,
        subscription.mode,
        subscription.hour,
        subscription.weekday,
        subscription.all_categories,
        subscription.category_ids,
        names,
    )


def _cancel(catalog: Catalog, lang: str) -> InlineKeyboardButton:
    return _step(catalog.text("subscribe.cancel_button", lang), SubscribeStep("cancel"))


def what_view(
    catalog: Catalog, lang: str, offered: Sequence[Category], current: Subscription | None
) -> View:
    """Step 1: all news, or chosen categories (those of the current subscription ticked)."""
    rows = [[_step(catalog.text("subscribe.all_button", lang), SubscribeStep("how", every=True))]]
    if offered:
        kept = () if current is None else current.category_ids
        cats = SubscribeStep.mask(c for c in kept if c <= MAX_MASK_ID)
        pick = SubscribeStep("pick", cats=cats)
        rows.append([_step(catalog.text("subscribe.pick_button", lang), pick)])
    rows.append([_cancel(catalog, lang)])
    return View(catalog.text("subscribe.ask_what", lang), InlineKeyboardMarkup(rows))


def categories_view(
    catalog: Catalog, lang: str, offered: Sequence[Category], chosen: frozenset[int]
) -> View:
    """The categories as toggles, ✅ on the chosen ones, then "Done"."""
    cats = SubscribeStep.mask(chosen)
    rows = [
        [
            _step(
                f"✅ {category.name}" if category.category_id in chosen else category.name,
                SubscribeStep("toggle", cats=cats, value=category.category_id),
            )
        ]
        for category in offered
    ]
    done = _step(catalog.text("subscribe.done_button", lang), SubscribeStep("how", cats=cats))
    rows.append([done, _cancel(catalog, lang)])
    text = catalog.text("subscribe.ask_categories", lang, count=len(chosen))
    return View(text, InlineKeyboardMarkup(rows))


def how_view(
    catalog: Catalog, lang: str, every: bool, chosen: frozenset[int], names: dict[int, str]
) -> View:
    """Step 2: at once, daily or weekly."""
    cats = SubscribeStep.mask(chosen)
    modes: tuple[SubscribeStepName, ...] = ("instant", "daily", "weekly")
    rows = [
        [_step(catalog.text(f"subscribe.{mode}_button", lang), SubscribeStep(mode, every, cats))]
        for mode in modes
    ]
    rows.append([_cancel(catalog, lang)])
    what = describe(catalog, lang, "instant", 0, 0, every, chosen, names)["what"]
    return View(catalog.text("subscribe.ask_how", lang, what=what), InlineKeyboardMarkup(rows))


def hour_view(catalog: Catalog, lang: str, tap: SubscribeStep, marked: int) -> View:
    """The hours a daily digest can come at; `marked` (current or default) has a ✅."""
    hours = [
        _step(
            f"✅ {clock(hour)}" if hour == marked else clock(hour),
            SubscribeStep("hour", tap.every, tap.cats, hour),
        )
        for hour in OFFERED_HOURS
    ]
    rows = [*_rows(hours, 3), [_cancel(catalog, lang)]]
    return View(catalog.text("subscribe.ask_hour", lang), InlineKeyboardMarkup(rows))


def day_view(catalog: Catalog, lang: str, tap: SubscribeStep, marked: int | None) -> View:
    """The days of the week; `marked` (the current one, if weekly) has a ✅."""
    names = catalog.text("subscribe.weekdays", lang).split("|")
    days = [
        _step(
            f"✅ {name}" if day == marked else name,
            SubscribeStep("day", tap.every, tap.cats, day),
        )
        for day, name in enumerate(names)
    ]
    rows = [*_rows(days, 2), [_cancel(catalog, lang)]]
    text = catalog.text("subscribe.ask_day", lang, time=clock(WEEKLY_HOUR))
    return View(text, InlineKeyboardMarkup(rows))


def settings_view(
    catalog: Catalog, lang: str, subscription: Subscription, names: dict[int, str], group: bool
) -> View:
    """The current subscription in words, with "Change" and "Stop"."""
    key = "subscribe.settings_group" if group else "subscribe.settings"
    text = catalog.text(key, lang, **_described(catalog, lang, subscription, names))
    markup = InlineKeyboardMarkup(
        [
            [
                _step(catalog.text("subscribe.change_button", lang), SubscribeStep("what")),
                _step(catalog.text("subscribe.stop_button", lang), StopSubscription("ask")),
            ]
        ]
    )
    return View(text, markup)


def none_view(catalog: Catalog, lang: str, group: bool) -> View:
    """No subscription yet: a button to start one."""
    button = _step(catalog.text("subscribe.subscribe_button", lang), SubscribeStep("what"))
    key = "subscribe.none_group" if group else "subscribe.none"
    return View(catalog.text(key, lang), InlineKeyboardMarkup([[button]]))


def stop_view(catalog: Catalog, lang: str, group: bool) -> View:
    """Are you sure? One tap stops."""
    key = "subscribe.stop_ask_group" if group else "subscribe.stop_ask"
    markup = InlineKeyboardMarkup(
        [
            [_step(catalog.text("subscribe.stop_button", lang), StopSubscription("yes"))],
            [_step(catalog.text("subscribe.keep_button", lang), StopSubscription("no"))],
        ]
    )
    return View(catalog.text(key, lang), markup)


def _nothing_to_stop(catalog: Catalog, lang: str, group: bool) -> View:
    key = "subscribe.nothing_to_stop_group" if group else "subscribe.nothing_to_stop"
    return View(catalog.text(key, lang))


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
    else:
        view = settings_view(catalog, lang, current, names, _group(chat))
    await message.reply_text(view.text, reply_markup=view.markup)


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
    await message.reply_text(view.text, reply_markup=view.markup)


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
        view = _nothing_to_stop(catalog, lang, _group(chat))
    else:
        view = stop_view(catalog, lang, _group(chat))
    await message.reply_text(view.text, reply_markup=view.markup)


# -- taps -------------------------------------------------------------------------------------


def _plain(catalog: Catalog, lang: str, key: str) -> str:
    """A text for a tap's answer (plain text, at most 200 characters)."""
    return catalog.text(key, lang)[:_ANSWER_CHARS]


async def _edit(query: CallbackQuery, view: View) -> None:
    """Turn the tapped message into `view`."""
    try:
        await query.edit_message_text(view.text, reply_markup=view.markup)
    except BadRequest as exc:
        # A second tap on a button already acted upon shows the same: not an error.
        if "not modified" not in exc.message.lower():
            raise


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
    query = update.callback_query
    if query is None or query.data is None:
        return
    tap = SubscribeStep.unpack(query.data)
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(query.from_user)
    chat = await _tapped_chat(query, context, lang)
    if chat is None:
        return
    if tap.step == "cancel":
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
    if tap.step == "what":
        view = what_view(catalog, lang, offered, current)
    elif tap.step == "pick":
        view = categories_view(catalog, lang, offered, chosen)
    elif tap.step == "toggle":
        view = categories_view(catalog, lang, offered, chosen ^ {tap.value})
    elif tap.step == "how":
        view = how_view(catalog, lang, tap.every, chosen, names)
    elif tap.step == "daily":
        daily = current is not None and current.mode == "daily"
        view = hour_view(catalog, lang, tap, current.hour if daily and current else DEFAULT_HOUR)
    else:  # "weekly"
        weekly = current is not None and current.mode == "weekly"
        view = day_view(catalog, lang, tap, current.weekday if weekly and current else None)
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
    log.info("subscription %s in a %s: %s", saved.value, chat.type, mode)
    await query.answer()
    catalog = context.services.catalog
    key = "subscribe.saved" if saved is Saved.NEW else "subscribe.changed"
    await _edit(
        query, View(catalog.text(key, lang, **_described(catalog, lang, subscription, names)))
    )


async def on_stop(update: Update, context: BotContext) -> None:
    """ "Stop" under /settings asks; "Stop" under the question stops; "No" keeps."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    action = StopSubscription.unpack(query.data).action
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(query.from_user)
    chat = await _tapped_chat(query, context, lang)
    if chat is None:
        return
    await query.answer()
    group = _group(chat)
    if action == "no":
        view = View(catalog.text("subscribe.kept", lang))
    elif action == "ask":
        exists = await services.subscriptions.get(chat.id) is not None
        view = stop_view(catalog, lang, group) if exists else _nothing_to_stop(catalog, lang, group)
    elif await services.subscriptions.delete(chat.id):
        log.info("subscription stopped in a %s", chat.type)
        view = View(catalog.text("subscribe.stopped_group" if group else "subscribe.stopped", lang))
    else:
        view = _nothing_to_stop(catalog, lang, group)
    await _edit(query, view)
