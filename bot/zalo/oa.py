"""The commune's Official Account as the bot holds it: residents, tokens, client, events seen.

`Services.zalo` is one of these when the Zalo settings are there (created once, when the
database opens): `people` (a local number per Zalo user, the interaction window), `tokens`,
`client` (sends a `ZaloMessage`), `events` (the webhook's record of events handled), and the
window's settings for whoever sends.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx

from bot.config import Settings
from bot.zalo.api import TIMEOUT, ZaloClient
from bot.zalo.errors import Kind, ZaloError
from bot.zalo.tokens import Tokens
from storage.db import Database
from storage.zalo import ZaloPeople
from storage.zalo_events import ZaloEventLog
from storage.zalo_tokens import ZaloTokenStore

__all__ = ["OfficialAccount"]

log = logging.getLogger(__name__)


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    if getter is None:
        raise ValueError("a Zalo secret setting is missing")
    return str(getter())


class OfficialAccount:
    """The Zalo parts the front end and the delivery engine share; `open` before use."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        on_refused: Callable[[str], Awaitable[None]] | None = None,
        *,
        people: ZaloPeople | None = None,
    ) -> None:
        if not settings.zalo_enabled:
            raise ValueError("Zalo is not configured (ZALO_APP_ID)")
        self.settings = settings
        # One client for the OA API and the OAuth server: its pool is Zalo's alone.
        self.http = httpx.AsyncClient(timeout=TIMEOUT, headers={"User-Agent": "commune-bot"})
        self.people = people if people is not None else ZaloPeople(db)
        self.events = ZaloEventLog(db)
        self.tokens = Tokens(
            ZaloTokenStore(db),
            self.http,
            oauth_url=settings.ZALO_OAUTH_URL,
            app_id=settings.ZALO_APP_ID or "",
            app_secret=_secret(settings.ZALO_APP_SECRET),
            first_refresh_token=_secret(settings.ZALO_REFRESH_TOKEN),
            on_refused=on_refused,
        )
        self.client = ZaloClient(
            self.http, settings.ZALO_API_URL, self.tokens, buttons=settings.ZALO_BUTTONS
        )

    @property
    def window(self) -> timedelta:
        """How long after a resident's last message the OA may write (ZALO_WINDOW_HOURS)."""
        return timedelta(hours=self.settings.ZALO_WINDOW_HOURS)

    @property
    def window_messages(self) -> int:
        """How many messages the OA may send in that time (ZALO_WINDOW_MESSAGES)."""
        return self.settings.ZALO_WINDOW_MESSAGES

    async def open(self) -> None:
        """Read the tokens (the first start stores ZALO_REFRESH_TOKEN)."""
        await self.tokens.open()

    async def check(self) -> bool:
        """Get a valid access token now (at start): a refused refresh token is said at once,
        not at the first resident's message. False (logged) when Zalo cannot give one; the bot
        runs on, and tries again at the next send."""
        try:
            await self.tokens.access()
        except ZaloError as exc:
            if exc.kind is not Kind.TOKEN:  # a refusal was logged already, with what to do
                log.warning("could not get a Zalo access token at start (will retry): %s", exc)
            return False
        return True

    async def close(self) -> None:
        """Close the connections."""
        await self.http.aclose()
