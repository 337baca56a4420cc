"""What /audit shows: each entry of the audit log in words, in the reader's language."""

from __future__ import annotations

import json
from datetime import tzinfo

from bot import formats
from bot.i18n import Catalog, SafeHtml
from bot.views.announcements import audit_values
from storage.audit import AuditEntry

__all__ = ["KNOWN_ACTIONS", "audit_line"]

# Actions with a sentence of their own in the catalogue (`staff.audit_<action>`); any other
# action (recorded by a newer part of the bot) is shown with its details as they are.
KNOWN_ACTIONS = frozenset(
    {"staff_added", "staff_removed", "poll_created", "poll_closed", "digest_sent", "refused",
     "broadcast", "poll_sent", "zalo_broadcast", "zalo_broadcast_failed"}
)  # fmt: skip
_DETAIL_CHARS = 80  # a long value (a poll's question) is cut in /audit


def audit_line(
    catalog: Catalog, lang: str, entry: AuditEntry, names: dict[str, str], tz: tzinfo
) -> str:
    """One entry in words: when (local time), who, what."""
    when = formats.stamp(entry.at, tz, lang)
    resident = entry.detail.get("role") == "resident" or entry.actor is None
    if resident:
        who = catalog.text("staff.audit_resident", lang)
    elif entry.actor in names:
        who = catalog.text("staff.audit_who", lang, name=names[entry.actor], user_id=entry.actor)
    else:
        who = catalog.text("staff.audit_who_id", lang, user_id=entry.actor)
    values = {
        name: value[:_DETAIL_CHARS] if isinstance(value, str) else value
        for name, value in entry.detail.items()
        if name.isidentifier()
    }
    if entry.action == "broadcast" and "outcome_code" in entry.detail:
        # Stored as data: put in words in the reader's language.
        found = audit_values(catalog, lang, entry.detail, tz)
        values.update({k: v[:_DETAIL_CHARS] if isinstance(v, str) else v for k, v in found.items()})
    if values.get("name") == "":
        values["name"] = catalog.text("staff.unknown_name", lang)
    what = None
    if entry.action in KNOWN_ACTIONS:
        try:
            what = catalog.text(f"staff.audit_{entry.action}", lang, action=entry.action, **values)
        except (KeyError, IndexError, ValueError):
            what = None  # details of another shape than expected: shown as they are below
    if what is None:
        details = ", ".join(
            f"{name}: {_short(value)}" for name, value in sorted(entry.detail.items())
        )
        what = catalog.text("staff.audit_other", lang, action=entry.action, details=details)
    return catalog.text("staff.audit_line", lang, when=when, who=SafeHtml(who), what=SafeHtml(what))


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"
