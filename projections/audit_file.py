"""The examiner's audit file: made from the record, recounted from the file alone.

``make_file`` writes the audit with every stored event of its streams up to the
checkpoint it is proven against, with their inclusion proofs. ``recount`` checks a
file's proofs (:mod:`peerlog.integrity.bundle`) and then makes the audit again from the
events in the file with the same projection code that made it, in memory, without a
database, and compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peerlog.i18n import lazy
from peerlog.integrity import bundle
from peerlog.integrity.leaves import Entry
from peerlog.integrity.notes import Verifier
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.asof import AsOf, NotInRecord, checked_audit, make_audit
from peerlog.projections.source import EventSource


def make_file(
    source: EventSource, student_id: str, course_id: str, as_of: AsOf | None = None
) -> bytes:
    """The audit file of an audit (its checkpoint made now if none holds it yet)."""
    report, made = checked_audit(source, student_id, course_id, as_of)
    integrity = source.integrity()
    named = report["integrity"].get("checkpoint")
    if named is None:
        raise NotInRecord(
            lazy(
                "the audit is not proven against any checkpoint: %(problems)s",
                problems="; ".join(report["integrity"].get("problems", [])),
            )
        )
    stored = integrity.store.checkpoint(int(named["size"]))
    assert stored is not None
    # Read again: the checkpoint may have been made (and hold more) since.
    events = [
        bundle.event_json(Entry.of(r), integrity.inclusion_proof(r.id, stored.size))
        for stream in made.records
        for r in source.records(stream)
        if r.id <= stored.size
    ]
    return bundle.make(report, stored.note, events, integrity.signer())


@dataclass(frozen=True)
class Recounted:
    checked: bundle.Checked
    differences: list[str]


def recount(data: bytes, key: Verifier, witnesses: tuple[Verifier, ...] = ()) -> Recounted:
    """Check a file and recount its audit from its events; the differences, if any."""
    checked = bundle.check(data, key, witnesses)
    audit = checked.audit
    recorded, occurred = bundle.as_of_of(audit)
    mapper = EventMapper()

    def read(stream: str) -> list[RecordedEvent]:
        return checked.records.get(stream, [])

    try:
        again = make_audit(
            mapper.decode,
            read,
            str(audit["student_id"]),
            str(audit["course_id"]),
            AsOf(recorded, occurred),
        ).content
    except NotInRecord as exc:
        return Recounted(
            checked,
            [
                lazy(
                    "the events in the file do not make this audit: %(error)s",
                    error=exc.args[0] if exc.args else str(exc),
                )
            ],
        )
    return Recounted(checked, _differences(audit, again))


def _differences(audit: dict[str, Any], again: dict[str, Any]) -> list[str]:
    out: list[str] = [
        lazy(
            "%(field)s: the audit says %(said)s, the events %(counted)s",
            field=key,
            said=repr(audit.get(key)),
            counted=repr(again.get(key)),
        )
        for key in ("student_id", "course_id", "as_of", "as_of_occurred", "pass_level")
        if audit.get(key) != again.get(key)
    ]
    said = {g["goal_id"]: g for g in audit.get("goals", [])}
    counted = {g["goal_id"]: g for g in again["goals"]}
    for goal_id in sorted(set(said) | set(counted)):
        a, b = said.get(goal_id), counted.get(goal_id)
        if a is None or b is None:
            out.append(
                lazy("goal %(goal)s: in the events only", goal=goal_id)
                if a is None
                else lazy("goal %(goal)s: in the audit only", goal=goal_id)
            )
            continue
        out.extend(
            lazy(
                "goal %(goal)s: %(field)s: the audit says %(said)s, the events %(counted)s",
                goal=goal_id,
                field=field,
                said=repr(a.get(field)),
                counted=repr(b.get(field)),
            )
            for field in ("status", "latest_level", "evidence", "events", "retired", "title")
            if a.get(field) != b.get(field)
        )
    if list(said) != list(counted):
        out.append(lazy("the goals are not in the order the course added them"))
    return out
