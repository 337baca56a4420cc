"""The bot's Bot API request class: proxies from the environment, as httpx's client honours them."""

from __future__ import annotations

import importlib.util

import pytest
from telegram.error import NetworkError

from bot.request import JsonRequest, proxy_from_environment

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
