"""What the /subscribe dialog shows, as channel-neutral views: what (all news or chosen
categories), how (at once, daily, weekly), the hour or day, the settings, and stopping. The
dialog's state travels in the buttons (`SubscribeStep`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.callbacks import MAX_MASK_ID, StopSubscription, SubscribeStep, SubscribeStepName
from bot.i18n import Catalog
from bot.views import Button, View
from storage.articles import Category
from storage.subscriptions import DEFAULT_HOUR, Mode, Subscription

__all__ = [
    "OFFERED_HOURS",
    "WEEKLY_HOUR",
    "categories_view",
    "clock",
    "day_view",
    "describe",
    "described",
    "hour_view",
    "how_view",
    "none_view",
    "nothing_to_stop_view",
    "settings_view",
    "step_view",
    "stop_view",
    "what_view",
]

# Hours a daily digest can come at: early morning, the usual 07:00, noon, evening, night.
OFFERED_HOURS = (6, 7, 12, 18, 20)
WEEKLY_HOUR = DEFAULT_HOUR  # a weekly digest comes in the morning of its day


# -- what the dialog shows --------------------------------------------------------------------


def _step(label: str, step: SubscribeStep | StopSubscription) -> Button:
    return Button(label, step)


def _rows(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def _keys(rows: Sequence[Sequence[Button]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows)


def clock(hour: int) -> str:
    """An hour as residents read it: 07:00."""
    return f"{hour:02d}:00"


def describe(
    catalog: Catalog,
    lang: str,
    mode: Mode,
    hour: int,
    weekday: int,
    every: bool,
    chosen: Iterable[int],
    names: dict[int, str],
) -> dict[str, str]:
    """What a subscription brings and when, in words: the `what` and `when` of a text."""
    if every:
        what = catalog.text("subscribe.what_all", lang)
    else:
        listed = sorted(names.get(category, f"#{category}") for category in chosen)
        what = catalog.text("subscribe.what_some", lang, names=", ".join(listed))
    if mode == "instant":
        when = catalog.text("subscribe.when_instant", lang)
    elif mode == "daily":
        when = catalog.text("subscribe.when_daily", lang, time=clock(hour))
    else:
        day = catalog.items("subscribe.weekdays", lang)[weekday]
        when = catalog.text("subscribe.when_weekly", lang, day=day, time=clock(hour))
    return {"what": what, "when": when}


def described(
    catalog: Catalog, lang: str, subscription: Subscription, names: dict[int, str]
) -> dict[str, str]:
    return describe(
        catalog,
        lang,
        subscription.mode,
        subscription.hour,
        subscription.weekday,
        subscription.all_categories,
        subscription.category_ids,
        names,
    )


def _cancel(catalog: Catalog, lang: str) -> Button:
    return _step(catalog.text("subscribe.cancel_button", lang), SubscribeStep("cancel"))


def what_view(
    catalog: Catalog, lang: str, offered: Sequence[Category], current: Subscription | None
) -> View:
    """Step 1: all news, or chosen categories (those of the current subscription ticked)."""
    rows = [[_step(catalog.text("subscribe.all_button", lang), SubscribeStep("how", every=True))]]
    if offered:
        kept = () if current is None else current.category_ids
        cats = SubscribeStep.mask(c for c in kept if c <= MAX_MASK_ID)
        pick = SubscribeStep("pick", cats=cats)
        rows.append([_step(catalog.text("subscribe.pick_button", lang), pick)])
    rows.append([_cancel(catalog, lang)])
    return View(catalog.text("subscribe.ask_what", lang), _keys(rows))


def categories_view(
    catalog: Catalog, lang: str, offered: Sequence[Category], chosen: frozenset[int]
) -> View:
    """The categories as toggles, ✅ on the chosen ones, then "Done"."""
    cats = SubscribeStep.mask(chosen)
    rows = [
        [
            _step(
                f"✅ {category.name}" if category.category_id in chosen else category.name,
                SubscribeStep("toggle", cats=cats, value=category.category_id),
            )
        ]
        for category in offered
    ]
    done = _step(catalog.text("subscribe.done_button", lang), SubscribeStep("how", cats=cats))
    rows.append([done, _cancel(catalog, lang)])
    text = catalog.text("subscribe.ask_categories", lang, count=len(chosen))
    return View(text, _keys(rows))


def how_view(
    catalog: Catalog, lang: str, every: bool, chosen: frozenset[int], names: dict[int, str]
) -> View:
    """Step 2: at once, daily or weekly."""
    cats = SubscribeStep.mask(chosen)
    modes: tuple[SubscribeStepName, ...] = ("instant", "daily", "weekly")
    rows = [
        [_step(catalog.text(f"subscribe.{mode}_button", lang), SubscribeStep(mode, every, cats))]
        for mode in modes
    ]
    rows.append([_cancel(catalog, lang)])
    what = describe(catalog, lang, "instant", 0, 0, every, chosen, names)["what"]
    return View(catalog.text("subscribe.ask_how", lang, what=what), _keys(rows))


def hour_view(catalog: Catalog, lang: str, tap: SubscribeStep, marked: int) -> View:
    """The hours a daily digest can come at; `marked` (current or default) has a ✅."""
    hours = [
        _step(
            f"✅ {clock(hour)}" if hour == marked else clock(hour),
            SubscribeStep("hour", tap.every, tap.cats, hour),
        )
        for hour in OFFERED_HOURS
    ]
    rows = [*_rows(hours, 3), [_cancel(catalog, lang)]]
    return View(catalog.text("subscribe.ask_hour", lang), _keys(rows))


def day_view(catalog: Catalog, lang: str, tap: SubscribeStep, marked: int | None) -> View:
    """The days of the week; `marked` (the current one, if weekly) has a ✅."""
    names = catalog.items("subscribe.weekdays", lang)
    days = [
        _step(
            f"✅ {name}" if day == marked else name,
            SubscribeStep("day", tap.every, tap.cats, day),
        )
        for day, name in enumerate(names)
    ]
    rows = [*_rows(days, 2), [_cancel(catalog, lang)]]
    text = catalog.text("subscribe.ask_day", lang, time=clock(WEEKLY_HOUR))
    return View(text, _keys(rows))


def step_view(
    catalog: Catalog,
    lang: str,
    tap: SubscribeStep,
    offered: Sequence[Category],
    names: dict[int, str],
    current: Subscription | None,
) -> View:
    """The view of a /subscribe step that shows a choice ("what", "pick", "toggle", "how",
    "daily", "weekly"), whatever the front end: `current` is the chat's subscription, whose
    hour or weekday is marked."""
    chosen = tap.chosen
    if tap.step == "what":
        return what_view(catalog, lang, offered, current)
    if tap.step == "pick":
        return categories_view(catalog, lang, offered, chosen)
    if tap.step == "toggle":
        return categories_view(catalog, lang, offered, chosen ^ {tap.value})
    if tap.step == "how":
        return how_view(catalog, lang, tap.every, chosen, names)
    if tap.step == "daily":
        daily = current is not None and current.mode == "daily"
        return hour_view(catalog, lang, tap, current.hour if daily and current else DEFAULT_HOUR)
    weekly = current is not None and current.mode == "weekly"
    return day_view(catalog, lang, tap, current.weekday if weekly and current else None)


def settings_view(
    catalog: Catalog, lang: str, subscription: Subscription, names: dict[int, str], group: bool
) -> View:
    """The current subscription in words, with "Change" and "Stop"."""
    key = "subscribe.settings_group" if group else "subscribe.settings"
    text = catalog.text(key, lang, **described(catalog, lang, subscription, names))
    markup = _keys(
        [
            [
                _step(catalog.text("subscribe.change_button", lang), SubscribeStep("what")),
                _step(catalog.text("subscribe.stop_button", lang), StopSubscription("ask")),
            ]
        ]
    )
    return View(text, markup)


def none_view(catalog: Catalog, lang: str, group: bool) -> View:
    """No subscription yet: a button to start one."""
    button = _step(catalog.text("subscribe.subscribe_button", lang), SubscribeStep("what"))
    key = "subscribe.none_group" if group else "subscribe.none"
    return View(catalog.text(key, lang), _keys([[button]]))


def stop_view(catalog: Catalog, lang: str, group: bool) -> View:
    """Are you sure? One tap stops."""
    key = "subscribe.stop_ask_group" if group else "subscribe.stop_ask"
    markup = _keys(
        [
            [_step(catalog.text("subscribe.stop_button", lang), StopSubscription("yes"))],
            [_step(catalog.text("subscribe.keep_button", lang), StopSubscription("no"))],
        ]
    )
    return View(catalog.text(key, lang), markup)


def nothing_to_stop_view(catalog: Catalog, lang: str, group: bool) -> View:
    key = "subscribe.nothing_to_stop_group" if group else "subscribe.nothing_to_stop"
    return View(catalog.text(key, lang))
