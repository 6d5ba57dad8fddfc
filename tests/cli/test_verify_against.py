"""Tampering with the record behind peerlog's back, as someone with write access to
the database would, against a checkpoint signed before it: every attack is detected
by ``peerlog verify --against`` and named; growth (and forgetting a person) is not.

The attacks recompute the hash chains with the real chain formula where they would
otherwise break them, so that ``peerlog verify`` on its own has nothing to say."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from peerlog import PeerLog
from peerlog.integrity import tamper
from peerlog.integrity.checkpoints import Checkpoint, open_note
from peerlog.integrity.service import Integrity
from peerlog.persistence import chain
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.support import Placement


@dataclass
class Published:
    """A record with a checkpoint published, and more recorded after it."""

    app: PeerLog
    integrity: Integrity
    note: str
    checkpoint: Checkpoint
    file: Path
    key: str

    def verdict(self) -> tamper.Verdict:
        earlier = [
            Checkpoint.parse_body(c.note.split("\n\n")[0] + "\n")
            for c in self.integrity.store.checkpoints()
        ]
        self.integrity.catch_up_if_possible()
        return tamper.check(self.integrity.source, self.integrity.tree, self.checkpoint, earlier)


def _position(store: Store, stream: str, version: int) -> int:
    (row,) = store.execute_raw(
        "SELECT position FROM events WHERE originator_id = %s AND originator_version = %s",
        (stream, version),
    )
    value = row[0]
    assert isinstance(value, int)
    return value


def recompute_chains(store: Store, app: PeerLog) -> None:
    """What an attacker who knows the chain formula does after changing events: every
    link again, stream by stream, in position order."""
    previous: dict[str, bytes] = {}
    for record in app.store.select_records():
        stream = str(record.originator_id)
        link = chain.link_of(record, previous.get(stream, chain.GENESIS))
        if link != record.chain:
            store.execute_raw("UPDATE events SET chain = %s WHERE position = %s", (link, record.id))
        previous[stream] = link


@pytest.fixture
def published(store: Store, tmp_path: Path) -> Published:
    placement = Placement(store.open()).seed()
    app = placement.app
    for n in range(1, 4):
        app.execute(placement.step(f"st{n}"))
    app.execute(placement.feedback("fb1"))
    placement.run(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="good",
        kind="final",
    )
    app.execute(placement.reflection("rf1"))
    placement.run("enroll_student", "coord", course_id="vfu-1", student_id="s7")
    integrity = Integrity(app)
    stored, new = integrity.make_checkpoint()
    assert new
    # The record grows after the checkpoint was published.
    app.execute(placement.step("st4"))
    app.execute(placement.step("st5"))
    file = tmp_path / "checkpoint.txt"
    file.write_text(stored.note)
    key = str(integrity.verifier())
    opened = open_note(stored.note, integrity.verifier())
    assert app.verify().verified
    return Published(app, integrity, stored.note, opened.checkpoint, file, key)


def against(peerlog: Cli, published: Published) -> tuple[int, list[str]]:
    result = peerlog("verify", "--against", str(published.file), "--key", published.key)
    return result.exit_code, result.stdout.splitlines()


def test_an_untouched_record_extends_its_checkpoint(peerlog: Cli, published: Published) -> None:
    code, lines = against(peerlog, published)
    size = published.checkpoint.size
    assert code == 0
    assert lines[0] == (
        "verified: the record extends the checkpoint of tests.peerlog.example/record at "
        f"{size} events: those events are all there, unchanged; 2 added since"
    )
    assert lines[1].startswith("verified: ")


def test_truncating_the_tail_is_detected(peerlog: Cli, published: Published, store: Store) -> None:
    size = published.checkpoint.size
    store.execute_raw("DELETE FROM events WHERE position > %s", (size - 3,))
    assert published.app.verify().verified  # the chains alone cannot see it
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[0].startswith("NOT VERIFIED: the record does not extend the checkpoint")
    assert lines[1] == (
        f"positions {size - 2} to {size}: missing: the event the checkpoint covers here was deleted"
    )
    verdict = published.verdict()
    assert not verdict.extends
    assert verdict.head == size - 3


def test_deleting_every_event_is_detected(peerlog: Cli, published: Published, store: Store) -> None:
    size = published.checkpoint.size
    store.execute_raw("DELETE FROM events")
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[1] == (
        f"positions 1 to {size}: missing: the event the checkpoint covers here was deleted"
    )


def test_deleting_one_event_is_detected(peerlog: Cli, published: Published, store: Store) -> None:
    position = _position(store, "pair/p1", 3)
    store.execute_raw("DELETE FROM events WHERE position = %s", (position,))
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[1] == (
        f"position {position}: missing: the event the checkpoint covers here was deleted"
    )
    assert len([line for line in lines if line.startswith("position")]) == 1


def test_inserting_an_event_is_detected(peerlog: Cli, published: Published, store: Store) -> None:
    """An event slipped in among the published ones, the positions after it moved on
    and every chain link recomputed."""
    app, size = published.app, published.checkpoint.size
    position = _position(store, "pair/p1", 4)
    store.execute_raw("UPDATE events SET position = -position WHERE position >= %s", (position,))
    store.execute_raw("UPDATE events SET position = 1 - position WHERE position < 0")
    store.execute_raw(
        "INSERT INTO events (position, originator_id, originator_version, topic, state, "
        "recorded_at, chain) SELECT %s, 'pair/p9', 1, topic, state, recorded_at, chain "
        "FROM events WHERE position = %s",
        (position, position + 1),
    )
    recompute_chains(store, app)
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[1].startswith(f"position {position}: changed: pair/p9@1 as stored now")
    assert lines[2] == (
        f"positions {position + 1} to {size}: moved one position on: an event was inserted "
        "before it (or deleted after)"
    )


def test_reordering_two_events_is_detected(
    peerlog: Cli, published: Published, store: Store
) -> None:
    app = published.app
    first, second = _position(store, "pair/p1", 3), _position(store, "course/vfu-1", 12)
    assert first < second <= published.checkpoint.size
    store.execute_raw("UPDATE events SET position = -1 WHERE position = %s", (first,))
    store.execute_raw("UPDATE events SET position = %s WHERE position = %s", (first, second))
    store.execute_raw("UPDATE events SET position = %s WHERE position = -1", (second,))
    recompute_chains(store, app)
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[1] == (
        f"position {first}: reordered: it holds course/vfu-1@12, which the checkpoint has "
        f"at {second}"
    )
    assert lines[2] == (
        f"position {second}: reordered: it holds pair/p1@3, which the checkpoint has at {first}"
    )


def _rewrite_assessment(store: Store, app: PeerLog) -> int:
    """The supervisor's final assessment rewritten from good to not_yet, and every later
    chain link recomputed: the hash chains verify."""
    (row,) = store.execute_raw(
        "SELECT position, state FROM events WHERE topic = %s", ("GoalAssessed",)
    )
    position, state = row
    assert isinstance(position, int)
    assert isinstance(state, bytes | memoryview)
    forged = bytes(state).replace(b'"level":"good"', b'"level":"not_yet"')
    assert forged != bytes(state)
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, position))
    recompute_chains(store, app)
    assert app.verify().verified
    return position


def test_rewriting_an_assessment_with_its_chain_recomputed_is_detected(
    peerlog: Cli, published: Published, store: Store
) -> None:
    position = _rewrite_assessment(store, published.app)
    version = published.app.store.select_records(start=position, stop=position)[0]
    code, lines = against(peerlog, published)
    assert code == 1
    assert lines[1].startswith(
        f"position {position}: changed: pair/p1@{version.originator_version} as stored now "
        "does not hash to the event the checkpoint covers here"
    )
    assert len(lines) == 4  # that one event, and the chains' own (green) two lines


def test_a_rewrite_with_the_tree_rebuilt_too_is_bracketed_by_earlier_checkpoints(
    peerlog: Cli, published: Published, store: Store
) -> None:
    """An attacker who also rebuilds the Merkle tree from the rewritten record: the
    published checkpoint still refuses it, and the record's own earlier checkpoints
    (signed, so not forgeable) say between which positions the change lies."""
    app, integrity = published.app, published.integrity
    first = published.checkpoint.size
    store.execute_raw("DELETE FROM checkpoints")  # the published one is kept elsewhere
    placement = Placement(app, ids=iter(range(1000, 2000)))  # type: ignore[arg-type]
    app.execute(placement.step("st6"))
    later, _ = integrity.make_checkpoint()
    later_file = published.file.with_name("later.txt")
    later_file.write_text(later.note)
    position = _rewrite_assessment(store, app)
    assert position <= first
    store.execute_raw("DELETE FROM merkle_tiles")
    store.execute_raw("UPDATE merkle_tree SET size = 0")
    integrity.catch_up()
    result = peerlog("verify", "--against", str(later_file), "--key", published.key)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("NOT VERIFIED: the record does not extend the checkpoint")
    assert lines[1] == (
        f"the change lies between positions 1 and {later.size:,} (the stored tree was "
        "changed too, so the checkpoints this record kept bracket it)"
    )
    # With the first checkpoint kept too, the bracket narrows to before it.
    integrity.store.add_checkpoint(
        type(later)(first, published.checkpoint.root, published.note, later.made_at)
    )
    out = peerlog("verify", "--against", str(later_file), "--key", published.key).stdout
    assert f"the change lies between positions 1 and {first:,}" in out


def test_a_checkpoint_not_signed_by_the_key_is_refused(peerlog: Cli, published: Published) -> None:
    forged = published.note.replace(published.note.split("\n")[2], "A" * 43 + "=")
    published.file.write_text(forged)
    result = peerlog("verify", "--against", str(published.file), "--key", published.key)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the checkpoint is not signed by {'+'.join(published.key.split('+')[:2])}\n"
    )


def test_growth_and_forgetting_a_person_are_not_tampering(
    peerlog: Cli, published: Published
) -> None:
    app = published.app
    app.forget("s1", actor="coord", command_id="forget-s1")
    code, lines = against(peerlog, published)
    assert code == 0, lines
    assert lines[0].endswith("unchanged; 3 added since")
    assert published.verdict().extends
