"""What staff see of an announcement: its panels (audience, time, progress, report) and the
list of recent ones, as channel-neutral views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.callbacks import BroadcastAction, BroadcastActionName
from bot.formats import decimal, number
from bot.i18n import Catalog, SafeHtml
from bot.services.announcements import when
from bot.services.stats import CHANNELS
from bot.views import Button, View, rows_of
from storage.articles import Category
from storage.broadcasts import Broadcast
from storage.outbox import GONE_REASONS, Progress

if TYPE_CHECKING:  # a value the engine computes; this module needs only its fields
    from bot.delivery import Estimate

__all__ = [
    "HELD_REASONS",
    "ZaloPreview",
    "ask_content_panel",
    "ask_time_panel",
    "audience_panel",
    "audit_values",
    "button",
    "confirm_stop",
    "controls",
    "list_line",
    "list_view",
    "number",
    "progress_text",
    "queued_panel",
]

_KNOWN_REASONS = frozenset(
    {"deactivated", "kicked", "blocked", "chat_not_found", "network", "bad_request",
     "no_rights", "forbidden", "invalid", "inactive", "moved", "cancelled",
     "unfollowed", "window", "quota", "package", "night", "zalo_rules", "rate", "token",
     "zalo_refused"}
)  # fmt: skip
# Skipped because Zalo's rules forbid sending now (bot.zalo.delivery): shown apart, with why.
HELD_REASONS = frozenset({"window", "quota", "package", "night", "zalo_rules"})


@dataclass(frozen=True, slots=True)
class ZaloPreview:
    """What the audience panel shows of Zalo: who gets it now, who waits, and the OA article
    broadcasts left this month (None when the commune's package has none)."""

    now: int
    waiting: int
    broadcasts_left: int | None = None


def _duration(seconds: float, catalog: Catalog, lang: str) -> str:
    if seconds < 90:
        return catalog.text("broadcast.seconds", lang, count=max(1, round(seconds)))
    if seconds < 90 * 60:
        return catalog.text("broadcast.minutes", lang, count=round(seconds / 60))
    return catalog.text("broadcast.hours", lang, count=decimal(seconds / 3600, lang))


def _reasons(counts: dict[str, int], catalog: Catalog, lang: str) -> str:
    """Failure reasons in words: "3 tài khoản đã xóa, 2 lỗi mạng"."""
    parts = []
    for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
        name = reason if reason in _KNOWN_REASONS else "other"
        parts.append(catalog.text(f"broadcast.reason_{name}", lang, count=number(count, lang)))
    return ", ".join(parts)


def progress_text(
    estimate: Estimate, broadcast: Broadcast, catalog: Catalog, lang: str, tz: ZoneInfo
) -> str:
    """The progress message: where the sending stands, or the final report."""
    progress: Progress = estimate.progress
    values: dict[str, Any] = {
        "total": number(progress.total, lang),
        "sent": number(progress.sent, lang),
        "blocked": number(progress.blocked, lang),
        "failed": number(progress.errors, lang),
    }
    if progress.state == "done" or (progress.state == "cancelled" and progress.pending == 0):
        failed = {r: n for r, n in progress.failed.items() if r not in GONE_REASONS}
        gone = {r: n for r, n in (*progress.failed.items(), *progress.skipped.items())
                if r in GONE_REASONS}  # fmt: skip
        lines = [
            catalog.text(
                "broadcast.report_done" if progress.state == "done" else "broadcast.report_stopped",
                lang,
                when=when(datetime.fromisoformat(progress.finished_at), tz)
                if progress.finished_at
                else "",
            ),
            catalog.text("broadcast.report_total", lang, total=values["total"]),
            catalog.text("broadcast.report_sent", lang, sent=values["sent"]),
        ]
        held = {r: n for r, n in progress.skipped.items() if r in HELD_REASONS}
        for key, counts in (
            ("broadcast.report_gone", gone),
            ("broadcast.report_failed", failed),
            ("broadcast.report_held", held),
        ):
            if counts:
                lines.append(
                    catalog.text(
                        key, lang,
                        count=number(sum(counts.values()), lang),
                        reasons=SafeHtml(_reasons(counts, catalog, lang)),
                    )
                )  # fmt: skip
        stopped = progress.skipped.get("cancelled", 0)
        if stopped:
            lines.append(
                catalog.text("broadcast.report_not_sent", lang, count=number(stopped, lang))
            )
        return "\n".join(lines)
    if progress.start_at is not None and progress.start_at > datetime.now(UTC).timestamp():
        return "\n".join(
            [
                catalog.text("broadcast.queued", lang, when=when(progress.start_at, tz)),
                catalog.text("broadcast.report_total", lang, total=values["total"]),
            ]
        )
    if progress.state == "paused":
        head = catalog.text("broadcast.paused", lang)
    else:
        head = catalog.text("broadcast.sending", lang)
    lines = [head, catalog.text("broadcast.progress", lang, **values)]
    if estimate.seconds_left is not None and progress.state == "running":
        left = _duration(estimate.seconds_left, catalog, lang)
        lines.append(catalog.text("broadcast.time_left", lang, left=left))
    return "\n".join(lines)


def button(
    catalog: Catalog, lang: str, broadcast: Broadcast, action: BroadcastActionName
) -> Button:
    """One of a panel's buttons, labelled from the catalogue."""
    return Button(
        catalog.text(f"broadcast.button_{action}", lang),
        BroadcastAction(broadcast.broadcast_id, action),
    )


def audience_panel(
    catalog: Catalog,
    lang: str,
    broadcast: Broadcast,
    categories: list[Category],
    count: int,
    channel: bool,
    zalo: ZaloPreview | None = None,
) -> View:
    """Who gets it: the chosen categories, the channel, the number of recipients (on Zalo: who
    gets it now, who waits, the OA articles left this month); send now, at a time, or not at
    all."""
    names = [c.name for c in categories if c.category_id in broadcast.categories]
    audience = (
        catalog.text("broadcast.audience_categories", lang, names=", ".join(names))
        if names
        else catalog.text("broadcast.audience_all", lang)
    )
    if broadcast.channel and channel:
        audience += catalog.text("broadcast.audience_channel", lang)
    text = catalog.text("broadcast.choose", lang, audience=audience, count=number(count, lang))
    if zalo is not None:
        text += "\n\n" + catalog.text(
            "broadcast.zalo_audience", lang,
            now=number(zalo.now, lang), waiting=number(zalo.waiting, lang),
        )  # fmt: skip
        if zalo.broadcasts_left is not None:
            text += "\n" + catalog.text(
                "broadcast.zalo_articles_left", lang, count=number(zalo.broadcasts_left, lang)
            )
    toggles = [
        Button(
            ("✅ " if c.category_id in broadcast.categories else "▫️ ") + c.name[:30],
            BroadcastAction(broadcast.broadcast_id, "cat", c.category_id),
        )
        for c in categories[:20]
    ]
    rows = list(rows_of(toggles, 2))
    if channel:
        key = "broadcast.channel_on" if broadcast.channel else "broadcast.channel_off"
        rows.append(
            (Button(catalog.text(key, lang), BroadcastAction(broadcast.broadcast_id, "ch")),)
        )
    rows.append(
        (
            Button(
                catalog.text("broadcast.go_button", lang, count=number(count, lang)),
                BroadcastAction(broadcast.broadcast_id, "go"),
            ),
            button(catalog, lang, broadcast, "time"),
        )
    )
    if zalo is not None and zalo.broadcasts_left:
        rows.append(
            (
                Button(
                    catalog.text(
                        "broadcast.go_zalo_button", lang, count=number(zalo.broadcasts_left, lang)
                    ),
                    BroadcastAction(broadcast.broadcast_id, "goz"),
                ),
            )
        )
    rows.append((button(catalog, lang, broadcast, "x"),))
    return View(text, tuple(rows))


def queued_panel(catalog: Catalog, lang: str, broadcast: Broadcast, tz: ZoneInfo) -> View:
    """An announcement waiting for its time: when, how many (as of now), and "stop"."""
    assert broadcast.start_at is not None
    text = "\n".join(
        [
            catalog.text("broadcast.queued", lang, when=when(broadcast.start_at, tz)),
            catalog.text("broadcast.expected", lang, count=number(broadcast.recipients or 0, lang)),
        ]
    )
    return View(text, ((button(catalog, lang, broadcast, "stop"),),))


def controls(
    catalog: Catalog, lang: str, broadcast: Broadcast, progress: Progress
) -> tuple[tuple[Button, ...], ...]:
    """Pause or resume, and stop, under a send's progress."""
    if progress.start_at and progress.start_at > datetime.now(UTC).timestamp():
        return ((button(catalog, lang, broadcast, "stop"),),)
    first: BroadcastActionName = "r" if progress.state == "paused" else "p"
    return ((button(catalog, lang, broadcast, first), button(catalog, lang, broadcast, "stop")),)


def confirm_stop(
    catalog: Catalog, lang: str, broadcast: Broadcast
) -> tuple[tuple[Button, ...], ...]:
    """The two buttons that ask "really stop?" (for a send under way or a queued one)."""
    return ((button(catalog, lang, broadcast, "stopok"), button(catalog, lang, broadcast, "keep")),)


def ask_content_panel(catalog: Catalog, lang: str, broadcast: Broadcast) -> View:
    """The draft's first panel: send the announcement (text, or a photo or file with a caption)."""
    return View(
        catalog.text("broadcast.ask_content", lang), ((button(catalog, lang, broadcast, "x"),),)
    )


def ask_time_panel(catalog: Catalog, lang: str, broadcast: Broadcast) -> View:
    """When should it go out: back to the audience, or drop it."""
    return View(
        catalog.text("broadcast.ask_time", lang),
        ((button(catalog, lang, broadcast, "back"), button(catalog, lang, broadcast, "x")),),
    )


def list_view(
    catalog: Catalog,
    lang: str,
    recent: list[tuple[Broadcast, Progress | None, str]],
    tz: ZoneInfo,
) -> View:
    """/broadcasts: the latest announcements (each with its progress and label) and what
    became of them."""
    lines = [catalog.text("broadcast.list_title", lang)]
    for broadcast, progress, label in recent:
        line = list_line(catalog, lang, broadcast, progress, label, tz)
        if line is not None:
            lines.append(line)
    if len(lines) == 1:
        lines.append(catalog.text("broadcast.list_none", lang))
    return View("\n".join(lines))


def list_line(
    catalog: Catalog,
    lang: str,
    broadcast: Broadcast,
    progress: Progress | None,
    label: str,
    tz: ZoneInfo,
) -> str | None:
    """One line of /broadcasts: when, what, and what became of it."""
    if broadcast.delivery_id is None:  # waiting for its time
        assert broadcast.start_at is not None
        return catalog.text(
            "broadcast.list_queued", lang, when=when(broadcast.created_at, tz),
            label=label, at=when(broadcast.start_at, tz),
            total=number(broadcast.recipients or 0, lang),
        )  # fmt: skip
    if progress is None:
        return None
    outcome = {
        "done": "list_done", "cancelled": "list_stopped", "paused": "list_paused",
    }.get(progress.state, "list_sending")  # fmt: skip
    if progress.start_at and progress.start_at > datetime.now(UTC).timestamp():
        outcome = "list_queued"
    return catalog.text(
        f"broadcast.{outcome}",
        lang,
        when=when(broadcast.created_at, tz),
        label=progress.label,
        sent=number(progress.sent, lang),
        total=number(progress.total, lang),
        blocked=number(progress.blocked, lang),
        failed=number(progress.errors, lang),
        at=when(progress.start_at, tz) if progress.start_at else "",
    )


def audit_values(
    catalog: Catalog, lang: str, detail: dict[str, Any], tz: tzinfo
) -> dict[str, object]:
    """An announcement's audit entry (stored as data) in words: its audience and outcome."""
    names = [str(name) for name in detail.get("categories", [])]
    audience = ", ".join(names) if names else catalog.text("staff.audit_audience_all", lang)
    if detail.get("channel"):
        audience += catalog.text("staff.audit_audience_channel", lang)
    code = str(detail.get("outcome_code"))
    figures = {key: detail.get(key, 0) for key in ("sent", "blocked", "failed", "not_sent")}
    start_at = detail.get("start_at")
    when_text = when(float(start_at), tz) if isinstance(start_at, int | float) else ""
    channels = audit_channels(catalog, lang, detail.get("by_channel"))
    if code not in ("sending", "scheduled", "done", "stopped", "cancelled"):
        return {"audience": audience, "outcome": code, "channels": channels}
    outcome = catalog.text(f"staff.audit_outcome_{code}", lang, when=when_text, **figures)
    return {"audience": audience, "outcome": outcome, "channels": channels}


def audit_channels(catalog: Catalog, lang: str, by_channel: object) -> str:
    """Which messengers an announcement's recipients are on (" (Telegram 3, Zalo 2)"); empty
    for an entry written before the audit log named them."""
    if not isinstance(by_channel, dict):
        return ""
    counts = [
        catalog.text("staff.audit_channel_count", lang,
                     channel=catalog.text(f"stats.channel_{channel}", lang), count=count)
        for channel, count in by_channel.items()
        if channel in CHANNELS and isinstance(count, int) and count
    ]  # fmt: skip
    if not counts:
        return ""
    return catalog.text("staff.audit_channels", lang, counts=", ".join(counts))
