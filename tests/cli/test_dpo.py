"""The data-protection officer's commands: ``peerlog forget`` erases a person through the
command line, leaving nothing readable of them in the database files, and ``peerlog
person`` lists every entry by or about a person, with their texts."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from peerlog import PeerLog
from peerlog.domain.erasure import ERASED_MARKER, is_erased
from peerlog.domain.events import PersonForgotten, StepRecorded
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.privacy import (
    ABOUT_S1,
    COURSE_2,
    OTHERS,
    erasing_store,  # noqa: F401 - the store fixture of erasure tests
    found,
    record_personal_texts,
    texts_by_kind,
    wrapped_key,
)
from tests.support import COURSE, Placement

ENVELOPE = re.compile(rb"peerlog:sealed:1;([^;\"]*);([^;\"]*);")


@pytest.fixture
def placement(store: Store) -> Iterator[Placement]:
    app = store.open()
    p = Placement(app).seed()
    record_personal_texts(p)
    yield p
    app.close()


def _raw(store: Store) -> list[tuple[int, str, dict[str, Any], bytes]]:
    """(position, type, fields, stored bytes) of every stored event, read with SQL."""
    rows = store.execute_raw("SELECT position, topic, state FROM events ORDER BY position")
    out = []
    for position, topic, state in rows:
        assert isinstance(position, int)
        assert isinstance(topic, str)
        assert isinstance(state, bytes | memoryview)
        data = bytes(state)
        out.append((position, topic, json.loads(data), data))
    return out


def _names(value: Any, person: str) -> bool:
    """Whether ``person`` stands anywhere in a stored event as a value or a key."""
    if isinstance(value, str):
        return value == person
    if isinstance(value, dict):
        return any(k == person or _names(v, person) for k, v in value.items())
    if isinstance(value, list):
        return any(_names(v, person) for v in value)
    return False


def _sealed_about(store: Store, person: str) -> int:
    """How many sealed texts with content name ``person`` among their subjects."""
    return sum(
        1
        for _, _, _, data in _raw(store)
        for subjects, nonce in ENVELOPE.findall(data)
        if nonce and person.encode() in subjects.split(b",")
    )


def test_forget_on_the_command_line_leaves_no_plaintext_of_the_person_in_the_database_files(
    store: Store, placement: Placement, peerlog: Cli
) -> None:
    app = placement.app
    wrapped = wrapped_key(store, "s1")
    needles = {"s1's wrapped key": wrapped, "s1's key": app.keys._unwrap("s1", wrapped)}
    needles |= {f"s1's {k}": v.encode() for k, v in ABOUT_S1.items()}
    # The search finds the wrapped key while it exists: it would find it afterwards too.
    assert "s1's wrapped key in" in " ".join(found(store, needles))
    sealed = _sealed_about(store, "s1")
    assert sealed >= len(ABOUT_S1)

    result = peerlog("forget", "s1", "--actor", "coord", input="y\n")

    assert result.exit_code == 0, result.output
    assert f"s1 is known in courses {COURSE}, {COURSE_2}; pair p1." in result.stderr
    assert f"Erased: {sealed} personal texts by or about them (1 of them their name)" in (
        result.stderr
    )
    assert "Forget s1? This cannot be undone [y/N]:" in result.stderr
    assert re.fullmatch(
        r"s1 forgotten \(cli-[0-9a-f]{16}\) in courses vfu-1, vfu-2: their personal "
        r"texts read as \[erased\] everywhere, and their key is gone\n",
        result.stdout,
    )
    # Nothing of s1 - key, wrapped key or text - is left where the store keeps bytes.
    assert found(store, needles) == []
    reader = PeerLog(store.env)
    try:
        texts = texts_by_kind(reader.history("pair/p1") + reader.history(f"course/{COURSE_2}"))
        assert texts["name:s1"] == ERASED_MARKER
        assert is_erased(texts["fb1:strengths"])
        assert texts["rf2"] == {"analysis": OTHERS["reflection"]}
        forgotten = [
            e for e in reader.history(f"course/{COURSE}") if isinstance(e, PersonForgotten)
        ]
        assert [(e.person_id, e.actor) for e in forgotten] == [("s1", "coord")]
    finally:
        reader.close()
    assert peerlog.ok("verify").startswith("verified: ")


def test_forget_asks_first_and_erases_nothing_when_told_no(
    store: Store, placement: Placement, peerlog: Cli
) -> None:
    wrapped = wrapped_key(store, "s1")
    result = peerlog("forget", "s1", "--actor", "coord", input="n\n")
    assert result.exit_code == 1
    assert "Aborted!" in result.stderr
    assert wrapped_key(store, "s1") == wrapped
    step = next(e for e in placement.app.history("pair/p1") if isinstance(e, StepRecorded))
    assert step.note == ABOUT_S1["step_note"]


def test_forget_names_an_unknown_person_a_refused_actor_and_someone_already_forgotten(
    store: Store, placement: Placement, peerlog: Cli
) -> None:
    events = len(store.execute_raw("SELECT position FROM events"))

    unknown = peerlog("forget", "s99", "--actor", "coord", "--yes")
    assert (unknown.exit_code, unknown.stderr) == (
        1,
        "Error: 's99' is not in the record: no event is by or about them\n",
    )
    refused = peerlog("forget", "s1", "--actor", "sup1", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: forget_person rejected: actor: 'sup1' is a supervisor of course vfu-1; only a "
        "coordinator of the course may forget people ('s1' is known there) [not_allowed]\n"
    )
    themselves = peerlog("forget", "coord", "--actor", "coord", "--yes")
    assert themselves.exit_code == 1
    assert "'coord' cannot forget themselves" in themselves.stderr
    no_actor = peerlog("forget", "s1", "--yes")
    assert no_actor.exit_code == 2
    assert "who erases? give --actor ID (or set PEERLOG_ACTOR)" in no_actor.stderr
    # None of them recorded anything or touched a key.
    assert len(store.execute_raw("SELECT position FROM events")) == events
    assert wrapped_key(store, "s1")

    assert peerlog("forget", "s1", "--actor", "coord", "--yes").exit_code == 0
    again = peerlog("forget", "s1", "--actor", "coord", "--yes")
    assert (again.exit_code, again.stderr) == (
        1,
        (
            "Error: 's1' was already forgotten (in courses vfu-1, vfu-2); nothing of theirs is "
            "left to erase\n"
        ),
    )
    assert len(store.execute_raw("SELECT position FROM events")) == events + 2


def test_person_lists_every_entry_by_or_about_them_as_the_stored_events_show(
    store: Store, placement: Placement, peerlog: Cli
) -> None:
    """Checked against the stored events read with SQL: every event whose stored
    fields name s1 anywhere (as actor, member, performer, giver, author, subject...)."""
    raw = _raw(store)
    expected = [(position, topic) for position, topic, fields, _ in raw if _names(fields, "s1")]
    assert len(expected) >= 12

    export = json.loads(peerlog.ok("person", "s1", "--format", "json"))

    assert [(e["position"], e["type"]) for e in export["events"]] == expected
    assert export["entries"] == len(expected)
    assert export["counts"] == dict(Counter(topic for _, topic in expected))
    assert export["recorded_by_them"] == sum(
        1 for position, _, fields, _ in raw if fields["actor"] == "s1"
    )
    assert (export["courses"], export["pairs"]) == ([COURSE, COURSE_2], ["p1"])
    assert export["texts"] == {"readable": _sealed_about(store, "s1"), "erased": 0}
    # Every text by or about s1 is there, opened; texts only about others are not.
    dumped = json.dumps(export, ensure_ascii=False)
    for text in ABOUT_S1.values():
        assert text in dumped
    assert OTHERS["reflection"] not in dumped
    assert OTHERS["supervisor_feedback"] not in dumped
    step = next(e for e in export["events"] if e["type"] == "StepRecorded")
    assert (step["note"], step["performers"]) == (ABOUT_S1["step_note"], ["s1"])

    text = peerlog.ok("person", "s1")
    assert text.startswith(
        f"What the record holds about s1\ncourses: {COURSE}, {COURSE_2}\npairs: p1\n"
        f"{len(expected)} entries ({export['recorded_by_them']} recorded by them); their "
        f"personal texts: {export['texts']['readable']} readable, 0 erased\n"
    )
    headings = re.findall(r"^#(\d+)  ", text, re.MULTILINE)
    assert [int(h) for h in headings] == [position for position, _ in expected]
    assert f"    note: {ABOUT_S1['step_note']}" in text

    # After an erasure the same entries are listed, their texts erased.
    readable = export["texts"]["readable"]
    assert peerlog("forget", "s1", "--actor", "coord", "--yes").exit_code == 0
    after = json.loads(peerlog.ok("person", "s1", "--format", "json"))
    assert after["entries"] == len(expected) + 2  # the two PersonForgotten
    assert after["forgotten_in"] == [COURSE, COURSE_2]
    assert after["texts"] == {"readable": 0, "erased": readable}
    assert ABOUT_S1["step_note"] not in json.dumps(after, ensure_ascii=False)


def test_person_says_when_the_record_holds_nothing_about_someone(
    peerlog: Cli, app: PeerLog
) -> None:
    del app  # the record exists, and holds nothing about s42
    result = peerlog("person", "s42")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: 's42' is not in the record: no event is by or about them\n",
    )


def test_the_courses_and_pairs_of_a_person_in_the_plural_forms_of_the_language() -> None:
    from peerlog.cli.dpo import _courses, _pairs
    from peerlog.i18n import speaking

    with speaking("en"):
        assert [_courses(["c1"]), _courses(["c1", "c2"])] == ["course c1", "courses c1, c2"]
        assert [_pairs([]), _pairs(["p1"]), _pairs(["p1", "p2"])] == [
            "no pair",
            "pair p1",
            "pairs p1, p2",
        ]
    with speaking("sv"):
        assert [_courses(["c1"]), _courses(["c1", "c2"])] == ["kursen c1", "kurserna c1, c2"]
        assert [_pairs([]), _pairs(["p1"]), _pairs(["p1", "p2"])] == [
            "inget par",
            "paret p1",
            "paren p1, p2",
        ]
    with speaking("da"):
        assert _courses(["c1", "c2"]) == "kurserne c1, c2"
        assert _pairs(["p1"]) == "parret p1"
