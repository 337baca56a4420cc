"""The satisfaction poll: /poll with one button per option, votes, results, and the staff's tools.

Residents tap an option and the message they tapped turns into the results with their choice
marked. A poll message in a group is seen and tapped by many at once: each tap is answered at
once, but the message itself is redrawn at most once every SHARED_EDIT_SECONDS, always from the
database, so it ends showing what the database holds. Staff (see `handlers.staff`) create polls
with the /newpoll dialog, close them with /closepoll, and get the results as a chart or a CSV file.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, cast

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ExtBot,
    JobQueue,
    MessageHandler,
    filters,
)

from bot import charts
from bot.callbacks import CallbackData, parse_int
from bot.context import BotContext
from bot.export import excel_csv
from bot.i18n import Catalog, SafeHtml
from handlers.buttons import ButtonHandler
from handlers.staff import is_staff, record, refused
from storage.polls import (
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    MIN_OPTIONS,
    PollResults,
    VoteOutcome,
    clean_text,
)

__all__ = [
    "BAR_CELLS",
    "DRAFT_SECONDS",
    "SHARED_EDIT_SECONDS",
    "DraftAction",
    "NewPollDialog",
    "PollMessages",
    "ShowResults",
    "Vote",
    "bar",
    "closepoll_command",
    "handlers",
    "is_staff",  # from handlers.staff, where roles live; kept here for older imports
    "poll_command",
    "pollchart_command",
    "pollcsv_command",
    "results_csv",
    "results_view",
    "vote_view",
]

log = logging.getLogger(__name__)

BAR_CELLS = 10
# Telegram allows about 20 messages a minute in a group: a shared poll message is redrawn at
# most every 5 seconds (12 a minute), leaving room for the group's other messages.
SHARED_EDIT_SECONDS = 5.0
# A /newpoll dialog left alone this long is forgotten, so its text goes back to the search.
DRAFT_SECONDS = 30 * 60
# Telegram shows at most 200 characters in a tap's answer.
_ANSWER_CHARS = 200


# -- button data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vote(CallbackData):
    """A tap on an option: `pv:<poll>:<option>`."""

    prefix: ClassVar[str] = "pv"
    poll: int
    option: int


@dataclass(frozen=True, slots=True)
class ShowResults(CallbackData):
    """ "See results" and "Update results": `pr:<poll>`."""

    prefix: ClassVar[str] = "pr"
    poll: int


DraftActionName = Literal["done", "create", "cancel"]


@dataclass(frozen=True, slots=True)
class DraftAction(CallbackData):
    """A button of the /newpoll dialog: `pn:<action>`."""

    prefix: ClassVar[str] = "pn"
    action: DraftActionName


# -- what residents see -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """A message's text and buttons."""

    text: str
    markup: InlineKeyboardMarkup | None


def bar(count: int, total: int) -> str:
    """A text bar of BAR_CELLS cells, filled in proportion to count/total."""
    filled = round(BAR_CELLS * count / total) if total else 0
    return "█" * filled + "░" * (BAR_CELLS - filled)


def vote_view(catalog: Catalog, lang: str, results: PollResults) -> View:
    """The question with one button per option and "See results"."""
    poll = results.poll
    rows = [
        [InlineKeyboardButton(o.label, callback_data=Vote(poll.poll_id, o.option_id).pack())]
        for o in poll.options
    ]
    rows.append([_results_button(catalog, lang, poll.poll_id, "poll.results_button")])
    return View(
        catalog.text("poll.vote_view", lang, question=poll.question), InlineKeyboardMarkup(rows)
    )


def results_view(catalog: Catalog, lang: str, results: PollResults, *, shared: bool) -> View:
    """Count, percentage and bar per option and the total; the reader's own choice marked.

    A shared message (in a group) is read by many people, so nobody's choice is marked there.
    A closed poll has no buttons: there is nothing left to do with it.
    """
    poll = results.poll
    mine = None if shared else results.choice
    lines = [
        catalog.text(
            "poll.line_mine" if option.option_id == mine else "poll.line",
            lang,
            label=option.label,
            count=count,
            percent=percent,
            bar=bar(count, results.total),
        )
        for option, count, percent in zip(
            poll.options, results.counts, results.percents, strict=True
        )
    ]
    if not poll.is_open:
        footer = "poll.footer_closed"
    elif shared:
        footer = "poll.footer_shared"
    else:
        footer = "poll.footer_mine" if mine is not None else "poll.footer_not_voted"
    text = catalog.text(
        "poll.results_view",
        lang,
        question=poll.question,
        lines=SafeHtml("\n".join(lines)),
        total=results.total,
        footer=SafeHtml(catalog.text(footer, lang)),
    )
    if not poll.is_open:
        return View(text, None)
    rows = [
        [
            InlineKeyboardButton(
                f"✅ {option.label}" if option.option_id == mine else option.label,
                callback_data=Vote(poll.poll_id, option.option_id).pack(),
            )
        ]
        for option in poll.options
    ]
    rows.append([_results_button(catalog, lang, poll.poll_id, "poll.refresh_button")])
    return View(text, InlineKeyboardMarkup(rows))


def _results_button(catalog: Catalog, lang: str, poll_id: int, key: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(catalog.text(key, lang), callback_data=ShowResults(poll_id).pack())


def _plain(catalog: Catalog, lang: str, key: str, /, **values: object) -> str:
    """A text Telegram shows as plain text (a tap's answer, a chart): values go in raw."""
    raw = {name: SafeHtml(str(value)) for name, value in values.items()}
    return catalog.text(key, lang, **raw)[:_ANSWER_CHARS]


def results_csv(catalog: Catalog, lang: str, results: PollResults) -> bytes:
    """The results as a CSV file for Excel."""
    header = [
        catalog.text(f"poll.csv_{column}", lang)
        for column in ("number", "option", "votes", "percent")
    ]
    rows = zip(results.poll.options, results.counts, results.percents, strict=True)
    body = [
        [number, option.label, count, percent]
        for number, (option, count, percent) in enumerate(rows, 1)
    ]
    total = ["", catalog.text("poll.csv_total", lang), results.total, 100 if results.total else 0]
    return excel_csv([header, *body, total])


# -- residents' commands and taps -------------------------------------------------------------


async def poll_command(update: Update, context: BotContext) -> None:
    """Show the current poll: its buttons, or its results once answered or closed."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    user = update.effective_user
    shared = message.chat.type != ChatType.PRIVATE
    # A shared message is read by everyone in the group: it speaks the commune's language.
    lang = services.settings.DEFAULT_LANGUAGE if shared else await services.language_of(user)
    poll = await services.polls.current()
    results = (
        None
        if poll is None
        else await services.polls.results(poll.poll_id, None if shared or user is None else user.id)
    )
    if results is None:
        await message.reply_text(services.catalog.text("poll.none", lang))
        return
    if results.poll.is_open and (shared or results.choice is None):
        view = vote_view(services.catalog, lang, results)
    else:
        view = results_view(services.catalog, lang, results, shared=shared)
    await message.reply_text(view.text, reply_markup=view.markup)


@dataclass(frozen=True, slots=True)
class _Redraw:
    """Which shared message a scheduled redraw is for."""

    chat_id: int
    message_id: int
    poll_id: int


@dataclass
class _Slot:
    """What is known about one poll message: how it is being kept up to date."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    asked: int = 0  # redraws asked for; only the latest one still waiting is done
    pending: bool = False  # a delayed redraw of a shared message is scheduled
    last_edit: float = -math.inf  # time.monotonic() of the last redraw of a shared message
    answered: float = -math.inf  # when Telegram last answered an edit of a shared message
    shown: tuple[str, object] | None = None  # what the message shows now, as far as we know
    used: float = field(default_factory=time.monotonic)  # last tap or redraw


class PollMessages:
    """Answers taps on poll messages and keeps the messages in step with the votes."""

    # Forget messages nobody has tapped for this long: what they show is only an economy of edits.
    _IDLE_SECONDS = 15 * 60

    def __init__(self) -> None:
        self._slots: dict[tuple[int, int], _Slot] = {}

    async def on_vote(self, update: Update, context: BotContext) -> None:
        """Record the resident's choice, say what happened, and show the results."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        tap = Vote.unpack(query.data)
        services = context.services
        catalog = services.catalog
        user = query.from_user
        lang = await services.language_of(user)
        result = await services.polls.vote(tap.poll, user.id, tap.option, seq=update.update_id)
        poll = await services.polls.get(tap.poll)
        if poll is None or result.outcome is VoteOutcome.NO_POLL:
            await query.answer(_plain(catalog, lang, "poll.gone"), show_alert=True)
            return
        if result.outcome is VoteOutcome.NO_OPTION:
            await query.answer(_plain(catalog, lang, "errors.stale_button"), show_alert=True)
            return
        if result.outcome is VoteOutcome.CLOSED:
            await query.answer(_plain(catalog, lang, "poll.closed"), show_alert=True)
        else:
            chosen = poll.option(result.choice)
            label = chosen.label if chosen is not None else ""
            await query.answer(_plain(catalog, lang, f"poll.{result.outcome.value}", option=label))
        await self._redraw(update, context, tap.poll)

    async def on_results(self, update: Update, context: BotContext) -> None:
        """Show the results without voting (or bring them up to date)."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        tap = ShowResults.unpack(query.data)
        services = context.services
        lang = await services.language_of(query.from_user)
        if await services.polls.get(tap.poll) is None:
            await query.answer(_plain(services.catalog, lang, "poll.gone"), show_alert=True)
            return
        shared = query.message is not None and query.message.chat.type != ChatType.PRIVATE
        await query.answer(_plain(services.catalog, lang, "poll.updating") if shared else None)
        await self._redraw(update, context, tap.poll)

    async def _redraw(self, update: Update, context: BotContext, poll_id: int) -> None:
        """Redraw the tapped message: now in a private chat, throttled in a shared one."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        chat_id, message_id = query.message.chat.id, query.message.message_id
        if query.message.chat.type != ChatType.PRIVATE:
            self._schedule_shared(context, chat_id, message_id, poll_id)
            return
        services = context.services
        user = query.from_user

        async def render() -> View | None:
            results = await services.polls.results(poll_id, user.id)
            if results is None:
                return None
            lang = await services.language_of(user)
            return results_view(services.catalog, lang, results, shared=False)

        await self._redraw_now(context.bot, chat_id, message_id, render)

    async def _redraw_now(
        self,
        bot: ExtBot[None],
        chat_id: int,
        message_id: int,
        render: Callable[[], Awaitable[View | None]],
    ) -> None:
        """Edit a private chat's message to what `render` reads, one redraw at a time.

        Each redraw reads the database after the vote that asked for it; when taps come faster
        than edits, the redraws still waiting are skipped for the latest, which sees every vote.
        """
        slot = self._slot(chat_id, message_id)
        slot.asked += 1
        mine = slot.asked
        async with slot.lock:
            if slot.asked != mine:
                return  # a later tap on this message will draw a newer state
            view = await render()
            if view is not None and not await self._show(bot, chat_id, message_id, slot, view):
                # Too old to edit (Telegram refuses after 48 hours): send the results anew.
                await bot.send_message(chat_id, view.text, reply_markup=view.markup)

    def _schedule_shared(
        self, context: BotContext, chat_id: int, message_id: int, poll_id: int
    ) -> None:
        """Redraw a shared message soon, at most once every SHARED_EDIT_SECONDS."""
        slot = self._slot(chat_id, message_id)
        # PTB types a context's JobQueue with an unbound context type; ours is BotContext.
        job_queue = cast("JobQueue[BotContext] | None", context.job_queue)
        if slot.pending or job_queue is None:
            return  # the redraw already scheduled reads the database when it runs
        slot.pending = True
        delay = max(0.0, slot.last_edit + SHARED_EDIT_SECONDS - time.monotonic())
        job_queue.run_once(
            self._redraw_shared,
            delay,
            data=_Redraw(chat_id, message_id, poll_id),
            name="poll-message-redraw",  # logged by the scheduler: no chat id in it
        )

    async def _redraw_shared(self, context: BotContext) -> None:
        """The scheduled redraw of a shared message, from the database as it is now."""
        assert context.job is not None
        redraw = context.job.data
        assert isinstance(redraw, _Redraw)
        chat_id, message_id = redraw.chat_id, redraw.message_id
        slot = self._slot(chat_id, message_id)
        # From here on, a new vote schedules the next redraw, SHARED_EDIT_SECONDS from now: the
        # votes this redraw reads are shown now, the ones after it by the next.
        slot.pending = False
        slot.last_edit = time.monotonic()
        services = context.services
        async with slot.lock:
            # Telegram counts from when it got the last edit, which may have travelled slowly:
            # the next one leaves no sooner than SHARED_EDIT_SECONDS after its answer.
            wait = slot.answered + SHARED_EDIT_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            results = await services.polls.results(redraw.poll_id)
            if results is None:
                return
            view = results_view(
                services.catalog, services.settings.DEFAULT_LANGUAGE, results, shared=True
            )
            try:
                shown = await self._show(context.bot, chat_id, message_id, slot, view)
            except TelegramError as exc:
                log.warning("could not redraw a shared poll message: %s", exc)
                return
            finally:
                slot.answered = time.monotonic()
            if not shown:
                log.info("a shared message of poll %s can no longer be edited", redraw.poll_id)

    async def _show(
        self, bot: ExtBot[None], chat_id: int, message_id: int, slot: _Slot, view: View
    ) -> bool:
        """Edit the message to `view`; False if Telegram no longer lets it be edited."""
        signature = (view.text, view.markup.to_dict() if view.markup else None)
        if slot.shown == signature:
            return True  # an identical edit would only be refused as "not modified"
        try:
            await bot.edit_message_text(
                view.text, chat_id=chat_id, message_id=message_id, reply_markup=view.markup
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                pass  # it already shows this (someone else's redraw got there first)
            elif "can't be edited" in reason or "not found" in reason:
                return False
            else:
                raise
        slot.shown = signature
        return True

    def _slot(self, chat_id: int, message_id: int) -> _Slot:
        key = (chat_id, message_id)
        slot = self._slots.get(key)
        if slot is None:
            self._forget_idle()
            slot = self._slots[key] = _Slot()
        slot.used = time.monotonic()
        return slot

    def _forget_idle(self) -> None:
        now = time.monotonic()
        idle = [
            key
            for key, slot in self._slots.items()
            if not slot.pending and not slot.lock.locked() and now - slot.used > self._IDLE_SECONDS
        ]
        for key in idle:
            del self._slots[key]


# -- staff commands ---------------------------------------------------------------------------


async def closepoll_command(update: Update, context: BotContext) -> None:
    """Close the current poll and show its final results (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "closepoll"):
        return
    services = context.services
    user = update.effective_user
    lang = await services.language_of(user)
    poll = await services.polls.current()
    if poll is None or not await services.polls.close(poll.poll_id):
        await message.reply_text(services.catalog.text("poll.none_open", lang))
        return
    log.info("poll %s closed by %s", poll.poll_id, services.who(user.id if user else None))
    if user is not None:
        await record(services, user, "poll_closed", poll_id=poll.poll_id)
    results = await services.polls.results(poll.poll_id, user.id if user else None)
    assert results is not None
    view = results_view(services.catalog, lang, results, shared=False)
    await message.reply_text(
        services.catalog.text(
            "poll.closed_report", lang, poll_id=poll.poll_id, results=SafeHtml(view.text)
        )
    )


async def _results_asked(update: Update, context: BotContext, lang: str) -> PollResults | None:
    """The poll named after the command (`/pollchart 3`), else the current one; None if absent."""
    services = context.services
    args = context.args or []
    if args:
        # Only ASCII digits SQLite can hold are an id; "²" or twenty digits name no poll.
        poll_id: int | None = parse_int(args[0])
        if poll_id is None:
            await _reply(
                update, services.catalog.text("poll.not_found", lang, poll_id=args[0][:20])
            )
            return None
    else:
        poll = await services.polls.current()
        poll_id = None if poll is None else poll.poll_id
    results = None if poll_id is None else await services.polls.results(poll_id)
    if results is None:
        key = "poll.none" if poll_id is None else "poll.not_found"
        await _reply(update, services.catalog.text(key, lang, poll_id=poll_id))
    return results


async def _reply(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def pollchart_command(update: Update, context: BotContext) -> None:
    """Send the results as a bar chart (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "pollchart"):
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(update.effective_user)
    results = await _results_asked(update, context, lang)
    if results is None:
        return
    poll = results.poll
    when = datetime.now(services.settings.tz).strftime("%d/%m/%Y %H:%M")
    footer = _plain(
        catalog, lang, "poll.chart_footer",
        total=results.total, commune=services.settings.COMMUNE_NAME, when=when,
    )  # fmt: skip
    # Drawing takes a moment of CPU: off the event loop, so residents' taps are not held up.
    png = await asyncio.to_thread(
        charts.results_chart,
        poll.question,
        [option.label for option in poll.options],
        results.counts,
        results.percents,
        votes_label=catalog.text("poll.chart_votes", lang),
        footer=footer,
    )
    caption = catalog.text(
        "poll.chart_caption",
        lang,
        poll_id=poll.poll_id,
        question=poll.question,
        total=results.total,
    )
    await message.reply_photo(png, caption=caption)


async def pollcsv_command(update: Update, context: BotContext) -> None:
    """Send the results as a CSV file (staff only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "pollcsv"):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    results = await _results_asked(update, context, lang)
    if results is None:
        return
    poll = results.poll
    await message.reply_document(
        results_csv(services.catalog, lang, results),
        filename=f"tham-do-{poll.poll_id}.csv",
        caption=services.catalog.text(
            "poll.csv_caption", lang, poll_id=poll.poll_id, question=poll.question
        ),
    )


# -- the /newpoll dialog ----------------------------------------------------------------------

DraftStep = Literal["question", "options", "confirm"]


@dataclass
class Draft:
    """A poll a staff member is writing."""

    step: DraftStep = "question"
    question: str = ""
    options: list[str] = field(default_factory=list)
    touched: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Say:
    """The dialog's answer: a catalogue key, its values, a list of options, and the buttons."""

    key: str
    values: dict[str, object] = field(default_factory=dict)
    listing: tuple[str, ...] | None = None
    buttons: tuple[DraftActionName, ...] = ()


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options_buttons(draft: Draft) -> tuple[DraftActionName, ...]:
    return ("done", "cancel") if len(draft.options) >= MIN_OPTIONS else ("cancel",)


def take_question(draft: Draft, text: str) -> Say:
    """Step 1: the question."""
    question = clean_text(text)
    if not 1 <= len(question) <= MAX_QUESTION_CHARS:
        return Say("poll.question_bad", {"max": MAX_QUESTION_CHARS}, buttons=("cancel",))
    draft.question, draft.step = question, "options"
    limits: dict[str, object] = {"min": MIN_OPTIONS, "max": MAX_OPTIONS, "chars": MAX_OPTION_CHARS}
    return Say("poll.ask_options", limits, buttons=("cancel",))


def take_options(draft: Draft, text: str) -> Say:
    """Step 2: options, one per line, in one message or several; all of a message or none."""
    labels = [label for label in (clean_text(line) for line in text.splitlines()) if label]
    seen = {option.casefold() for option in draft.options}
    for label in labels:
        if len(label) > MAX_OPTION_CHARS:
            values: dict[str, object] = {"option": _short(label), "max": MAX_OPTION_CHARS}
            return Say("poll.option_too_long", values, buttons=_options_buttons(draft))
        if label.casefold() in seen:
            return Say(
                "poll.option_duplicate", {"option": _short(label)}, buttons=_options_buttons(draft)
            )
        seen.add(label.casefold())
    if len(draft.options) + len(labels) > MAX_OPTIONS:
        values = {"max": MAX_OPTIONS, "left": MAX_OPTIONS - len(draft.options)}
        return Say("poll.too_many", values, buttons=_options_buttons(draft))
    draft.options.extend(labels)
    return Say(
        "poll.options_so_far",
        {"count": len(draft.options), "max": MAX_OPTIONS},
        listing=tuple(draft.options),
        buttons=_options_buttons(draft),
    )


def confirm(draft: Draft) -> Say | None:
    """Step 3: check before creating; None while there are too few options."""
    if len(draft.options) < MIN_OPTIONS:
        return None
    draft.step = "confirm"
    return Say(
        "poll.confirm",
        {"question": draft.question},
        listing=tuple(draft.options),
        buttons=("create", "cancel"),
    )


class _Writing(filters.MessageFilter):
    """Messages from someone in the middle of /newpoll, in the chat where they began it."""

    def __init__(self, dialog: NewPollDialog) -> None:
        super().__init__(name="writing a poll")
        self._dialog = dialog

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self._dialog.draft((message.chat.id, user.id)) is not None


class NewPollDialog:
    """/newpoll: the question, then 2-10 options, then confirm; "Cancel" or /cancel at any step.

    One draft per (chat, staff member), so staff writing polls at the same time never mix. Every
    step changes its draft without awaiting anything in between, so even two messages of the same
    person handled at once cannot both take the same step.
    """

    def __init__(self) -> None:
        self._drafts: dict[tuple[int, int], Draft] = {}

    def draft(self, key: tuple[int, int]) -> Draft | None:
        """The draft of this (chat, user), unless it was abandoned too long ago."""
        draft = self._drafts.get(key)
        if draft is not None and time.monotonic() - draft.touched > DRAFT_SECONDS:
            del self._drafts[key]
            return None
        return draft

    def handlers(self) -> list[BaseHandler[Update, BotContext, None]]:
        """The dialog's handlers; its text handler only takes messages of someone writing."""
        writing = _Writing(self)
        return [
            CommandHandler("newpoll", self.start),
            CommandHandler("cancel", self.cancel, filters=writing),
            ButtonHandler(self.on_button, DraftAction),
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & writing,
                self.on_text,
            ),
        ]

    async def start(self, update: Update, context: BotContext) -> None:
        """Begin a new draft (staff only, in a private chat)."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or await refused(update, context, "newpoll"):
            return
        lang = await context.services.language_of(user)
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(context.services.catalog.text("poll.private_only", lang))
            return
        self._drafts[(message.chat.id, user.id)] = Draft()
        say = Say("poll.ask_question", {"max": MAX_QUESTION_CHARS}, buttons=("cancel",))
        view = self._render(context.services.catalog, lang, say)
        await message.reply_text(view.text, reply_markup=view.markup)

    async def on_text(self, update: Update, context: BotContext) -> None:
        """The question or options the staff member typed."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        lang = await context.services.language_of(user)
        draft = self.draft((message.chat.id, user.id))
        if draft is None:
            return  # abandoned while this message waited
        draft.touched = time.monotonic()
        if draft.step == "question":
            say = take_question(draft, message.text)
        elif draft.step == "options":
            say = take_options(draft, message.text)
        else:
            say = Say("poll.press_a_button")
        view = self._render(context.services.catalog, lang, say)
        await message.reply_text(view.text, reply_markup=view.markup)

    async def cancel(self, update: Update, context: BotContext) -> None:
        """/cancel: drop the draft."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        lang = await context.services.language_of(user)
        self._drafts.pop((message.chat.id, user.id), None)
        await message.reply_text(context.services.catalog.text("poll.cancelled", lang))

    async def on_button(self, update: Update, context: BotContext) -> None:
        """ "Done", "Create" or "Cancel" under a dialog message."""
        query = update.callback_query
        if query is None or query.data is None or query.message is None:
            return
        action = DraftAction.unpack(query.data).action
        services = context.services
        catalog = services.catalog
        user = query.from_user
        lang = await services.language_of(user)
        key = (query.message.chat.id, user.id)
        draft = self.draft(key)
        expected: dict[DraftActionName, DraftStep | None] = {
            "cancel": None,
            "done": "options",
            "create": "confirm",
        }
        step = expected[action]
        if draft is None or (step is not None and draft.step != step):
            await query.answer(_plain(catalog, lang, "errors.stale_button"), show_alert=True)
            return
        draft.touched = time.monotonic()
        if action == "cancel":
            del self._drafts[key]
            await query.answer()
            await query.edit_message_text(catalog.text("poll.cancelled", lang))
            return
        if action == "done":
            say = confirm(draft)
            if say is None:
                await query.answer(
                    _plain(catalog, lang, "poll.need_more", min=MIN_OPTIONS), show_alert=True
                )
                return
            await query.answer()
            view = self._render(catalog, lang, say)
            await query.edit_message_text(view.text, reply_markup=view.markup)
            return
        # "create": the draft is taken first, so a double tap creates one poll, not two.
        del self._drafts[key]
        await query.answer()
        # Someone removed from the staff while writing: refused (and recorded) like a command.
        if await refused(update, context, "newpoll"):
            return
        poll = await services.polls.create(draft.question, draft.options, created_by=user.id)
        log.info("poll %s created by %s", poll.poll_id, services.who(user.id))
        await record(services, user, "poll_created", poll_id=poll.poll_id, question=poll.question)
        await query.edit_message_text(catalog.text("poll.created", lang, poll_id=poll.poll_id))

    @staticmethod
    def _render(catalog: Catalog, lang: str, say: Say) -> View:
        values = dict(say.values)
        if say.listing is not None:
            items = (
                catalog.text("poll.option_item", lang, number=number, option=option)
                for number, option in enumerate(say.listing, 1)
            )
            values["options"] = SafeHtml("\n".join(items))
        markup = None
        if say.buttons:
            buttons = [
                InlineKeyboardButton(
                    catalog.text(f"poll.{action}_button", lang),
                    callback_data=DraftAction(action).pack(),
                )
                for action in say.buttons
            ]
            markup = InlineKeyboardMarkup([buttons])
        return View(catalog.text(say.key, lang, **values), markup)


# -- wiring -----------------------------------------------------------------------------------


def handlers() -> Sequence[BaseHandler[Update, BotContext, None]]:
    """The poll's handlers, with fresh dialog and message state for one application."""
    messages = PollMessages()
    return [
        # The dialog first: while a staff member writes a poll, their text belongs to it.
        *NewPollDialog().handlers(),
        CommandHandler("poll", poll_command),
        CommandHandler("closepoll", closepoll_command),
        CommandHandler("pollchart", pollchart_command),
        CommandHandler("pollcsv", pollcsv_command),
        ButtonHandler(messages.on_vote, Vote),
        ButtonHandler(messages.on_results, ShowResults),
    ]
