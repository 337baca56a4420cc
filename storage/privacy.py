"""Forgetting a person: everything the bot holds about them, in one transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storage.audit import AuditLog
from storage.case_notices import CaseNoticeStore
from storage.cases import CaseStore
from storage.chats import ChatStore
from storage.db import Database
from storage.dialogs import DialogStore
from storage.outbox import OutboxStore
from storage.polls import PollStore
from storage.searches import SearchStore
from storage.stats import Forgotten, InteractionLog
from storage.subscriptions import SubscriptionStore
from storage.users import UserStore
from storage.zalo import CHANNEL as ZALO
from storage.zalo import ZaloPeople

__all__ = ["Forgotten", "forget"]


async def forget(
    db: Database,
    channel: str,
    chat_id: int,
    key: str,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Forgotten:
    """Delete or unlink everything about the person with private chat `chat_id` on `channel`
    (whose interaction-log key is `key`), all or nothing.

    Each table is changed by the store that owns it, on this one transaction's connection: a
    failure anywhere leaves every table as it was, and the person can ask again. Counts stay as
    they were (votes stay in the results, nobody's; events stay in the totals, keyless).
    """
    async with db.transaction() as conn:
        # The subscription of their private chat (its id is theirs); a group's stays.
        stopped = await SubscriptionStore(db, tz).delete_in(conn, channel, chat_id, now)
        # The private chat's place in bulk sends; finished jobs keep their counts.
        await OutboxStore.forget_chat_in(conn, channel, chat_id)
        await ChatStore.forget_in(conn, channel, chat_id)
        profile = await UserStore.forget_in(conn, channel, chat_id)  # the chosen language
        votes = await PollStore.unlink_votes_in(conn, channel, chat_id)
        events = await InteractionLog.forget_key_in(conn, key)
        await SearchStore.forget_in(conn, key)
        # Their refused attempts at staff commands stay in the audit log, nobody's.
        await AuditLog.unlink_actor_in(conn, key)
        await DialogStore.forget_person_in(conn, channel, chat_id)  # a half-written /newpoll
        if channel == ZALO:  # their Zalo id and window: the person's number means no one now
            await ZaloPeople.forget_in(conn, chat_id)
        # Their reports stay as the commune's record, without who, where or their phone.
        await CaseStore.forget_reporter_in(conn, channel, chat_id)
        await CaseNoticeStore.forget_in(conn, channel, chat_id)  # news of them held for them
    return Forgotten(profile=profile, votes=votes, events=events, subscription=stopped)
