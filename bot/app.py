"""Application wiring: the one place where settings, services and handlers come together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import cast
from urllib.parse import urlsplit

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults

import handlers
from bot.adapter import tell_reopened, tell_staff
from bot.config import Settings
from bot.context import BotApplication, BotContext, BotData, Services
from bot.i18n import Catalog
from bot.menus import MENU_COMMANDS, register_commands, set_staff_menus
from bot.ops.metrics import MeasuredUpdates
from bot.ops.server import OpsServer
from bot.ratelimit import RetryAfterLimiter
from bot.request import OFFLINE_TOKEN, JsonRequest, OfflineRequest, proxy_from_environment
from bot.webhook import WebhookServer
from bot.zalo.chat import Conversation
from bot.zalo.front import EventHandler, ZaloFront
from bot.zalo.webhook import ZaloWebhook
from handlers import delivery, tracking
from storage.zalo import CHANNEL as ZALO

__all__ = ["MENU_COMMANDS", "build_application", "poll_news_now", "running"]

log = logging.getLogger(__name__)

# Seconds a getUpdates call may wait for news (long polling).
POLL_TIMEOUT = 10


ZaloHandlerFactory = Callable[[Services], EventHandler]


def conversation(services: Services) -> EventHandler:
    """The Zalo conversation: `bot.zalo.chat.Conversation`, over the same services."""
    return Conversation(services).handle


def build_application(
    settings: Settings,
    catalog: Catalog | None = None,
    *,
    zalo_handler: ZaloHandlerFactory = conversation,
) -> BotApplication:
    """Build the python-telegram-bot Application with every handler registered.

    Telegram, Zalo, or both: without BOT_TOKEN the Application still runs (its JobQueue is the
    one scheduler, its start and stop the one path) but its bot never reaches Telegram
    (`bot.request.OfflineRequest`); with the Zalo settings, `running` also serves Zalo's
    webhook, each event answered by the handler `zalo_handler` makes from the services.
    """
    root = settings.TELEGRAM_API_URL
    services = Services(settings, catalog or Catalog.load(settings.DEFAULT_LANGUAGE))
    proxy = proxy_from_environment(root)
    telegram = settings.telegram_enabled
    builder = (
        ApplicationBuilder()
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        # Residents should not wait for one another: updates are handled concurrently, except
        # those a dialog claims, one at a time per chat (see bot.updates); each is counted and
        # timed for the metrics.
        .concurrent_updates(
            MeasuredUpdates(services.metrics, lambda update: tracking.describe(update).kind)
        )
        # Calls go as JSON, straight to httpx's connection pool (see bot.request).
        .request(JsonRequest(proxy=proxy) if telegram else OfflineRequest())
        # Two connections, not one: on stopping, PTB asks once more to confirm the last updates
        # while the cancelled long poll may still hold its connection (a pool timeout, logged
        # as an ERROR, on a busy machine).
        .get_updates_request(
            JsonRequest(2, read_timeout=POLL_TIMEOUT + 5, proxy=proxy)
            if telegram
            else OfflineRequest()
        )
        .rate_limiter(
            RetryAfterLimiter(flood=services.flood, on_retry_after=services.metrics.reply_flood)
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # PTB's builder types its JobQueue with the default context type; ours is BotContext.
    application = cast(BotApplication, builder.build())
    if application.job_queue is not None:
        # APScheduler drops a run more than a second late ("was missed"): on a busy machine the
        # queue may start seconds after a job was scheduled, and a dropped first news poll would
        # wait a whole interval. A late job runs once, as soon as it can.
        queue = application.job_queue
        queue.scheduler.configure(
            job_defaults={"misfire_grace_time": None, "coalesce": True},
            **queue.scheduler_configuration,
        )
    application.bot_data.attach(services)
    application.bot_data.zalo_handler = zalo_handler
    if telegram and settings.zalo_enabled:
        services.on_zalo_refused = functools.partial(_tell_owners_about_zalo, application)
        # A Zalo resident's report reaches the staff where they work: on Telegram.
        services.on_new_case = functools.partial(tell_staff, application.bot, services)
        services.on_reopened_case = functools.partial(tell_reopened, application.bot, services)
    handlers.register(application)
    return application


async def _tell_owners_about_zalo(application: BotApplication, words: str) -> None:
    """Zalo refused the refresh token: each owner is told on Telegram what to do."""
    services = application.bot_data.services
    for owner in sorted(services.settings.ADMIN_IDS):
        lang = await services.users.language(owner) or services.settings.DEFAULT_LANGUAGE
        text = services.catalog.text("zalo_oa.token_refused", lang, reason=words)
        try:
            await application.bot.send_message(owner, text)
        except TelegramError as exc:
            log.warning("could not tell an owner that Zalo refused the refresh token: %s", exc)


async def _post_init(application: BotApplication) -> None:
    """Open the services and tell Telegram the command menus."""
    services = application.bot_data.services
    await services.open()
    telegram = services.settings.telegram_enabled
    if telegram:
        await register_commands(application.bot, services.catalog)
        # Owners and staff see their commands too, in their private chat; a chat Telegram
        # refuses is logged and skipped (see bot.menus).
        await set_staff_menus(application.bot, services)
    await services.start_delivery()
    if services.zalo is not None:
        await services.zalo.check()  # a refused refresh token is said now, not later
    if telegram:
        await delivery.find_channel(application.bot, services)
        delivery.watch_channel(application.bot, services)
    handlers.schedule(application)  # every job, in one place
    if services.news is None:
        log.info("NEWS_SITE_URL is not set: the bot will not read the commune's website")
    if telegram:
        log.info("bot @%s is ready (database %s)", application.bot.username, services.db.path)
    else:
        log.info("bot is ready on Zalo alone, without Telegram (database %s)", services.db.path)


def poll_news_now(application: BotApplication) -> None:
    """Read the website at once rather than at the next scheduled poll (the demo's "publish")."""
    handlers.poll_news_now(application)


async def _post_shutdown(application: BotApplication) -> None:
    """Close what _post_init opened."""
    await application.bot_data.services.close()


def _polling_error(error: TelegramError) -> None:
    """One line per failed getUpdates; the updater retries by itself."""
    log.warning("could not fetch updates from Telegram (will retry): %s", error)


@contextlib.asynccontextmanager
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Run the bot inside the current event loop, in the order run_polling uses.

    The command line and the tests both use this, so tests exercise the production start-up and
    shut-down path: initialize → post_init → updater (or our webhook server) → start → Zalo's
    webhook, and the reverse on exit. Without BOT_TOKEN there is no updater and no Telegram
    webhook; the rest is the same (see build_application).
    """
    services = application.bot_data.services
    settings = services.settings
    updater = application.updater
    assert updater is not None
    webhook: WebhookServer | None = None
    zalo: ZaloWebhook | None = None
    ops: OpsServer | None = None
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        address = settings.metrics_address
        if address is not None:
            ops = OpsServer(services, *address)
            ops.start()
            services.ops_server = ops
        telegram = settings.telegram_enabled  # Zalo alone: nothing to fetch from Telegram
        if telegram and settings.WEBHOOK_URL:
            # Our own server, not updater.start_webhook: PTB's reads a request's whole body
            # before it checks the secret (see bot.webhook).
            secret = settings.WEBHOOK_SECRET
            assert secret is not None  # load_settings requires it with a webhook
            webhook = WebhookServer(
                application,
                settings.WEBHOOK_LISTEN,
                settings.WEBHOOK_PORT,
                urlsplit(settings.WEBHOOK_URL).path,
                secret.get_secret_value(),
            )
            webhook.start()
            await application.bot.set_webhook(
                settings.WEBHOOK_URL,
                secret_token=secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
        elif telegram:
            await updater.start_polling(
                poll_interval=0,
                timeout=POLL_TIMEOUT,
                allowed_updates=Update.ALL_TYPES,
                error_callback=_polling_error,
            )
        await application.start()
        if services.zalo is not None:
            zalo = _zalo_webhook(application)
            zalo.start()
            services.zalo_webhook = zalo
        try:
            yield application
        finally:
            if zalo is not None:
                await zalo.stop()  # the events being handled finish their replies first
                services.zalo_front = None  # a notice from now on is held for the next start
            if webhook is not None:
                await webhook.stop()
            if updater.running:
                await updater.stop()
            if application.running:
                await application.stop()
    finally:
        if zalo is not None:
            await zalo.stop()
        if webhook is not None:  # also when start-up failed after it began listening
            await webhook.stop()
        if ops is not None:
            await ops.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def _zalo_webhook(application: BotApplication) -> ZaloWebhook:
    """Zalo's webhook, handing each event to the front end over the application's services."""
    services = application.bot_data.services
    settings = services.settings
    oa = services.zalo
    assert oa is not None
    make_handler = application.bot_data.zalo_handler or conversation
    front = ZaloFront(
        oa,
        make_handler(services),
        sorry=services.catalog.text("errors.generic", settings.DEFAULT_LANGUAGE),
        who=lambda person: services.who(person, ZALO),
        follow_opens_window=settings.ZALO_FOLLOW_OPENS_WINDOW,
    )
    services.zalo_front = front  # a case's notice to a Zalo reporter goes through it too
    host, port = settings.zalo_listen
    secret = settings.ZALO_OA_SECRET_KEY
    assert secret is not None  # load_settings requires the Zalo keys together
    return ZaloWebhook(
        host,
        port,
        app_id=settings.ZALO_APP_ID or "",
        oa_secret_key=secret.get_secret_value(),
        receive=front.receive,
    )


async def serve(application: BotApplication, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set."""
    async with running(application):
        await stop.wait()
    log.info("bot stopped")
