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

Here: the entry point and the turn (`Conversation.handle`), what a typed text means (a number,
a query button, a command word: `WORDS`, `command_of`), the numbers (`CHOICES`, `in_dialog`),
the menu. What each choice or command does is in its part's module, as the reports' is:
`bot.zalo.reading` (lists, articles, search), `bot.zalo.subscribing` (/subscribe, settings,
stopping), `bot.zalo.voting` (the poll), `bot.zalo.stats` (/stats, /forget),
`bot.zalo.reports` (góp ý – phản ánh).

Every event is logged in the interaction log as Telegram's are (channel "zalo"); a person is
('zalo', person) in every table. No Telegram import here: tests/test_imports.py checks it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.callbacks import (
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
from bot.news.text import fold
from bot.reading import render_categories, render_links
from bot.views import Button, View, rows_of
from bot.views.stats import forget_view
from bot.zalo.held import held_view, take_held
from bot.zalo.messages import ZaloEvent, ZaloMessage
from bot.zalo.reading import ZaloReading
from bot.zalo.render import PAYLOAD_MARK, for_zalo
from bot.zalo.reports import REPORT_COMMANDS, REPORT_WORDS, ZaloReports
from bot.zalo.stats import ZaloStats
from bot.zalo.subscribing import ZaloSubscriptions
from bot.zalo.voting import ZaloVoting
from storage.stats import Interaction
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["CHOICES", "WORDS", "Conversation", "command_of", "in_dialog"]

log = logging.getLogger(__name__)

CHOICES = "choices"  # the dialog kind holding a person's last numbered choices
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


async def keep_numbers(
    services: Services, person: int, choices: Mapping[int, str] | Mapping[str, str]
) -> None:
    """The resident's numbers from now on: each number → the packed typed action it stands for
    (the `choices` dialog). Written before the message offering them leaves, so the number
    typed next finds them, after a restart too. The one place that sets them: the answers
    (`Conversation._render`), a case's notice (`bot.zalo.notices`), the poll /sendpoll sends
    (`bot.zalo.poll`)."""
    packed = {str(number): action for number, action in choices.items()}
    services.zalo_dialogs.begin(CHOICES, person, person, {"choices": packed})
    await services.zalo_dialogs.save(CHOICES, person, person)


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
        # Each part of what a resident can do, in its own module; the turn, the numbers and
        # the words stay here.
        self._reading = ZaloReading(services, self._clock)
        self._subscriptions = ZaloSubscriptions(services)
        self._voting = ZaloVoting(services)
        self._stats = ZaloStats(services, self._clock)
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
            poll = await self._voting.held(person, turn.lang, views)
            if poll is not None:
                if taken:
                    hint = services.catalog.text("zalo.poll_hint", turn.lang)
                    poll = View(f"{poll.text}\n\n{hint}", poll.buttons)
                    quiet.append(poll)
                before.append(poll)
            views = [*before, *views]
        return await self._render(turn, views, quiet)

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
            await keep_numbers(self._services, turn.person, choices)
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
            return [await self._reading.search(turn.person, turn.update_id, turn.lang, rest)]
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
            reading = self._reading
            view = await reading.article(lang, action.article_id, action.page, action.category_id)
            return [view or View(catalog.text("read.article_gone", lang))]
        if isinstance(action, ListPage):
            return [await self._reading.list(lang, action.category_id, action.page)]
        if isinstance(action, ShowCategories):
            return [render_categories(await services.reading.categories(), catalog, lang)]
        if isinstance(action, SearchPage):
            return [await self._reading.search_page(lang, action.search_id, action.page)]
        if isinstance(action, Vote):
            return [await self._voting.vote(turn.person, lang, turn.seq, action)]
        if isinstance(action, ShowResults):
            return [await self._voting.results(turn.person, lang, action.poll)]
        if isinstance(action, SubscribeStep):
            return [await self._subscriptions.step(turn.person, lang, action)]
        if isinstance(action, StopSubscription):
            return [await self._subscriptions.stop(turn.person, lang, action)]
        if isinstance(action, ForgetAnswer):
            # The answer is in the language asked in (`lang`, read before it is deleted); from
            # now on nothing more is kept about them.
            view = await self._stats.forget(turn.person, lang, action.confirmed)
            turn.forgotten = action.confirmed
            return [view]
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
            return [await self._reading.list(lang, 0, 1)]
        if command == "categories":
            return [render_categories(await services.reading.categories(), catalog, lang)]
        if command == "search":
            return [View(catalog.text("zalo.search_help", lang))]
        if command == "links":
            return [render_links(list(services.settings.WEB_LINKS), catalog, lang)]
        if command == "poll":
            return [await self._voting.poll(turn.person, lang)]
        if command == "stats":
            return [await self._stats.stats(lang)]
        if command == "subscribe":
            return [await self._subscriptions.subscribe(turn.person, lang)]
        if command == "settings":
            return [await self._subscriptions.settings(turn.person, lang)]
        if command == "unsubscribe":
            return [await self._subscriptions.unsubscribe(turn.person, lang)]
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
