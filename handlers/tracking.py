"""Bookkeeping that runs before every handler: who was seen, and the interaction log."""

from __future__ import annotations

import logging

from telegram import Update

from bot.callbacks import (
    CallbackError,
    DraftAction,
    ListPage,
    OpenArticle,
    SearchPage,
    SetLanguage,
    ShowCategories,
    ShowResults,
    StopSubscription,
    SubscribeStep,
    Vote,
    decode,
)
from bot.commands import KNOWN_COMMANDS
from bot.context import BotContext
from storage.stats import Interaction

__all__ = ["KNOWN_COMMANDS", "describe", "remember_user"]

log = logging.getLogger(__name__)

_BUTTON_KINDS: dict[type, str] = {
    ListPage: "list_page",
    SearchPage: "search_page",
    SetLanguage: "set_language",
    ShowCategories: "categories",
    DraftAction: "poll_draft",
    SubscribeStep: "subscription",
    StopSubscription: "subscription",
}


def describe(update: Update) -> Interaction:
    """What the update was, for the log: its kind, target and chat type, never its text."""
    chat = update.effective_chat
    chat_type = chat.type if chat is not None else None
    if update.callback_query is not None:
        return _button(update.callback_query.data, chat_type, update.update_id)
    if update.inline_query is not None:
        return Interaction("inline_query", None, update.inline_query.chat_type, update.update_id)
    if update.chosen_inline_result is not None:
        return Interaction("inline_chosen", None, None, update.update_id)
    message = update.message or update.edited_message
    if message is not None:
        text = message.text or ""
        if text.startswith("/"):
            words = text[1:].split(maxsplit=1)
            name = words[0].split("@", 1)[0].lower() if words else ""
            kind = f"cmd:{name}" if name in KNOWN_COMMANDS else "cmd:other"
            return Interaction(kind, None, chat_type, update.update_id)
        return Interaction("message", None, chat_type, update.update_id)
    if update.my_chat_member is not None:
        return Interaction("membership", None, chat_type, update.update_id)
    return Interaction("other", None, chat_type, update.update_id)


def _button(data: object, chat_type: str | None, update_id: int) -> Interaction:
    """A button press, by the kind of its data and the article or poll it points at."""
    try:
        payload = decode(data)
    except CallbackError:
        return Interaction("button:stale", None, chat_type, update_id)
    if isinstance(payload, OpenArticle):
        # Only the first view is an opening: turning its pages must not make it "most read".
        kind = "article_open" if payload.page == 0 else "article_page"
        return Interaction(kind, payload.article_id, chat_type, update_id)
    if isinstance(payload, Vote):
        return Interaction("vote", payload.poll, chat_type, update_id)
    if isinstance(payload, ShowResults):
        return Interaction("poll_results", payload.poll, chat_type, update_id)
    kind = _BUTTON_KINDS.get(type(payload), f"button:{payload.prefix}")
    return Interaction(kind, None, chat_type, update_id)


async def remember_user(update: object, context: BotContext) -> None:
    """Record the user and the interaction; a failure here must never stop the reply."""
    if not isinstance(update, Update):
        return
    user = update.effective_user
    if user is not None:
        try:
            await context.services.seen(user.id)
        except Exception:
            log.exception("could not record user activity")
    try:
        await context.services.stats.record(describe(update), None if user is None else user.id)
    except Exception:
        log.exception("could not log the interaction")
