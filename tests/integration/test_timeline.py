"""A pair's timeline of an entry changed more than once, on both stores: each correction
is told from what the one before it left, the retraction after them, and the entries
never changed are told as recorded, with no changes linked to them."""

from __future__ import annotations

from datetime import timedelta

from peerlog.projections import StoreEvents
from peerlog.projections.timeline import timeline
from tests.conftest import Store
from tests.support import T0, Placement


def test_each_change_of_an_entry_is_told_from_what_the_last_left(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    try:
        at = T0 + timedelta(hours=1)
        placement.app.execute(placement.step("st1", occurred_at=at.isoformat()))
        placement.app.execute(placement.step("st2", occurred_at=at.isoformat()))
        placement.app.execute(placement.feedback("fb1", occurred_at=at.isoformat()))
        changes = [
            ("st1", {"performers": ["s2"], "observers": ["s1"]}),
            ("fb1", {"giver": "s1", "receiver": "s2"}),
            ("st1", {"kind": "preparation", "performers": ["s1"], "observers": ["s2"]}),
            ("st1", {"goals": ["hygiene", "medication"]}),
        ]
        for hours, (entry_id, changed) in enumerate(changes, 2):
            placement.run(
                "correct_entry",
                "sup1",
                pair_id="p1",
                entry_id=entry_id,
                changes=changed,
                reason="recorded wrongly",
                occurred_at=(T0 + timedelta(hours=hours)).isoformat(),
            )
        placement.run(
            "retract_entry",
            "sup1",
            pair_id="p1",
            entry_id="st1",
            reason="recorded twice",
            occurred_at=(T0 + timedelta(hours=9)).isoformat(),
        )

        told = timeline(StoreEvents(app), "p1")
        summaries = [i.summary.split(" (", 1)[0] for i in told.items if i.changes is not None]
        assert summaries == [
            "corrected step st1: performers s1 -> s2; observers s2 -> s1",
            "corrected feedback fb1: giver s2 -> s1; receiver s1 -> s2",
            (
                "corrected step st1: kind performance -> preparation; performers s2 -> s1; "
                "observers s1 -> s2"
            ),
            "corrected step st1: goals hygiene -> hygiene, medication",
            "retracted step st1: it no longer counts",
        ]
        entries = {i.entry_id: i for i in told.items if i.changes is None and i.entry_id}
        assert [link.kind for link in entries["st1"].changed_by] == [
            "corrected",
            "corrected",
            "corrected",
            "retracted",
        ]
        assert [link.kind for link in entries["fb1"].changed_by] == ["corrected"]
        assert entries["st2"].changed_by == []
        assert entries["st2"].summary == (
            "step st2 (performance): performed by s1, observed by s2; goal hygiene"
        )
    finally:
        app.close()
