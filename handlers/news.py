"""The scheduled poll of the commune's website, and telling staff when the site is down."""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.context import BotContext, Services
from bot.news import RunReport

__all__ = ["JOB_NAME", "poll_news"]

log = logging.getLogger(__name__)

JOB_NAME = "news-poll"
_ALERTED = "news.site_down_alerted"
_NO_CATEGORIES = "news.no_categories_alerted:"  # + the site: "1" once the owners were told


async def poll_news(context: BotContext) -> None:
    """Read the site once; alert the staff after too many failed polls, and on recovery."""
    services = context.services
    if services.news is None:
        return
    report = await services.news.run()
    log.info(
        "news poll %s: %d new, %d updated, %d unchanged, %d failed, %d requests%s",
        report.run_id, len(report.new), len(report.updated), report.unchanged,
        len(report.failures), report.requests, f" (site: {report.site_error})"
        if report.site_error else "",
    )  # fmt: skip
    await _site_health(context, services, report)
    await _category_health(context, services, report)
    # New articles go to instant subscribers and the channel (old ones on a first reading not).
    await services.push.announce(backfill=report.backfill)


async def _site_health(context: BotContext, services: Services, report: RunReport) -> None:
    """One message when the site has failed N polls in a row, one more when it is back."""
    state = services.state
    alerted = await state.get(_ALERTED) == "1"
    if report.ok:
        if alerted:
            await _tell_owners(context, services, "news.site_back")
            await state.set(_ALERTED, "0")
        return
    streak = await services.news_log.failed_in_a_row()
    if not alerted and streak >= services.settings.NEWS_ALERT_AFTER_FAILURES:
        await _tell_owners(
            context,
            services,
            "news.site_down",
            count=streak,
            error=report.site_error or "",
            minutes=f"{services.settings.NEWS_POLL_MINUTES:g}",
        )
        await state.set(_ALERTED, "1")


async def _category_health(context: BotContext, services: Services, report: RunReport) -> None:
    """One message when a site yields articles but no category names; asked again only after
    the site has shown names in between."""
    state = services.state
    for site in sorted(report.unnamed_sites):
        if await state.get(_NO_CATEGORIES + site) != "1":
            await _tell_owners(context, services, "news.no_categories", site=site)
            await state.set(_NO_CATEGORIES + site, "1")
    for site in sorted(report.sites_named):
        if await state.get(_NO_CATEGORIES + site) == "1":
            await state.set(_NO_CATEGORIES + site, "0")


async def _tell_owners(context: BotContext, services: Services, key: str, **values: object) -> None:
    for owner in sorted(services.settings.ADMIN_IDS):
        language = await services.users.language(owner) or services.settings.DEFAULT_LANGUAGE
        try:
            await context.bot.send_message(owner, services.catalog.text(key, language, **values))
        except TelegramError as exc:
            who = services.who(owner)
            log.warning("could not tell owner %s about the website: %s", who, exc)
