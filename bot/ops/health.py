"""Is the bot well? The database answers, the portal was read lately, the delivery engine runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.ops.metrics import seconds_since_good_poll

if TYPE_CHECKING:
    from bot.context import Services

__all__ = ["Health", "check_health"]

# A database that takes longer than this to answer `SELECT 1` is not answering.
DATABASE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Health:
    """The verdict: each check's state in words, and the problems that make the bot unwell."""

    checks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def as_json(self) -> dict[str, object]:
        """What /healthz answers."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "checks": self.checks,
            "problems": self.problems,
        }


async def check_health(services: Services) -> Health:
    """Check the database, the last good poll of the portal and the delivery engine."""
    checks: dict[str, str] = {}
    problems: list[str] = []
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await services.db.fetchone("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = "failing"
        problems.append(
            f"the database does not answer ({type(exc).__name__}: {exc}); "
            "see the log, run commune-bot doctor"
        )
    if services.news is None:
        checks["portal"] = "not read (NEWS_SITE_URL is not set)"
    else:
        limit = services.settings.HEALTH_MAX_POLL_AGE_MINUTES * 60
        try:
            age = await seconds_since_good_poll(services)
        except Exception:
            age = None  # the database's failure is reported above
        if age is None:
            checks["portal"] = "unknown"
        elif age > limit:
            checks["portal"] = "stale"
            problems.append(
                f"the portal was last read {age:.0f} s ago, more than "
                f"HEALTH_MAX_POLL_AGE_MINUTES ({limit:.0f} s): see the log's 'news:' lines"
            )
        else:
            checks["portal"] = f"read {age:.0f} s ago"
    if services.delivery_alive:
        checks["delivery"] = "ok"
    else:
        checks["delivery"] = "stopped"
        problems.append("the delivery engine is not running: restart the bot; see the log")
    return Health(checks, problems)
