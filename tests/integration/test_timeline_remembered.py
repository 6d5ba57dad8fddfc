"""A warm timeline (the same process asked again, as the web server is) tells only what
was recorded since onto the telling it remembers, and gives what a cold one (a process
that remembers nothing) gives, in each window, language and with or without the pair's
state, whole and as the dashboard's pages and filters show it: after new events (one
of them late), a correction and a retraction of an old entry, an erasure, and an event
changed behind peerlog's back. What was handed out before is never changed after."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from peerlog import PeerLog
from peerlog.i18n import language, speaking
from peerlog.persistence.records import RecordedEvent
from peerlog.projections import AsOf
from peerlog.projections.remembered import TELLINGS_KEPT
from peerlog.projections.source import StoreEvents
from peerlog.projections.timeline import Item, Timeline, timeline
from peerlog.web import views
from tests.conftest import Store
from tests.support import Placement, swap_step_roles

timeline_module = importlib.import_module("peerlog.projections.timeline")

FILTERS: tuple[dict[str, str], ...] = (
    {},
    {"student": "s2"},
    {"kind": "correction"},
    {"kind": "step"},
    {"goal": "medication"},
    {"session": "d1"},
)
"""The dashboard's filters."""


@dataclass(frozen=True)
class Variant:
    as_of: AsOf
    language: str
    with_state: bool


@dataclass
class Warm:
    """A long-lived process's source, and the timelines it told of p1 (remembered)."""

    source: StoreEvents
    variants: tuple[Variant, ...]
    first: dict[Variant, tuple[Timeline, list[dict[str, Any]]]]
    """Each variant's timeline as first told, and its items as data then."""


def _data(items: list[Item]) -> list[dict[str, Any]]:
    return [item.as_dict() for item in items]


def _told(source: StoreEvents, variant: Variant) -> dict[str, Any]:
    """The timeline whole, each filter's choice, and the dashboard's newest page of each."""
    with speaking(variant.language):
        told = timeline(source, "p1", variant.as_of, with_state=variant.with_state)
        chosen: dict[str, tuple[Any, ...]] = {}
        for chosen_by in FILTERS:
            if variant.with_state:
                head, items = views.pair_timeline(source, "p1", variant.as_of, **chosen_by)
                del head["as_of"]  # "now", as of each request
                page, paging = views.timeline_page(items, 1)
                chosen[str(chosen_by)] = (_data(items), _data(page), paging, head["events"])
            else:
                chosen[str(chosen_by)] = (_data(told.select(**chosen_by)),)
        return {
            "course": told.course_id,
            "total": told.total,
            "items": _data(told.items),
            "chosen": chosen,
        }


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    placed = Placement(app).seed()
    placed.app.execute(placed.step("st1"))
    placed.app.execute(placed.feedback("fb1", goals=["medication"]))
    placed.app.execute(placed.step("st2", goals=["medication"]))
    return placed


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many events were told (by the teller), by language."""
    counted: Counter[str] = Counter()
    tell = timeline_module._Teller.tell

    def counting(self: Any, record: RecordedEvent, event: Any) -> Item:
        counted[language()] += 1
        made: Item = tell(self, record, event)
        return made

    monkeypatch.setattr(timeline_module._Teller, "tell", counting)
    return counted


@pytest.fixture
def warm(placement: Placement, told: Counter[str]) -> Iterator[Warm]:
    """Each variant told once (so remembered): now, and as of when the placement was set
    up (what the test records since does not count); English and Swedish; with the
    pair's state (the web's) and without (the command line's)."""
    source = StoreEvents(placement.app)
    then = AsOf(placement.app.records("pair/p1")[-1].recorded_at)
    variants = tuple(
        Variant(as_of, language, with_state)
        for as_of in (AsOf(), then)
        for language in ("en", "sv")
        for with_state in (True, False)
    )
    assert len(variants) == TELLINGS_KEPT
    first = {}
    for variant in variants:
        with speaking(variant.language):
            made = timeline(source, "p1", variant.as_of, with_state=variant.with_state)
        first[variant] = (made, _data(made.items))
        _told(source, variant)
    assert source.folds.tellings is not None
    assert len(source.folds.tellings) == len(variants)
    told.clear()
    yield Warm(source, variants, first)
    # What was handed out before is as it was, whatever was told since.
    for made, data in first.values():
        assert _data(made.items) == data


def _warm_is_cold(warm: Warm, settings: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each variant told warm (all of them first), then by a process of its own; the
    warm ones."""
    ours = [_told(warm.source, variant) for variant in warm.variants]
    cold_app = PeerLog(settings)
    try:
        cold = StoreEvents(cold_app)
        for variant, warm_told in zip(warm.variants, ours, strict=True):
            assert warm_told == _told(cold, variant), variant
    finally:
        cold_app.close()
    return ours


def _entry(told: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return next(i for i in told["items"] if i["entry_id"] == entry_id and not i["changes"])


def test_a_warm_timeline_tells_only_the_new_events(
    placement: Placement, warm: Warm, told: Counter[str]
) -> None:
    p = placement
    last = p.app.records("pair/p1")[-1].recorded_at
    # Typed in three days after it happened: late, after events recorded as they happened.
    p.app.execute(p.step("st3", occurred_at=(last - timedelta(days=3)).isoformat()))
    p.app.execute(p.reflection("rf1"))
    told.clear()
    warm_told = [_told(warm.source, variant) for variant in warm.variants]
    # Two events told onto each telling of "now"; as of then, none (they are after it).
    assert sum(told.values()) == 2 * 4
    tellings = _warm_is_cold(warm, p.app.settings)
    assert tellings == warm_told
    now_en = tellings[0]
    assert [i["entry_id"] for i in now_en["items"][-2:]] == ["st3", "rf1"]
    assert now_en["items"][-2]["late"] is True
    assert tellings[1]["items"][-2]["late"] is True  # without the state, too
    assert [i["entry_id"] for i in tellings[4]["items"]] == [
        i["entry_id"] for i in warm.first[warm.variants[4]][1]
    ]  # as of then: not in it
    assert tellings[2]["items"][-2]["summary"].startswith("moment st3")  # Swedish


def test_a_correction_of_an_old_entry_is_linked_in_a_warm_timeline(
    placement: Placement, warm: Warm
) -> None:
    placement.run(
        "correct_entry",
        "sup1",
        pair_id="p1",
        entry_id="st1",
        changes={"performers": ["s2"], "observers": ["s1"], "goals": ["medication"]},
        reason="The partner performed",
    )
    now_en, *_ = _warm_is_cold(warm, placement.app.settings)
    assert [link["kind"] for link in _entry(now_en, "st1")["changed_by"]] == ["corrected"]
    assert now_en["items"][-1]["changes"]["event"] == _entry(now_en, "st1")["event"]


def test_a_retraction_of_an_old_entry_is_linked_in_a_warm_timeline(
    placement: Placement, warm: Warm
) -> None:
    placement.run("retract_entry", "s2", pair_id="p1", entry_id="fb1", reason="Recorded twice")
    placement.run("retract_entry", "s1", pair_id="p1", entry_id="st1", reason="Recorded twice")
    now_en, *_ = _warm_is_cold(warm, placement.app.settings)
    assert [link["kind"] for link in _entry(now_en, "fb1")["changed_by"]] == ["retracted"]
    assert [link["kind"] for link in _entry(now_en, "st1")["changed_by"]] == ["retracted"]


def test_a_warm_timeline_after_an_erasure_reads_the_texts_as_erased(
    placement: Placement, warm: Warm
) -> None:
    placement.app.forget("s2", actor="coord", command_id="forget-s2")
    tellings = _warm_is_cold(warm, placement.app.settings)
    for told in tellings:
        assert "strengths" in _entry(told, "fb1")["erased"]


def test_a_warm_timeline_of_a_changed_row_is_the_cold_one(
    store: Store, placement: Placement, warm: Warm
) -> None:
    placement.app.execute(placement.step("st3"))
    swap_step_roles(store, "pair/p1", "st1")
    placement.app.forget_cached_state()
    for told in _warm_is_cold(warm, placement.app.settings):
        assert "s2" in _entry(told, "st1")["fields"]["performers"]
