"""`commune-bot doctor`: checks what the bot needs, one line each with ✓ or ✗ and what to do."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.logs import redact
from bot.news import news_client
from bot.news.probe import ProbeError, probe
from bot.ops.backups import backups_in
from bot.ops.runlock import RunLock
from bot.request import JsonRequest, NotBotApi, proxy_from_environment
from bot.zalo.api import UNVERIFIED_PROFILE_PATH, oa_profile
from bot.zalo.errors import Kind, ZaloError
from bot.zalo.tokens import REFRESH_MARGIN
from storage import bundled_migrations
from storage.zalo_tokens import StoredTokens, peek, seed_hash

__all__ = ["Finding", "diagnose", "run_doctor"]

# Telegram keeps the webhook's last error; older than this, it is history, not a problem.
RECENT_ERROR = timedelta(hours=24)
# Seconds Telegram (and the portal, through its own settings) get to answer.
TELEGRAM_TIMEOUT = 15.0


@dataclass(frozen=True)
class Finding:
    """One check's verdict: what was checked, and what was found (with what to do if ✗)."""

    ok: bool
    what: str
    text: str

    def line(self) -> str:
        """The line doctor prints."""
        return f"{'✓' if self.ok else '✗'} {self.what}: {self.text}"


def good(what: str, text: str) -> Finding:
    return Finding(True, what, text)


def bad(what: str, text: str) -> Finding:
    return Finding(False, what, text)


async def run_doctor(env_file: str, out: Callable[[str], None] = print) -> int:
    """Print each finding as it comes; exit status 1 if anything is ✗."""
    ok = True
    async for finding in diagnose(env_file):
        out(finding.line())
        ok = ok and finding.ok
    return 0 if ok else 1


async def diagnose(env_file: str) -> AsyncIterator[Finding]:
    """Every check, in the order an operator would fix things."""
    settings: Settings | None = None
    try:
        settings = load_settings(env_file, telegram=True)
    except ConfigError as exc:
        yield bad("settings", str(exc))
        try:  # the checks that need no Telegram settings can still run
            settings = load_settings(env_file, telegram=False)
        except ConfigError:
            return
        telegram = False
    else:
        source = _settings_source(env_file)
        telegram = settings.telegram_enabled
        mode = f"webhook at {settings.WEBHOOK_URL}" if settings.WEBHOOK_URL else "long polling"
        if not telegram:
            mode = "Zalo alone, no Telegram"
        elif settings.zalo_enabled:
            mode += ", and Zalo"
        yield good("settings", f"read from {source}; {mode}")
    if not settings.ADMIN_IDS:
        yield bad(
            "owners",
            "ADMIN_IDS is empty: nobody can administer the bot; send /myid to the bot and put "
            "the number in ADMIN_IDS",
        )
    yield await asyncio.to_thread(check_database, settings)
    yield await asyncio.to_thread(check_disk, settings)
    if settings.BACKUP_DIR is not None:
        yield await asyncio.to_thread(check_backups, settings)
    if telegram:
        for finding in await check_telegram(settings):
            yield finding
    if settings.zalo_enabled:
        for finding in await check_zalo(settings):
            yield finding
    yield await check_portal(settings)


def _settings_source(env_file: str) -> str:
    return os.path.abspath(env_file) if Path(env_file).is_file() else "the environment"


def check_database(settings: Settings) -> Finding:
    """The database: there, whole, ours, at a schema this program can use."""
    path = Path(os.path.abspath(settings.DATABASE_PATH))
    if not path.exists():
        return bad(
            "database",
            f"no database at {path}: check DATABASE_PATH, or create it with commune-bot migrate "
            "(the bot creates it at its first start)",
        )
    if path.is_dir():
        return bad("database", f"DATABASE_PATH {path} is a folder: give the database file")
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    damaged = (
        f"the database {path} is damaged or is not a SQLite database ({{}}): restore the latest "
        "backup with commune-bot restore PATH (docs/operations.md)"
    )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(3)")]
            rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "no such" in str(exc):
            return bad(
                "database", f"{path} is not a commune-bot database ({exc}): check DATABASE_PATH"
            )
        if not os.access(path, os.R_OK) or not os.access(path.parent, os.R_OK | os.X_OK):
            return bad(
                "database",
                f"cannot read {path} ({exc}): run doctor as the bot's user "
                "(sudo -u commune-bot ...), or give that user the file and its folder",
            )
        return bad("database", damaged.format(exc))
    except sqlite3.DatabaseError as exc:
        return bad("database", damaged.format(exc))
    if check != ["ok"]:
        return bad("database", damaged.format("; ".join(check)))
    known = {m.version: m for m in bundled_migrations()}
    latest = max(known)
    schema = max((int(v) for v, _ in rows), default=0)
    if schema > latest:
        return bad(
            "database",
            f"{path} is at schema version {schema}, newer than this program ({latest}): "
            "upgrade commune-bot, or restore a backup made by this version",
        )
    for version, checksum in rows:
        migration = known.get(int(version))
        if migration is not None and checksum is not None and checksum != migration.checksum:
            return bad(
                "database",
                f"migration {migration.label} has changed since it was applied to {path}: "
                "reinstall the release that applied it",
            )
    pending = len([v for v in known if v not in {int(r[0]) for r in rows}])
    later = f"; {pending} migrations to apply at the next start" if pending else ""
    return good(
        "database",
        f"{path}, {_size(size)}, schema version {schema}{later}, integrity ok",
    )


def check_disk(settings: Settings) -> Finding:
    """Free space where the database lives."""
    folder = Path(os.path.abspath(settings.DATABASE_PATH)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    limit = settings.DISK_MIN_FREE_MB * 1024 * 1024
    if free < limit:
        return bad(
            "disk",
            f"only {_size(free)} free on the disk of {folder} (DISK_MIN_FREE_MB is "
            f"{settings.DISK_MIN_FREE_MB}): free some space (old logs, old backups) before "
            "the database can no longer grow",
        )
    return good("disk", f"{_size(free)} free on the disk of {folder}")


def check_backups(settings: Settings) -> Finding:
    """The daily backups' folder: writable, and how recent the newest copy is."""
    folder = settings.BACKUP_DIR
    assert folder is not None
    where = os.path.abspath(folder)
    if folder.exists() and not folder.is_dir():
        return bad("backups", f"BACKUP_DIR {where} is not a folder: give a folder")
    probe_dir = folder if folder.exists() else folder.parent
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        return bad(
            "backups",
            f"BACKUP_DIR {where} is not writable for this user: create it and give the bot's "
            "user write access (chown)",
        )
    copies = backups_in(folder)
    if not copies:
        return good("backups", f"{where}: none yet (the first at {settings.BACKUP_HOUR:02d}:00)")
    newest = copies[-1]
    age = datetime.now().timestamp() - newest.stat().st_mtime
    if age > 2 * 24 * 3600:
        return bad(
            "backups",
            f"the newest backup in {where} is {age / 86400:.0f} days old: is the bot running? "
            "see the log's 'daily backup' lines",
        )
    return good("backups", f"{where}: {len(copies)} copies, the newest {newest.name}")


async def check_telegram(settings: Settings) -> list[Finding]:
    """Telegram reachable, the token accepted, and the webhook's state there."""
    root = settings.TELEGRAM_API_URL
    proxy = proxy_from_environment(root)
    requests = [JsonRequest(1, read_timeout=TELEGRAM_TIMEOUT, proxy=proxy) for _ in range(2)]
    bot = Bot(
        settings.token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        async with asyncio.timeout(TELEGRAM_TIMEOUT * 2):
            try:
                await bot.initialize()  # getMe
                info = await bot.get_webhook_info()
            finally:
                # Closed here, not by bot.shutdown(), which does nothing after a failed getMe.
                for request in requests:
                    await request.shutdown()
    except InvalidToken:
        return [
            bad(
                "telegram",
                f"{root} refused BOT_TOKEN: copy the token again from @BotFather (/token)",
            )
        ]
    except NotBotApi as exc:
        return [
            bad("telegram", f"{redact(str(exc), settings.secrets)}"),
        ]
    except (NetworkError, TimeoutError, OSError) as exc:
        reason = redact(str(exc), settings.secrets) or type(exc).__name__
        return [
            bad(
                "telegram",
                f"cannot reach Telegram at {root} ({reason}): check the network, "
                "TELEGRAM_API_URL and HTTPS_PROXY",
            )
        ]
    except TelegramError as exc:
        return [
            bad("telegram", f"Telegram answered an error: {redact(str(exc), settings.secrets)}")
        ]
    found = [good("telegram", f"{root} reachable, the token is accepted: @{bot.username}")]
    pending = info.pending_update_count
    error_at = info.last_error_date
    recent = error_at is not None and datetime.now(UTC) - error_at < RECENT_ERROR
    if recent and info.last_error_message:
        assert error_at is not None
        found.append(
            bad(
                "webhook",
                f"Telegram's last error delivering to {info.url or 'the webhook'} "
                f"({error_at:%Y-%m-%d %H:%M} UTC): {info.last_error_message}; {pending} updates "
                "waiting: check the reverse proxy, and restart the bot after changing "
                "WEBHOOK_SECRET",
            )
        )
    elif settings.WEBHOOK_URL and info.url != settings.WEBHOOK_URL:
        at = info.url or "none"
        found.append(
            bad(
                "webhook",
                f"Telegram has webhook {at}, not WEBHOOK_URL {settings.WEBHOOK_URL}: start the "
                "bot, which registers it",
            )
        )
    elif settings.WEBHOOK_URL:
        found.append(good("webhook", f"{info.url} registered; {pending} updates waiting"))
    elif info.url:
        found.append(
            good(
                "webhook",
                f"long polling; Telegram still has the webhook {info.url}, which the bot "
                f"removes when it starts; {pending} updates waiting",
            )
        )
    else:
        found.append(good("webhook", f"none (long polling); {pending} updates waiting"))
    return found


async def check_zalo(settings: Settings) -> list[Finding]:
    """Zalo, without spending anything: the settings, the stored access token's age, the
    webhook's address, and — with a still-valid stored access token only — one read-only call
    to the OA API. No refresh: Zalo's refresh token is single-use, and a refresh here would
    leave the running bot holding a spent one."""
    host, port = settings.zalo_listen
    found = [
        good(
            "zalo",
            f"the four keys are set; OA API {settings.ZALO_API_URL}, token server "
            f"{settings.ZALO_OAUTH_URL}, webhook {host}:{port}/zalo/webhook, window "
            f"{settings.ZALO_WINDOW_HOURS} h / {settings.ZALO_WINDOW_MESSAGES} messages",
        )
    ]
    running, pid = RunLock(Path(settings.DATABASE_PATH)).holder()
    tokens, finding = await asyncio.to_thread(_zalo_tokens, settings, running)
    found.append(finding)
    found.append(await asyncio.to_thread(_zalo_listen, host, port, running, pid))
    found.append(await _zalo_api(settings, tokens))
    return found


def _zalo_tokens(settings: Settings, running: bool) -> tuple[StoredTokens | None, Finding]:
    """The access token the database holds: there and not expired, or what the bot will do."""
    path = Path(os.path.abspath(settings.DATABASE_PATH))
    try:
        stored = peek(path) if path.is_file() else None
    except sqlite3.Error as exc:
        return None, bad("zalo token", f"cannot read the tokens in {path} ({exc}): see the "
                         "database line above")  # fmt: skip
    seed = settings.ZALO_REFRESH_TOKEN
    first = seed.get_secret_value() if seed is not None else ""
    if stored is None:
        return None, good("zalo token", "none stored yet: the bot gets one with "
                          "ZALO_REFRESH_TOKEN at its first start")  # fmt: skip
    if stored.seed_hash != seed_hash(first):
        return None, good(
            "zalo token",
            "ZALO_REFRESH_TOKEN is a new one (not the one the stored tokens came from): the bot "
            "starts with it at its next start; make sure it comes from a new authorisation",
        )
    now = datetime.now(UTC)
    refreshed = (
        f"; last refreshed {stored.refreshed_at:%Y-%m-%d %H:%M} UTC"
        if stored.refreshed_at is not None
        else ""
    )
    expires = stored.access_expires_at
    if stored.access_token is None or expires is None:
        if running:
            return None, bad(
                "zalo token",
                "the running bot holds no access token: Zalo refused to give one; see the "
                "log's 'Zalo' lines (a refused refresh token: authorise the app again and put "
                "the new one in ZALO_REFRESH_TOKEN)",
            )
        return None, good("zalo token", "no access token stored yet: the bot gets one at "
                          f"start{refreshed}")  # fmt: skip
    left = expires - now
    if left <= REFRESH_MARGIN:
        if running:
            return None, bad(
                "zalo token",
                f"the access token expired at {expires:%Y-%m-%d %H:%M} UTC and the running bot "
                "has not refreshed it: see the log's 'Zalo' lines; if Zalo refused the refresh "
                "token, authorise the app again and put the new one in ZALO_REFRESH_TOKEN",
            )
        return None, good(
            "zalo token",
            f"the stored access token expired at {expires:%Y-%m-%d %H:%M} UTC: the bot "
            f"refreshes it when it starts{refreshed}",
        )
    hours = left.total_seconds() / 3600
    return stored, good(
        "zalo token",
        f"an access token is stored, valid {hours:.1f} more hours "
        f"(until {expires:%Y-%m-%d %H:%M} UTC){refreshed}",
    )


def _zalo_listen(host: str, port: int, running: bool, pid: int | None) -> Finding:
    """Whether ZALO_WEBHOOK_LISTEN can be bound (or is, by the running bot)."""
    where = f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe_socket:
            probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado
            probe_socket.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and running:
            by = f" (process {pid})" if pid else ""
            return good("zalo webhook", f"{where} is in use by the running bot{by}")
        if exc.errno == errno.EADDRINUSE:
            return bad(
                "zalo webhook",
                f"{where} is taken by another program and the bot is not running: stop that "
                "program (ss -ltnp shows which), or set ZALO_WEBHOOK_LISTEN to a free port and "
                "point the reverse proxy there",
            )
        return bad(
            "zalo webhook",
            f"cannot listen on {where} ({exc.strerror or exc}): set ZALO_WEBHOOK_LISTEN to an "
            "address of this server (127.0.0.1 behind a reverse proxy) and a port above 1023",
        )
    state = "; the bot is running, but not listening there" if running else ""
    return good("zalo webhook", f"{where} is free for the bot to listen on{state}")


async def _zalo_api(settings: Settings, tokens: StoredTokens | None) -> Finding:
    """One read-only call with a still-valid stored access token; nothing refreshed."""
    what = "zalo api"
    if tokens is None or tokens.access_token is None:
        return good(what, "not called: no valid access token is stored, and getting one would "
                    "spend the single-use refresh token (the bot does it at start)")  # fmt: skip
    root = settings.ZALO_API_URL.rstrip("/")
    endpoint = f"GET {UNVERIFIED_PROFILE_PATH} (an unverified endpoint)"
    try:
        async with httpx.AsyncClient(headers={"User-Agent": "commune-bot doctor"}) as http:
            profile = await oa_profile(http, root, tokens.access_token)
    except ZaloError as exc:
        words = redact(exc.message, settings.secrets)
        if exc.kind is Kind.RETRY and exc.code == 0:
            return bad(what, f"cannot reach Zalo at {root} ({words}): check the network, "
                       "ZALO_API_URL and HTTPS_PROXY")  # fmt: skip
        if exc.kind is Kind.TOKEN:
            return bad(
                what,
                f"Zalo refused the stored access token ({exc.code}: {words}): the running bot "
                "refreshes it at its next send; if this stays, restart the bot and read the "
                "log's 'Zalo' lines",
            )
        if exc.kind in (Kind.RETRY, Kind.RATE):
            return bad(what, f"Zalo is not answering well now ({words}): try doctor again "
                       "in a few minutes")  # fmt: skip
        return bad(
            what,
            f"Zalo refused {endpoint} ({exc.code}: {words}): check ZALO_API_URL; this endpoint "
            "is unverified, so if residents' messages go out, this line alone is not a fault",
        )
    name = str(profile.get("name") or "?")[:80]
    return good(what, f"{root} answers with the stored token: the OA is {name!r} ({endpoint})")


async def check_portal(settings: Settings) -> Finding:
    """The portal's first list page and one article, read and understood."""
    if not settings.NEWS_SITE_URL:
        return good("portal", "NEWS_SITE_URL is not set: the bot reads no website")
    async with news_client(settings) as client:
        try:
            found = await probe(settings, client)
        except ProbeError as exc:
            if exc.unreachable:
                return bad(
                    "portal",
                    f"cannot read {exc}: check NEWS_SITE_URL, and that the site opens from this "
                    "server (curl it)",
                )
            return bad(
                "portal",
                f"read but not understood: {exc}: check NEWS_SITE_URL and NEWS_SOURCES; if the "
                "portal changed its layout, report its address",
            )
    return good(
        "portal",
        f"{found.list_url} lists {found.listed} articles ({found.adapter}); one read in full: "
        f"{found.title[:60]!r}",
    )


def _size(size: int) -> str:
    """Bytes for a person: 12.3 MB."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size} TB"
