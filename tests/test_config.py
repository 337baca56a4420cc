"""Settings: read from the environment and .env; a bad value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

TOKEN = "123456789:AAHstandinTOKENabcdefghijklmnopqrstu"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in the developer's own environment must not leak into these tests."""
    for key in (
        "BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "ADMIN_IDS", "TIMEZONE",
        "DEFAULT_LANGUAGE", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET", "COMMUNE_NAME",
    ):  # fmt: skip
        monkeypatch.delenv(key, raising=False)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(env_file=None, BOT_TOKEN=TOKEN)
    assert settings.TELEGRAM_API_URL == "https://api.telegram.org"
    assert Path("data/commune-bot.sqlite3") == settings.DATABASE_PATH
    assert frozenset() == settings.ADMIN_IDS
    assert settings.TIMEZONE == "Asia/Ho_Chi_Minh"
    assert settings.tz.key == "Asia/Ho_Chi_Minh"
    assert settings.DEFAULT_LANGUAGE == "vi"
    assert settings.WEBHOOK_URL is None


def test_reads_env_file_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"BOT_TOKEN={TOKEN}\n"
        "ADMIN_IDS=111, 222 ,333\n"
        "TELEGRAM_API_URL=http://127.0.0.1:8081/\n"
        "COMMUNE_NAME=Xã An Hải\n"
        "WEBHOOK_URL=\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COMMUNE_NAME", "Xã Trà Linh")
    settings = load_settings(env_file)
    assert settings.token == TOKEN
    assert frozenset({111, 222, 333}) == settings.ADMIN_IDS
    assert settings.TELEGRAM_API_URL == "http://127.0.0.1:8081"  # trailing slash dropped
    assert settings.COMMUNE_NAME == "Xã Trà Linh"
    assert settings.WEBHOOK_URL is None  # empty means unset


def test_token_is_not_in_repr() -> None:
    settings = load_settings(env_file=None, BOT_TOKEN=TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "Configuration error: BOT_TOKEN is not set; expected the token BotFather gave you"),
        ({"BOT_TOKEN": ""}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "abc"}, "BOT_TOKEN is malformed"),
        ({"ADMIN_IDS": "12, ông Ba"}, "ADMIN_IDS is malformed; expected Telegram user ids"),
        ({"TIMEZONE": "Asia/Hanoi_City"}, "TIMEZONE is malformed; expected a time zone name"),
        ({"TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL is malformed"),
        ({"DEFAULT_LANGUAGE": "fr"}, "DEFAULT_LANGUAGE is malformed; expected vi or en"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL is malformed"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT is malformed"),
        ({"WEBHOOK_URL": "https://bot.example.vn/hook"}, "WEBHOOK_SECRET is not set"),
        (
            {"WEBHOOK_URL": "https://bot.example.vn/hook", "WEBHOOK_SECRET": "có dấu"},
            "WEBHOOK_SECRET is malformed",
        ),
    ],
)
def test_bad_values_name_the_key(values: dict[str, str], message: str) -> None:
    if "BOT_TOKEN" not in values and values:
        values = {"BOT_TOKEN": TOKEN, **values}
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=None, **values)
    text = str(error.value)
    assert message in text
    assert "\n" not in text
    assert TOKEN not in text


def test_env_example_lists_every_setting_and_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    keys = [
        line.split("=", 1)[0]
        for line in example.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert sorted(keys) == sorted(Settings.model_fields)
    # Filled in with a token, the example is a valid configuration as it stands.
    text = example.read_text(encoding="utf-8").replace("BOT_TOKEN=", f"BOT_TOKEN={TOKEN}", 1)
    configured = tmp_path / ".env"
    configured.write_text(text, encoding="utf-8")
    assert load_settings(configured).token == TOKEN


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1001234567890", -1001234567890),
        (" -100777 ", -100777),
        ("@tinxabinhchanh", "@tinxabinhchanh"),
        ("@Tin_Xa_2026", "@Tin_Xa_2026"),
        ("@abcde", "@abcde"),  # 5 characters: the shortest username
        ("@" + "a" * 32, "@" + "a" * 32),
    ],
)
def test_channel_id_is_a_number_or_a_username(value: str, expected: int | str) -> None:
    assert expected == load_settings(env_file=None, BOT_TOKEN=TOKEN, CHANNEL_ID=value).CHANNEL_ID


@pytest.mark.parametrize(
    "value",
    ["@abcd", "@" + "a" * 33, "@tin-xa", "@tin xa", "tinxabinhchanh", "@1tinxa", "12345", "@", "-"],
)
def test_channel_id_refuses_what_telegram_would(value: str) -> None:
    with pytest.raises(ConfigError, match="CHANNEL_ID is malformed; expected the channel's"):
        load_settings(env_file=None, BOT_TOKEN=TOKEN, CHANNEL_ID=value)


@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.vn/hook",
        "HTTP://bot.example.vn/hook",
        "ftp://bot.example.vn/hook",
        "https://bot.example.vn:8080/hook",
        "https://bot.example.vn:notaport/hook",
    ],
)
def test_webhook_url_is_https_on_a_port_telegram_allows(url: str) -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_URL is malformed; expected the public https"):
        load_settings(env_file=None, BOT_TOKEN=TOKEN, WEBHOOK_URL=url, WEBHOOK_SECRET="s")
    for good in ("https://bot.example.vn/hook", "HTTPS://bot.example.vn:8443/hook"):
        assert load_settings(
            env_file=None, BOT_TOKEN=TOKEN, WEBHOOK_URL=good, WEBHOOK_SECRET="s"
        ).WEBHOOK_URL


def test_without_telegram_its_settings_are_neither_required_nor_checked() -> None:
    settings = load_settings(
        env_file=None,
        telegram=False,
        BOT_TOKEN="abc",
        WEBHOOK_URL="http://bot.example.vn/hook",
        WEBHOOK_PORT="0",
    )
    assert settings.BOT_TOKEN is None
    assert settings.token == ""
    assert settings.WEBHOOK_URL is None
    assert load_settings(env_file=None, telegram=False).BOT_TOKEN is None
    # Other settings are still checked.
    with pytest.raises(ConfigError, match="ADMIN_IDS is malformed"):
        load_settings(env_file=None, telegram=False, BOT_TOKEN="abc", ADMIN_IDS="x")


async def test_page_limits_reach_the_news_reader(tmp_path: Path) -> None:
    from bot.news import news_client, reader_for
    from storage import Database

    defaults = load_settings(env_file=None, BOT_TOKEN=TOKEN)
    assert defaults.NEWS_PAGE_DEADLINE_SECONDS == 60
    assert defaults.NEWS_MAX_PAGE_BYTES == 5_000_000
    settings = load_settings(
        env_file=None,
        BOT_TOKEN=TOKEN,
        NEWS_SITE_URL="http://binhchanh.example.vn",
        NEWS_PAGE_DEADLINE_SECONDS="2.5",
        NEWS_MAX_PAGE_BYTES="100000",
    )
    async with (
        await Database.open(tmp_path / "bot.sqlite3") as db,
        news_client(settings) as client,
    ):
        reader = reader_for(settings, db, client)
        assert (reader.fetcher.deadline, reader.fetcher.max_bytes) == (2.5, 100_000)
    for key, value in (("NEWS_PAGE_DEADLINE_SECONDS", "0"), ("NEWS_MAX_PAGE_BYTES", "lots")):
        with pytest.raises(ConfigError, match=f"{key} is malformed; expected"):
            load_settings(env_file=None, BOT_TOKEN=TOKEN, **{key: value})


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("off", None),
        ("on", ("127.0.0.1", 9102)),
        ("127.0.0.1:9200", ("127.0.0.1", 9200)),
        ("[::1]:9102", ("::1", 9102)),
        ("localhost:9102", ("localhost", 9102)),
    ],
)
def test_metrics_listen(value: str, address: tuple[str, int] | None) -> None:
    settings = load_settings(env_file=None, telegram=False, METRICS_LISTEN=value)
    assert settings.metrics_address == address
    assert load_settings(env_file=None, telegram=False).metrics_address is None  # off by default


@pytest.mark.parametrize("value", ["9102", "metrics.example.vn:9102", "127.0.0.1:http", ":9102"])
def test_metrics_listen_malformed_names_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match="METRICS_LISTEN is malformed; expected off, on"):
        load_settings(env_file=None, telegram=False, METRICS_LISTEN=value)


ZALO = {
    "ZALO_APP_ID": "4512893018273645123",
    "ZALO_APP_SECRET": "appSECRET0123",
    "ZALO_OA_SECRET_KEY": "oaSECRETkey",
    "ZALO_REFRESH_TOKEN": "refresh-0123",
}


def test_zalo_alone_needs_no_bot_token() -> None:
    settings = load_settings(env_file=None, **ZALO)
    assert settings.zalo_enabled
    assert not settings.telegram_enabled
    assert settings.zalo_listen == ("127.0.0.1", 8081)
    both = load_settings(env_file=None, BOT_TOKEN=TOKEN, **ZALO)
    assert both.zalo_enabled
    assert both.telegram_enabled
    # Every Zalo secret is masked in the log.
    assert {"appSECRET0123", "oaSECRETkey", "refresh-0123"} <= set(settings.secrets)


@pytest.mark.parametrize("left_out", sorted(ZALO))
def test_zalo_settings_come_together(left_out: str) -> None:
    values = {k: v for k, v in ZALO.items() if k != left_out}
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=None, BOT_TOKEN=TOKEN, **values)
    text = str(error.value)
    assert f"{left_out} is not set" in text
    assert "\n" not in text
    assert not any(secret in text for secret in ZALO.values())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ZALO_API_URL": "openapi.zalo.me"}, "ZALO_API_URL is malformed; expected an http(s)"),
        ({"ZALO_OAUTH_URL": "ftp://x"}, "ZALO_OAUTH_URL is malformed"),
        ({"ZALO_WEBHOOK_LISTEN": "8081"}, "ZALO_WEBHOOK_LISTEN is malformed; expected an address"),
        ({"ZALO_WEBHOOK_LISTEN": "off"}, "ZALO_WEBHOOK_LISTEN is malformed"),
        ({"ZALO_WEBHOOK_LISTEN": "0.0.0.0:99999"}, "ZALO_WEBHOOK_LISTEN is malformed"),
        ({"ZALO_APP_ID": "my app"}, "ZALO_APP_ID is malformed"),
        ({"ZALO_WINDOW_HOURS": "0"}, "ZALO_WINDOW_HOURS is malformed"),
    ],
)
def test_bad_zalo_values_name_the_key(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=None, **{**ZALO, **values})
    assert message in str(error.value)


def test_neither_front_end_still_asks_for_the_bot_token() -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN is not set"):
        load_settings(env_file=None)
