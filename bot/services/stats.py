"""The usage counts `/stats` and `/staffstats` show, per channel as well as together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.stats import Counter, InteractionLog
from storage.subscriptions import SubscriptionStore

__all__ = ["CHANNELS", "ChannelCount", "channel_counts"]

CHANNELS = ("telegram", "zalo")  # the front ends, in the order their figures are shown


@dataclass(frozen=True, slots=True)
class ChannelCount:
    """One channel's share of the public counter and of the subscriptions."""

    channel: str
    counter: Counter
    subscribers: int


async def channel_counts(
    stats: InteractionLog, subscriptions: SubscriptionStore, now: datetime
) -> list[ChannelCount]:
    """Each channel's counter and subscribers (the totals are `stats.counter`'s)."""
    return [
        ChannelCount(channel, await stats.counter(now, channel), await subscriptions.count(channel))
        for channel in CHANNELS
    ]
