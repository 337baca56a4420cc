"""Who is staff, the one refusal every staff command uses, and the owners' staff commands.

The owners are ADMIN_IDS (configuration: they cannot be removed from Telegram). They add and
remove staff with /addstaff and /removestaff, see everyone with /staff (staff may too) and the
audit log with /audit. Every staff command starts with `refused`, which lets staff through and
politely turns away everyone else, recording the attempt: a resident by the keyed hash of the
interaction log, never by their Telegram id; a staff member asking for an owner's command by
their id (staff are accountable). /myid, for everyone, tells a person their Telegram id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
    User,
)

from bot.adapter import private_name, record, refused, reply
from bot.context import BotContext
from bot.menus import clear_staff_menu, set_staff_menu
from bot.views.staff import (
    StaffOutcome,
    audit_line,
    audit_view,
    myid_view,
    staff_change_view,
    staff_list_view,
    target_problem_view,
)
from storage.audit import AuditEntry

__all__ = [
    "AUDIT_LINES",
    "Target",
    "addstaff_command",
    "audit_command",
    "audit_line",
    "myid_command",
    "removestaff_command",
    "staff_command",
    "target_of",
]

log = logging.getLogger(__name__)

AUDIT_LINES = 20  # entries /audit shows
# Telegram user ids are positive and fit in 52 bits; more digits than that is a typing mistake.
# ASCII digits only: "\d" would take "1٣" and int() would read it as 13.
_USER_ID = re.compile(r"[1-9][0-9]{0,15}")


# -- whom a command is about ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The person /addstaff or /removestaff is about."""

    user_id: int
    name: str = ""  # "" when only the id is known
    is_bot: bool = False


def target_of(message: Message, args: Sequence[str]) -> Target | str:
    """The person named by the command's argument (a Telegram id) or, without one, by the
    message it answers (its sender, or the original sender of a forwarded message).

    Returns the Target, or the catalogue key of what is wrong: `staff.ask_id` (nothing given),
    `staff.bad_id`, `staff.hidden_user` (forwarded from someone who hides their account) or
    `staff.not_a_person` (a channel's or group's message).
    """
    if args:
        text = args[0].strip()
        return Target(int(text)) if _USER_ID.fullmatch(text) else "staff.bad_id"
    answered = message.reply_to_message
    if answered is None:
        return "staff.ask_id"
    origin = answered.forward_origin
    if isinstance(origin, MessageOriginUser):
        sender: User | None = origin.sender_user
    elif isinstance(origin, MessageOriginHiddenUser):
        return "staff.hidden_user"
    elif origin is not None:
        return "staff.not_a_person"
    else:
        sender = None if answered.sender_chat is not None else answered.from_user
    if sender is None:
        return "staff.not_a_person"
    return Target(sender.id, sender.full_name, sender.is_bot)


async def _target(update: Update, context: BotContext, command: str) -> Target | None:
    """The person the command is about, or None after explaining what to send instead."""
    message = update.effective_message
    assert message is not None
    services = context.services
    lang = await services.language_of(update.effective_user)
    found = target_of(message, context.args or [])
    if isinstance(found, Target):
        if found.is_bot or found.user_id == context.bot.id:
            await reply(message, staff_change_view(services.catalog, lang, "is_bot", found.user_id))
            return None
        return found
    given = (context.args or [""])[0][:32]
    await reply(message, target_problem_view(services.catalog, lang, found, given, command))
    return None


# -- commands ---------------------------------------------------------------------------------


async def myid_command(update: Update, context: BotContext) -> None:
    """/myid: tell the person their Telegram id (to give to the owner who adds staff)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    await reply(message, myid_view(services.catalog, await services.language_of(user), user.id))


async def addstaff_command(update: Update, context: BotContext) -> None:
    """/addstaff <id>, or in answer to a (forwarded) message of the person (owners only)."""
    message, owner = update.effective_message, update.effective_user
    if message is None or owner is None:
        return
    if await refused(update, context, "addstaff", owners_only=True):
        return
    target = await _target(update, context, "addstaff")
    if target is None:
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(owner)
    name = target.name or await private_name(context.bot, context.services, target.user_id)
    if target.user_id in services.settings.ADMIN_IDS:
        await reply(message, staff_change_view(catalog, lang, "is_owner", target.user_id, name))
        return
    member, new = await services.staff.add(target.user_id, name, owner.id)
    if not new:
        view = staff_change_view(
            catalog, lang, "already_staff", member.user_id, member.name or name,
            member.added_at, services.settings.tz,
        )  # fmt: skip
        await reply(message, view)
        return
    await record(services, owner, "staff_added", user_id=target.user_id, name=name)
    log.info("%s made %s staff", services.who(owner.id), services.who(target.user_id))
    chosen = await services.users.language(target.user_id)
    menu = await set_staff_menu(context.bot, catalog, target.user_id, owner=False, chosen=chosen)
    outcome: StaffOutcome = "added" if menu else "added_no_chat"
    await reply(message, staff_change_view(catalog, lang, outcome, target.user_id, name))


async def removestaff_command(update: Update, context: BotContext) -> None:
    """/removestaff <id>, or in answer to a message of the person (owners only)."""
    message, owner = update.effective_message, update.effective_user
    if message is None or owner is None:
        return
    if await refused(update, context, "removestaff", owners_only=True):
        return
    target = await _target(update, context, "removestaff")
    if target is None:
        return
    services = context.services
    catalog = services.catalog
    lang = await services.language_of(owner)
    if target.user_id in services.settings.ADMIN_IDS:
        view = staff_change_view(catalog, lang, "owner_not_removable", target.user_id)
        await reply(message, view)
        return
    removed = await services.staff.remove(target.user_id)
    if removed is None:
        await reply(message, staff_change_view(catalog, lang, "not_a_member", target.user_id))
        return
    await record(services, owner, "staff_removed", user_id=removed.user_id, name=removed.name)
    who = services.who
    log.info("%s removed %s from the staff", who(owner.id), who(removed.user_id))
    await clear_staff_menu(context.bot, catalog, removed.user_id)
    view = staff_change_view(catalog, lang, "removed", removed.user_id, removed.name)
    await reply(message, view)


async def staff_command(update: Update, context: BotContext) -> None:
    """/staff: the owners and the staff, with their names and since when (staff and owners)."""
    message = update.effective_message
    if message is None or await refused(update, context, "staff"):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    admins = services.settings.ADMIN_IDS
    owners = [
        (user_id, await private_name(context.bot, context.services, user_id))
        for user_id in sorted(admins)
    ]
    members = [m for m in await services.staff.members() if m.user_id not in admins]
    view = staff_list_view(services.catalog, lang, owners, members, services.settings.tz)
    await reply(message, view)


async def audit_command(update: Update, context: BotContext) -> None:
    """/audit [action]: the last entries of the audit log, in words (owners only)."""
    message = update.effective_message
    if message is None or await refused(update, context, "audit", owners_only=True):
        return
    services = context.services
    lang = await services.language_of(update.effective_user)
    action = context.args[0].lower() if context.args else None
    entries = await services.audit.recent(AUDIT_LINES, action=action)
    names = await _actor_names(context, entries) if entries else {}
    settings = services.settings
    view = audit_view(services.catalog, lang, entries, names, settings.TIMEZONE, settings.tz)
    await reply(message, view)


async def _actor_names(context: BotContext, entries: Sequence[AuditEntry]) -> dict[str, str]:
    """Names for the staff ids among the actors: stored staff, then the names the log itself
    recorded (staff removed since), then Telegram for the owners."""
    services = context.services
    names = {str(member.user_id): member.name for member in await services.staff.members()}
    for entry in reversed(entries):  # the oldest first, so the latest name wins
        if entry.action in ("staff_added", "staff_removed") and entry.detail.get("name"):
            names.setdefault(str(entry.detail.get("user_id")), str(entry.detail["name"]))
    for user_id in sorted(services.settings.ADMIN_IDS):
        if str(user_id) not in names and any(e.actor == str(user_id) for e in entries):
            names[str(user_id)] = await private_name(context.bot, context.services, user_id)
    return {actor: name for actor, name in names.items() if name}
