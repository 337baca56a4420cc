"""The OA's access token: refreshed before it expires and when Zalo refuses it, once at a time.

Zalo's refresh token is single-use (ZALO.md): each refresh spends it and returns a new one. So
a refresh is made under one lock (two sends that find the token stale refresh once), and the
new pair is written to the database (`storage.zalo_tokens`) in the statement that records the
refresh, before the new access token is used. `ZALO_REFRESH_TOKEN` is only the first refresh
token: afterwards the database's wins, until the operator puts a different one in the setting.
A refused refresh token is said once, in one log line that says what to do, and to the owners
through `on_refused` (the wiring tells them on Telegram when Telegram is configured).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import httpx

from bot.logs import mask
from bot.zalo.errors import Kind, ZaloError
from storage.zalo_tokens import TokenState, ZaloTokenStore

__all__ = ["OAUTH_PATH", "REFRESH_MARGIN", "REFUSED_ADVICE", "Tokens"]

log = logging.getLogger(__name__)

OAUTH_PATH = "/v4/oa/access_token"
# Refresh this long before the access token expires: a send never leaves with a token that dies
# on the way (Zalo gives 25 hours).
REFRESH_MARGIN = timedelta(minutes=10)
REFUSED_ADVICE = (
    "authorise the app again on developers.zalo.me (the app linked to the commune's OA) and "
    "put the new refresh token in ZALO_REFRESH_TOKEN, then restart the bot; check ZALO_APP_ID "
    "and ZALO_APP_SECRET too"
)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Tokens:
    """Gives the current access token, refreshing it when due; the refresh token kept safe."""

    def __init__(
        self,
        store: ZaloTokenStore,
        http: httpx.AsyncClient,
        *,
        oauth_url: str,
        app_id: str,
        app_secret: str,
        first_refresh_token: str,
        on_refused: Callable[[str], Awaitable[None]] | None = None,
        clock: Clock = _now,
        secret: Callable[[str], None] = mask,
    ) -> None:
        self._store = store
        self._http = http
        self._url = oauth_url.rstrip("/") + OAUTH_PATH
        self._app_id = app_id
        self._app_secret = app_secret
        self._seed = first_refresh_token
        self._on_refused = on_refused
        self._clock = clock
        self._secret = secret  # each token learnt is masked in the log from then on
        self._lock = asyncio.Lock()
        self._state: TokenState | None = None
        self._refused: str | None = None  # the refresh token Zalo refused (not asked again)

    async def open(self) -> None:
        """Read the tokens from the database (writing the first refresh token there)."""
        self._learnt(await self._store.load(self._seed))

    def _learnt(self, state: TokenState) -> None:
        for token in (state.refresh_token, state.access_token):
            if token:
                self._secret(token)
        self._state = state

    @property
    def refreshes(self) -> int:
        """Refreshes recorded in the database, over the bot's life."""
        return self._state.refreshes if self._state else 0

    @property
    def refused(self) -> bool:
        """Whether Zalo refused the refresh token the bot holds (the operator must act)."""
        return self._state is not None and self._refused == self._state.refresh_token

    async def access(self) -> str:
        """An access token that is valid for at least REFRESH_MARGIN more, as far as we know."""
        state = self._loaded()
        if self._fresh(state):
            assert state.access_token is not None
            return state.access_token
        return await self.refresh(state.access_token)

    async def refresh(self, stale: str | None) -> str:
        """A new access token in place of `stale` (Zalo refused it, or it is due).

        Under the lock: a second caller that found the same token stale gets the one the first
        caller's refresh brought, without a second refresh. ZaloError (kind `token`) when Zalo
        refuses the refresh token; kind `retry` when Zalo could not be reached.
        """
        async with self._lock:
            state = self._loaded()
            if (
                state.access_token is not None
                and state.access_token != stale
                and self._fresh(state)
            ):
                return state.access_token
            if self._refused == state.refresh_token:
                raise ZaloError(0, "the refresh token was refused: " + REFUSED_ADVICE, Kind.TOKEN)
            return await self._exchange(state)

    async def _exchange(self, state: TokenState) -> str:
        used = state.refresh_token
        try:
            response = await self._http.post(
                self._url,
                data={"refresh_token": used, "app_id": self._app_id, "grant_type": "refresh_token"},
                headers={"secret_key": self._app_secret},
            )
        except httpx.HTTPError as exc:
            raise ZaloError(0, f"cannot reach Zalo's OAuth server: {type(exc).__name__}",
                            Kind.RETRY) from None  # fmt: skip
        if response.status_code >= 500:
            raise ZaloError(response.status_code, "Zalo's OAuth server failed", Kind.RETRY)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZaloError(response.status_code,
                            "Zalo's OAuth server did not answer in JSON: check ZALO_OAUTH_URL",
                            Kind.RETRY)  # fmt: skip
        access, rotated = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(rotated, str) and rotated):
            await self._refusal(used, body)
        self._secret(access)  # before anything could log them (the database's debug lines)
        self._secret(rotated)
        now = self._clock()
        expires_at = now + timedelta(seconds=_seconds(body.get("expires_in")))
        if await self._store.record_refresh(used, rotated, access, expires_at, now):
            self._state = TokenState(rotated, access, expires_at, state.refreshes + 1)
            log.info("Zalo access token refreshed; valid until %s", expires_at.isoformat())
            return access
        # Another process on this database spent it first and stored its own pair: use that.
        self._learnt(await self._store.load(self._seed))
        assert self._state is not None
        if self._state.access_token is None:
            raise ZaloError(0, "the refresh token was rotated elsewhere", Kind.RETRY)
        return self._state.access_token

    async def _refusal(self, used: str, body: dict[str, object]) -> NoReturn:
        code = body.get("error")
        number = code if isinstance(code, int) else 0
        words = str(body.get("error_name") or body.get("message") or "no reason given")[:200]
        first = self._refused != used
        self._refused = used
        if first:
            log.error("Zalo refused the refresh token (error %s: %s): %s", number, words,
                      REFUSED_ADVICE)  # fmt: skip
            if self._on_refused is not None:
                try:
                    await self._on_refused(f"Zalo error {number}: {words}")
                except Exception:  # telling the owners must never stop the bot
                    log.exception("could not tell the owners that Zalo refused the refresh token")
        raise ZaloError(number, f"the refresh token was refused ({words}): " + REFUSED_ADVICE,
                        Kind.TOKEN)  # fmt: skip

    def _fresh(self, state: TokenState) -> bool:
        return (
            state.access_token is not None
            and state.access_expires_at is not None
            and state.access_expires_at - REFRESH_MARGIN > self._clock()
        )

    def _loaded(self) -> TokenState:
        if self._state is None:
            raise RuntimeError("Zalo tokens are used before open()")
        return self._state


def _seconds(value: object) -> int:
    """`expires_in` as Zalo writes it (a number, or a number in a string); 1 hour if unreadable."""
    try:
        seconds = int(str(value))
    except ValueError:
        return 3600
    return seconds if seconds > 0 else 3600
