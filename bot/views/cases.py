"""What residents (and, for a new case, staff) see of Góp ý – phản ánh, as channel-neutral views.

- `report_view`: the /gopy dialog's message at each step (a front end with a reply keyboard
  offers "share location" and "share contact" there itself: `LOCATION_KEYS`).
- `sent_view`, `refusal_view`, `mine_view` (/phananh).
- `resident_notice(catalog, change)`: what the reporter is told of a `Change` (received,
  assigned, answered with the answer in full and the rating buttons, closed, duplicate, spam),
  in the language they reported in; None for a change they are not told of (a new deadline).
- `staff_new_case_view`: a new case as the staff who handle its topic get it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo

from bot import formats
from bot.callbacks import RateCase, ReportAction
from bot.i18n import Catalog
from bot.services.cases import MAX_PHOTOS, MIN_DESCRIPTION_CHARS, Case, Change, Refusal, Topic
from bot.services.reporting import Prompt
from bot.views import Button, View, rows_of

__all__ = [
    "ZALO_KEYS",
    "labels",
    "mine_view",
    "rated_view",
    "refusal_view",
    "report_view",
    "resident_notice",
    "sent_view",
    "staff_new_case_view",
    "state_label",
    "topic_label",
    "topics_view",
    "word_view",
]

# Telegram allows 4,096 characters in a message, 1,024 in a caption.
_DESCRIPTION_SHOWN = 1500
# On Zalo, what the dialog says in place of Telegram's words (buttons, its location button).
ZALO_KEYS = {
    "use_buttons": "zalo_use_numbers",
    "phone_use_button": "zalo_use_numbers",
    "ask_location": "zalo_ask_location",
}


def topic_label(catalog: Catalog, lang: str, topic: Topic | None) -> str:
    """A topic as a person reads it: a seeded topic in their language, else as staff named it."""
    if topic is None:
        return catalog.text("cases.topic_gone", lang)
    if topic.code is not None:
        return catalog.text(f"cases.topic.{topic.code}", lang)
    return topic.name


def state_label(catalog: Catalog, lang: str, state: str) -> str:
    """A case's state in words."""
    return catalog.text(f"cases.state.{state}", lang)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cancel(catalog: Catalog, lang: str, step: str) -> Button:
    return Button(catalog.text("cases.button_cancel", lang), ReportAction("cancel", step))  # type: ignore[arg-type]


def labels(catalog: Catalog, key: str) -> set[str]:
    """What a button says in every language (a reply keyboard's button comes back as text)."""
    return {catalog.text(key, lang) for lang in catalog.languages}


def report_view(
    catalog: Catalog,
    lang: str,
    prompt: Prompt,
    topics: Sequence[Topic],
    topic: Topic | None,
    *,
    zalo: bool = False,
) -> View:
    """The dialog's message for the step it stands at (`topics`: those offered; `topic`: the
    one chosen). With `zalo`, as Zalo's conversation words it: choices are typed numbers, a
    location is attached in Zalo's own way, and no phone is asked (`ZALO_KEYS`)."""
    draft = prompt.draft
    step = draft.step
    lines: list[str] = []
    if prompt.note is not None:
        values: dict[str, object] = {"count": len(draft.photos), "max": MAX_PHOTOS}
        if prompt.note == "description_short":
            values = {"min": MIN_DESCRIPTION_CHARS}
        note = ZALO_KEYS.get(prompt.note, prompt.note) if zalo else prompt.note
        lines.append(catalog.text(f"cases.{note}", lang, **values))
    cancel = _cancel(catalog, lang, step)
    skip = ReportAction("skip", step) if step in ("photos", "location", "phone") else None
    buttons: tuple[tuple[Button, ...], ...]
    if step == "topic":
        lines.append(catalog.text("cases.ask_topic", lang))
        choices = [
            Button(topic_label(catalog, lang, t), ReportAction("topic", "topic", t.topic_id))
            for t in topics
        ]
        buttons = (*rows_of(choices, 2), (cancel,))
    elif step == "description":
        lines.append(
            catalog.text(
                "cases.ask_description",
                lang,
                topic=topic_label(catalog, lang, topic),
                min=MIN_DESCRIPTION_CHARS,
            )
        )
        buttons = ((cancel,),)
    elif step == "photos":
        if prompt.note != "photo_added":
            lines.append(catalog.text("cases.ask_photos", lang, max=MAX_PHOTOS))
        key = "cases.button_done" if draft.photos else "cases.button_skip"
        buttons = ((Button(catalog.text(key, lang), skip), cancel),)
    elif step in ("location", "phone"):
        ask = f"ask_{step}"
        lines.append(catalog.text(f"cases.{ZALO_KEYS.get(ask, ask) if zalo else ask}", lang))
        buttons = ((Button(catalog.text("cases.button_skip", lang), skip), cancel),)
    else:
        lines.append(_preview(catalog, lang, prompt, topic, zalo=zalo))
        send = Button(catalog.text("cases.button_send", lang), ReportAction("send", "preview"))
        buttons = ((send, cancel),)
    return View("\n\n".join(lines), buttons)


def _preview(
    catalog: Catalog, lang: str, prompt: Prompt, topic: Topic | None, *, zalo: bool = False
) -> str:
    draft = prompt.draft
    none = catalog.text("cases.none", lang)
    phone = catalog.text("cases.zalo_phone", lang) if zalo else draft.phone or none
    return catalog.text(
        "cases.preview",
        lang,
        topic=topic_label(catalog, lang, topic),
        description=_short(draft.description, _DESCRIPTION_SHOWN),
        photos=formats.number(len(draft.photos), lang) if draft.photos else none,
        location=catalog.text("cases.shared", lang) if draft.location else none,
        phone=phone,
    )


def sent_view(catalog: Catalog, lang: str, case: Case) -> View:
    """The case number once sent, and when the commune will answer by."""
    deadline = formats.day(case.deadline, lang=lang) if case.deadline else "—"
    return View(catalog.text("cases.sent", lang, number=case.number, deadline=deadline))


def refusal_view(catalog: Catalog, lang: str, refusal: Refusal) -> View:
    """A limit reached, said plainly."""
    return View(catalog.text(f"cases.limit_{refusal.limit}", lang, limit=refusal.allowed))


def mine_view(
    catalog: Catalog, lang: str, cases: Sequence[Case], topics: Mapping[int, Topic], tz: tzinfo
) -> View:
    """/phananh: the person's cases, the newest first, with their state."""
    if not cases:
        return View(catalog.text("cases.mine_none", lang))
    lines = [catalog.text("cases.mine_title", lang)]
    for case in cases:
        lines.append(
            catalog.text(
                "cases.mine_line",
                lang,
                number=case.number,
                topic=topic_label(catalog, lang, topics.get(case.topic_id)),
                state=state_label(catalog, lang, case.state),
                date=formats.day(case.created_at, tz, lang),
            )
        )
    return View("\n".join(lines))


def _rating_buttons(catalog: Catalog, lang: str, case_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(catalog.text("cases.button_satisfied", lang), RateCase(case_id, "yes")),
            Button(catalog.text("cases.button_unsatisfied", lang), RateCase(case_id, "no")),
        ),
    )


def resident_notice(catalog: Catalog, change: Change) -> View | None:
    """What the reporter is told of a change, in the language they reported in; None for a
    change residents are not told of."""
    case, lang = change.case, change.case.language
    deadline = formats.day(case.deadline, lang=lang) if case.deadline else "—"
    if change.kind == "received":
        return sent_view(catalog, lang, case)
    if change.kind == "assigned":
        text = catalog.text("cases.notice_assigned", lang, number=case.number, deadline=deadline)
        return View(text)
    if change.kind == "answered":
        text = catalog.text(
            "cases.notice_answered", lang, number=case.number, answer=case.answer or ""
        )
        return View(text, _rating_buttons(catalog, lang, case.case_id))
    if change.kind == "closed":
        return View(catalog.text("cases.notice_closed", lang, number=case.number))
    if change.kind == "duplicate":
        other = change.other.number if change.other is not None else "—"
        return View(catalog.text("cases.notice_duplicate", lang, number=case.number, other=other))
    if change.kind == "spam":
        return View(catalog.text("cases.notice_spam", lang, number=case.number))
    return None


def rated_view(catalog: Catalog, lang: str, change: Change) -> View:
    """After the rating tap: thanks, and an optional word (or "skip")."""
    case = change.case
    key = "cases.rated_yes" if change.kind == "rated" else "cases.rated_no"
    skip = Button(catalog.text("cases.button_skip", lang), RateCase(case.case_id, "skip"))
    return View(catalog.text(key, lang, number=case.number), ((skip,),))


def word_view(catalog: Catalog, lang: str, kept: bool) -> View:
    """After the word (or "skip")."""
    return View(catalog.text("cases.word_thanks" if kept else "cases.word_skipped", lang))


def staff_new_case_view(
    catalog: Catalog, lang: str, case: Case, topic: Topic | None, tz: tzinfo
) -> View:
    """A new case for the staff who handle its topic (its photos and location follow it)."""
    none = catalog.text("cases.none", lang)
    text = catalog.text(
        "cases.staff_new",
        lang,
        number=case.number,
        topic=topic_label(catalog, lang, topic),
        received=formats.stamp(case.created_at, tz, lang),
        deadline=formats.day(case.deadline, lang=lang) if case.deadline else "—",
        description=_short(case.description, _DESCRIPTION_SHOWN),
        photos=formats.number(len(case.photos), lang) if case.photos else none,
        location=catalog.text("cases.shared", lang) if case.location else none,
        phone=case.phone or none,
        channel=case.channel.capitalize(),
    )
    return View(text)


def topics_view(
    catalog: Catalog,
    lang: str,
    topics: Sequence[Topic],
    handlers: Mapping[int, Sequence[str]],
    days: Mapping[int, int],
) -> View:
    """/casetopics: each topic with its number, whether residents are offered it, its working
    days, and who handles it (or every staff member); then how to change them."""
    lines = [catalog.text("cases.topics_title", lang)]
    for topic in topics:
        who = handlers.get(topic.topic_id)
        lines.append(
            catalog.text(
                "cases.topics_line" if topic.active else "cases.topics_line_off",
                lang,
                number=topic.topic_id,
                topic=topic_label(catalog, lang, topic),
                days=days.get(topic.topic_id, 0),
                who=", ".join(who) if who else catalog.text("cases.topics_everyone", lang),
            )
        )
    lines.append(catalog.text("cases.topics_usage", lang))
    return View("\n".join(lines))
