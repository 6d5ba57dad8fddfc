"""The ledger of entries without a store: what each entry event changes, with the
domain's correction rule, and the same entries after a round trip through storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from peerlog.domain.events import (
    EntryChanges,
    EntryCorrected,
    EntryRetracted,
    FeedbackChanges,
    FeedbackGiven,
    ReflectionChanges,
    ReflectionRecorded,
    SessionOpened,
    StepChanges,
    StepRecorded,
)
from peerlog.domain.pair import FeedbackEntry, ReflectionEntry, StepEntry
from peerlog.projections.ledger import Ledger, ledger_table
from peerlog.projections.tables import Rows, iter_rows_sql, row_from_sql

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STREAM = "pair/p1"
TABLE = ledger_table("test_entries")


def _ledger(*, keep_events: bool = False, rows: Rows | None = None) -> Ledger:
    return Ledger(rows or Rows((TABLE,)), TABLE, keep_events=keep_events)


def _base(version: int, minutes: int = 0) -> dict[str, Any]:
    return {
        "originator_id": STREAM,
        "originator_version": version,
        "command_id": f"c{version}",
        "actor": "s1",
        "occurred_at": T0 + timedelta(minutes=minutes),
    }


def _step(version: int = 3) -> StepRecorded:
    return StepRecorded(
        **_base(version),
        pair_id="p1",
        session_id="d1",
        step_id="st1",
        kind="performance",
        performers=("s1",),
        observers=("s2",),
        goals=("hygiene",),
        note="washed hands",
    )


def _correct(version: int, changes: EntryChanges, entry_id: str = "st1") -> EntryCorrected:
    return EntryCorrected(
        **_base(version, 30),
        pair_id="p1",
        entry_id=entry_id,
        changes=changes,
        reason="typo",
    )


def _retract(version: int, entry_id: str = "st1") -> EntryRetracted:
    return EntryRetracted(
        **_base(version, 40),
        pair_id="p1",
        entry_id=entry_id,
        reason="wrong pair",
    )


def test_a_recorded_step_starts_to_count_as_recorded() -> None:
    ledger = _ledger()
    change = ledger.apply(5, _step())
    assert change is not None
    assert change.key == ("p1", "st1")
    assert change.before is None
    assert change.after == StepEntry(
        entry_id="st1",
        actor="s1",
        occurred_at=T0,
        session_id="d1",
        goals=("hygiene",),
        step_kind="performance",
        performers=("s1",),
        observers=("s2",),
    )
    assert ledger.get(("p1", "st1")) == change.after


def test_a_correction_replaces_only_the_fields_it_names() -> None:
    ledger = _ledger()
    recorded = ledger.apply(5, _step())
    assert recorded is not None
    change = ledger.apply(9, _correct(4, StepChanges(performers=("s2",), observers=("s1",))))
    assert change is not None
    assert change.before == recorded.after
    assert isinstance(change.after, StepEntry)
    assert (change.after.performers, change.after.observers) == (("s2",), ("s1",))
    assert change.after.goals == ("hygiene",)
    assert change.after.step_kind == "performance"
    # A second correction starts from what the first left.
    again = ledger.apply(11, _correct(5, StepChanges(goals=("asepsis",), kind="preparation")))
    assert again is not None
    assert again.before == change.after
    assert isinstance(again.after, StepEntry)
    assert again.after.performers == ("s2",)
    assert (again.after.goals, again.after.step_kind) == (("asepsis",), "preparation")


def test_feedback_and_reflections_are_corrected_by_the_same_rule() -> None:
    ledger = _ledger()
    ledger.apply(
        5,
        FeedbackGiven(
            **_base(3),
            pair_id="p1",
            feedback_id="f1",
            giver="s1",
            receiver="s2",
            source="peer",
            goals=(),
            strengths="calm",
            improvements="speed",
        ),
    )
    ledger.apply(
        6,
        ReflectionRecorded(
            **_base(4),
            pair_id="p1",
            reflection_id="r1",
            authors=("s1",),
            mode="individual",
            stages={"description": "x", "feelings": "y"},
            goals=("hygiene",),
        ),
    )
    feedback = ledger.apply(7, _correct(5, FeedbackChanges(source="supervisor"), "f1"))
    assert feedback is not None
    assert isinstance(feedback.after, FeedbackEntry)
    assert (feedback.after.source, feedback.after.giver) == ("supervisor", "s1")
    reflection = ledger.apply(8, _correct(6, ReflectionChanges(stages={"description": "x"}), "r1"))
    assert reflection is not None
    assert isinstance(reflection.before, ReflectionEntry)
    assert isinstance(reflection.after, ReflectionEntry)
    assert (reflection.before.stages, reflection.after.stages) == (
        ("description", "feelings"),
        ("description",),
    )


def test_a_retracted_entry_stops_counting_and_takes_no_more_changes() -> None:
    ledger = _ledger()
    ledger.apply(5, _step())
    change = ledger.apply(7, _retract(4))
    assert change is not None
    assert isinstance(change.before, StepEntry)
    assert change.after is None
    assert list(ledger.counting()) == []
    stored = ledger.get(("p1", "st1"))
    assert stored is not None
    assert stored.retracted
    assert ledger.apply(8, _correct(5, StepChanges(performers=("s2",)))) is None
    assert ledger.apply(9, _retract(6)) is None


def test_changes_to_unknown_entries_and_other_events_change_nothing() -> None:
    ledger = _ledger()
    assert ledger.apply(3, _correct(4, StepChanges(performers=("s2",)), "nope")) is None
    assert ledger.apply(4, _retract(5, "nope")) is None
    opened = SessionOpened(
        **_base(2),
        pair_id="p1",
        session_id="d1",
        roles={"s1": "performer", "s2": "observer"},
    )
    assert ledger.apply(5, opened) is None
    assert list(ledger.counting()) == []


def test_the_events_behind_an_entry_are_kept_when_asked() -> None:
    kept, not_kept = _ledger(keep_events=True), _ledger()
    for ledger in (kept, not_kept):
        ledger.apply(5, _step())
        ledger.apply(9, _correct(4, StepChanges(goals=("asepsis",))))
        ledger.apply(12, _retract(5))
    assert kept.events(("p1", "st1")) == ((5, "pair/p1@3"), (9, "pair/p1@4"), (12, "pair/p1@5"))
    assert not_kept.events(("p1", "st1")) == ()


def test_entries_come_back_from_storage_as_they_were() -> None:
    rows = Rows((TABLE,))
    ledger = _ledger(keep_events=True, rows=rows)
    ledger.apply(5, _step())
    ledger.apply(9, _correct(4, StepChanges(performers=("s2",))))
    ledger.set_note(("p1", "st1"), "d1")
    for dialect in ("sqlite", "postgres"):
        stored = list(iter_rows_sql(TABLE, rows.all(TABLE), dialect))
        loaded = Rows((TABLE,))
        for values in stored:
            row = row_from_sql(TABLE, values)
            loaded.put(TABLE, TABLE.key_of(row), row)
        loaded.clear_changes()
        again = _ledger(keep_events=True, rows=loaded)
        assert again.get(("p1", "st1")) == ledger.get(("p1", "st1"))
        assert again.note(("p1", "st1")) == "d1"
        assert again.events(("p1", "st1")) == ((5, "pair/p1@3"), (9, "pair/p1@4"))
        assert loaded.snapshot() == rows.snapshot()
        # and it goes on from there as the one in memory does
        change = again.apply(12, _retract(5))
        assert change is not None
        assert change.before == ledger.get(("p1", "st1"))
