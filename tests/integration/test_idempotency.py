"""A re-sent command_id with the same payload is a no-op returning the first result -
also after a restart and from another process; with another payload it is rejected."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from peerlog import CommandRejected, PeerLog
from tests.conftest import Store
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed()


def test_the_same_command_twice_returns_the_first_result_and_writes_nothing(
    placement: Placement,
) -> None:
    command = placement.step("st1")
    first = placement.app.execute(command)
    before = placement.app.store.max_notification_id()

    again = placement.app.execute(dict(command))

    assert again.repeated
    assert not first.repeated
    assert again.events == first.events
    assert again.recorded_at == first.recorded_at
    assert placement.app.store.max_notification_id() == before


def test_a_resent_command_is_recognised_even_when_it_would_now_break_a_rule(
    placement: Placement,
) -> None:
    """Opening session d2 twice: the second time d2 exists, but it is the same command."""
    placement.run("close_session", "s1", pair_id="p1", session_id="d1")
    command = placement.cmd(
        "open_session", "s2", pair_id="p1", session_id="d2", roles={"s2": "performer"}
    )
    first = placement.app.execute(command)
    assert placement.app.execute(command).events == first.events


def test_the_same_id_with_another_payload_is_rejected(placement: Placement) -> None:
    command = placement.step("st1")
    placement.app.execute(command)
    before = placement.app.store.max_notification_id()

    with pytest.raises(CommandRejected) as rejected:
        placement.app.execute({**command, "note": "A different note"})

    assert rejected.value.rule == "command_id_reused"
    assert rejected.value.field == "command_id"
    assert placement.app.store.max_notification_id() == before


def test_the_same_id_for_another_kind_of_command_is_rejected(placement: Placement) -> None:
    command = placement.step("st1")
    placement.app.execute(command)
    feedback = {**placement.feedback(), "command_id": command["command_id"]}
    with pytest.raises(CommandRejected) as rejected:
        placement.app.execute(feedback)
    assert rejected.value.rule == "command_id_reused"
    assert "record_step" in str(rejected.value)


def test_the_payload_is_compared_as_given_not_as_written(placement: Placement) -> None:
    """Leaving occurred_at out both times, or giving one instant with another offset, is the
    same payload; giving it once and leaving it out once is not."""
    command = placement.step("st1", occurred_at="2026-03-02T09:30:00+01:00")
    first = placement.app.execute(command)
    same_instant = {**command, "occurred_at": "2026-03-02T08:30:00Z"}
    assert placement.app.execute(same_instant).events == first.events
    with pytest.raises(CommandRejected):
        placement.app.execute({k: v for k, v in command.items() if k != "occurred_at"})


def test_a_restarted_application_recognises_a_resent_command(store: Store) -> None:
    placement = Placement(store.open()).seed()
    command = placement.step("st1")
    first = placement.app.execute(command)
    placement.app.close()

    restarted = store.open()
    try:
        again = restarted.execute(command)
    finally:
        restarted.close()
    assert again.repeated
    assert again.events == first.events


def test_another_process_recognises_a_resent_command(store: Store) -> None:
    placement = Placement(store.open()).seed()
    command = placement.step("st1")
    first = placement.app.execute(command)
    placement.app.close()

    script = textwrap.dedent(
        """
        import json, sys
        from peerlog import PeerLog
        env, command = json.loads(sys.argv[1]), sys.argv[2]
        app = PeerLog(env)
        print(json.dumps(app.execute(command).as_dict()))
        app.close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(store.env), json.dumps(command)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert result["status"] == "repeated"
    assert [e["position"] for e in result["events"]] == [e.position for e in first.events]
