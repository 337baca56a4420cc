"""Góp ý – phản ánh on Zalo: the resident's side, by text with numbered choices.

The conversation (`bot.zalo.chat`) hands this module what concerns a report; everything else
stays there. The dialog is Telegram's own (`bot.services.reporting.Reporting`, over the Zalo
dialogs `services.zalo_reporting`: a restart in the middle loses nothing) and its views are
`bot.views.cases`', worded for Zalo (`report_view(..., zalo=True)`):

- "góp ý", "gop y", "phản ánh", "phan anh", "/gopy" begin a report; "phản ánh của tôi",
  "/phananh" list the person's cases (`REPORT_WORDS`, merged into the conversation's words);
- the topic, "Bỏ qua"/"Xong", "Gửi" and "Hủy" are the view's buttons, typed as numbers or
  tapped as query buttons (the same typed `ReportAction`); "hủy" cancels at any step;
- the description is text; photos are `user_send_image` events (the picture's address on
  Zalo's servers is kept as the photo's reference, never downloaded; a caption with the first
  photo is the description); a location is a `user_send_location` event (its coordinates);
- no phone number on Zalo: the issue takes one only from Telegram's "share contact", so the
  step is passed over and the preview says so;
- after the commune's answer, the rating (`RateCase`, by number or button, or the words "hài
  lòng" / "chưa hài lòng" for the newest answer), then an optional word; not satisfied reopens
  the case and its assignee is told (`Services.on_reopened_case`);
- a new case reaches the staff on Telegram with its photos and location
  (`Services.on_new_case`);
- what the reporter is told of their case while the OA could not write to them comes first
  with their next message (`held`; see `bot.zalo.notices`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from bot.callbacks import CallbackData, RateCase, ReportAction
from bot.news.text import fold
from bot.services.cases import Case, Change, ChangeKind, Refusal, Reporter
from bot.services.reporting import Prompt
from bot.views import View
from bot.views.cases import (
    mine_view,
    rated_view,
    refusal_view,
    report_view,
    resident_notice,
    sent_view,
    word_view,
)
from bot.zalo.messages import ZaloEvent
from bot.zalo.render import PAYLOAD_MARK
from storage.zalo import CHANNEL as ZALO

if TYPE_CHECKING:  # Services is built with Telegram's objects; only its type is named here
    from bot.context import Services

__all__ = ["REPORT_COMMANDS", "REPORT_WORDS", "ZaloReports", "image_urls", "location_of"]

log = logging.getLogger(__name__)

# What a resident may type (folded: lower case, no diacritics, no slash) for a report's command.
REPORT_WORDS: dict[str, str] = {
    "gopy": "gopy",
    "gop y": "gopy",
    "phan anh": "gopy",
    "gop y phan anh": "gopy",
    "gui phan anh": "gopy",
    "phananh": "phananh",
    "phan anh cua toi": "phananh",
    "xem phan anh": "phananh",
    "hai long": "rate_yes",
    "chua hai long": "rate_no",
    "khong hai long": "rate_no",
}
REPORT_COMMANDS = frozenset(REPORT_WORDS.values())
# Typed during a report, these cancel it (before any other meaning: "hủy" stops a subscription
# elsewhere).
_CANCEL_WORDS = frozenset({"huy", "huy bo", "thoi", "cancel", "huy phan anh"})


def image_urls(event: ZaloEvent) -> list[str]:
    """The addresses of the pictures a `user_send_image` event carries."""
    found = []
    for attachment in event.attachments:
        payload = attachment.get("payload")
        url = payload.get("url") if isinstance(payload, Mapping) else None
        if (
            attachment.get("type") in ("image", "gif", None)
            and isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and len(url) <= 2000
        ):
            found.append(url)
    return found


def _coordinate(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def location_of(event: ZaloEvent) -> tuple[float, float] | None:
    """The coordinates a `user_send_location` event carries (Zalo writes them as
    `coordinates: {latitude, longitude}`; some integrations read `lat`/`long`)."""
    for attachment in event.attachments:
        payload = attachment.get("payload")
        place = payload.get("coordinates") if isinstance(payload, Mapping) else None
        if not isinstance(place, Mapping):
            continue
        latitude = _coordinate(place.get("latitude", place.get("lat")))
        longitude = _coordinate(place.get("longitude", place.get("long")))
        if latitude is not None and longitude is not None:
            return latitude, longitude
    return None


class ZaloReports:
    """The report's part of the Zalo conversation. Each method returns the views to answer
    with, or None when what the resident did is not the report's (the conversation goes on as
    without it)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def _reporter(self, person: int) -> Reporter:
        return Reporter(ZALO, person, person)

    # -- commands -------------------------------------------------------------------------

    async def command(self, person: int, lang: str, command: str) -> list[View]:
        """ "góp ý" (begin), "phản ánh của tôi" (the list), "hài lòng" / "chưa hài lòng"."""
        services = self._services
        catalog = services.catalog
        if command == "phananh":
            mine = await services.cases.mine(ZALO, person)
            topics = await services.cases.topics_by_id()
            return [mine_view(catalog, lang, mine, topics, services.settings.tz)]
        if command in ("rate_yes", "rate_no"):
            waiting = [c for c in await services.cases.mine(ZALO, person) if c.state == "answered"]
            if not waiting:
                return [View(catalog.text("cases.zalo_nothing_to_rate", lang))]
            rating = RateCase(waiting[0].case_id, "yes" if command == "rate_yes" else "no")
            return await self._rate(person, lang, rating)
        begun = await services.zalo_reporting.begin(self._reporter(person), lang)
        if isinstance(begun, Refusal):
            return [refusal_view(catalog, lang, begun)]
        return [await self._show(person, lang, begun)]

    # -- what the resident types and sends --------------------------------------------------

    async def text(
        self, person: int, lang: str, typed: str, named: tuple[str, str] | None
    ) -> list[View] | None:
        """A text while writing a report (or while a word about a rating is awaited); `named`
        is the command the text names, if any. Numbers and query buttons are the
        conversation's (their actions come back through `act`)."""
        reporting = self._services.zalo_reporting
        catalog = self._services.catalog
        if typed.isdigit() or typed.startswith(PAYLOAD_MARK):
            return None
        draft = reporting.draft(person, person)
        if draft is None:
            if named is None and reporting.is_wording(person, person):
                kept = await reporting.take_word(self._reporter(person), typed)
                return [word_view(catalog, lang, kept is not None)]
            return None
        if fold(typed).lstrip("/").strip(" .!") in _CANCEL_WORDS:
            await reporting.cancel(person, person)
            return [View(catalog.text("cases.cancelled", lang))]
        if draft.step == "description":
            # A command word alone is that command (the draft stays); anything else, even
            # "tìm thấy ổ gà…", is the description.
            if typed.startswith("/") or (named is not None and not named[1]):
                return None
        elif named is not None:
            return None  # the command runs; the draft waits
        prompt = await reporting.take_text(person, person, typed)
        return [await self._show(person, lang, prompt) if prompt else self._expired(lang)]

    async def media(self, person: int, lang: str, event: ZaloEvent) -> list[View] | None:
        """A photo, a location (or anything else) sent while writing a report."""
        reporting = self._services.zalo_reporting
        draft = reporting.draft(person, person)
        if draft is None:
            return None
        prompt: Prompt | None = Prompt(draft, "use_buttons")
        if event.name in ("user_send_image", "user_send_gif"):
            urls = image_urls(event)
            if not urls:
                prompt = Prompt(draft, "zalo_photo_unreadable")
            for url in urls:
                prompt = await reporting.take_photo(person, person, url)
            if prompt is not None and draft.step == "description" and event.text.strip():
                # A photo with its caption: the caption is the description.
                prompt = await reporting.take_text(person, person, event.text)
        elif event.name == "user_send_location":
            place = location_of(event)
            if place is not None:
                prompt = await reporting.take_location(person, person, *place)
        return [await self._show(person, lang, prompt) if prompt else self._expired(lang)]

    # -- the typed actions: the dialog's choices and the rating -----------------------------

    async def act(self, person: int, lang: str, action: CallbackData) -> list[View] | None:
        """A `ReportAction` or a `RateCase`, typed as its number or tapped; None for others."""
        if isinstance(action, RateCase):
            return await self._rate(person, lang, action)
        if not isinstance(action, ReportAction):
            return None
        services = self._services
        catalog = services.catalog
        reporting = services.zalo_reporting
        stale = View(catalog.text("errors.stale_button", lang))
        if action.action == "cancel":
            if not await reporting.cancel(person, person):
                return [stale]
            return [View(catalog.text("cases.cancelled", lang))]
        if action.action == "send":
            return await self._send(person, lang)
        if action.action == "topic":
            prompt = await reporting.choose_topic(person, person, action.value)
        else:
            prompt = await reporting.skip(person, person, action.step)
        if prompt is None:
            return [stale]
        return [await self._show(person, lang, prompt)]

    async def _send(self, person: int, lang: str) -> list[View]:
        """ "Gửi": the case is stored, the resident gets its number, the staff are told."""
        services = self._services
        catalog = services.catalog
        sent = await services.zalo_reporting.send(self._reporter(person))
        if sent is None:
            return [View(catalog.text("errors.stale_button", lang))]
        if isinstance(sent, Refusal):
            return [refusal_view(catalog, lang, sent)]
        log.info("case %s received from %s", sent.number, services.who(person, ZALO))
        await self._tell_staff(sent)
        return [sent_view(catalog, lang, sent)]

    async def _tell_staff(self, case: Case) -> None:
        """The new case to the staff, on Telegram (a failure there never costs the resident
        their case number)."""
        tell = self._services.on_new_case
        if tell is None:
            log.warning("case %s came by Zalo; no staff can be told without Telegram", case.number)
            return
        try:
            await tell(case)
        except Exception:
            log.exception("could not tell the staff of %s", case.number)

    async def _rate(self, person: int, lang: str, action: RateCase) -> list[View]:
        services = self._services
        catalog = services.catalog
        reporting = services.zalo_reporting
        if action.answer == "skip":
            if not await reporting.drop_word(person, person, action.case_id):
                return [View(catalog.text("errors.stale_button", lang))]
            return [word_view(catalog, lang, False)]
        change = await services.cases.rate(
            action.case_id, self._reporter(person), action.answer == "yes"
        )
        if change is None:
            return [View(catalog.text("errors.stale_button", lang))]
        await reporting.await_word(person, person, change.case.case_id)
        if change.kind == "reopened" and services.on_reopened_case is not None:
            try:
                await services.on_reopened_case(change.case)
            except Exception:
                log.exception("could not tell the staff %s was reopened", change.case.number)
        return [rated_view(catalog, lang, change)]

    # -- views ----------------------------------------------------------------------------

    async def _show(self, person: int, lang: str, prompt: Prompt) -> View:
        """The dialog's message for the step it stands at; Zalo has no phone step."""
        services = self._services
        if prompt.draft.step == "phone":
            skipped = await services.zalo_reporting.skip(person, person, "phone")
            if skipped is not None:
                prompt = Prompt(skipped.draft, prompt.note)
        draft = prompt.draft
        cases = services.cases
        topics = await cases.topics() if draft.step == "topic" else []
        topic = await cases.topic(draft.topic_id) if draft.topic_id else None
        return report_view(services.catalog, lang, prompt, topics, topic, zalo=True)

    def _expired(self, lang: str) -> View:
        return View(self._services.catalog.text("cases.expired", lang))

    async def held(self, person: int, lang: str) -> list[View]:
        """What the reporter was not told while the OA could not write to them, oldest first,
        taken (their rows deleted) as it is read. The rating is offered by words here: the
        answer to the message that brought them holds the numbers."""
        services = self._services
        catalog = services.catalog
        views = []
        for notice in await services.case_notices.take(ZALO, person):
            case = await services.cases.get(notice.case_id)
            if case is None or case.reporter is None:
                continue
            other = None
            if notice.other_case_id is not None:
                other = await services.cases.get(notice.other_case_id)
            kind = cast(ChangeKind, notice.kind)
            view = resident_notice(catalog, Change(kind, case, None, other))
            if view is None:
                continue
            text = view.text
            if view.buttons and case.state == "answered":
                text = f"{text}\n\n{catalog.text('cases.zalo_rate_hint', case.language)}"
            views.append(View(text))
        return views
