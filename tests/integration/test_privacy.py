"""Personal texts are stored sealed under their subjects' keys; forgetting a person
destroys their key, so that every text by or about them reads as erased, everywhere,
while the rest of the record - and its hash chains - stay as they were."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from peerlog import CommandRejected, PeerLog
from peerlog.domain.erasure import ERASED, ERASED_MARKER, ErasedText
from peerlog.domain.events import (
    GoalAssessed,
    PairDissolved,
    PersonForgotten,
    StepRecorded,
)
from peerlog.persistence import keys
from peerlog.persistence.sealing import ENVELOPE_PREFIX
from tests.conftest import POSTGRES_URL, Store, own_database
from tests.privacy import (
    ABOUT_S1,
    COURSE_2,
    OTHERS,
    erasing_store,  # noqa: F401 - the store fixture of erasure tests
    found,
    record_personal_texts,
    relation_files,
    stored,
    stored_states,
    texts_by_kind,
    wrapped_key,
)
from tests.support import COURSE, Placement


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    with own_database() as found:
        yield found


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    record_personal_texts(p)
    return p


# --- tests ---------------------------------------------------------------------------------


def test_personal_texts_are_never_stored_in_plaintext(store: Store) -> None:
    # Snapshots every two events: aggregate states hold no free text either.
    app = PeerLog({**store.env, "PEERLOG_SNAPSHOT_INTERVAL": "2"})
    record_personal_texts(Placement(app).seed())
    assert len(store.execute_raw("SELECT originator_id FROM snapshots")) > 5
    texts = {**{f"s1 {k}": v for k, v in ABOUT_S1.items()}, **OTHERS}

    assert found(store, {k: v.encode() for k, v in texts.items()}) == []
    # ... and the record reads them back, sealed in self-describing envelopes.
    states = stored_states(store)
    assert states.count(ENVELOPE_PREFIX.encode() + b"s1,s2;") >= 5
    readable = texts_by_kind(app.history("pair/p1") + app.history(f"course/{COURSE_2}"))
    assert readable["name:s1"] == ABOUT_S1["display_name"]
    assert readable["fb1:strengths"] == ABOUT_S1["strengths"]
    assert readable["rf1"]["description"] == ABOUT_S1["reflection"]
    assert readable["summary"] == ABOUT_S1["summary"]
    assert readable["correction"] == (ABOUT_S1["correction_note"], ABOUT_S1["correction_reason"])
    assert readable["switch_reason"] == ABOUT_S1["switch_reason"]
    app.close()


def test_forgetting_a_student_erases_every_text_by_or_about_them(
    store: Store, placement: Placement
) -> None:
    app = placement.app
    before = stored(store)
    wrapped = wrapped_key(store, "s1")
    key = app.keys._unwrap("s1", wrapped)
    needles = {"s1's wrapped key": wrapped, "s1's key": key}
    # The search finds the key while it exists: it would find it afterwards too.
    assert any("wrapped key" in hit for hit in found(store, needles))

    result = app.forget("s1", actor="coord", command_id="forget-s1")

    # One PersonForgotten in each course s1 is known in, holding no personal text.
    assert [(e.stream, e.topic) for e in result.events] == [
        (f"course/{COURSE}", "PersonForgotten"),
        (f"course/{COURSE_2}", "PersonForgotten"),
    ]
    forgotten = [e for e in app.history(f"course/{COURSE}") if isinstance(e, PersonForgotten)]
    assert [(e.person_id, e.actor) for e in forgotten] == [("s1", "coord")]
    # The key is gone from every place the store keeps bytes.
    assert found(store, needles) == []
    assert found(store, {k: v.encode() for k, v in ABOUT_S1.items()}) == []
    # Nothing stored was rewritten, and the chains still verify.
    after = stored(store)
    assert after[: len(before)] == before
    assert app.verify().verified

    # Replaying the pair (in this process, and in a fresh one) shows s1's texts erased
    # and leaves the texts that are only s2's readable.
    for reader in (app, PeerLog(store.env)):
        texts = texts_by_kind(reader.history("pair/p1") + reader.history(f"course/{COURSE_2}"))
        erased = [
            texts["name:s1"],
            texts["switch_reason"],
            *texts["notes"],
            texts["fb1:strengths"],
            texts["fb1:improvements"],
            *texts["rf1"].values(),
            texts["assessment:s1"],
            *texts["correction"],
            texts["summary"],
        ]
        assert all(isinstance(text, ErasedText) for text in erased), erased
        assert set(erased) == {ERASED_MARKER}
        assert texts["name:s2"] == OTHERS["display_name"]
        assert texts["rf2"] == {"analysis": OTHERS["reflection"]}
        assert texts["assessment:s2"] == OTHERS["assessment"]
        assert texts["fb2:strengths"] == OTHERS["supervisor_feedback"]
        if reader is not app:
            reader.close()
    # The structural record stays: who, what, when, which goal, which level.
    assessed = [e for e in app.history("pair/p1") if isinstance(e, GoalAssessed)]
    assert [(e.student_id, e.goal_id, e.level, e.kind) for e in assessed] == [
        ("s1", "hygiene", "pass", "midpoint"),
        ("s2", "hygiene", "pass", "midpoint"),
    ]


def test_another_process_stops_opening_a_forgotten_persons_texts_within_its_cache_time(
    store: Store, placement: Placement
) -> None:
    other = PeerLog({**store.env, "PEERLOG_KEY_CACHE_SECONDS": "0.3"})
    try:
        step = next(e for e in other.history("pair/p1") if isinstance(e, StepRecorded))
        assert step.note == ABOUT_S1["step_note"]
        placement.app.forget("s1", actor="coord", command_id="forget-s1")
        time.sleep(0.35)
        step = next(e for e in other.history("pair/p1") if isinstance(e, StepRecorded))
        assert step.note is ERASED
    finally:
        other.close()


def test_nothing_new_is_recorded_by_or_about_a_forgotten_student(
    store: Store, placement: Placement
) -> None:
    p = placement
    p.app.forget("s1", actor="coord", command_id="forget-s1")
    p.run("open_session", "s2", pair_id="p1", session_id="d2", roles={"s2": "performer"})

    def rejected(command: dict[str, Any]) -> tuple[str, str]:
        with pytest.raises(CommandRejected) as caught:
            p.app.execute(command)
        return caught.value.field, caught.value.rule

    assert rejected(
        p.step("st9", actor="s1", session_id="d2", performers=["s2"], observers=[])
    ) == (
        "actor",
        "person_forgotten",
    )
    assert rejected(p.step("st9", actor="s2", session_id="d2")) == (
        "performers",
        "person_forgotten",
    )
    assert rejected(p.feedback("fb9", session_id="d2")) == ("receiver", "person_forgotten")
    assert rejected(
        p.reflection("rf9", actor="s2", authors=["s1", "s2"], mode="pair", session_id="d2")
    ) == ("authors", "person_forgotten")
    assert rejected(
        p.cmd(
            "assess_goal",
            "sup1",
            pair_id="p1",
            student_id="s1",
            goal_id="hygiene",
            level="pass",
            kind="final",
        )
    ) == ("student_id", "person_forgotten")
    assert rejected(
        p.cmd("switch_roles", "s2", pair_id="p1", session_id="d2", roles={"s1": "performer"})
    ) == ("roles.s1", "person_forgotten")
    assert rejected(
        p.cmd("retract_entry", "sup1", pair_id="p1", entry_id="st1", reason="Not needed")
    ) == ("entry_id", "person_forgotten")
    assert rejected(
        p.cmd(
            "correct_entry",
            "sup1",
            pair_id="p1",
            entry_id="rf2",
            changes={"authors": ["s1", "s2"], "mode": "pair"},
            reason="Written together",
        )
    ) == ("changes.authors", "person_forgotten")
    assert rejected(
        p.cmd("close_session", "s2", pair_id="p1", session_id="d2", summary="Quiet shift")
    ) == ("summary", "person_forgotten")
    # The id of someone forgotten is not brought into any course again.
    assert rejected(p.cmd("enroll_student", "coord", course_id=COURSE, student_id="s1")) == (
        "student_id",
        "person_forgotten",
    )
    p.run(
        "open_course",
        "coord",
        course_id="vfu-3",
        title="Term 5",
        starts_on="2027-01-10",
        ends_on="2027-03-10",
        scale=["pass"],
        pass_level="pass",
        goals=[],
    )
    assert rejected(p.cmd("enroll_student", "coord", course_id="vfu-3", student_id="s1")) == (
        "student_id",
        "person_forgotten",
    )

    # What does not concern s1's data goes on: s2 works on, the session closes without a
    # summary, and the pair can be dissolved, so that s2 can be paired again. The
    # reason is about every member, so it is recorded as erased.
    p.app.execute(p.step("st10", actor="s2", session_id="d2", performers=["s2"], observers=[]))
    p.run("close_session", "s2", pair_id="p1", session_id="d2")
    p.run("dissolve_pair", "coord", pair_id="p1", reason="s1 has left the programme")
    dissolved = [e for e in p.app.history("pair/p1") if isinstance(e, PairDissolved)]
    assert dissolved[0].reason is ERASED
    assert b"s1 has left" not in stored_states(store)
    p.run(
        "form_pair",
        "coord",
        course_id=COURSE,
        pair_id="p9",
        students=["s2", "s5"],
        supervisors=["sup1"],
    )
    assert p.app.verify().verified


def test_forgetting_again_repeats_or_is_rejected_and_finishes_the_erasure(
    store: Store, placement: Placement
) -> None:
    app = placement.app
    first = app.forget("s1", actor="coord", command_id="forget-s1")
    again = app.forget("s1", actor="coord", command_id="forget-s1")
    assert again.repeated
    assert again.events == first.events
    with pytest.raises(CommandRejected) as caught:
        app.forget("s1", actor="coord", command_id="forget-s1-twice")
    assert (caught.value.field, caught.value.rule) == ("person_id", "already_forgotten")
    with pytest.raises(CommandRejected) as caught:
        app.forget("nobody", actor="coord", command_id="forget-nobody")
    assert (caught.value.field, caught.value.rule) == ("person_id", "unknown_person")
    rows = store.execute_raw("SELECT wrapped FROM person_keys WHERE person_id = %s", ("s1",))
    assert rows == [(None,)]


def test_forgetting_needs_a_coordinator_of_every_course_the_person_is_in(
    store: Store, placement: Placement
) -> None:
    p = placement
    p.run("assign_coordinator", "coord", course_id=COURSE_2, coordinator_id="coord2")
    with pytest.raises(CommandRejected) as caught:
        p.app.forget("s1", actor="coord2", command_id="forget-1")
    assert (caught.value.field, caught.value.rule) == ("actor", "unknown_actor")
    with pytest.raises(CommandRejected) as caught:
        p.app.forget("coord", actor="coord", command_id="forget-2")
    assert (caught.value.field, caught.value.rule) == ("person_id", "not_self")
    # Nothing was recorded, no key destroyed.
    assert wrapped_key(store, "s1")
    assert p.app.history("pair/p1")[-1].summary == ABOUT_S1["summary"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ("record_step", "note"),
        ("give_feedback", "strengths"),
        ("record_reflection", "stages.feelings"),
        ("enroll_student", "display_name"),
        ("close_session", "summary"),
    ],
)
def test_a_text_that_looks_erased_cannot_be_recorded(
    app: PeerLog, command: str, field: str
) -> None:
    p = Placement(app).seed()
    commands = {
        "record_step": p.step(note=ERASED_MARKER),
        "give_feedback": p.feedback(strengths=ERASED_MARKER),
        "record_reflection": p.reflection(stages={"feelings": ERASED_MARKER}),
        "enroll_student": p.cmd(
            "enroll_student", "coord", course_id=COURSE, student_id="s8", display_name="[erased]"
        ),
        "close_session": p.cmd(
            "close_session", "s1", pair_id="p1", session_id="d1", summary=ERASED_MARKER
        ),
    }
    with pytest.raises(CommandRejected) as caught:
        app.execute(commands[command])
    assert (caught.value.field, caught.value.rule) == (field, "erased_marker")
    # Text that only contains the marker is the writer's own text.
    app.execute(p.step("st2", note=f"{ERASED_MARKER} was shown for the old entry"))
    assert app.history("pair/p1")[-1].note == "[erased] was shown for the old entry"  # type: ignore[attr-defined]
    assert not isinstance(app.history("pair/p1")[-1].note, ErasedText)  # type: ignore[attr-defined]


def test_an_erasure_held_up_by_an_old_transaction_is_finished_by_forgetting_again(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "ERASURE_WAIT_SECONDS", 0.3)
    store = postgres_store
    app = store.open()
    try:
        p = Placement(app).seed()
        app.execute(p.step("st1", note=ABOUT_S1["step_note"]))
        wrapped = wrapped_key(store, "s1")
        with store.connect() as reader:
            # A transaction from before the erasure could still see the old row: VACUUM
            # FULL would keep it for that transaction, so forget does not pretend.
            reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            reader.execute(
                sql.SQL("SELECT count(*) FROM {}.person_keys").format(sql.Identifier(store.schema))
            )
            with pytest.raises(keys.ErasureIncomplete, match="forget the person again"):
                app.forget("s1", actor="coord", command_id="forget-s1")
            if relation_files(store) is not None:
                assert found(store, {"s1's wrapped key": wrapped}) == [
                    "s1's wrapped key in the relation files on disk"
                ]
            reader.execute("COMMIT")
        # The erasure is recorded and the key is out of the table already ...
        assert app.history(f"course/{COURSE}")[-1].person_id == "s1"  # type: ignore[attr-defined]
        assert store.execute_raw(
            "SELECT wrapped FROM person_keys WHERE person_id = %s", ("s1",)
        ) == [(None,)]
        step = next(e for e in app.history("pair/p1") if isinstance(e, StepRecorded))
        assert step.note is ERASED
        # ... and sending the command again removes the old row from the files (other
        # tests' transactions may make it wait a little).
        monkeypatch.undo()
        assert app.forget("s1", actor="coord", command_id="forget-s1").repeated
        assert found(store, {"s1's wrapped key": wrapped}) == []
        assert app.verify().verified
    finally:
        app.close()


def test_an_erasure_waits_for_a_transaction_in_another_database_that_began_before_it(
    postgres_store: Store,
) -> None:
    """A transaction anywhere on the server that began before the key was deleted makes
    every new snapshot - in this database too, VACUUM's own included - reach back to
    it, and VACUUM FULL then keeps the old row. Under load that happened: forget
    reported success while the wrapped key was still in the relation files."""
    store = postgres_store
    app = store.open()
    p = Placement(app).seed()
    record_personal_texts(p)
    wrapped = wrapped_key(store, "s1")
    failures: list[BaseException] = []

    def forget() -> None:
        try:
            app.forget("s1", actor="coord", command_id="forget-s1")
        except BaseException as exc:
            failures.append(exc)

    elsewhere = make_conninfo(POSTGRES_URL, dbname="postgres")
    try:
        with psycopg.connect(elsewhere) as other:
            other.execute("SELECT pg_current_xact_id()")  # a write transaction, in progress
            thread = threading.Thread(target=forget)
            thread.start()
            deadline = time.monotonic() + 30
            while store.execute_raw(
                "SELECT wrapped FROM person_keys WHERE person_id = %s", ("s1",)
            ) != [(None,)]:
                assert time.monotonic() < deadline, "the key was not replaced"
                time.sleep(0.01)
            # The key is out of the table, but its old row is still needed by a snapshot
            # that can be taken from now on: forget cannot finish while the other runs.
            thread.join(1.0)
            assert thread.is_alive()
            other.rollback()
        thread.join(60)
        assert not thread.is_alive()
        assert failures == []
        assert found(store, {"s1's wrapped key": wrapped}) == []
    finally:
        app.close()


def test_two_processes_creating_a_persons_key_at_once_share_one_key(store: Store) -> None:
    apps = [store.open() for _ in range(4)]
    barrier = threading.Barrier(len(apps))
    ciphers: list[Any] = []

    def create(app: PeerLog) -> None:
        barrier.wait()
        ciphers.append(app.keys.sealing_cipher("newcomer", ("newcomer",)))

    threads = [threading.Thread(target=create, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(store.execute_raw("SELECT person_id FROM person_keys")) == 1
        nonce = bytes(12)
        sealed = ciphers[0].encrypt(nonce, b"text", b"")
        assert all(c.decrypt(nonce, sealed, b"") == b"text" for c in ciphers)
    finally:
        for app in apps:
            app.close()


def test_a_store_opened_with_another_master_key_says_so(store: Store, placement: Placement) -> None:
    from peerlog.persistence.masterkey import MasterKeyError

    other = PeerLog({**store.env, "PEERLOG_MASTER_KEY": "A" * 43 + "="})
    try:
        with pytest.raises(MasterKeyError, match="not the one they were made with") as caught:
            other.history("pair/p1")
        assert "AAAA" not in str(caught.value)
    finally:
        other.close()


def test_the_messages_the_docs_show_are_the_ones_peerlog_gives(app: PeerLog) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    shown = (docs / "access.md").read_text() + (docs / "privacy.md").read_text()
    p = Placement(app).seed()
    p.app.execute(p.step("st1", note="Hand hygiene before and after the dressing change"))
    attempts: list[Any] = [
        p.cmd(
            "assess_goal",
            "coord",
            pair_id="p1",
            student_id="s1",
            goal_id="hygiene",
            level="pass",
            kind="midpoint",
        ),
        p.feedback("fb1", actor="s1"),
        p.cmd("enroll_student", "sup1", course_id=COURSE, student_id="s7"),
        p.step("st2", actor="ghost"),
        p.step("st2", actor="s2", note="Patient 19121212-1212 was moved"),
        lambda: p.app.forget("s2", actor="sup1", command_id="forget-s2"),
        lambda: p.app.forget("s1", actor="coord", command_id="forget-s1"),
        p.step("st2", actor="s2"),
    ]
    messages = []
    for attempt in attempts:
        try:
            attempt() if callable(attempt) else p.app.execute(attempt)
        except CommandRejected as rejected:
            messages.append(str(rejected))
    assert len(messages) == 7
    assert [m for m in messages if m not in shown] == []
    for name in (
        "PEERLOG_MASTER_KEY",
        "PEERLOG_MASTER_KEY_FILE",
        "PEERLOG_KEY_CACHE_SECONDS",
        ENVELOPE_PREFIX,
    ):
        assert name in shown
