"""The bot's Bot API request class: proxies from the environment, as httpx's client honours them."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.request import IDLE_CONNECTIONS, LANES, JsonRequest, proxy_from_environment
from bot.standins.telegram import FakeTelegram

API = "https://api.telegram.org"


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_no_proxy_by_default() -> None:
    assert proxy_from_environment(API) is None


def test_https_proxy_is_used_for_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.xa.vn:3128")
    assert proxy_from_environment(API) == "http://proxy.xa.vn:3128"
    # The stand-in or a local Bot API server over plain HTTP is not sent through it.
    assert proxy_from_environment("http://127.0.0.1:8081") is None


def test_all_proxy_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://10.0.0.1:1080")
    assert proxy_from_environment(API) == "socks5://10.0.0.1:1080"
    monkeypatch.setenv("NO_PROXY", "api.telegram.org")
    assert proxy_from_environment(API) is None


def test_a_socks_proxy_without_its_package_says_what_to_install() -> None:
    if importlib.util.find_spec("socksio") is not None:
        # With the package, the same proxy is simply accepted (nothing is sent until a call).
        assert JsonRequest(proxy="socks5://10.0.0.1:1080").read_timeout == 5.0
        return
    with pytest.raises(NetworkError, match=r"pip install 'httpx\[socks\]'"):
        JsonRequest(proxy="socks5://10.0.0.1:1080")


def _connections(request: JsonRequest) -> list[int]:
    """Connections open in each lane (read from httpx's pool, for this test only)."""
    return [len(transport._pool.connections) for transport in request._transports]


async def test_connections_are_held_in_lanes_with_one_pools_limits(telegram: FakeTelegram) -> None:
    request = JsonRequest(256)
    # The lanes hold what one pool would: 256 connections at most, 20 kept idle.
    assert len(request._limits) == LANES
    assert sum(limits.max_connections or 0 for limits in request._limits) == 256
    assert sum(limits.max_keepalive_connections or 0 for limits in request._limits) == (
        IDLE_CONNECTIONS
    )
    # The long poll's two connections stay one pool.
    assert len(JsonRequest(2)._limits) == 1
    bot = Bot(telegram.token, base_url=f"{telegram.url}/bot", request=request)
    async with bot:
        # A quiet bot: one call after another reuses one connection of the first lane.
        for _ in range(3):
            await bot.get_me()
        assert _connections(request) == [1] + [0] * (LANES - 1)
        # A few calls at once still fit in the first lane, which keeps that many idle.
        share = IDLE_CONNECTIONS // LANES
        telegram.slow("getMe", 0.3, times=share)
        await asyncio.gather(*(bot.get_me() for _ in range(share)))
        assert _connections(request) == [share] + [0] * (LANES - 1)
        # More: each lane takes its share, then the least busy lane the next. Each lane's pool,
        # which httpcore checks whole at every request, holds a share of the connections, and
        # keeps its share open once the calls are done: IDLE_CONNECTIONS in all, as one pool.
        calls = (share + 1) * LANES
        telegram.slow("getMe", 0.3, times=calls)
        await asyncio.gather(*(bot.get_me() for _ in range(calls)))
        assert _connections(request) == [share] * LANES
