"""`commune-bot demo`: the real bot, the stand-in Bot API, a sample site and the chat page.

Everything runs in one process and one event loop, on loopback: no token, no Telegram, no
network. The bot is built and started exactly as `commune-bot run` does (`bot.app.running`),
with settings that point it at the stand-ins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import webbrowser
from collections.abc import MutableMapping
from pathlib import Path
from zoneinfo import ZoneInfo

import tornado.httpserver

from bot.app import build_application, poll_news_now, running
from bot.config import ConfigError, Settings, load_settings
from bot.context import BotApplication
from bot.demo.chat import ChatRoom, Persona, serve_chat
from bot.demo.site import SampleSite
from bot.logs import configure_logging
from bot.standins.telegram import FakeTelegram

__all__ = ["DEFAULT_PORT", "OWNER_ID", "PERSONAS", "Demo", "run_demo"]

log = logging.getLogger("bot.demo")

DEFAULT_PORT = 8080
OWNER_ID = 1001
# The demo's own token: the stand-in accepts only it; it means nothing to Telegram.
DEMO_TOKEN = "123456789:DEMOdemoDEMOdemoDEMOdemoDEMOdemo123"
TIMEZONE = "Asia/Ho_Chi_Minh"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PERSONAS = [
    Persona(2001, "Lan", "Chị Lan"),
    Persona(2002, "Minh", "Anh Minh"),
    Persona(2003, "Tư", "Bác Tư"),
    Persona(OWNER_ID, "Quang", "Cán bộ xã", staff=True),
]


def keep_loopback_direct(environ: MutableMapping[str, str]) -> None:
    """Never send loopback requests through a proxy the environment names."""
    for key in ("NO_PROXY", "no_proxy"):
        hosts = [host for host in environ.get(key, "").split(",") if host.strip()]
        for host in ("127.0.0.1", "localhost"):
            if host not in hosts:
                hosts.append(host)
        environ[key] = ",".join(hosts)


class Demo:
    """The demo's parts, started and stopped together (`async with Demo(...)`)."""

    def __init__(self, port: int | None = None, database: Path | None = None) -> None:
        self.requested_port = port
        self.port = DEFAULT_PORT if port is None else port
        self.database = database
        self.api = FakeTelegram(DEMO_TOKEN)
        self.site = SampleSite(ZoneInfo(TIMEZONE))
        self.application: BotApplication | None = None
        self.room: ChatRoom | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def url(self) -> str:
        """The chat page's address."""
        return f"http://127.0.0.1:{self.port}"

    def settings(self, database: Path) -> Settings:
        """The bot's settings: the stand-ins' addresses, whatever the environment says."""
        return load_settings(
            env_file=None,
            BOT_TOKEN=DEMO_TOKEN,
            TELEGRAM_API_URL=self.api.url,
            DATABASE_PATH=database,
            ADMIN_IDS=str(OWNER_ID),
            TIMEZONE=TIMEZONE,
            LOG_LEVEL="WARNING",
            DEFAULT_LANGUAGE="vi",
            COMMUNE_NAME="Xã Bình Chánh",
            WEBHOOK_URL=None,
            CHANNEL_ID=None,
            NEWS_SITE_URL=self.site.url,
            NEWS_SOURCES="/",
            NEWS_POLL_MINUTES=1,
            NEWS_RETRIES=0,
            NEWS_TIMEOUT_SECONDS=5,
        )

    async def start(self) -> None:
        """Start the stand-ins, the bot and the chat page (OSError if the port is taken)."""
        keep_loopback_direct(os.environ)
        try:
            await self._stack.enter_async_context(self.api)
            await self.site.start()
            self._stack.push_async_callback(self.site.stop)
            if self.database is None:
                folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-"))
                database = Path(folder) / "demo.sqlite3"
            else:
                database = self.database
            self.room = ChatRoom(self.api, PERSONAS, self.publish, self.site.url)
            # The page's port first: a taken port stops the demo before the bot starts.
            try:
                self._server, self.port = serve_chat(self.room, self.port)
            except OSError:
                if self.requested_port is not None:
                    raise
                # No port asked for and 8080 is taken: any free port will do (it is printed).
                self._server, self.port = serve_chat(self.room, 0)
            self._stack.push_async_callback(self._stop_server)
            self.site.offer_publishing(f"{self.url}/publish")
            self.application = build_application(self.settings(database))
            await self._stack.enter_async_context(running(self.application))
        except BaseException:
            await self._stack.aclose()
            raise

    async def _stop_server(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    async def stop(self) -> None:
        """Stop the bot, then the page and the stand-ins."""
        await self._stack.aclose()

    async def __aenter__(self) -> Demo:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def publish(self) -> str | None:
        """A new article on the sample site, and a poll of the site at once (not in a minute)."""
        article = self.site.publish()
        if article is None:
            return None
        if self.application is not None:
            poll_news_now(self.application)
        return article.title


def open_browser(url: str) -> None:
    """Open the page in the desktop's browser, if there is one and someone is at the terminal.

    Never a text-mode browser (it would take over the terminal), and never when the output is not
    a terminal (a service, a test).
    """
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if not (graphical and sys.stdout.isatty()):
        return
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return
    if isinstance(browser, webbrowser.GenericBrowser) and not isinstance(
        browser, webbrowser.BackgroundBrowser
    ):
        return
    browser.open(url)


def run_demo(port: int | None = None, database: Path | None = None) -> int:
    """Run the demo until Ctrl+C or SIGTERM; returns the exit status.

    Without `port`, the page is on 8080, or on a free port if 8080 is taken.
    """
    level = os.environ.get("LOG_LEVEL", "WARNING").upper()
    configure_logging(level if level in _LEVELS else "WARNING", secrets=[DEMO_TOKEN])

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        demo = Demo(port, database)
        try:
            await demo.start()
        except OSError as exc:
            print(
                f"cannot listen on port {port} ({exc.strerror}): choose another with --port",
                file=sys.stderr,
            )
            return 1
        except ConfigError as exc:  # a malformed setting in the environment
            print(exc, file=sys.stderr)
            return 2
        try:
            print(f"Bản thử đang chạy / the demo is running: mở / open {demo.url}", flush=True)
            print("Dừng bằng Ctrl+C / stop with Ctrl+C", flush=True)
            await loop.run_in_executor(None, open_browser, demo.url)
            await stop.wait()
        finally:
            await demo.stop()
        return 0

    return asyncio.run(main())
