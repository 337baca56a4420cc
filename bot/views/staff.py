"""What the staff commands show: /myid, /addstaff and /removestaff's outcomes, the /staff
list, and /audit (each entry of the audit log in words), in the reader's language."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Literal

from bot import formats
from bot.i18n import Catalog, SafeHtml
from bot.views import View
from bot.views.announcements import audit_channels, audit_values
from storage.audit import AuditEntry
from storage.staff import StaffMember

__all__ = [
    "AUDIT_CHARS",
    "CASE_ACTIONS",
    "KNOWN_ACTIONS",
    "StaffOutcome",
    "audit_line",
    "audit_view",
    "myid_view",
    "staff_change_view",
    "staff_list_view",
    "target_problem_view",
]

# The steps of residents' reports (storage.cases records each with its case's number in
# `case`), and the changes to their topics: staff are accountable for every one.
CASE_ACTIONS = frozenset(
    {"case_received", "case_assigned", "case_deadline", "case_answered", "case_closed",
     "case_duplicate", "case_spam", "case_note", "case_rated", "case_reopened",
     "case_rating_word", "case_topic_added", "case_topic_renamed", "case_topic_offered",
     "case_topic_handler"}
)  # fmt: skip

# Entries the bot writes itself, no person acting: a channel's own event (the bot is named).
BOT_ACTIONS = frozenset({"zalo_token_refused"})

# Actions with a sentence of their own in the catalogue (`staff.audit_<action>`); any other
# action (recorded by a newer part of the bot) is shown with its details as they are.
KNOWN_ACTIONS = frozenset(
    {"staff_added", "staff_removed", "poll_created", "poll_closed", "digest_sent", "refused",
     "broadcast", "poll_sent", "zalo_broadcast", "zalo_broadcast_failed", *BOT_ACTIONS,
     *CASE_ACTIONS}
)  # fmt: skip
_DETAIL_CHARS = 80  # a long value (a poll's question) is cut in /audit


def audit_line(
    catalog: Catalog, lang: str, entry: AuditEntry, names: dict[str, str], tz: tzinfo
) -> str:
    """One entry in words: when (local time), who, what."""
    when = formats.stamp(entry.at, tz, lang)
    resident = entry.detail.get("role") == "resident" or entry.actor is None
    if entry.action in BOT_ACTIONS:
        who = catalog.text("staff.audit_bot", lang)
    elif resident:
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
    if entry.action == "broadcast":
        values.setdefault("channels", "")  # an entry from before the audit named the channels
    if entry.action == "poll_sent":  # its recipients on each channel (none named before)
        values["channels"] = audit_channels(catalog, lang, entry.detail.get("by_channel"))
    if entry.action == "broadcast" and "outcome_code" in entry.detail:
        # Stored as data: put in words in the reader's language.
        found = audit_values(catalog, lang, entry.detail, tz)
        values.update({k: v[:_DETAIL_CHARS] if isinstance(v, str) else v for k, v in found.items()})
    if entry.action in CASE_ACTIONS:
        values.update(_case_values(catalog, lang, entry.detail, names))
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


def _case_values(
    catalog: Catalog, lang: str, detail: dict[str, object], names: dict[str, str]
) -> dict[str, str]:
    """A case step's details in words: a date as the language writes it, a person by name."""
    values: dict[str, str] = {}
    deadline = detail.get("deadline")
    if isinstance(deadline, str):
        with contextlib.suppress(ValueError):
            values["day"] = formats.day(date.fromisoformat(deadline), lang=lang)
    person = detail.get("assignee", detail.get("staff"))
    if person is not None:
        values["name"] = names.get(str(person)) or f"ID {person}"
    if "active" in detail:
        values["shown"] = catalog.text(
            "staff.audit_topic_shown" if detail["active"] else "staff.audit_topic_hidden", lang
        )
    if "handles" in detail:
        values["handles"] = catalog.text(
            "staff.audit_topic_handles" if detail["handles"] else "staff.audit_topic_leaves",
            lang,
            name=values.get("name", ""),
        )
    return values


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


# -- the staff commands' replies --------------------------------------------------------------

AUDIT_CHARS = 3900  # /audit stops adding lines before Telegram's 4096 characters

# What came of /addstaff or /removestaff (each a catalogue text `staff.<outcome>`).
StaffOutcome = Literal[
    "is_bot", "is_owner", "already_staff", "added", "added_no_chat", "owner_not_removable",
    "not_a_member", "removed",
]  # fmt: skip


def _named(catalog: Catalog, lang: str, name: str) -> str:
    return name or catalog.text("staff.unknown_name", lang)


def myid_view(catalog: Catalog, lang: str, user_id: int) -> View:
    """/myid: the person's own id (to give to the owner who adds staff)."""
    return View(catalog.text("staff.myid", lang, user_id=user_id))


def target_problem_view(
    catalog: Catalog, lang: str, problem: str, given: str, command: str
) -> View:
    """/addstaff or /removestaff without a person it can be about: what is wrong (the
    catalogue key `problem`), and how to find a person's id."""
    text = catalog.text(problem, lang, text=given, command=command)
    how = catalog.text("staff.how_to_find_id", lang, command=command)
    return View(f"{text}\n\n{how}")


def staff_change_view(
    catalog: Catalog,
    lang: str,
    outcome: StaffOutcome,
    user_id: int,
    name: str = "",
    since: datetime | None = None,
    tz: tzinfo | None = None,
) -> View:
    """What came of /addstaff or /removestaff for the person `user_id`."""
    values: dict[str, object] = {"user_id": user_id, "name": _named(catalog, lang, name)}
    if since is not None:
        values["since"] = formats.day(since, tz)
    return View(catalog.text(f"staff.{outcome}", lang, **values))


def staff_list_view(
    catalog: Catalog,
    lang: str,
    owners: Sequence[tuple[int, str]],
    members: Sequence[StaffMember],
    tz: tzinfo,
) -> View:
    """/staff: the owners (id, name) and the staff members, with since when."""
    none = catalog.text("staff.list_none", lang)
    owner_lines = [
        catalog.text("staff.list_owner", lang, name=_named(catalog, lang, name), user_id=user_id)
        for user_id, name in owners
    ]
    member_lines = [
        catalog.text(
            "staff.list_member",
            lang,
            name=_named(catalog, lang, member.name),
            user_id=member.user_id,
            since=formats.day(member.added_at, tz),
        )
        for member in members
    ]
    text = catalog.text(
        "staff.list",
        lang,
        owners=SafeHtml("\n".join(owner_lines) or none),
        members=SafeHtml("\n".join(member_lines) or none),
        count=len(member_lines),
    )
    return View(text)


def audit_view(
    catalog: Catalog,
    lang: str,
    entries: Sequence[AuditEntry],
    names: dict[str, str],
    zone: str,
    tz: tzinfo,
) -> View:
    """/audit: the entries, newest first, in words, as many as fit in one message."""
    if not entries:
        return View(catalog.text("staff.audit_empty", lang))
    text = catalog.text("staff.audit_title", lang, count=len(entries), zone=zone)
    for entry in entries:
        line = audit_line(catalog, lang, entry, names, tz)
        if len(text) + len(line) + 1 > AUDIT_CHARS:
            break
        text += "\n" + line
    return View(text)
