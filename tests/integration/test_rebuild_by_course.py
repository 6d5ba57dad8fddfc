"""Every read-model row depends on the events of one course only: folding each course's
events alone and uniting the rows gives the tables of the whole fold. A rebuild bounded
by memory (course by course) relies on this."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from benchmarks.data import prefixed
from peerlog.cli.demo import placement
from peerlog.domain.events import DomainEvent, PairFormed
from peerlog.projections import PROJECTIONS, StoreEvents
from peerlog.projections.tables import Rows
from tests.conftest import Store
from tests.support import Placement


def _course_of(event: DomainEvent, courses: dict[str, str]) -> str:
    course: str | None = getattr(event, "course_id", None)
    return course if course is not None else courses[getattr(event, "pair_id")]  # noqa: B009


def test_each_course_folded_alone_gives_the_rows_of_the_whole_fold(store: Store) -> None:
    app = store.open()
    try:
        # One course with corrections and a retraction, three more from the demo.
        seeded = Placement(app).seed()
        for n in range(8):
            app.execute(seeded.step(f"st{n}", actor="s1" if n % 3 else "s2"))
        app.execute(seeded.feedback("fb1"))
        seeded.run(
            "correct_entry",
            "sup1",
            pair_id="p1",
            entry_id="st2",
            changes={"goals": []},
            reason="Fix",
        )
        seeded.run("retract_entry", "sup1", pair_id="p1", entry_id="st4", reason="Duplicate")
        for command in prefixed(placement(pairs=6, weeks=2, pairs_per_course=2), "demo-"):
            app.execute(command)
        source = StoreEvents(app)
        head = source.head()
        topics = frozenset().union(*(p.topics() for p in PROJECTIONS))
        events: list[tuple[int, datetime, DomainEvent]] = [
            (position, recorded_at, source.decode(topic, stored))
            for position, topic, stored, recorded_at in source.iter_raw(0, stop=head, topics=topics)
        ]
        pairs = {e.pair_id: e.course_id for _, _, e in events if isinstance(e, PairFormed)}
        courses = sorted({_course_of(e, pairs) for _, _, e in events})
        assert len(courses) == 4
        for projection in PROJECTIONS:
            whole = projection(Rows(projection.tables, track=False))
            for position, recorded_at, event in events:
                whole.apply(position, recorded_at, event)
            united: dict[str, dict[tuple[Any, ...], list[Any]]] = {
                t.name: {} for t in projection.tables
            }
            for course in courses:
                alone = projection(Rows(projection.tables, track=False))
                for position, recorded_at, event in events:
                    if _course_of(event, pairs) == course:
                        alone.apply(position, recorded_at, event)
                for table in projection.tables:
                    rows = alone.rows.data[table.name]
                    assert not united[table.name].keys() & rows.keys(), (course, table.name)
                    united[table.name].update(rows)
            for table in projection.tables:
                assert united[table.name] == whole.rows.data[table.name], table.name
            assert any(whole.rows.data[t.name] for t in projection.tables)
    finally:
        app.close()
