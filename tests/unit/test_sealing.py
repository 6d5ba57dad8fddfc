"""Sealed personal texts: the envelope, what it is bound to, how long keys are cached,
and that neither texts nor keys show in reprs and messages."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from peerlog.commands import parse_command
from peerlog.domain.erasure import ERASED, ErasedText, is_erased
from peerlog.domain.events import (
    EntryCorrected,
    FeedbackGiven,
    ReflectionChanges,
    StudentEnrolled,
)
from peerlog.persistence.keys import SQLiteKeyStore
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.sealing import (
    ENVELOPE_PREFIX,
    KeyRing,
    SealedTextError,
    TextSealer,
    key_cache_seconds,
)
from peerlog.persistence.sqlite import SQLiteDatastore

WHEN = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
MASTER = bytes(range(32))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def datastore(tmp_path: Path) -> Iterator[SQLiteDatastore]:
    datastore = SQLiteDatastore(str(tmp_path / "keys.sqlite3"))
    yield datastore
    datastore.close()


def _ring(datastore: SQLiteDatastore, clock: Clock | None = None) -> KeyRing:
    store = SQLiteKeyStore(datastore)
    store.create_table()
    return KeyRing(store, lambda: MASTER, cache_seconds=5.0, clock=clock or Clock())


def _feedback(version: int = 4) -> FeedbackGiven:
    return FeedbackGiven(
        originator_id="pair/p1",
        originator_version=version,
        command_id="c-4",
        actor="s2",
        occurred_at=WHEN,
        pair_id="p1",
        feedback_id="fb1",
        giver="s2",
        receiver="s1",
        source="peer",
        goals=("hygiene",),
        strengths="Calm with the patient",
        improvements="Explain each step first",
    )


def _sealed(sealer: TextSealer, version: int = 4) -> FeedbackGiven:
    sealed = sealer.seal(_feedback(version))
    assert isinstance(sealed, FeedbackGiven)
    return sealed


def test_a_sealed_text_is_an_envelope_naming_its_subjects(datastore: SQLiteDatastore) -> None:
    sealer = TextSealer(_ring(datastore))
    sealed = sealer.seal(_feedback())
    assert isinstance(sealed, FeedbackGiven)
    prefix, subjects, nonce, ciphertext = sealed.strengths.split(";")
    assert f"{prefix};" == ENVELOPE_PREFIX
    assert subjects == "s1,s2"
    assert len(base64.b64decode(nonce)) == 12
    assert len(base64.b64decode(ciphertext)) == len("Calm with the patient") + 16
    assert "Calm" not in sealed.strengths
    # The same text sealed again looks different (a fresh nonce each time).
    assert _sealed(sealer).strengths != sealed.strengths
    assert sealer.open(sealed) == _feedback()


def test_nested_texts_of_a_correction_are_sealed_too(datastore: SQLiteDatastore) -> None:
    sealer = TextSealer(_ring(datastore))
    correction = EntryCorrected(
        originator_id="pair/p1",
        originator_version=9,
        command_id="c-9",
        actor="s1",
        occurred_at=WHEN,
        pair_id="p1",
        entry_id="rf1",
        changes=ReflectionChanges(stages={"feelings": "Relieved afterwards"}),
        reason="Forgot a stage",
        subjects=("s1",),
    )
    sealed = sealer.seal(correction)
    assert isinstance(sealed, EntryCorrected)
    assert isinstance(sealed.changes, ReflectionChanges)
    assert sealed.changes.stages is not None
    assert sealed.changes.stages["feelings"].startswith(f"{ENVELOPE_PREFIX}s1;")
    assert sealed.reason.startswith(f"{ENVELOPE_PREFIX}s1;")
    assert sealer.open(sealed) == correction


def test_a_sealed_text_does_not_open_in_another_event(datastore: SQLiteDatastore) -> None:
    sealer = TextSealer(_ring(datastore))
    sealed = _sealed(sealer, version=4)
    moved = msgspec.structs.replace(_feedback(version=5), strengths=sealed.strengths)
    with pytest.raises(SealedTextError, match=r"pair/p1@5 does not open") as caught:
        sealer.open(moved)
    assert "Calm" not in str(caught.value)


def test_an_altered_envelope_is_reported_not_shown(datastore: SQLiteDatastore) -> None:
    sealer = TextSealer(_ring(datastore))
    sealed = _sealed(sealer)
    broken = msgspec.structs.replace(sealed, strengths=sealed.strengths[:-6] + "AAAA==")
    with pytest.raises(SealedTextError, match="the stored event was changed"):
        sealer.open(broken)
    garbled = msgspec.structs.replace(sealed, strengths=f"{ENVELOPE_PREFIX}s1")
    with pytest.raises(SealedTextError, match="not a valid envelope"):
        sealer.open(garbled)


def test_other_processes_open_a_forgotten_persons_texts_only_while_their_keys_are_cached(
    datastore: SQLiteDatastore,
) -> None:
    clock = Clock()
    writer, reader = TextSealer(_ring(datastore)), TextSealer(_ring(datastore, clock))
    sealed = writer.seal(_feedback())
    assert reader.open(sealed).strengths == "Calm with the patient"  # type: ignore[attr-defined]

    writer.keys.destroy("s1", WHEN)

    # The process that forgot has dropped its keys at once; the other one may go on
    # using its cached keys, but not for longer than its cache time.
    assert writer.open(sealed).strengths is ERASED  # type: ignore[attr-defined]
    clock.now += 4.9
    assert reader.open(sealed).strengths == "Calm with the patient"  # type: ignore[attr-defined]
    clock.now += 0.2
    opened = reader.open(sealed)
    assert isinstance(opened, FeedbackGiven)
    assert opened.strengths is ERASED
    assert opened.improvements is ERASED
    assert opened.goals == ("hygiene",)


def test_no_key_is_made_again_for_someone_forgotten(datastore: SQLiteDatastore) -> None:
    keys = _ring(datastore)
    sealer = TextSealer(keys)
    keys.destroy("s1", WHEN)
    sealed = sealer.seal(_feedback())
    assert isinstance(sealed, FeedbackGiven)
    assert sealed.strengths == f"{ENVELOPE_PREFIX}s1,s2;;"
    assert keys.store.select(["s1"]) == {"s1": None}
    assert keys.forgotten(["s1", "s2"]) == {"s1"}


def test_opening_many_events_reads_their_keys_in_one_query(datastore: SQLiteDatastore) -> None:
    writer = TextSealer(_ring(datastore))
    events = [writer.seal(_feedback(version)) for version in range(1, 50)]
    reader = TextSealer(_ring(datastore))
    statements: list[str] = []
    datastore.connection().set_trace_callback(statements.append)
    opened = reader.open_many(events)
    datastore.connection().set_trace_callback(None)
    assert [e.strengths for e in opened] == ["Calm with the patient"] * 49  # type: ignore[attr-defined]
    assert len([s for s in statements if "FROM person_keys" in s]) == 1


def _enrolled(student: str, name: str | None) -> StudentEnrolled:
    return StudentEnrolled(
        originator_id="course/c1",
        originator_version=2,
        command_id=f"c-{student}",
        actor="coord",
        occurred_at=WHEN,
        course_id="c1",
        student_id=student,
        display_name=name,
    )


def test_sealing_many_events_makes_the_keys_they_need_in_one_insert(
    datastore: SQLiteDatastore,
) -> None:
    keys = _ring(datastore)
    keys.destroy("n9", WHEN)
    inserts: list[list[str]] = []
    insert = keys.store.insert

    def counted(wrapped: Any, *, record_keys: bytes | None) -> None:
        inserts.append(sorted(wrapped))
        insert(wrapped, record_keys=record_keys)

    keys.store.insert = counted  # type: ignore[method-assign]
    events = [
        *(_enrolled(f"n{n}", f"Student {n}") for n in range(5)),
        _enrolled("n8", None),  # no text: no key
        _enrolled("n9", "Forgotten"),  # forgotten: no key made again
        _feedback(),
    ]
    stored = EventMapper(protector=TextSealer(keys)).to_stored_events(events)
    assert inserts == [["n0", "n1", "n2", "n3", "n4", "s1", "s2"]]
    assert keys.store.select(["n8", "n9"]) == {"n9": None}
    mapper = EventMapper(protector=TextSealer(_ring(datastore)))
    opened = [mapper.to_domain_event(s) for s in stored]
    assert [getattr(e, "display_name", None) for e in opened[:7]] == [
        *(f"Student {n}" for n in range(5)),
        None,
        ERASED,
    ]
    assert opened[7] == _feedback()


def test_personal_texts_and_keys_stay_out_of_reprs(datastore: SQLiteDatastore) -> None:
    keys = _ring(datastore)
    sealer = TextSealer(keys)
    keys.sealing_cipher("s1,s2", ("s1", "s2"))
    event_repr = repr(_feedback())
    assert "Calm" not in event_repr
    assert "strengths=<personal text>" in event_repr
    assert "giver='s2'" in event_repr
    command = parse_command(
        {
            "command": "record_step",
            "command_id": "c1",
            "actor": "s1",
            "pair_id": "p1",
            "session_id": "d1",
            "step_id": "st1",
            "kind": "performance",
            "performers": ["s1"],
            "observers": [],
            "goals": [],
            "note": "Bed four, the dressing",
        }
    )
    assert "Bed four" not in repr(command)
    assert "note='<personal text>'" in repr(command)
    for thing in (keys, sealer):
        assert "\\x" not in repr(thing)
        assert MASTER.hex() not in repr(thing)


def test_an_erased_text_is_a_str_that_knows_it_is_erased() -> None:
    assert ERASED == "[erased]"
    assert repr(ERASED) == "ErasedText('[erased]')"
    assert isinstance(ERASED, str)
    assert isinstance(ERASED, ErasedText)
    assert is_erased(ERASED)
    assert not is_erased("[erased]")
    # Events holding it can still be encoded.
    event = msgspec.structs.replace(_feedback(), strengths=ERASED)
    stored = EventMapper().to_stored_event(event)
    assert b'"strengths":"[erased]"' in stored.state


def test_the_key_cache_time_is_configurable_within_bounds() -> None:
    assert key_cache_seconds({}) == 5.0
    assert key_cache_seconds({"PEERLOG_KEY_CACHE_SECONDS": "0.5"}) == 0.5
    for bad in ("-1", "soon", "7200"):
        with pytest.raises(ValueError, match="PEERLOG_KEY_CACHE_SECONDS"):
            key_cache_seconds({"PEERLOG_KEY_CACHE_SECONDS": bad})
