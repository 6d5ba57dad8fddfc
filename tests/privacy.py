"""Looking for personal data where a store keeps bytes: the record's own checks that
a person's texts and keys are sealed, and gone once they are forgotten.

Shared by the privacy tests of the application and of the command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from peerlog.domain.events import (
    DomainEvent,
    EntryCorrected,
    FeedbackGiven,
    GoalAssessed,
    ReflectionRecorded,
    RolesSwitched,
    SessionClosed,
    StepRecorded,
    StudentEnrolled,
)
from tests.conftest import Store, own_database
from tests.support import COURSE, GOALS, Placement

COURSE_2 = "vfu-2"

# Texts by or about s1 (some also about s2 or sup1): erased when s1 is forgotten.
ABOUT_S1 = {
    "display_name": "Sara Lind-Sjöberg",
    "switch_reason": "Swapped because Sara felt unsure about the catheter",
    "step_note": "Sara dressed the pressure wound on bed four",
    "strengths": "Sara talked the patient through every step",
    "improvements": "Sara could ask for help earlier",
    "reflection": "I was nervous before the dressing on bed four",
    "assessment": "Sara meets the hygiene goal with margin",
    "correction_note": "Sara dressed the pressure wound on bed five",
    "correction_reason": "The bed number was wrong in the first entry",
    "summary": "A calm shift for Sara and Ali together",
}
# Texts that are only s2's (or s2's and sup1's): they stay readable.
OTHERS = {
    "display_name": "Ali Haddad",
    "reflection": "I learned to prepare the trolley before the round",
    "assessment": "Ali prepares medication calmly",
    "supervisor_feedback": "Ali keeps the checklist up to date",
    "supervisor_name": "Karin Berg",
}


def record_personal_texts(p: Placement) -> None:
    """Course vfu-2 (coordinated by coord too) with s1 and s2 under their names, and
    pair p1's entries with texts about s1, about s2, and about both."""
    p.run(
        "open_course",
        "coord",
        course_id=COURSE_2,
        title="Clinical placement, term 4",
        starts_on=date(2026, 9, 1).isoformat(),
        ends_on=date(2026, 10, 30).isoformat(),
        scale=["not_yet", "pass"],
        pass_level="pass",
        goals=GOALS,
    )
    p.run(
        "enroll_student",
        "coord",
        course_id=COURSE_2,
        student_id="s1",
        display_name=ABOUT_S1["display_name"],
    )
    p.run(
        "enroll_student",
        "coord",
        course_id=COURSE_2,
        student_id="s2",
        display_name=OTHERS["display_name"],
    )
    p.run(
        "assign_supervisor",
        "coord",
        course_id=COURSE,
        supervisor_id="sup9",
        display_name=OTHERS["supervisor_name"],
    )
    p.run(
        "switch_roles",
        "s2",
        pair_id="p1",
        session_id="d1",
        roles={"s1": "observer", "s2": "performer"},
        reason=ABOUT_S1["switch_reason"],
    )
    p.app.execute(p.step("st1", note=ABOUT_S1["step_note"]))
    p.app.execute(
        p.feedback("fb1", strengths=ABOUT_S1["strengths"], improvements=ABOUT_S1["improvements"])
    )
    p.app.execute(
        p.reflection("rf1", stages={"description": ABOUT_S1["reflection"], "feelings": "Tense."})
    )
    p.app.execute(
        p.reflection("rf2", actor="s2", authors=["s2"], stages={"analysis": OTHERS["reflection"]})
    )
    for student, comment in (("s1", ABOUT_S1["assessment"]), ("s2", OTHERS["assessment"])):
        p.run(
            "assess_goal",
            "sup1",
            pair_id="p1",
            student_id=student,
            goal_id="hygiene",
            level="pass",
            kind="midpoint",
            comment=comment,
        )
    p.app.execute(
        p.feedback(
            "fb2",
            actor="sup1",
            giver="sup1",
            receiver="s2",
            source="supervisor",
            strengths=OTHERS["supervisor_feedback"],
            improvements="Keep going",
        )
    )
    p.run(
        "correct_entry",
        "s1",
        pair_id="p1",
        entry_id="st1",
        changes={"note": ABOUT_S1["correction_note"]},
        reason=ABOUT_S1["correction_reason"],
    )
    p.run("close_session", "s1", pair_id="p1", session_id="d1", summary=ABOUT_S1["summary"])


# --- looking at the store behind peerlog's back ------------------------------------------


def schema_relations(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str]]:
    """(kind, file path) of every table, index and TOAST relation of the schema."""
    rows = conn.execute(
        "SELECT c.relkind::text, pg_relation_filepath(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "UNION "
        "SELECT t.relkind::text, pg_relation_filepath(t.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class t ON t.oid = c.reltoastrelid WHERE n.nspname = %s "
        "UNION "
        "SELECT i.relkind::text, pg_relation_filepath(i.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_index x ON x.indrelid = c.reltoastrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE n.nspname = %s",
        (schema, schema, schema),
    ).fetchall()
    return [(str(kind), str(path)) for kind, path in rows if path is not None]


def relation_files(store: Store) -> bytes | None:
    """The bytes on disk of the schema's relations after a checkpoint, where the
    server's data directory can be read from here (the test server runs locally)."""
    with store.connect() as conn:
        data_directory = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
        if not os.access(data_directory, os.R_OK | os.X_OK):
            return None
        conn.execute("CHECKPOINT")
        relations = schema_relations(conn, store.schema)
    chunks: list[bytes] = []
    for _, relative in relations:
        path = data_directory / relative
        segment = 0
        while True:
            part = path if segment == 0 else path.with_name(f"{path.name}.{segment}")
            if not part.exists():
                break
            chunks.append(part.read_bytes())
            segment += 1
    return b"".join(chunks)


def table_bytes(store: Store) -> bytes:
    """Every value of every row of every table of the test schema, as bytes."""
    chunks: list[bytes] = []
    with store.connect() as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (store.schema,)
        ).fetchall()
        assert tables
        for (table,) in tables:
            for row in conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(store.schema), sql.Identifier(str(table))
                )
            ).fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\x00".join(chunks)


def sqlite_files(store: Store) -> bytes:
    assert store.path is not None
    wal = store.path.with_name(store.path.name + "-wal")
    return store.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def places(store: Store) -> dict[str, bytes]:
    """Everywhere the store keeps bytes that can be read from here."""
    if store.kind == "sqlite":
        return {"the SQLite file and its write-ahead log": sqlite_files(store)}
    places = {"the tables of the schema": table_bytes(store)}
    files = relation_files(store)
    if files is not None:
        places["the relation files on disk"] = files
    return places


def found(store: Store, needles: dict[str, bytes]) -> list[str]:
    """Where any of the needles is found, whole or as a piece of 16 bytes (a key only
    partly overwritten is still a leak)."""
    return [
        f"{name} in {place}"
        for place, data in places(store).items()
        for name, needle in needles.items()
        if any(needle[i : i + 16] in data for i in range(max(1, len(needle) - 15)))
    ]


def wrapped_key(store: Store, person: str) -> bytes:
    rows = store.execute_raw("SELECT wrapped FROM person_keys WHERE person_id = %s", (person,))
    value = rows[0][0]
    assert isinstance(value, bytes | memoryview)
    return bytes(value)


def stored(store: Store) -> list[tuple[object, ...]]:
    return store.execute_raw(
        "SELECT position, originator_id, originator_version, topic, state, chain "
        "FROM events ORDER BY position"
    )


def stored_states(store: Store) -> bytes:
    """Every stored event's state, as the store keeps it."""
    states = []
    for row in stored(store):
        assert isinstance(row[4], bytes | memoryview)
        states.append(bytes(row[4]))
    return b"".join(states)


def texts_by_kind(events: list[DomainEvent]) -> dict[str, Any]:
    """The personal texts of pair p1 and course vfu-2, by what they are."""
    found: dict[str, Any] = {}
    for e in events:
        if isinstance(e, StudentEnrolled) and e.course_id == COURSE_2:
            found[f"name:{e.student_id}"] = e.display_name
        elif isinstance(e, FeedbackGiven):
            found[f"{e.feedback_id}:strengths"] = e.strengths
            found[f"{e.feedback_id}:improvements"] = e.improvements
        elif isinstance(e, ReflectionRecorded):
            found[e.reflection_id] = dict(e.stages)
        elif isinstance(e, GoalAssessed):
            found[f"assessment:{e.student_id}"] = e.comment
        elif isinstance(e, SessionClosed):
            found["summary"] = e.summary
        elif isinstance(e, StepRecorded):
            found.setdefault("notes", []).append(e.note)
        elif isinstance(e, EntryCorrected):
            found["correction"] = (getattr(e.changes, "note", None), e.reason)
        elif isinstance(e, RolesSwitched):
            found["switch_reason"] = e.reason
    return found


@pytest.fixture(name="store", params=["sqlite", "postgres"])
def erasing_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The record on SQLite, or on PostgreSQL in a database of its own: an erasure waits
    for every session of its database that could still see the old key, and other
    suites' readers in the shared test database are not this test's to wait for."""
    if request.param == "sqlite":
        path = tmp_path / "record.sqlite3"
        yield Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{path}"}, path=path)
        return
    with own_database() as found_store:
        yield found_store
