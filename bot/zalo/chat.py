"""The conversation on Zalo: what a resident writes to the commune's OA, and the answer.

`Conversation(services).handle(person, event)` takes one webhook event of a resident (their
local number, `storage.zalo.ZaloPeople`) and returns the messages to send back. It does on Zalo
what the Telegram handlers do, through the same services, stores and view builders
(`bot.reading`, `bot.views.*`, `bot.services.*`), and renders each view with
`bot.zalo.render.for_zalo`. Zalo has no edits and no callback queries, so:

- a follow is greeted with the main menu; a text is a command with or without its slash, or a
  common Vietnamese word for it, with or without diacritics ("tin mới", "tim duong DH21");
- each view's buttons are numbered choices (and query buttons whose payload is the same typed
  action, `#` + `CallbackData.pack()`); the numbers of the last list the resident saw are kept
  with `bot.services.Dialogs` (channel "zalo"), so a typed number and a tap go the same way;
- what Telegram does in place comes as a new message (an article's next page, the results
  after a vote);
- news the resident missed while the OA could not write to them comes first (`bot.zalo.held`),
  numbered only when the answer offers no numbers of its own: every number shown works.

Every event is logged in the interaction log as Telegram's are (channel "zalo"); a person is
('zalo', person) in every table. No Telegram import here: tests/test_imports.py checks it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import formats
from bot.callbacks import (
    MAX_MASK_ID,
    CallbackData,
    CallbackError,
    ForgetAnswer,
    ListPage,
    OpenArticle,
    RunCommand,
    RunCommandName,
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
from bot.i18n import SafeHtml, pick_language
from bot.news.text import fold, search_expression
from bot.reading import LIST_SIZE, render_article, render_categories, render_links, render_list
from bot.services.stats import channel_counts
from bot.views import Button, View, rows_of
from bot.views.polls import plain as plain_text
from bot.views.polls import results_view, vote_view
from bot.views.stats import counter_text, forget_view
from bot.views.subscriptions import (
    WEEKLY_HOUR,
    categories_view,
    day_view,
    described,
    hour_view,
    how_view,
    none_view,
    nothing_to_stop_view,
    settings_view,
    stop_view,
    what_view,
)
from bot.zalo.held import held_view, take_held, take_held_poll
from bot.zalo.messages import ZaloEvent, ZaloMessage
from bot.zalo.render import PAYLOAD_MARK, for_zalo
from bot.zalo.reports import REPORT_COMMANDS, REPORT_WORDS, ZaloReports
from storage.articles import Category
from storage.polls import VoteOutcome
from storage.stats import Interaction
from storage.subscriptions import DEFAULT_HOUR, Mode, Saved, Subscription
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["CHOICES", "WORDS", "Conversation", "command_of", "in_dialog"]

log = logging.getLogger(__name__)

CHOICES = "choices"  # the dialog kind holding a person's last numbered choices
MAX_CATEGORY_CHOICES = 90  # as on Telegram: the categories one /subscribe view offers
_NUMBER = re.compile(r"[0-9]{1,4}")
_TRAILING = re.compile(r"[\s.!?,;:…]+$")

# What a resident may type for each command, folded (lower case, no diacritics, đ → d): the
# command's own name (with or without "/") and the Vietnamese words people use for it.
WORDS: dict[str, RunCommandName | str] = {
    **{name: name for name in ("start", "latest", "categories", "links", "poll", "stats")},
    **{name: name for name in ("subscribe", "settings", "unsubscribe", "forget", "help")},
    "language": "language",
    "menu": "menu",
    "bat dau": "start",
    "xin chao": "start",
    "chao": "start",
    "hi": "start",
    "hello": "start",
    "tin moi": "latest",
    "tin moi nhat": "latest",
    "tin tuc": "latest",
    "xem tin": "latest",
    "news": "latest",
    "chuyen muc": "categories",
    "danh muc": "categories",
    "lien ket": "links",
    "lien ket web": "links",
    "binh chon": "poll",
    "tham do": "poll",
    "tham do y kien": "poll",
    "khao sat": "poll",
    "ket qua": "poll",
    "thong ke": "stats",
    "dang ky": "subscribe",
    "dang ki": "subscribe",
    "dang ky nhan tin": "subscribe",
    "dang ki nhan tin": "subscribe",
    "nhan tin": "subscribe",
    "cai dat": "settings",
    "huy": "unsubscribe",
    "huy dang ky": "unsubscribe",
    "huy dang ki": "unsubscribe",
    "dung": "unsubscribe",
    "dung nhan tin": "unsubscribe",
    "stop": "unsubscribe",
    "xoa": "forget",
    "xoa thong tin": "forget",
    "xoa du lieu": "forget",
    "huong dan": "help",
    "tro giup": "help",
    "giup": "help",
    "ngon ngu": "language",
    "tieng viet": "language",
    "english": "language",
    "tim": "search",
    "tim kiem": "search",
    "tim tin": "search",
    "tra cuu": "search",
    "search": "search",
    **REPORT_WORDS,  # góp ý – phản ánh: bot.zalo.reports
}
_SEARCH_WORDS = sorted((w for w, c in WORDS.items() if c == "search"), key=len, reverse=True)


def command_of(text: str) -> tuple[str, str] | None:
    """The command a resident's text names and what follows it ("tìm đường ĐH21" → ("search",
    "đường ĐH21")), or None. A leading slash, case and diacritics do not matter."""
    words = text.strip().lstrip("/").split()
    if not words:
        return None
    folded = [fold(word) for word in words]
    whole = _TRAILING.sub("", " ".join(folded))
    if whole in WORDS and WORDS[whole] != "search":
        return str(WORDS[whole]), ""
    for phrase in _SEARCH_WORDS:
        size = len(phrase.split())
        if _TRAILING.sub("", " ".join(folded[:size])) == phrase:
            return "search", " ".join(words[size:])
    return None


def in_dialog(services: Services, person: int) -> bool:
    """Whether the resident is in the middle of a dialog whose numbers a message sent unasked
    must not take over: a report being written, or /subscribe under way. The one check for a
    case's notice (`bot.zalo.notices`) and the poll /sendpoll sends (`bot.zalo.poll`)."""
    return (
        services.zalo_reporting.draft(person, person) is not None
        or services.zalo_subscribing.where(person, person) is not None
    )


def _offers(view: View) -> bool:
    """Whether a view offers choices (which become numbers)."""
    return any(button.action is not None for row in view.buttons for button in row)


def _update_id(event: ZaloEvent) -> int:
    """A number for the event in the interaction log (Zalo's msg_id is a string)."""
    if event.msg_id:
        return int.from_bytes(hashlib.sha256(event.msg_id.encode()).digest()[:7], "big")
    return event.timestamp_ms


def _kind(action: CallbackData) -> tuple[str, int | None]:
    """How the log names an action (as handlers.tracking does for Telegram's buttons)."""
    if isinstance(action, OpenArticle):
        return ("article_open" if action.page == 0 else "article_page"), action.article_id
    if isinstance(action, Vote):
        return "vote", action.poll
    if isinstance(action, ShowResults):
        return "poll_results", action.poll
    if isinstance(action, RunCommand):
        return f"cmd:{action.command}", None
    kinds: dict[type, str] = {
        ListPage: "list_page",
        SearchPage: "search_page",
        SetLanguage: "set_language",
        ShowCategories: "categories",
        SubscribeStep: "subscription",
        StopSubscription: "subscription",
    }
    return kinds.get(type(action), f"button:{action.prefix}"), None


@dataclass
class _Turn:
    """One event being answered."""

    person: int
    lang: str
    update_id: int
    seq: int  # orders this person's votes
    forgotten: bool = False  # /forget confirmed: nothing more is kept about them


class Conversation:
    """Zalo's front end to the bot's services: an event in, the replies out."""

    def __init__(self, services: Services, *, clock: Callable[[], datetime] | None = None) -> None:
        self._services = services
        self._clock = clock or (lambda: datetime.now(UTC))
        self._reports = ZaloReports(services)  # góp ý – phản ánh

    # -- the entry point ------------------------------------------------------------------

    async def handle(self, person: int, event: ZaloEvent) -> list[ZaloMessage]:
        """The replies to one event of the resident numbered `person` (empty: no reply).

        Whatever goes wrong, the resident gets a polite word, never a traceback (the log has
        it, without their Zalo id)."""
        try:
            return await self._handle(person, event)
        except Exception:
            log.exception("could not answer a Zalo %s event", event.name)
            lang = self._services.settings.DEFAULT_LANGUAGE
            return [ZaloMessage(self._services.catalog.text("errors.generic", lang))]

    async def _handle(self, person: int, event: ZaloEvent) -> list[ZaloMessage]:
        services = self._services
        now = self._clock()
        turn = _Turn(person, await self._language(person), _update_id(event), event.timestamp_ms)
        # What the event means for Zalo's window and following was recorded by the front end
        # before it came here (bot.zalo.front.arrived): this only answers.
        if event.name == "follow":
            await self._record(turn, "follow")
            return await self._render(turn, [self._greeting(turn.lang)])
        if event.name == "unfollow":
            await self._record(turn, "unfollow")
            return []
        if not event.name.startswith("user_send_"):
            return []  # Zalo's receipts and the echoes of our own messages
        await services.users.touch(person, now, channel=ZALO)
        if event.name == "user_send_text":
            views = await self._text(turn, event.text)
        else:
            await self._record(turn, "message")
            # A photo or a location for a report being written; anything else is not read.
            reported = await self._reports.media(person, turn.lang, event)
            views = reported or [View(services.catalog.text("zalo.unsupported", turn.lang))]
        quiet: list[View] = []  # offered as buttons only, their numbers left to the others
        if not turn.forgotten:
            # What waited for them comes first, but a typed number means one item of one list:
            # the answer they asked for keeps its numbers; the held news takes them only if the
            # answer offers none (else its titles come unnumbered, as buttons, "gõ tin mới"),
            # the held poll only if neither does ("gõ bình chọn"). One numbering across both
            # was the other way; held news at 13–15 (or 91… after /subscribe's categories)
            # reads worse, and a list's numbers are its own (page 2 starts at 6).
            # Their reports' notices held meanwhile offer no numbers (the rating is by words).
            before = await self._reports.held(person, turn.lang)
            taken = any(_offers(view) for view in (*before, *views))
            held = await take_held(services.db, person)
            if held:
                catalog, tz = services.catalog, services.settings.tz
                news = held_view(held, catalog, turn.lang, tz, numbered=not taken)
                if taken:
                    quiet.append(news)
                before.append(news)
                taken = True
            poll = await self._held_poll(turn, views)
            if poll is not None:
                if taken:
                    hint = services.catalog.text("zalo.poll_hint", turn.lang)
                    poll = View(f"{poll.text}\n\n{hint}", poll.buttons)
                    quiet.append(poll)
                before.append(poll)
            views = [*before, *views]
        return await self._render(turn, views, quiet)

    async def _held_poll(self, turn: _Turn, answer: Sequence[View]) -> View | None:
        """The poll /sendpoll could not send them (outside the window), if it waits for them:
        still open, not voted, not brought before (bot.zalo.held.take_held_poll)."""
        services = self._services
        poll = await services.polls.current()
        if poll is None or not poll.is_open:
            return None
        results = await services.polls.results(poll.poll_id, turn.person, channel=ZALO)
        if results is None or results.choice is not None:
            return None
        if not await take_held_poll(services.db, turn.person, poll.poll_id):
            return None
        shown = any(
            isinstance(button.action, Vote) and button.action.poll == poll.poll_id
            for view in answer
            for row in view.buttons
            for button in row
        )
        return None if shown else vote_view(services.catalog, turn.lang, results)

    async def _render(
        self, turn: _Turn, views: Sequence[View], quiet: Sequence[View] = ()
    ) -> list[ZaloMessage]:
        """The views as messages; the last list offered becomes the person's numbers (the
        `quiet` views offer theirs as buttons only)."""
        messages: list[ZaloMessage] = []
        choices: dict[int, str] = {}
        for view in views:
            numbered = not any(view is other for other in quiet)
            rendered = for_zalo(view, self._services.catalog, turn.lang, numbered=numbered)
            messages += rendered.messages
            if rendered.choices:
                choices = rendered.choices
        if choices and not turn.forgotten:
            dialogs = self._services.zalo_dialogs
            packed = {str(number): action for number, action in choices.items()}
            dialogs.begin(CHOICES, turn.person, turn.person, {"choices": packed})
            # Written before the reply leaves: the number typed next finds it after a restart.
            await dialogs.save(CHOICES, turn.person, turn.person)
        return messages

    async def _language(self, person: int) -> str:
        chosen = await self._services.users.language(person, channel=ZALO)
        return pick_language(chosen, None, self._services.settings.DEFAULT_LANGUAGE)

    async def _record(self, turn: _Turn, kind: str, target: int | None = None) -> None:
        """Log the event (a failure here must never stop the reply)."""
        try:
            await self._services.stats.record(
                Interaction(kind, target, "private", turn.update_id),
                turn.person,
                self._clock(),
                channel=ZALO,
            )
        except Exception:
            log.exception("could not log a Zalo interaction")

    # -- what the resident typed ----------------------------------------------------------

    async def _text(self, turn: _Turn, text: str) -> list[View]:
        catalog = self._services.catalog
        typed = text.strip()
        # A report being written takes its description, "hủy", or a word about a rating.
        reported = await self._reports.text(turn.person, turn.lang, typed, command_of(typed))
        if reported is not None:
            await self._record(turn, "message")
            return reported
        if typed.startswith(PAYLOAD_MARK):  # a query button: its typed action
            try:
                action = decode(typed[len(PAYLOAD_MARK) :])
            except CallbackError:
                await self._record(turn, "button:stale")
                return [View(catalog.text("errors.stale_button", turn.lang))]
            return await self._act(turn, action)
        if _NUMBER.fullmatch(typed):
            number = int(typed)
            chosen = self._choice(turn.person, number)
            if chosen is None:
                await self._record(turn, "message")
                return [View(catalog.text("zalo.no_list", turn.lang, number=number))]
            return await self._act(turn, chosen)
        named = command_of(typed)
        if named is None:
            await self._record(turn, "message")
            help_text = SafeHtml(catalog.text("zalo.help", turn.lang))
            return [View(catalog.text("zalo.not_understood", turn.lang, help=help_text))]
        command, rest = named
        if command == "search" and rest.strip():
            await self._record(turn, "message")  # marked a search with its words below
            return [await self._search(turn, rest)]
        # A word for a command is logged as the command ("menu" is Zalo's own).
        await self._record(turn, f"cmd:{command}" if command in KNOWN_COMMANDS else "cmd:other")
        return await self._command(turn, command)

    def _choice(self, person: int, number: int) -> CallbackData | None:
        state = self._services.zalo_dialogs.get(CHOICES, person, person)
        packed = None if state is None else state.get("choices", {}).get(str(number))
        if not isinstance(packed, str):
            return None
        try:
            return decode(packed)
        except CallbackError:
            return None

    async def _act(self, turn: _Turn, action: CallbackData) -> list[View]:
        """A chosen action: typed as its number, or tapped as a button."""
        kind, target = _kind(action)
        await self._record(turn, kind, target)
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        if isinstance(action, OpenArticle):
            view = await self._article(lang, action.article_id, action.page, action.category_id)
            return [view or View(catalog.text("read.article_gone", lang))]
        if isinstance(action, ListPage):
            return [await self._list(lang, action.category_id, action.page)]
        if isinstance(action, ShowCategories):
            return [render_categories(await services.reading.categories(), catalog, lang)]
        if isinstance(action, SearchPage):
            return [await self._search_page(lang, action.search_id, action.page)]
        if isinstance(action, Vote):
            return [await self._vote(turn, action)]
        if isinstance(action, ShowResults):
            return [await self._results(turn, action.poll)]
        if isinstance(action, SubscribeStep):
            return [await self._step(turn, action)]
        if isinstance(action, StopSubscription):
            return [await self._stop(turn, action)]
        if isinstance(action, ForgetAnswer):
            return [await self._forget(turn, action.confirmed)]
        if isinstance(action, SetLanguage):
            await services.users.set_language(turn.person, action.language, channel=ZALO)
            turn.lang = action.language
            return [View(catalog.text("language.changed", action.language))]
        if isinstance(action, RunCommand):
            return await self._command(turn, action.command)
        reported = await self._reports.act(turn.person, lang, action)  # a report's or rating's
        if reported is not None:
            return reported
        return [View(catalog.text("errors.stale_button", lang))]  # a staff dialog's button

    async def _command(self, turn: _Turn, command: str) -> list[View]:
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        if command == "start":
            return [self._greeting(lang)]
        if command == "menu":
            return [self._menu(lang, catalog.text("zalo.menu", lang))]
        if command == "latest":
            return [await self._list(lang, 0, 1)]
        if command == "categories":
            return [render_categories(await services.reading.categories(), catalog, lang)]
        if command == "search":
            return [View(catalog.text("zalo.search_help", lang))]
        if command == "links":
            return [render_links(list(services.settings.WEB_LINKS), catalog, lang)]
        if command == "poll":
            return [await self._poll(turn)]
        if command == "stats":
            return [await self._stats(lang)]
        if command == "subscribe":
            return [await self._subscribe(turn)]
        if command == "settings":
            return [await self._settings(turn)]
        if command == "unsubscribe":
            return [await self._unsubscribe(turn)]
        if command == "forget":
            return [forget_view(catalog, lang)]
        if command in REPORT_COMMANDS:  # góp ý – phản ánh
            return await self._reports.command(turn.person, lang, command)
        if command == "language":
            buttons = [
                Button(catalog.text("language_name", code), SetLanguage(code))  # type: ignore[arg-type]
                for code in catalog.languages
            ]
            return [View(catalog.text("language.choose", lang), rows_of(buttons, 2))]
        help_text = catalog.text("zalo.help", lang)
        return [self._menu(lang, help_text)]

    # -- greeting and menu ----------------------------------------------------------------

    def _menu(self, lang: str, text: str) -> View:
        """The main things, one number each (Telegram's menu buttons, by the same labels)."""
        catalog = self._services.catalog
        entries: list[tuple[str, CallbackData]] = [
            ("menu.latest", ListPage(0, 1)),
            ("menu.categories", ShowCategories()),
            ("menu.search", RunCommand("search")),
            ("menu.links", RunCommand("links")),
            ("menu.poll", RunCommand("poll")),
            ("menu.subscribe", RunCommand("subscribe")),
            ("menu.help", RunCommand("help")),
        ]
        buttons = [Button(catalog.text(key, lang), action) for key, action in entries]
        return View(text, rows_of(buttons, 2))

    def _greeting(self, lang: str) -> View:
        catalog = self._services.catalog
        welcome = catalog.text("zalo.welcome", lang, commune=self._services.settings.COMMUNE_NAME)
        return self._menu(lang, f"{welcome}\n\n{catalog.text('zalo.menu', lang)}")

    # -- reading --------------------------------------------------------------------------

    async def _article(self, lang: str, article_id: int, page: int, category: int) -> View | None:
        services = self._services
        article, older, newer = await services.reading.open(article_id, category or None)
        if article is None:
            return None
        return render_article(
            article, page, category, (older, newer), services.catalog, lang,
            services.settings.tz, "",  # no Telegram username: its share link is left out
        )  # fmt: skip

    async def _list(self, lang: str, category_id: int, page: int) -> View:
        services = self._services
        catalog = services.catalog
        page = max(page, 1)
        offset = (page - 1) * LIST_SIZE
        headlines, total = await services.reading.latest(category_id or None, offset, LIST_SIZE)
        if category_id:
            category = await services.reading.category(category_id)
            title = catalog.text(
                "read.category_title", lang, name=category.name if category else "?"
            )
            empty = catalog.text("read.empty_category", lang)
        else:
            title = catalog.text("read.latest_title", lang)
            empty = catalog.text("read.empty", lang)
        return render_list(
            title, headlines, total, page, category_id, catalog, lang, services.settings.tz,
            empty=empty,
        )  # fmt: skip

    async def _search(self, turn: _Turn, query: str) -> View:
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        query = " ".join(query.split())[:200]
        expression = search_expression(query)
        if expression is None:
            return View(catalog.text("zalo.search_help", lang))
        headlines, total = await services.reading.search(expression, 0, LIST_SIZE)
        try:  # the log gets the words and result count; a failure there must not stop the reply
            await services.stats.searched(turn.update_id, query, total, channel=ZALO)
        except Exception:
            log.exception("could not log the search")
        if not headlines:
            return View(catalog.text("read.search_none", lang, query=query))
        key = services.stats.key_of(turn.person, ZALO)  # for /forget
        search_id = await services.reading.save_search(query, expression, self._clock(), key)
        title = catalog.text("read.search_title", lang, query=query, total=total)
        return render_list(
            title, headlines, total, 1, 0, catalog, lang, services.settings.tz,
            search_id=search_id,
        )  # fmt: skip

    async def _search_page(self, lang: str, search_id: int, page: int) -> View:
        services = self._services
        catalog = services.catalog
        saved = await services.reading.saved_search(search_id)
        if saved is None:
            return View(catalog.text("read.search_expired", lang))
        words, expression = saved
        page = max(page, 1)
        headlines, total = await services.reading.search(
            expression, (page - 1) * LIST_SIZE, LIST_SIZE
        )
        title = catalog.text("read.search_title", lang, query=words, total=total)
        return render_list(
            title, headlines, total, page, 0, catalog, lang, services.settings.tz,
            search_id=search_id, empty=catalog.text("read.search_none", lang, query=words),
        )  # fmt: skip

    # -- the poll -------------------------------------------------------------------------

    async def _poll(self, turn: _Turn) -> View:
        services = self._services
        poll = await services.polls.current()
        results = (
            None
            if poll is None
            else await services.polls.results(poll.poll_id, turn.person, channel=ZALO)
        )
        if results is None:
            return View(services.catalog.text("poll.none", turn.lang))
        if results.poll.is_open and results.choice is None:
            return vote_view(services.catalog, turn.lang, results)
        return results_view(services.catalog, turn.lang, results, shared=False)

    async def _vote(self, turn: _Turn, tap: Vote) -> View:
        """Record the choice, say what happened, and show the results (a new message)."""
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        result = await services.polls.vote(
            tap.poll, turn.person, tap.option, seq=turn.seq, channel=ZALO
        )
        poll = await services.polls.get(tap.poll)
        if poll is None or result.outcome is VoteOutcome.NO_POLL:
            return View(catalog.text("poll.gone", lang))
        if result.outcome is VoteOutcome.NO_OPTION:
            return View(catalog.text("errors.stale_button", lang))
        if result.outcome is VoteOutcome.CLOSED:
            said = catalog.text("poll.closed", lang)
        else:
            chosen = poll.option(result.choice)
            said = plain_text(
                catalog, lang, f"poll.{result.outcome.value}", option=chosen.label if chosen else ""
            )
        results = await self._results(turn, tap.poll)
        return View(f"{said}\n\n{results.text}", results.buttons)

    async def _results(self, turn: _Turn, poll_id: int) -> View:
        services = self._services
        results = await services.polls.results(poll_id, turn.person, channel=ZALO)
        if results is None:
            return View(services.catalog.text("poll.gone", turn.lang))
        return results_view(services.catalog, turn.lang, results, shared=False)

    # -- statistics and /forget -----------------------------------------------------------

    async def _stats(self, lang: str) -> View:
        services = self._services
        now = self._clock()
        counter = await services.stats.counter(now)
        subscribers = await services.subscriptions.count()
        channels = await channel_counts(services.stats, services.subscriptions, now)
        when = formats.stamp(now, services.settings.tz)
        zone = services.settings.TIMEZONE
        answered = await services.cases.answered_this_month(now)
        return View(
            counter_text(
                services.catalog, lang, counter, subscribers, zone, when, channels,
                answered=answered,
            )
        )  # fmt: skip

    async def _forget(self, turn: _Turn, confirmed: bool) -> View:
        catalog = self._services.catalog
        lang = turn.lang  # read before it is deleted: the answer is in the language asked in
        if not confirmed:
            return View(catalog.text("stats.forget_cancelled", lang))
        forgotten = await self._services.zalo_privacy.forget(turn.person)
        turn.forgotten = True
        log.info("a Zalo resident asked to be forgotten")  # no id: the log must not undo it
        profile = "stats.forget_profile_yes" if forgotten.profile else "stats.forget_profile_none"
        subscription = (
            "stats.forget_subscription_yes"
            if forgotten.subscription
            else "stats.forget_subscription_none"
        )
        return View(
            catalog.text(
                "stats.forget_done", lang,
                profile=catalog.text(profile, lang),
                subscription=catalog.text(subscription, lang),
                votes=forgotten.votes, events=forgotten.events,
            )
        )  # fmt: skip

    # -- subscribing ----------------------------------------------------------------------

    async def _categories(self) -> tuple[list[Category], dict[int, str]]:
        every = await self._services.reading.categories()
        offered = [c for c in every if c.category_id <= MAX_MASK_ID][:MAX_CATEGORY_CHOICES]
        return offered, {c.category_id: c.name for c in every}

    async def _subscribe(self, turn: _Turn) -> View:
        services = self._services
        current = await services.subscriptions.get(turn.person, channel=ZALO)
        offered, names = await self._categories()
        if current is not None:
            return settings_view(services.catalog, turn.lang, current, names, False)
        view = what_view(services.catalog, turn.lang, offered, None)
        await services.zalo_subscribing.shown(turn.person, turn.person, SubscribeStep("what"), view)
        return view

    async def _settings(self, turn: _Turn) -> View:
        services = self._services
        current = await services.subscriptions.get(turn.person, channel=ZALO)
        if current is None:
            return none_view(services.catalog, turn.lang, False)
        _, names = await self._categories()
        return settings_view(services.catalog, turn.lang, current, names, False)

    async def _unsubscribe(self, turn: _Turn) -> View:
        """ "Hủy": in the middle of /subscribe it cancels that; otherwise it asks to stop."""
        services = self._services
        if services.zalo_subscribing.where(turn.person, turn.person) is not None:
            return await self._step(turn, SubscribeStep("cancel"))
        if await services.subscriptions.get(turn.person, channel=ZALO) is None:
            return nothing_to_stop_view(services.catalog, turn.lang, False)
        return stop_view(services.catalog, turn.lang, False)

    async def _step(self, turn: _Turn, tap: SubscribeStep) -> View:
        """A step of the /subscribe dialog (as handlers.subscribe.on_step on Telegram)."""
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        subscribing = services.zalo_subscribing
        if tap.step == "cancel":
            await subscribing.end(turn.person, turn.person)
            return View(catalog.text("subscribe.cancelled", lang))
        offered, names = await self._categories()
        chosen = tap.chosen
        known = {category.category_id for category in offered}
        if not chosen <= known or (tap.step == "toggle" and tap.value not in known):
            return View(catalog.text("errors.stale_button", lang))
        if tap.step == "how" and not tap.every and not chosen:
            view = categories_view(catalog, lang, offered, chosen)
            view = View(
                f"{catalog.text('subscribe.need_category', lang)}\n\n{view.text}", view.buttons
            )
            await subscribing.shown(turn.person, turn.person, SubscribeStep("pick"), view)
            return view
        if tap.step in ("instant", "hour", "day"):
            return await self._save(turn, tap, names)
        current = await services.subscriptions.get(turn.person, channel=ZALO)
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
            view = hour_view(
                catalog, lang, tap, current.hour if daily and current else DEFAULT_HOUR
            )
        else:  # "weekly"
            weekly = current is not None and current.mode == "weekly"
            view = day_view(catalog, lang, tap, current.weekday if weekly and current else None)
        await subscribing.shown(turn.person, turn.person, tap, view)
        return view

    async def _save(self, turn: _Turn, tap: SubscribeStep, names: dict[int, str]) -> View:
        services = self._services
        catalog = services.catalog
        mode: Mode = (
            "instant" if tap.step == "instant" else "daily" if tap.step == "hour" else "weekly"
        )
        subscription = Subscription(
            chat_id=turn.person,
            mode=mode,
            hour=tap.value if mode == "daily" else WEEKLY_HOUR,
            weekday=tap.value if mode == "weekly" else 0,
            all_categories=tap.every,
            category_ids=frozenset() if tap.every else tap.chosen,
            language=turn.lang,
            channel=ZALO,
        )
        saved = await services.subscriptions.save(subscription)
        await services.zalo_subscribing.end(turn.person, turn.person)
        log.info("Zalo subscription %s: %s", saved.value, mode)
        key = "subscribe.saved" if saved is Saved.NEW else "subscribe.changed"
        return View(
            catalog.text(key, turn.lang, **described(catalog, turn.lang, subscription, names))
        )

    async def _stop(self, turn: _Turn, tap: StopSubscription) -> View:
        services = self._services
        catalog = services.catalog
        lang = turn.lang
        if tap.action == "no":
            return View(catalog.text("subscribe.kept", lang))
        exists = await services.subscriptions.get(turn.person, channel=ZALO) is not None
        if tap.action == "ask":
            return (
                stop_view(catalog, lang, False)
                if exists
                else nothing_to_stop_view(catalog, lang, False)
            )
        if await services.subscriptions.delete(turn.person, channel=ZALO):
            log.info("Zalo subscription stopped")
            return View(catalog.text("subscribe.stopped", lang))
        return nothing_to_stop_view(catalog, lang, False)
