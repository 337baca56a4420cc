"""The /gopy dialog, apart from any front end: a topic, the description, up to three photos, an
optional location, an optional phone number (only one the messenger vouches for: Telegram's
"share contact"), a preview, then "Gửi". Its draft is held by `bot.services.dialogs.Dialogs`
(in the database), so a restart in the middle loses nothing; "cancel" ends it at any step.

Each step returns a `Prompt`: the step the dialog now stands at, the draft, and a `note` (a
catalogue key saying what went wrong or what was just taken, or None). The front end shows it
(`bot.views.cases.report_view`). After the commune answers, the resident's optional word about
their rating is awaited the same way (`await_word`, `take_word`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from bot.callbacks import ReportStepName
from bot.services.cases import (
    MAX_DESCRIPTION_CHARS,
    MAX_PHOTOS,
    MIN_DESCRIPTION_CHARS,
    Case,
    Cases,
    NewCase,
    Refusal,
    Reporter,
    clean,
)
from bot.services.dialogs import Dialogs

__all__ = ["REPORT", "REPORT_WORD", "Draft", "Prompt", "Reporting"]

REPORT = "gopy"  # the dialog's kind in the `dialogs` table
REPORT_WORD = "gopy_word"  # the word a resident may add to their rating
_STEPS: tuple[ReportStepName, ...] = get_args(ReportStepName)


@dataclass
class Draft:
    """A report a resident is writing."""

    step: ReportStepName = "topic"
    topic_id: int = 0
    description: str = ""
    photos: list[str] = field(default_factory=list)
    location: tuple[float, float] | None = None
    phone: str | None = None
    language: str = "vi"

    def state(self) -> dict[str, Any]:
        """The draft as the dialog table keeps it."""
        return {
            "step": self.step,
            "topic": self.topic_id,
            "description": self.description,
            "photos": list(self.photos),
            "location": list(self.location) if self.location else None,
            "phone": self.phone,
            "language": self.language,
        }

    @classmethod
    def of(cls, state: dict[str, Any]) -> Draft:
        """A draft back from its state."""
        step = state.get("step")
        location = state.get("location")
        return cls(
            step=step if step in _STEPS else "topic",
            topic_id=int(state.get("topic") or 0),
            description=str(state.get("description", "")),
            photos=[str(p) for p in state.get("photos", [])][:MAX_PHOTOS],
            location=(float(location[0]), float(location[1])) if location else None,
            phone=None if state.get("phone") is None else str(state["phone"]),
            language=str(state.get("language", "vi")),
        )


@dataclass(frozen=True, slots=True)
class Prompt:
    """What to show after a step: where the dialog stands, the draft, and a note (a catalogue
    key under `cases.`, or None)."""

    draft: Draft
    note: str | None = None


_NEXT: dict[ReportStepName, ReportStepName] = {
    "topic": "description",
    "description": "photos",
    "photos": "location",
    "location": "phone",
    "phone": "preview",
    "preview": "preview",
}
# The steps a resident may pass over.
_SKIPPABLE = frozenset({"photos", "location", "phone"})


class Reporting:
    """The /gopy drafts, one per (chat, person), kept by the dialogs.

    Each step reads the draft, changes it and hands its state back without awaiting anything in
    between, so two messages of the same person handled at once never take the same step; the
    write to the database follows.
    """

    def __init__(self, dialogs: Dialogs, cases: Cases) -> None:
        self._dialogs = dialogs
        self._cases = cases

    def is_reporting(self, chat_id: int, person_id: int) -> bool:
        """Whether this person is writing a report in this chat (for the message filter)."""
        return self._dialogs.get(REPORT, chat_id, person_id) is not None

    def draft(self, chat_id: int, person_id: int) -> Draft | None:
        """The draft, or None (never begun, sent, cancelled, or abandoned too long ago)."""
        state = self._dialogs.get(REPORT, chat_id, person_id)
        return None if state is None else Draft.of(state)

    async def begin(self, reporter: Reporter, language: str) -> Prompt | Refusal:
        """A new report (an earlier draft in this chat is dropped), unless a limit is reached."""
        refusal = await self._cases.limit_reached(reporter.channel, reporter.person_id)
        if refusal is not None:
            return refusal
        draft = Draft(language=language)
        self._dialogs.begin(REPORT, reporter.chat_id, reporter.person_id, draft.state())
        await self._dialogs.save(REPORT, reporter.chat_id, reporter.person_id)
        return Prompt(draft)

    async def choose_topic(self, chat_id: int, person_id: int, topic_id: int) -> Prompt | None:
        """The topic tapped; None if no draft stands at the topic or the topic is not offered."""
        draft = self.draft(chat_id, person_id)
        if draft is None or draft.step != "topic":
            return None
        topic = await self._cases.topic(topic_id)
        if topic is None or not topic.active:
            return None
        draft.topic_id, draft.step = topic_id, "description"
        return await self._keep(chat_id, person_id, draft)

    async def take_text(self, chat_id: int, person_id: int, text: str) -> Prompt | None:
        """Text typed: the description at its step; elsewhere a reminder of what is asked (a
        number typed at the phone step is never kept)."""
        draft = self.draft(chat_id, person_id)
        if draft is None:
            return None
        if draft.step != "description":
            note = "phone_use_button" if draft.step == "phone" else "use_buttons"
            return Prompt(draft, note)
        description = clean(text)
        if len(description) < MIN_DESCRIPTION_CHARS:
            return Prompt(draft, "description_short")
        if len(description) > MAX_DESCRIPTION_CHARS:
            return Prompt(draft, "description_long")
        draft.description = description
        # Photos sent with the description already: the third one was the last.
        draft.step = "photos" if len(draft.photos) < MAX_PHOTOS else "location"
        return await self._keep(chat_id, person_id, draft, "photo_added" if draft.photos else None)

    async def take_photo(self, chat_id: int, person_id: int, ref: str) -> Prompt | None:
        """A photo (the messenger's reference to it) at the photos' step — the third moves on —
        or sent early, with or instead of the description: kept, and the description asked."""
        draft = self.draft(chat_id, person_id)
        if draft is None:
            return None
        if draft.step not in ("description", "photos"):
            return Prompt(draft, "photo_not_now")
        if len(draft.photos) >= MAX_PHOTOS or ref in draft.photos:
            return Prompt(draft, "photos_full")
        draft.photos.append(ref)
        if draft.step == "description":
            return await self._keep(chat_id, person_id, draft, "photo_early")
        if len(draft.photos) >= MAX_PHOTOS:
            draft.step = "location"
        return await self._keep(chat_id, person_id, draft, "photo_added")

    async def take_location(
        self, chat_id: int, person_id: int, latitude: float, longitude: float
    ) -> Prompt | None:
        """A location, at the location's step (or shared with the photos: it moves on)."""
        draft = self.draft(chat_id, person_id)
        if draft is None:
            return None
        if draft.step not in ("photos", "location"):
            return Prompt(draft, "use_buttons")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return Prompt(draft, "use_buttons")
        draft.location, draft.step = (latitude, longitude), "phone"
        return await self._keep(chat_id, person_id, draft)

    async def take_phone(self, chat_id: int, person_id: int, phone: str) -> Prompt | None:
        """The person's own number, as the messenger shared it, at the phone's step."""
        draft = self.draft(chat_id, person_id)
        if draft is None:
            return None
        if draft.step != "phone":
            return Prompt(draft, "use_buttons")
        digits = "".join(ch for ch in phone if ch.isascii() and (ch.isdigit() or ch == "+"))
        if not 6 <= len(digits) <= 20:
            return Prompt(draft, "phone_use_button")
        draft.phone, draft.step = digits, "preview"
        return await self._keep(chat_id, person_id, draft)

    async def skip(self, chat_id: int, person_id: int, step: ReportStepName) -> Prompt | None:
        """Pass over (or finish) the photos, the location or the phone; None if the dialog does
        not stand at `step` (a button of an earlier step)."""
        draft = self.draft(chat_id, person_id)
        if draft is None or draft.step != step or step not in _SKIPPABLE:
            return None
        draft.step = _NEXT[step]
        return await self._keep(chat_id, person_id, draft)

    async def send(self, reporter: Reporter) -> Case | Refusal | None:
        """ "Gửi": store the case. The draft is taken first, so a double tap makes one case;
        None if there was no draft at the preview."""
        chat_id, person_id = reporter.chat_id, reporter.person_id
        draft = self.draft(chat_id, person_id)
        if draft is None or draft.step != "preview":
            return None
        self._dialogs.take(REPORT, chat_id, person_id)
        await self._dialogs.forget(REPORT, chat_id, person_id)
        return await self._cases.submit(
            NewCase(
                reporter=reporter,
                language=draft.language,
                topic_id=draft.topic_id,
                description=draft.description,
                photos=tuple(draft.photos),
                location=draft.location,
                phone=draft.phone,
            )
        )

    async def cancel(self, chat_id: int, person_id: int) -> bool:
        """Drop the draft; False if there was none."""
        had = self._dialogs.take(REPORT, chat_id, person_id) is not None
        await self._dialogs.forget(REPORT, chat_id, person_id)
        return had

    async def _keep(
        self, chat_id: int, person_id: int, draft: Draft, note: str | None = None
    ) -> Prompt | None:
        state = self._dialogs.get(REPORT, chat_id, person_id)
        if state is None:
            return None  # sent or cancelled while this step ran
        state.clear()
        state.update(draft.state())
        await self._dialogs.save(REPORT, chat_id, person_id)
        return Prompt(draft, note)

    # -- the word after a rating --------------------------------------------------------------

    async def await_word(self, chat_id: int, person_id: int, case_id: int) -> None:
        """The resident's next text in this chat is their word about case `case_id`."""
        self._dialogs.begin(REPORT_WORD, chat_id, person_id, {"case": case_id})
        await self._dialogs.save(REPORT_WORD, chat_id, person_id)

    def is_wording(self, chat_id: int, person_id: int) -> bool:
        """Whether a word about a rating is awaited from this person here."""
        return self._dialogs.get(REPORT_WORD, chat_id, person_id) is not None

    async def take_word(self, reporter: Reporter, word: str) -> Case | None:
        """The word, kept with the rating; None if none was awaited (or the case is gone)."""
        chat_id, person_id = reporter.chat_id, reporter.person_id
        state = self._dialogs.take(REPORT_WORD, chat_id, person_id)
        await self._dialogs.forget(REPORT_WORD, chat_id, person_id)
        if state is None:
            return None
        return await self._cases.rate_word(int(state.get("case", 0)), reporter, word)

    async def drop_word(self, chat_id: int, person_id: int, case_id: int) -> bool:
        """ "Skip": no word about this case; False if none was awaited for it."""
        state = self._dialogs.get(REPORT_WORD, chat_id, person_id)
        if state is None or state.get("case") != case_id:
            return False
        self._dialogs.take(REPORT_WORD, chat_id, person_id)
        await self._dialogs.forget(REPORT_WORD, chat_id, person_id)
        return True
