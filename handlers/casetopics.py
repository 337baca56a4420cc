"""/casetopics on Telegram: the topics residents choose from in /gopy, and who handles each
(staff only). With `add`, `rename`, `off`, `on`, `handle`, `unhandle`, a change first.

What a change does and what to say of it is `bot.services.casework.Casework.change_topics`
(each change in the audit log, by `bot.services.cases`); the list is
`bot.views.cases.topics_view`.
"""

from __future__ import annotations

from telegram import Update

from bot.adapter import refused
from bot.context import BotContext
from bot.views.cases import topics_view

__all__ = ["casetopics_command"]


async def casetopics_command(update: Update, context: BotContext) -> None:
    """/casetopics: the topics residents choose from, and who handles each (staff); with
    `add`, `rename`, `off`, `on`, `handle`, `unhandle`, a change first."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or await refused(update, context, "casetopics"):
        return
    services = context.services
    catalog, casework = services.catalog, services.casework
    lang = await services.language_of(user)
    args = list(context.args or [])
    said: str | None = None
    if args:
        key, values = await casework.change_topics(user.id, args)
        said = catalog.text(key, lang, **values)
    topics, handlers, days = await casework.topics_overview()
    view = topics_view(catalog, lang, topics, handlers, days)
    text = view.text if said is None else f"{said}\n\n{view.text}"
    await message.reply_text(text)
