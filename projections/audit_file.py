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

from peerlog.application import PeerLog
from peerlog.integrity import bundle
from peerlog.integrity.leaves import Entry
from peerlog.integrity.notes import Verifier
from peerlog.integrity.service import Integrity
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.asof import AsOf, NotInRecord, make_audit
from peerlog.projections.asof import audit as make_report


def make_file(app: PeerLog, student_id: str, course_id: str, as_of: AsOf | None = None) -> bytes:
    """The audit file of an audit (its checkpoint made now if none holds it yet)."""
    made = make_audit(app.event_mapper.decode, app.records, student_id, course_id, as_of)
    report = make_report(app, student_id, course_id, _fixed(made.content, as_of))
    integrity = Integrity.of(app)
    named = report["integrity"].get("checkpoint")
    if named is None:
        msg = "the audit is not proven against any checkpoint: " + "; ".join(
            report["integrity"].get("problems", [])
        )
        raise NotInRecord(msg)
    stored = integrity.store.checkpoint(int(named["size"]))
    assert stored is not None
    # Read again: the checkpoint may have been made (and hold more) since.
    events = [
        bundle.event_json(Entry.of(r), integrity.inclusion_proof(r.id, stored.size))
        for stream in made.records
        for r in app.records(stream)
        if r.id <= stored.size
    ]
    return bundle.make(report, stored.note, events, integrity.signer())


def _fixed(content: dict[str, Any], as_of: AsOf | None) -> AsOf:
    """The as-of of an audit just made, so that the report is of the same moment."""
    recorded, occurred = bundle.as_of_of(content)
    return AsOf(recorded, (as_of.occurred if as_of else None) or occurred)


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
        return Recounted(checked, [f"the events in the file do not make this audit: {exc}"])
    return Recounted(checked, _differences(audit, again))


def _differences(audit: dict[str, Any], again: dict[str, Any]) -> list[str]:
    out = [
        f"{key}: the audit says {audit.get(key)!r}, the events {again.get(key)!r}"
        for key in ("student_id", "course_id", "as_of", "as_of_occurred", "pass_level")
        if audit.get(key) != again.get(key)
    ]
    said = {g["goal_id"]: g for g in audit.get("goals", [])}
    counted = {g["goal_id"]: g for g in again["goals"]}
    for goal_id in sorted(set(said) | set(counted)):
        a, b = said.get(goal_id), counted.get(goal_id)
        if a is None or b is None:
            out.append(f"goal {goal_id}: in {'the events' if a is None else 'the audit'} only")
            continue
        out.extend(
            f"goal {goal_id}: {field}: the audit says {a.get(field)!r}, the events {b.get(field)!r}"
            for field in ("status", "latest_level", "evidence", "events", "retired", "title")
            if a.get(field) != b.get(field)
        )
    if list(said) != list(counted):
        out.append("the goals are not in the order the course added them")
    return out
