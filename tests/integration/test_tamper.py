"""Tampering with stored events directly in the database is detected by ``verify``,
which names the first bad event."""

from __future__ import annotations

import pytest

from peerlog import PeerLog
from tests.conftest import Store
from tests.support import Placement


@pytest.fixture
def recorded(store: Store) -> PeerLog:
    """Pair p1 with seven events (versions 1-7), then more events in other streams."""
    placement = Placement(store.open()).seed()
    app = placement.app
    for n in range(1, 4):
        app.execute(placement.step(f"st{n}"))
    app.execute(placement.feedback("fb1"))
    app.execute(placement.reflection("rf1"))
    placement.run("enroll_student", "coord", course_id="vfu-1", student_id="s7")
    assert [r.originator_version for r in app.records("pair/p1")] == list(range(1, 8))
    assert app.verify().verified
    return app


def _position(store: Store, stream: str, version: int) -> int:
    rows = store.execute_raw(
        "SELECT position FROM events WHERE originator_id = %s AND originator_version = %s",
        (stream, version),
    )
    value = rows[0][0]
    assert isinstance(value, int)
    return value


def test_an_untouched_record_verifies(recorded: PeerLog) -> None:
    report = recorded.verify()
    assert report.verified
    assert report.first_problem is None
    assert report.events == recorded.store.max_notification_id()
    assert len(report.digest) == 64


def test_changed_bytes_are_detected(store: Store, recorded: PeerLog) -> None:
    position = _position(store, "pair/p1", 4)
    state = store.execute_raw("SELECT state FROM events WHERE position = %s", (position,))[0][0]
    assert isinstance(state, bytes | memoryview)
    forged = bytes(state).replace(b"performance", b"preparation")
    assert forged != bytes(state)
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, position))

    for report in (recorded.verify(), recorded.verify("p1")):
        problem = report.first_problem
        assert problem is not None
        assert (problem.stream, problem.version, problem.position) == ("pair/p1", 4, position)
        assert "does not match its hash" in problem.describe()


def test_a_changed_recording_time_is_detected(store: Store, recorded: PeerLog) -> None:
    position = _position(store, "pair/p1", 5)
    store.execute_raw(
        "UPDATE events SET recorded_at = %s WHERE position = %s",
        ("2026-01-01T00:00:00.000000+00:00", position),
    )
    problem = recorded.verify("p1").first_problem
    assert problem is not None
    assert problem.version == 5


def test_a_deleted_event_is_detected(store: Store, recorded: PeerLog) -> None:
    position = _position(store, "pair/p1", 3)
    store.execute_raw("DELETE FROM events WHERE position = %s", (position,))

    problem = recorded.verify("p1").first_problem
    assert problem is not None
    assert (problem.stream, problem.version) == ("pair/p1", 3)
    assert "missing" in problem.describe()
    whole = recorded.verify()
    assert not whole.verified
    assert whole.first_problem is not None
    assert whole.first_problem.position == position


def test_a_deleted_last_event_of_a_stream_is_detected(store: Store, recorded: PeerLog) -> None:
    """The stream's chain cannot show a missing tail; the record's positions can."""
    position = _position(store, "pair/p1", 7)
    store.execute_raw("DELETE FROM events WHERE position = %s", (position,))

    assert recorded.verify("p1").verified  # the pair alone looks whole...
    report = recorded.verify()  # ...the record does not
    assert report.first_problem is not None
    assert report.first_problem.position == position
    assert "deleted" in report.first_problem.describe()


def test_reordered_events_are_detected(store: Store, recorded: PeerLog) -> None:
    third, fourth = _position(store, "pair/p1", 3), _position(store, "pair/p1", 4)
    store.execute_raw("UPDATE events SET originator_version = -3 WHERE position = %s", (third,))
    store.execute_raw("UPDATE events SET originator_version = 3 WHERE position = %s", (fourth,))
    store.execute_raw("UPDATE events SET originator_version = 4 WHERE position = %s", (third,))

    problem = recorded.verify("p1").first_problem
    assert problem is not None
    assert (problem.stream, problem.version) == ("pair/p1", 3)


def test_an_inserted_event_is_detected(store: Store, recorded: PeerLog) -> None:
    """A copy of a step, slipped in as the pair's next version."""
    top = recorded.store.max_notification_id()
    assert top is not None
    source = _position(store, "pair/p1", 4)
    store.execute_raw(
        "INSERT INTO events (position, originator_id, originator_version, topic, state, "
        "recorded_at, chain) SELECT %s, originator_id, 8, topic, state, recorded_at, chain "
        "FROM events WHERE position = %s",
        (top + 1, source),
    )

    problem = recorded.verify("p1").first_problem
    assert problem is not None
    assert (problem.stream, problem.version, problem.position) == ("pair/p1", 8, top + 1)
    report = recorded.verify()
    assert any("not recorded by any command" in p.describe() for p in report.problems)
