"""The bot's shared resources and the typed context handlers receive."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
from telegram import Bot, ReplyKeyboardMarkup, User
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue
from telegram.request import BaseRequest

from bot.config import Settings
from bot.delivery import DeliveryEngine, TelegramSender
from bot.i18n import Catalog, pick_language
from bot.news import NewsReader, news_client, reader_for
from bot.ops.metrics import Metrics
from bot.push import Pusher
from bot.ratelimit import FloodControl
from bot.request import OFFLINE_TOKEN, JsonRequest, OfflineRequest, proxy_from_environment
from bot.sending import Sender
from bot.services import Announcements, Dialogs, Roles
from bot.services.broadcast_drafts import BROADCAST, BroadcastDrafts
from bot.services.cases import Case, Cases
from bot.services.casework import Casework
from bot.services.polls import NewPolls
from bot.services.privacy import Privacy
from bot.services.reporting import Reporting
from bot.services.subscribing import Subscribing
from storage import DEFAULT_CHANNEL, AuditLog, Database, PollStore, StaffStore, UserStore
from storage.articles import ArticleReader, ArticleStore
from storage.broadcasts import BroadcastStore
from storage.case_notices import CaseNoticeStore
from storage.case_topics import CaseTopicStore
from storage.cases import CaseStore
from storage.casework import CaseworkStore
from storage.chats import ChatStore
from storage.dialogs import DialogStore
from storage.ingest import IngestLog, State
from storage.outbox import OutboxStore
from storage.stats import InteractionLog
from storage.subscriptions import DigestReader, SubscriptionStore
from storage.zalo import CHANNEL as ZALO
from storage.zalo import ZaloPeople
from storage.zalo_broadcasts import ZaloBroadcastStore

if TYPE_CHECKING:
    from bot.ops.server import OpsServer
    from bot.zalo.front import EventHandler, ZaloFront
    from bot.zalo.oa import OfficialAccount
    from bot.zalo.webhook import ZaloWebhook

__all__ = ["BotApplication", "BotContext", "BotData", "Services"]

log = logging.getLogger(__name__)

SEEN_EVERY = 60.0  # seconds between two records of the same user's activity
# A dialog (/newpoll) left alone this long is forgotten, so its text goes back to the search.
DIALOG_SECONDS = 30 * 60
LOG_KEY_CHARS = 8  # of the keyed hash, in log lines: enough to follow one person, no more


class Services:
    """Everything handlers share: settings, texts, and the resources opened at start-up."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._db: Database | None = None
        self._users: UserStore | None = None
        self._http: httpx.AsyncClient | None = None
        self.news: NewsReader | None = None  # None when no NEWS_SITE_URL is set
        # Every update needs the sender's language and marks them seen: both are kept in memory
        # so that reading a page costs no extra database round trip.
        self._languages: dict[int, str | None] = {}
        self._seen_at: dict[int, float] = {}
        self._stats: InteractionLog | None = None
        # Replies and bulk sends share Telegram's flood limits through this one object.
        self.flood = FloodControl(settings.SEND_RATE_PER_SECOND)
        self._delivery: DeliveryEngine | None = None
        self._bulk_bot: Bot | None = None
        self._push: Pusher | None = None
        self._stores: _Stores | None = None
        # The services proper, made in open() once the database is there.
        self.roles: Roles
        self.announcements: Announcements
        self.dialogs: Dialogs
        self.newpolls: NewPolls
        self.broadcast_drafts: BroadcastDrafts
        self.subscribing: Subscribing
        self.privacy: Privacy
        # Zalo's side of the same services (bot/zalo): its dialogs (the last numbered choices,
        # /subscribe), its /forget; its people and their window are `zalo_people`.
        self.zalo_dialogs: Dialogs
        self.zalo_subscribing: Subscribing
        self.zalo_privacy: Privacy
        self.zalo_reporting: Reporting  # /gopy on Zalo: the same dialog, in the Zalo dialogs
        self.cases: Cases
        self.reporting: Reporting
        self.casework: Casework
        # The commune's channel as Telegram numbers it (chats, the outbox and Telegram's own
        # updates all use the number): CHANNEL_ID itself, or the id of the @username it gives,
        # once handlers.delivery.find_channel has looked it up.
        channel = settings.CHANNEL_ID
        self.channel: int | None = channel if isinstance(channel, int) else None
        # This bot's metrics, in a registry of its own (tests run several bots in one process).
        self.metrics = Metrics()
        self.opened_at = time.time()  # when open() ran: the health check counts from it
        self.ops_server: OpsServer | None = None  # /healthz and /metrics, when METRICS_LISTEN
        # The commune's Zalo OA (people, tokens, client), when the Zalo settings are there;
        # made in open(). The wiring sets `on_zalo_refused` when it can reach the owners (on
        # Telegram): called with Zalo's words when Zalo refuses the refresh token.
        self.zalo: OfficialAccount | None = None
        self.zalo_webhook: ZaloWebhook | None = None  # listening while the bot runs
        self.on_zalo_refused: Callable[[str], Awaitable[None]] | None = None
        # Zalo's front (its replies inside the window), while its webhook runs: a notice to a
        # Zalo reporter goes through it (bot.zalo.notices).
        self.zalo_front: ZaloFront | None = None
        # What staff are told of a resident's report made on a front end without Telegram
        # (Zalo): a new case with its photos and location, a case reopened by its rating. Set
        # by the wiring when Telegram is used (staff work on Telegram); None, nobody is told.
        self.on_new_case: Callable[[Case], Awaitable[int]] | None = None
        self.on_reopened_case: Callable[[Case], Awaitable[None]] | None = None

    async def open(self) -> None:
        """Open the database (applying migrations) and the news reader; called from post_init."""
        self._db = await Database.open(self.settings.DATABASE_PATH)
        self.opened_at = time.time()
        self._users = UserStore(self._db)
        self._stores = _Stores(self._db, self.settings)
        stores = self._stores
        self.roles = Roles(self.settings, stores.staff, stores.audit)
        self.announcements = Announcements(
            broadcasts=stores.broadcasts,
            outbox=stores.outbox,
            digests=stores.digests,
            articles=stores.articles,
            reading=stores.reading,
            audit=stores.audit,
            settings=self.settings,
            catalog=self.catalog,
            channel=lambda: self.channel,
            wake=lambda: self.delivery.wake(),
            bot_username=lambda: self.bulk_bot.username,
            who=self.who,
            zalo=stores.zalo_people if self.settings.zalo_enabled else None,
            zalo_broadcasts=stores.zalo_broadcasts,
            oa_articles=lambda: None if self.zalo is None else self.zalo.client,
        )
        # An announcement's draft waits for its author however long they take, as it always has.
        self.dialogs = Dialogs(DialogStore(self._db), DIALOG_SECONDS, ages={BROADCAST: math.inf})
        await self.dialogs.restore()
        self.newpolls = NewPolls(self.dialogs)
        self.broadcast_drafts = BroadcastDrafts(self.dialogs, stores.broadcasts)
        self.subscribing = Subscribing(self.dialogs)
        self.privacy = Privacy(lambda: self.stats, self.dialogs, self.forget_cached)
        # A Zalo resident's numbers keep their meaning as long as the OA may answer them.
        self.zalo_dialogs = Dialogs(
            DialogStore(self._db), self.settings.ZALO_WINDOW_HOURS * 3600, channel=ZALO
        )
        await self.zalo_dialogs.restore()
        self.zalo_subscribing = Subscribing(self.zalo_dialogs)
        self.zalo_privacy = Privacy(
            lambda: self.stats, self.zalo_dialogs, lambda _: None, channel=ZALO
        )
        self.cases = Cases(
            stores.cases, stores.case_topics, stores.staff, stores.audit, self.settings
        )
        self.reporting = Reporting(self.dialogs, self.cases)
        self.zalo_reporting = Reporting(self.zalo_dialogs, self.cases)
        self.casework = Casework(
            self.cases,
            stores.casework,
            self.dialogs,
            stores.staff,
            self._users,
            stores.state,
            self.settings,
        )
        # Residents can answer /poll from the very first start.
        await self.polls.ensure_default(self.settings.POLL_QUESTION, self.settings.POLL_OPTIONS)
        key = self.settings.STATS_KEY
        self._stats = await InteractionLog.open(
            self._db, self.settings.tz, key.get_secret_value() if key else None
        )
        if self.settings.zalo_enabled:
            from bot.zalo.oa import OfficialAccount  # only when Zalo is configured

            self.zalo = OfficialAccount(
                self._db, self.settings, self._zalo_refused, people=stores.zalo_people
            )
            await self.zalo.open()
        if self.settings.NEWS_SITE_URL:
            self._http = news_client(self.settings)
            self.news = reader_for(self.settings, self._db, self._http)
            self.news.add_listener(self.metrics.poll_finished)

    async def _zalo_refused(self, words: str) -> None:
        """Zalo refused the refresh token: kept in the audit log (on channel zalo, for /audit),
        and the owners are told, where the wiring can reach them."""
        try:
            await self.audit.record(None, "zalo_token_refused", {"channel": ZALO, "reason": words})
        except Exception:  # the owners are still told
            log.exception("could not write Zalo's refusal in the audit log")
        if self.on_zalo_refused is not None:
            await self.on_zalo_refused(words)

    async def start_delivery(self) -> DeliveryEngine:
        """Start sending what the outbox holds (the running bot does; the CLI's tools do not)."""
        root = self.settings.TELEGRAM_API_URL
        # Its own connections: a large job never holds one a reply to a resident needs. With
        # Zalo alone the bot never reaches Telegram (bot.request.OfflineRequest).
        request: BaseRequest = (
            JsonRequest(min(self.flood.max_in_flight, 64) + 4, proxy=proxy_from_environment(root))
            if self.settings.telegram_enabled
            else OfflineRequest()
        )
        bot = Bot(
            self.settings.token or OFFLINE_TOKEN,
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            request=request,
        )
        await bot.initialize()
        self._bulk_bot = bot
        # Telegram's rows wait while Telegram is not configured (Zalo alone), rather than fail.
        senders: list[Sender] = (
            [TelegramSender(bot, self.flood)] if self.settings.telegram_enabled else []
        )
        if self.zalo is not None:  # Zalo's rows, inside each resident's window, at Zalo's pace
            from bot.zalo.delivery import ZaloPace, ZaloSender
            from bot.zalo.poll import ResidentNumbers

            senders.append(
                ZaloSender(
                    self.zalo.client,
                    self.zalo.people,
                    ZaloPace(self.settings.ZALO_SEND_RATE_PER_SECOND),
                    window=self.zalo.window,
                    messages=self.zalo.window_messages,
                    numbers=ResidentNumbers(self),  # the poll's numbers become theirs
                )
            )
        engine = DeliveryEngine(self.outbox, self.chats, senders, on_outcome=self.metrics.sent)
        await engine.start()
        self._delivery = engine
        username = bot.username
        self._push = Pusher(
            self.db, self.catalog, self.settings, username, engine.wake, lambda: self.channel
        )
        return engine

    async def close(self) -> None:
        """Close what open() opened; safe to call when open() failed or never ran."""
        if self._delivery is not None:
            await self._delivery.stop()
            await self.bulk_bot.shutdown()
            self._bulk_bot = None
            self._delivery = None
            self._push = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
            self.news = None
        if self.zalo is not None:
            await self.zalo.close()
            self.zalo = None
        if self._stats is not None:
            await self._stats.close()  # write the queued interactions while the database is open
            self._stats = None
        if self._db is not None:
            await self._db.close()
            self._db = None
            self._users = None
            self._stores = None

    @property
    def db(self) -> Database:
        """The open database."""
        if self._db is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._db

    @property
    def bulk_bot(self) -> Bot:
        """The `Bot` bulk sends use (its own connections; its username names the bot)."""
        if self._bulk_bot is None:
            raise RuntimeError("the delivery engine is not started")
        return self._bulk_bot

    @property
    def delivery(self) -> DeliveryEngine:
        """The delivery engine, once started."""
        if self._delivery is None:
            raise RuntimeError("the delivery engine is not started")
        return self._delivery

    @property
    def delivery_alive(self) -> bool:
        """Whether the delivery engine is started and its loop still runs."""
        return self._delivery is not None and self._delivery.alive

    @property
    def push(self) -> Pusher:
        """Alerts and digests, once the delivery engine is started."""
        if self._push is None:
            raise RuntimeError("the delivery engine is not started")
        return self._push

    @property
    def outbox(self) -> OutboxStore:
        """Bulk sends and their outcomes."""
        return self._store.outbox

    @property
    def chats(self) -> ChatStore:
        """Which chats can be reached."""
        return self._store.chats

    @property
    def articles(self) -> ArticleStore:
        """The stored articles."""
        return self._store.articles

    @property
    def reading(self) -> ArticleReader:
        """The queries residents' reading needs."""
        return self._store.reading

    @property
    def state(self) -> State:
        """Small named values kept between runs."""
        return self._store.state

    @property
    def news_log(self) -> IngestLog:
        """The record of the news reader's runs."""
        return self._store.news_log

    @property
    def polls(self) -> PollStore:
        """The satisfaction polls and their votes."""
        return self._store.polls

    @property
    def staff(self) -> StaffStore:
        """The staff the owners added (the owners are settings.ADMIN_IDS)."""
        return self._store.staff

    @property
    def audit(self) -> AuditLog:
        """What staff did, and refused attempts at staff commands."""
        return self._store.audit

    @property
    def subscriptions(self) -> SubscriptionStore:
        """Which chats receive the news, what and when."""
        return self._store.subscriptions

    @property
    def broadcasts(self) -> BroadcastStore:
        """Staff announcements: drafts, queued and sent."""
        return self._store.broadcasts

    @property
    def digests(self) -> DigestReader:
        """Who receives what: audiences, digest bookmarks, articles not yet announced."""
        return self._store.digests

    @property
    def case_notices(self) -> CaseNoticeStore:
        """What a reporter is told of their case, held until their channel lets the bot write."""
        return self._store.case_notices

    @property
    def zalo_people(self) -> ZaloPeople:
        """Residents on Zalo: their local numbers and the interaction window."""
        return self._store.zalo_people

    @property
    def _store(self) -> _Stores:
        if self._stores is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._stores

    @property
    def stats(self) -> InteractionLog:
        """The interaction log and the counts kept with it."""
        if self._stats is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._stats

    def who(self, user_id: int | None, channel: str = DEFAULT_CHANNEL) -> str:
        """How a log line at INFO or above names a person or chat: the start of the interaction
        log's keyed hash of the id on its channel (the same person, the same name), never the
        Telegram id (nor, on Zalo, the local number)."""
        if user_id is None:
            return "nobody"
        if self._stats is None:  # not open (start-up, shut-down): nothing to name them by
            return "someone"
        return "#" + self._stats.key_of(user_id, channel)[:LOG_KEY_CHARS]

    def forget_cached(self, user_id: int) -> None:
        """Drop what is kept in memory about a user (after /forget)."""
        self._languages.pop(user_id, None)
        self._seen_at.pop(user_id, None)

    @property
    def users(self) -> UserStore:
        """The users table."""
        if self._users is None:
            raise RuntimeError("services are not open: the database is used before post_init")
        return self._users

    async def language_of(self, user: User | None) -> str:
        """The language to answer `user` in."""
        default = self.settings.DEFAULT_LANGUAGE
        if user is None:
            return default
        if user.id not in self._languages:
            self._languages[user.id] = await self.users.language(user.id)
        return pick_language(self._languages[user.id], user.language_code, default)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember a user's choice of language."""
        await self.users.set_language(user_id, language)
        self._languages[user_id] = language

    async def seen(self, user_id: int) -> None:
        """Record that a user was active; at most once a minute per user hits the database."""
        now = time.monotonic()
        if now - self._seen_at.get(user_id, -SEEN_EVERY) < SEEN_EVERY:
            return
        self._seen_at[user_id] = now
        await self.users.touch(user_id)

    async def text_for(self, user: User | None, key: str, /, **values: object) -> str:
        """The catalogue text `key` in `user`'s language."""
        return self.catalog.text(key, await self.language_of(user), **values)


class _Stores:
    """Every store, created once when the database opens (a store holds no state of its own
    but its database: handlers and services share these instances)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.outbox = OutboxStore(db)
        self.chats = ChatStore(db)
        self.articles = ArticleStore(db)
        self.reading = ArticleReader(db)
        self.state = State(db)
        self.news_log = IngestLog(db)
        self.polls = PollStore(db)
        self.staff = StaffStore(db)
        self.audit = AuditLog(db)
        self.subscriptions = SubscriptionStore(db, settings.tz)
        self.broadcasts = BroadcastStore(db)
        self.digests = DigestReader(db)
        self.cases = CaseStore(db)
        self.case_topics = CaseTopicStore(db)
        self.casework = CaseworkStore(db)
        self.case_notices = CaseNoticeStore(db)
        self.zalo_people = ZaloPeople(db)
        self.zalo_broadcasts = ZaloBroadcastStore(db)


Action = Callable[..., Awaitable[None]]


class BotData:
    """`context.bot_data`: holds the Services (PTB creates it without arguments), and the front
    end's entry points by name (`handlers.register` fills them), so that one handler module can
    hand an update to another (the main menu to /latest) without importing it."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self.actions: dict[str, Action] = {}
        self.front: object | None = None  # handlers.Front, once registered
        # The main menu's keyboard in a language (handlers.start's), for a dialog that puts its
        # own reply keyboard in its place (/gopy's "share location") and gives it back after.
        self.main_menu: Callable[[str], ReplyKeyboardMarkup] | None = None
        # What answers a Zalo event, made from the services when the Zalo webhook starts
        # (bot.app.conversation unless a test gives its own).
        self.zalo_handler: Callable[[Services], EventHandler] | None = None

    def attach(self, services: Services) -> None:
        """Give the bot its services; done once by the wiring."""
        self._services = services

    @property
    def services(self) -> Services:
        """The bot's services."""
        if self._services is None:
            raise RuntimeError("no services attached to the application")
        return self._services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every handler receives, with typed access to the services."""

    @property
    def services(self) -> Services:
        """The bot's services."""
        return self.bot_data.services


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[BotContext]
]
