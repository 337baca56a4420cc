"""Configuration: one typed object built from the environment and a `.env` file."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.polls import (
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    MIN_OPTIONS,
    clean_text,
)

__all__ = ["TELEGRAM_KEYS", "ConfigError", "Settings", "load_settings"]

# A BotFather token: the bot's numeric id, a colon, then 30+ URL-safe characters.
_TOKEN_SHAPE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")

# A public chat's username as Telegram allows it: 5-32 letters, digits and underscores,
# beginning with a letter (CHANNEL_ID may name the channel this way, `@name`).
_USERNAME_SHAPE = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")

# Ports Telegram posts webhook updates to (https://core.telegram.org/bots/api#setwebhook).
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})

# Settings only `run` needs: the commands that never talk to Telegram (migrate, backup, ingest)
# neither require them nor stop on them.
TELEGRAM_KEYS = ("BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "WEBHOOK_PORT")

# What each key expects, worded for the person editing `.env` (not for a programmer).
_EXPECTED: dict[str, str] = {
    "BOT_TOKEN": "the token BotFather gave you, like 123456789:AAE... (see README)",
    "TELEGRAM_API_URL": "an http(s) address such as https://api.telegram.org",
    "DATABASE_PATH": "a file path such as data/commune-bot.sqlite3",
    "ADMIN_IDS": "Telegram user ids separated by commas, such as 12345678,87654321",
    "TIMEZONE": "a time zone name such as Asia/Ho_Chi_Minh",
    "DEFAULT_LANGUAGE": "vi or en",
    "COMMUNE_NAME": "the commune's name as residents say it, such as Xã Bình Chánh",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "NEWS_SITE_URL": "the commune portal's address, such as http://binhchanh.thangbinh.quangnam.gov.vn",
    "NEWS_SOURCES": "list pages or feeds separated by commas, such as /,/thong-bao,feed:/rss.xml",
    "NEWS_POLL_MINUTES": "minutes between polls of the site, such as 15",
    "NEWS_BACKFILL_PAGES": "a number of list pages between 1 and 100",
    "NEWS_ALERT_AFTER_FAILURES": "a number of failed polls, such as 3",
    "NEWS_TIMEOUT_SECONDS": "seconds to wait for the site, such as 20",
    "NEWS_MAX_CONCURRENCY": "a number of requests at once between 1 and 32",
    "WEB_LINKS": "Name|https://address items separated by ; such as "
    "Cổng Dịch vụ công|https://dichvucong.gov.vn",
    "NEWS_RETRIES": "how often to retry a failed request, between 0 and 10",
    "NEWS_PAGE_DEADLINE_SECONDS": "seconds a page may take to arrive in full, such as 60",
    "NEWS_MAX_PAGE_BYTES": "the largest page to read, in bytes, such as 5000000",
    "WEBHOOK_URL": "the public https:// address Telegram should post updates to, on port "
    "443, 80, 88 or 8443, such as https://bot.example.vn/telegram",
    "WEBHOOK_SECRET": "1-256 characters of A-Z, a-z, 0-9, _ and -",
    "WEBHOOK_LISTEN": "an IP address to listen on, such as 0.0.0.0",
    "WEBHOOK_PORT": "a port number between 1 and 65535",
    "POLL_QUESTION": "the poll's question, 1 to 300 characters",
    "STATS_KEY": "a long random secret, such as the output of: openssl rand -hex 32",
    "LOG_RETENTION_DAYS": "a number of days between 1 and 3650, such as 400",
    "CHANNEL_ID": "the channel's numeric id, such as -1001234567890, or its public username, "
    "such as @tinxabinhchanh (5-32 letters, digits or _; see README)",
    "DIGEST_GRACE_HOURS": "a number of hours between 0 and 48, such as 6",
    "ZALO_APP_ID": "the app id shown on developers.zalo.me for the app linked to the OA",
    "ZALO_APP_SECRET": "the app's secret key from developers.zalo.me",
    "ZALO_OA_SECRET_KEY": "the OA secret key from the app's Webhook page on developers.zalo.me",
    "ZALO_REFRESH_TOKEN": "the refresh token the OA's authorisation gave (see README, Zalo)",
    "ZALO_API_URL": "an http(s) address such as https://openapi.zalo.me",
    "ZALO_OAUTH_URL": "an http(s) address such as https://oauth.zaloapp.com",
    "ZALO_WEBHOOK_LISTEN": "an address and port to listen on, such as 127.0.0.1:8081",
    "ZALO_WINDOW_HOURS": "hours after a resident's message the OA may reply, such as 48",
    "ZALO_WINDOW_MESSAGES": "messages the OA may send in that time, such as 8",
    "ZALO_SEND_RATE_PER_SECOND": "messages a second to Zalo, such as 5",
    "ZALO_BROADCASTS_PER_MONTH": "OA broadcasts the commune's package allows a month, 0 if none",
    "ZALO_BUTTONS": "true (offer choices as buttons too, where Zalo takes them) or false",
    "ZALO_FOLLOW_OPENS_WINDOW": "true (a follow lets the OA greet the resident) or false",
    "SEND_RATE_PER_SECOND": "messages a second between 1 and 1000; 30 unless Telegram gave "
    "the bot a higher limit",
    "LOG_FORMAT": "text (one readable line per event) or json (one JSON object per line)",
    "METRICS_LISTEN": "off, on (127.0.0.1:9102), or an address and port such as 127.0.0.1:9102",
    "HEALTH_MAX_POLL_AGE_MINUTES": "minutes, more than NEWS_POLL_MINUTES, such as 60",
    "BACKUP_DIR": "a folder for the daily backups, such as /var/backups/commune-bot",
    "BACKUP_KEEP": "how many daily backups to keep, between 1 and 1000, such as 7",
    "BACKUP_HOUR": "the local hour of the daily backup, between 0 and 23, such as 3",
    "DISK_MIN_FREE_MB": "megabytes of free disk below which doctor warns, such as 500",
    "POLL_OPTIONS": "2 to 10 different answers separated by |, each up to 100 characters, "
    "such as Thật tuyệt vời|Tốt|Khá|Trung bình",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the key and what is expected."""


class Settings(BaseSettings):
    """Every setting of the bot; `.env.example` explains each one."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        case_sensitive=True,
        env_ignore_empty=True,
    )

    BOT_TOKEN: SecretStr | None = None  # required by `run` only (see load_settings)
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    DATABASE_PATH: Path = Path("data/commune-bot.sqlite3")
    ADMIN_IDS: Annotated[frozenset[int], NoDecode] = frozenset()
    TIMEZONE: str = "Asia/Ho_Chi_Minh"
    DEFAULT_LANGUAGE: Literal["vi", "en"] = "vi"
    COMMUNE_NAME: str = Field(default="Xã Bình Chánh", min_length=1, max_length=100)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    # Operations (docs/operations.md): health and metrics, daily backups, doctor's disk check.
    METRICS_LISTEN: str | None = None
    HEALTH_MAX_POLL_AGE_MINUTES: float = Field(default=60, gt=0, le=7 * 24 * 60)
    BACKUP_DIR: Path | None = None
    BACKUP_KEEP: int = Field(default=7, ge=1, le=1000)
    BACKUP_HOUR: int = Field(default=3, ge=0, le=23)
    DISK_MIN_FREE_MB: int = Field(default=500, ge=0, le=10**9)
    WEBHOOK_URL: str | None = None
    WEBHOOK_SECRET: SecretStr | None = None
    WEBHOOK_LISTEN: str = "0.0.0.0"
    WEBHOOK_PORT: int = Field(default=8443, ge=1, le=65535)
    NEWS_SITE_URL: str | None = None
    NEWS_SOURCES: Annotated[tuple[str, ...], NoDecode] = ("/", "/tin-tuc-su-kien", "/thong-bao")
    NEWS_POLL_MINUTES: float = Field(default=15, gt=0, le=24 * 60)
    NEWS_BACKFILL_PAGES: int = Field(default=5, ge=1, le=100)
    NEWS_ALERT_AFTER_FAILURES: int = Field(default=3, ge=1, le=1000)
    NEWS_TIMEOUT_SECONDS: float = Field(default=20, gt=0, le=300)
    NEWS_MAX_CONCURRENCY: int = Field(default=4, ge=1, le=32)
    NEWS_RETRIES: int = Field(default=3, ge=0, le=10)
    NEWS_PAGE_DEADLINE_SECONDS: float = Field(default=60, gt=0, le=3600)
    NEWS_MAX_PAGE_BYTES: int = Field(default=5_000_000, ge=1000, le=1_000_000_000)
    POLL_QUESTION: str = "Bạn cảm thấy website của chúng tôi như thế nào?"
    POLL_OPTIONS: Annotated[tuple[str, ...], NoDecode] = (
        "Thật tuyệt vời",
        "Tốt",
        "Khá",
        "Trung bình",
    )
    STATS_KEY: SecretStr | None = None
    LOG_RETENTION_DAYS: int = Field(default=400, ge=1, le=3650)
    SEND_RATE_PER_SECOND: int = Field(default=30, ge=1, le=1000)
    CHANNEL_ID: int | str | None = None  # a numeric id (-100...) or "@username"
    DIGEST_GRACE_HOURS: float = Field(default=6, ge=0, le=48)
    # Zalo: the commune's Official Account (README, "Zalo"); the front end runs when ZALO_APP_ID
    # is set. The window and pace are Zalo's rules as far as they are known (ZALO.md): settings,
    # conservative by default.
    ZALO_APP_ID: str | None = None
    ZALO_APP_SECRET: SecretStr | None = None
    ZALO_OA_SECRET_KEY: SecretStr | None = None
    ZALO_REFRESH_TOKEN: SecretStr | None = None  # the first one; then kept in the database
    ZALO_API_URL: str = "https://openapi.zalo.me"
    ZALO_OAUTH_URL: str = "https://oauth.zaloapp.com"
    ZALO_WEBHOOK_LISTEN: str = "127.0.0.1:8081"
    ZALO_WINDOW_HOURS: float = Field(default=48, gt=0, le=24 * 30)
    ZALO_WINDOW_MESSAGES: int = Field(default=8, ge=1, le=1000)
    ZALO_SEND_RATE_PER_SECOND: float = Field(default=5, gt=0, le=100)
    ZALO_BROADCASTS_PER_MONTH: int = Field(default=0, ge=0, le=100)
    # Unverified (ZALO.md): whether a consultation message takes a buttons template (the bot
    # stops trying once Zalo refuses one), and whether following the OA opens the window.
    ZALO_BUTTONS: bool = True
    ZALO_FOLLOW_OPENS_WINDOW: bool = True
    WEB_LINKS: Annotated[tuple[tuple[str, str], ...], NoDecode] = (
        ("Cổng Dịch vụ công quốc gia", "https://dichvucong.gov.vn"),
        ("Cổng Thông tin điện tử Chính phủ", "https://chinhphu.vn"),
    )

    @field_validator("BOT_TOKEN")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not value.get_secret_value().strip():
            raise PydanticCustomError("missing", "not set")
        if not _TOKEN_SHAPE.match(value.get_secret_value().strip()):
            raise ValueError("malformed")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("METRICS_LISTEN")
    @classmethod
    def _metrics_listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _listen_address(value)  # raises ValueError when malformed
        return value.strip()

    @field_validator("NEWS_SOURCES", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        from bot.news.adapters import adapters  # the adapters present decide what is valid

        for entry in value:
            name, _, rest = entry.partition(":")
            if rest and not rest.startswith("//") and name not in adapters():
                raise ValueError("unknown adapter")
        return value

    @field_validator("WEB_LINKS", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        if isinstance(value, str):
            links = []
            for item in value.split(";"):
                if not item.strip():
                    continue
                name, bar, url = item.partition("|")
                if not bar or not name.strip() or not re.match(r"^https?://\S+$", url.strip()):
                    raise ValueError("malformed")
                links.append((name.strip(), url.strip()))
            return tuple(links)
        return value

    @field_validator("POLL_QUESTION")
    @classmethod
    def _poll_question(cls, value: str) -> str:
        question = clean_text(value)
        if not 1 <= len(question) <= MAX_QUESTION_CHARS:
            raise ValueError("malformed")
        return question

    @field_validator("POLL_OPTIONS", mode="before")
    @classmethod
    def _poll_options(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split("|")
        labels = tuple(clean_text(str(label)) for label in value)
        if not (
            MIN_OPTIONS <= len(labels) <= MAX_OPTIONS
            and all(1 <= len(label) <= MAX_OPTION_CHARS for label in labels)
            and len({label.casefold() for label in labels}) == len(labels)
        ):
            raise ValueError("malformed")
        return labels

    @field_validator("ZALO_APP_ID")
    @classmethod
    def _zalo_app_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value.strip()):
            raise ValueError("malformed")
        return value.strip()

    @field_validator("ZALO_WEBHOOK_LISTEN")
    @classmethod
    def _zalo_listen(cls, value: str) -> str:
        if value.strip().lower() in ("on", "yes", "true", "1") or _listen_address(value) is None:
            raise ValueError("malformed")  # an address and a port, always
        return value.strip()

    @field_validator(
        "TELEGRAM_API_URL", "WEBHOOK_URL", "NEWS_SITE_URL", "ZALO_API_URL", "ZALO_OAUTH_URL"
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
            raise ValueError("malformed")
        return value.rstrip("/")

    @field_validator("WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        """Telegram posts only to https, and only to a few ports."""
        if value is None:
            return None
        parts = urlsplit(value)
        try:
            port = parts.port or 443
        except ValueError:
            raise ValueError("malformed") from None
        if parts.scheme.lower() != "https" or port not in WEBHOOK_PORTS:
            raise ValueError("malformed")
        return value

    @field_validator("CHANNEL_ID", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> Any:
        """A channel's numeric id (negative) or its public @username."""
        if value is None:
            return None
        if isinstance(value, str):
            value = value.strip()
            if _USERNAME_SHAPE.match(value):
                return value
            if not re.fullmatch(r"-\d+", value):
                raise ValueError("malformed")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value >= 0:
            raise ValueError("malformed")
        return value

    @field_validator("ADMIN_IDS", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError("malformed")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("malformed")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.TIMEZONE)

    def news_sources(self) -> list[tuple[str, str | None]]:
        """(absolute address, adapter name or None to detect) of each source."""
        if not self.NEWS_SITE_URL:
            return []
        sources: list[tuple[str, str | None]] = []
        for entry in self.NEWS_SOURCES:
            name, _, rest = entry.partition(":")
            adapter, address = (name, rest) if rest and not rest.startswith("//") else (None, entry)
            sources.append((urljoin(self.NEWS_SITE_URL + "/", address), adapter))
        return sources

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where /healthz and /metrics listen: None when METRICS_LISTEN is off (the default)."""
        return None if self.METRICS_LISTEN is None else _listen_address(self.METRICS_LISTEN)

    @property
    def zalo_enabled(self) -> bool:
        """Whether the Zalo front end runs (ZALO_APP_ID is set)."""
        return bool(self.ZALO_APP_ID)

    @property
    def telegram_enabled(self) -> bool:
        """Whether the Telegram front end runs (BOT_TOKEN is set)."""
        return self.BOT_TOKEN is not None

    @property
    def zalo_listen(self) -> tuple[str, int]:
        """Where the Zalo webhook listens (ZALO_WEBHOOK_LISTEN)."""
        address = _listen_address(self.ZALO_WEBHOOK_LISTEN)
        assert address is not None  # the validator refuses "off"
        return address

    @property
    def token(self) -> str:
        """The bot token ("" when not set: only `run` requires it); never log it."""
        return self.BOT_TOKEN.get_secret_value() if self.BOT_TOKEN is not None else ""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret setting's value, for the log to mask: the token, the webhook secret
        (PTB logs setWebhook's parameters at DEBUG), the statistics key and Zalo's secrets."""
        values = (
            self.BOT_TOKEN,
            self.WEBHOOK_SECRET,
            self.STATS_KEY,
            self.ZALO_APP_SECRET,
            self.ZALO_OA_SECRET_KEY,
            self.ZALO_REFRESH_TOKEN,
        )
        return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


# METRICS_LISTEN=on: loopback only, on the port Prometheus' exporters conventionally leave to
# small services (9102 is free in its default port allocations list).
METRICS_DEFAULT = ("127.0.0.1", 9102)


def _listen_address(value: str) -> tuple[str, int] | None:
    """METRICS_LISTEN read: None for off, (host, port) otherwise; ValueError if malformed."""
    text = value.strip()
    if text.lower() in ("", "off", "no", "false", "0"):
        return None
    if text.lower() in ("on", "yes", "true", "1"):
        return METRICS_DEFAULT
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isascii() or not port.isdigit():
        raise ValueError("malformed")
    number = int(port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError("malformed") from None
    if not 0 <= number <= 65535:
        raise ValueError("malformed")
    return host, number


def _describe(error: ValidationError, skip: tuple[str, ...] = ()) -> str:
    """One line naming the first bad key (of those not in `skip`) and what it should look like."""
    errors = error.errors()
    first = next((e for e in errors if not e["loc"] or e["loc"][0] not in skip), errors[0])
    key = str(first["loc"][0]) if first["loc"] else "?"
    return _complaint(key, missing=first["type"] == "missing")


def _complaint(key: str, *, missing: bool) -> str:
    expected = _EXPECTED.get(key, "a valid value")
    if missing:
        return f"Configuration error: {key} is not set; expected {expected}."
    return f"Configuration error: {key} is malformed; expected {expected}."


def load_settings(
    env_file: Path | str | None = ".env", *, telegram: bool = True, **overrides: Any
) -> Settings:
    """Read settings from the environment and `env_file`; raise ConfigError with one clear line.

    With `telegram=False` (commands that never call Telegram), the Telegram settings
    (TELEGRAM_KEYS) are neither required nor checked: a bad one is left at its default.
    Relative paths written in `env_file`, or left at their default while an `env_file` exists,
    are taken from the env file's folder, not from the current directory, so the bot finds the
    same database whatever directory cron or a service manager starts it in.
    """
    if env_file is not None and Path(env_file).is_file():
        _check_readable(Path(env_file))
    ignored: dict[str, Any] = {}
    while True:
        try:
            settings = Settings(_env_file=env_file, **{**overrides, **ignored})  # type: ignore[call-arg]
            break
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            telegram_only = bad & set(TELEGRAM_KEYS)
            if telegram or bad - telegram_only or not telegram_only - ignored.keys():
                raise ConfigError(_describe(exc, skip=() if telegram else TELEGRAM_KEYS)) from None
            ignored.update({key: Settings.model_fields[key].default for key in telegram_only})
    settings = _anchor_paths(settings, env_file, overrides)
    if telegram:
        _check_zalo(settings)
        # BOT_TOKEN only when Telegram is used: Zalo alone needs none.
        if settings.BOT_TOKEN is None and not settings.zalo_enabled:
            raise ConfigError(_complaint("BOT_TOKEN", missing=True))
        if settings.WEBHOOK_URL and settings.WEBHOOK_SECRET is None:
            raise ConfigError(
                "Configuration error: WEBHOOK_SECRET is not set; webhook mode needs "
                f"{_EXPECTED['WEBHOOK_SECRET']}."
            )
    return settings


ZALO_KEYS = ("ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_REFRESH_TOKEN")


def _check_zalo(settings: Settings) -> None:
    """ConfigError unless the Zalo keys are all set or none is (one line naming the first gap)."""
    given = [key for key in ZALO_KEYS if getattr(settings, key) is not None]
    if not given or len(given) == len(ZALO_KEYS):
        for key in ZALO_KEYS[1:] if given else ():
            value = getattr(settings, key)
            if not value.get_secret_value().strip():
                raise ConfigError(_complaint(key, missing=True))
        return
    missing = next(key for key in ZALO_KEYS if key not in given)
    raise ConfigError(
        f"Configuration error: {missing} is not set; Zalo needs {', '.join(ZALO_KEYS)} together "
        f"({missing}: {_EXPECTED[missing]}), or none of them to run on Telegram only."
    )


def _check_readable(env_file: Path) -> None:
    """ConfigError unless `env_file` can be read as UTF-8 text (as pydantic-settings will)."""
    try:
        env_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Configuration error: the settings file {env_file} is not UTF-8 text (byte "
            f"{exc.start}); save it again as UTF-8 (any editor's 'Save as' offers it)."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Configuration error: cannot read the settings file {env_file} "
            f"({exc.strerror or exc}); let the user running the bot read it."
        ) from None


def _path_keys() -> list[str]:
    """The settings that are file paths."""
    return [
        name
        for name, field in Settings.model_fields.items()
        if field.annotation is Path or field.annotation == Path | None
    ]


def _anchor_paths(
    settings: Settings, env_file: Path | str | None, overrides: dict[str, Any]
) -> Settings:
    """`settings` with relative paths from the env file (or defaults) made absolute from its folder.

    A path set in the environment or by the caller keeps the usual meaning: the current directory.
    """
    if env_file is None or not Path(env_file).is_file():
        return settings
    folder = Path(env_file).resolve().parent
    written = dotenv_values(env_file, encoding="utf-8")
    update: dict[str, Path] = {}
    for key in _path_keys():
        value = getattr(settings, key)
        if value is None or value.is_absolute() or key in overrides or os.environ.get(key):
            continue
        if key in written or key not in settings.model_fields_set:
            update[key] = folder / value
    return settings.model_copy(update=update) if update else settings
