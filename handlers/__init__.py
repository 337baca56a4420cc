"""The Telegram front end's wiring: every handler and every job, each in one table.

- `COMMANDS` (`bot.commands`) names every command, who may use it and its menu; `_routes` gives
  each its handler here, and `register` refuses to start if the two disagree. The menus
  (`bot.menus`) and the interaction log's known commands (`handlers.tracking`) come from the
  same table.
- `_others` lists, in order, the handlers that are not commands: buttons by their typed data,
  dialogs' messages, the search, the catch-all for stale buttons.
- `schedule` starts every job, each under its own name (`JOB_NAMES`).

Handler modules never import one another: what they share is in `bot` (`bot.adapter`,
`bot.services`, `bot.views`), and a module that hands an update on to another's command (the
main menu) finds it by name in `context.bot_data.actions`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.adapter import ButtonHandler
from bot.callbacks import (
    BroadcastAction,
    CaseAction,
    CaseList,
    DraftAction,
    ListPage,
    OpenArticle,
    RateCase,
    ReportAction,
    SearchPage,
    SetLanguage,
    ShowCategories,
    ShowResults,
    StopSubscription,
    SubscribeStep,
    Vote,
)
from bot.commands import COMMANDS
from bot.context import BotApplication, BotContext
from bot.keyboard import menu_keyboard
from bot.ops import backups
from bot.progress import FOLLOW_SECONDS
from bot.updates import ChatOrder
from bot.views.start import main_menu, menu_labels
from handlers import (
    broadcast,
    casejobs,
    cases,
    casetopics,
    casework,
    delivery,
    errors,
    news,
    poll,
    push,
    reading,
    staff,
    start,
    stats,
    subscribe,
    tracking,
)

__all__ = ["JOB_NAMES", "Front", "register", "schedule"]

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
Filter = filters.BaseFilter | None
Route = tuple[Callback, Filter]


@dataclass(frozen=True, slots=True)
class Front:
    """The parts of the Telegram front end that hold state for one application."""

    broadcaster: broadcast.Broadcaster
    newpoll: poll.NewPollDialog
    poll_messages: poll.PollMessages
    typing: casework.Typing  # a staff member typing for a case (answer, note, duplicate)
    reporting: cases.InDialog  # a resident writing a report (/gopy)
    reporting_or_wording: cases.InDialog  # ... or adding a word to their rating


def _routes(front: Front) -> dict[str, list[Route]]:
    """Each command's handler (a command may have several, each under its own filter)."""
    # New messages only (an edited "/subscribe" is not a second request), in private chats and
    # groups: a channel has no one to talk the dialog through with.
    where = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)
    return {
        "start": [(start.start, None)],
        "help": [(start.help_command, None)],
        "language": [(start.language_command, None)],
        "latest": [(reading.latest_command, None)],
        "categories": [(reading.categories_command, None)],
        "search": [(reading.search_command, None)],
        "links": [(reading.links_command, None)],
        "poll": [(poll.poll_command, None)],
        "newpoll": [(front.newpoll.start, None)],
        "closepoll": [(poll.closepoll_command, None)],
        "pollchart": [(poll.pollchart_command, None)],
        "pollcsv": [(poll.pollcsv_command, None)],
        "stats": [(stats.stats_command, None)],
        "forget": [(stats.forget_command, None)],
        "staffstats": [(stats.staffstats_command, None)],
        "myid": [(staff.myid_command, None)],
        "addstaff": [(staff.addstaff_command, None)],
        "removestaff": [(staff.removestaff_command, None)],
        "staff": [(staff.staff_command, None)],
        "audit": [(staff.audit_command, None)],
        "subscribe": [(subscribe.subscribe_command, where)],
        "settings": [(subscribe.settings_command, where)],
        "unsubscribe": [(subscribe.unsubscribe_command, where)],
        "senddigest": [(push.senddigest_command, None)],
        "sendpoll": [(push.sendpoll_command, None)],
        "broadcast": [(front.broadcaster.start, None)],
        "broadcasts": [(front.broadcaster.list_command, None)],
        "gopy": [(cases.gopy_command, None)],
        "phananh": [(cases.phananh_command, None)],
        "cases": [(casework.cases_command, None)],
        "casescsv": [(casework.casescsv_command, None)],
        "casetopics": [(casetopics.casetopics_command, None)],
        # /cancel belongs to the dialog under way: a poll being written, else an announcement,
        # else a report, else what a staff member types for a case.
        "cancel": [
            (front.newpoll.cancel, front.newpoll.writing),
            (front.broadcaster.cancel_command, front.broadcaster.drafting),
            (cases.cancel_command, front.reporting),
            (casework.cancel, front.typing),
        ],
    }


def _others(
    application: BotApplication, front: Front
) -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers that are not commands, in the order they are tried."""
    menu = filters.Text(menu_labels(application.bot_data.services.catalog))
    # Anything a person can send: what cannot be announced gets a reply saying so.
    content = filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    return [
        ButtonHandler(start.choose_language, SetLanguage),
        ButtonHandler(reading.on_open_article, OpenArticle),
        ButtonHandler(reading.on_list_page, ListPage),
        ButtonHandler(reading.on_categories, ShowCategories),
        ButtonHandler(reading.on_search_page, SearchPage),
        InlineQueryHandler(reading.inline_search),
        # Main-menu taps arrive as text: before the search, which takes any other text.
        MessageHandler(menu & filters.ChatType.PRIVATE, start.menu_button),
        # The /newpoll dialog's text handler takes a message only from staff writing a poll:
        # before the search.
        ButtonHandler(front.newpoll.on_button, DraftAction),
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & front.newpoll.writing,
            front.newpoll.on_text,
        ),
        # /gopy: its message handler takes only what a resident in the dialog sends (a text, a
        # photo, a location, a shared contact), or their word after rating an answer.
        ButtonHandler(cases.on_report_button, ReportAction),
        ButtonHandler(cases.on_rate, RateCase),
        MessageHandler(
            filters.UpdateType.MESSAGE & ~filters.COMMAND & front.reporting_or_wording,
            cases.on_message,
        ),
        ButtonHandler(front.poll_messages.on_vote, Vote),
        ButtonHandler(front.poll_messages.on_results, ShowResults),
        ButtonHandler(stats.on_forget, stats.ForgetAnswer),
        ButtonHandler(subscribe.on_step, SubscribeStep),
        ButtonHandler(subscribe.on_stop, StopSubscription),
        # /broadcast: its message handler takes only a staff member's draft or time.
        ButtonHandler(front.broadcaster.on_button, BroadcastAction),
        MessageHandler(
            filters.ChatType.PRIVATE & content & front.broadcaster.awaiting_filter,
            front.broadcaster.on_message,
        ),
        # Residents' reports as staff handle them; what a staff member types for a case (its
        # answer, a note, the case it repeats) comes before the search.
        ButtonHandler(casework.on_list, CaseList),
        ButtonHandler(casework.on_action, CaseAction),
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & front.typing,
            casework.on_text,
        ),
        # A forwarded message is something to keep (say, to /addstaff its author), not a
        # search: it gets no answer.
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED & filters.ChatType.PRIVATE,
            reading.search_text,
        ),
        # Last: any button no handler above recognised is stale or forged.
        CallbackQueryHandler(errors.stale_button),
    ]


def register(application: BotApplication) -> Front:
    """Register every handler. Order matters: see the comments on each group."""
    services = application.bot_data.services
    front = Front(
        broadcast.Broadcaster(services),
        poll.NewPollDialog(services),
        poll.PollMessages(),
        casework.Typing(services),
        cases.InDialog(services, words=False),
        cases.InDialog(services, words=True),
    )
    application.bot_data.front = front
    application.bot_data.main_menu = lambda lang: menu_keyboard(main_menu(services.catalog, lang))
    processor = application.update_processor
    if isinstance(processor, ChatOrder):
        # What staff see must be what residents get: a draft's messages are taken in order.
        processor.claim(front.broadcaster.order_key)
    routes = _routes(front)
    names = [command.name for command in COMMANDS]
    if sorted(routes) != sorted(names):
        raise RuntimeError(
            "bot.commands.COMMANDS and handlers._routes name different commands: "
            f"{sorted(set(routes) ^ set(names))}"
        )
    # What other modules hand updates to, by name (the main menu's buttons, a /start link).
    actions = application.bot_data.actions
    actions.update({name: handlers[0][0] for name, handlers in routes.items()})
    actions["open_article"] = reading.send_article
    # Group -1 runs before everything else for every update: remember who talked to the bot and
    # log the interaction (without the Telegram id).
    application.add_handler(TypeHandler(object, tracking.remember_user), group=-1)
    commands: list[BaseHandler[Update, BotContext, None]] = [
        CommandHandler(command.name, callback, filters=where)
        for command in COMMANDS
        for callback, where in routes[command.name]
    ]
    application.add_handlers(
        [
            # The bot blocked, unblocked, added or removed: bulk sends follow at once.
            ChatMemberHandler(delivery.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            *commands,
            *_others(application, front),
        ]
    )
    application.add_error_handler(errors.on_error)
    return front


# -- jobs -------------------------------------------------------------------------------------

DAY = 24 * 3600

JOB_NAMES = (
    "broadcast-release",
    "broadcast-progress",
    push.DIGEST_JOB,
    f"{push.DIGEST_JOB}-catch-up",
    "prune-searches",
    "prune-interaction-log",
    casejobs.REMINDER_JOB,
    casejobs.SUMMARY_JOB,
    news.JOB_NAME,
    "zalo-token",
    "zalo-prune-events",
)

# Zalo's access token is looked at this often and refreshed when it is due (it lasts 25 hours):
# the single-use refresh token is then rotated daily, so it never reaches its own expiry (about
# three months) however quiet the OA is.
ZALO_TOKEN_SECONDS = 3600


async def _zalo_token(context: BotContext) -> None:
    """Refresh Zalo's access token when it is due (a refusal is said once, with what to do)."""
    if context.services.zalo is not None:
        await context.services.zalo.check()


async def _zalo_prune_events(context: BotContext) -> None:
    """Forget the keys of Zalo events old enough never to come again."""
    if context.services.zalo is not None:
        await context.services.zalo.events.prune()


def schedule(application: BotApplication) -> None:
    """Start every job of the bot, each under its own name; called once the services are open
    (post_init). A job added elsewhere is a job missing from this list."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    front = application.bot_data.front
    assert isinstance(front, Front)
    services = application.bot_data.services
    broadcaster = front.broadcaster
    # A scheduled announcement goes out when its time comes, to who is subscribed then.
    job_queue.run_repeating(
        broadcaster.panels.release, interval=FOLLOW_SECONDS, first=FOLLOW_SECONDS,
        name="broadcast-release",
    )  # fmt: skip
    job_queue.run_repeating(
        broadcaster.panels.follow, interval=FOLLOW_SECONDS, first=FOLLOW_SECONDS,
        name="broadcast-progress",
    )  # fmt: skip
    # Digests are looked at on every hour (digest times are whole hours) and once at start-up,
    # which sends a digest missed while the bot was down.
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    job_queue.run_repeating(push.digest_tick, interval=3600, first=next_hour, name=push.DIGEST_JOB)
    job_queue.run_once(push.digest_tick, when=5, name=f"{push.DIGEST_JOB}-catch-up")
    job_queue.run_repeating(reading.prune_searches, interval=DAY, first=60, name="prune-searches")
    job_queue.run_repeating(stats.prune_log, interval=DAY, first=120, name="prune-interaction-log")
    # Residents' reports: the reminders of deadlines (each once, remembered in the database),
    # and the owners' morning summary (once a local day, from casejobs.SUMMARY_HOUR).
    job_queue.run_repeating(
        casejobs.reminders_tick, interval=10 * 60, first=30, name=casejobs.REMINDER_JOB
    )
    job_queue.run_repeating(
        casejobs.summary_tick, interval=10 * 60, first=45, name=casejobs.SUMMARY_JOB
    )
    if services.news is not None:
        job_queue.run_repeating(
            news.poll_news,
            interval=services.settings.NEWS_POLL_MINUTES * 60,
            first=1,
            name=news.JOB_NAME,
        )
    if services.zalo is not None:
        job_queue.run_repeating(
            _zalo_token, interval=ZALO_TOKEN_SECONDS, first=ZALO_TOKEN_SECONDS, name="zalo-token"
        )
        job_queue.run_repeating(_zalo_prune_events, interval=DAY, first=180,
                                name="zalo-prune-events")  # fmt: skip
    # The daily backup, when BACKUP_DIR is set.
    backups.schedule(application)


def poll_news_now(application: BotApplication) -> None:
    """Read the website at once rather than at the next scheduled poll (the demo's "publish")."""
    if application.job_queue is not None:
        application.job_queue.run_once(news.poll_news, 0, name=f"{news.JOB_NAME}-now")
