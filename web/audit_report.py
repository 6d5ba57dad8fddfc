"""The audit as a report for people, for the CLI and the dashboard alike: plain text,
Markdown, one standalone HTML file (and a PDF of it, for the student's file), and the
body of the dashboard's audit page (the same template, ``audit_body.html``).

The html and md reports name people by their display names where the record has them
(and they were not erased), and show, under each event behind a goal, the texts of it
that the reader may see: ``behind`` carries each event as the timeline tells it, with
what the reader does not read already withheld. Every sentence an examiner reads is
written here or in the templates, so that it can be translated in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from peerlog.projections.local_time import UTC_ZONE, local_when, zone_words
from peerlog.projections.names import Names, named
from peerlog.projections.progression import EVIDENCE_LABELS, STATUS_LABELS
from peerlog.projections.trends import QUIET_WEEKS, quiet_goals

Behind = Mapping[str, Mapping[str, Any]]
"""Event reference -> the event as the timeline tells it (``Item.as_dict()``)."""

STATUS_MARKS: Final = {"met": "✓", "not_met": "✗", "evidenced": "•", "no_evidence": "\u2013"}
DIGEST_NOTE: Final = (
    "The digest names this audit and the checkpoint it is proven against: the same audit "
    "made later (same --as-of) has the same digest. 'peerlog audit --bundle' writes the "
    "file that proves it to anyone, and 'peerlog verify-bundle' checks that file."
)
VERIFIED: Final = "verified: the hash chains check out and the events are those of the checkpoint"
NOT_VERIFIED: Final = "NOT VERIFIED: the stored record was altered; run 'peerlog verify'"
UNPROVEN: Final = "not yet proven: {problems}"


def when(value: Any, *, seconds: bool = False, zone: ZoneInfo = UTC_ZONE) -> str:
    """A moment in the course's zone, ``2026-03-02 08:30 CET`` (or with seconds)."""
    if value is None or value == "":
        return ""
    return local_when(value, zone, seconds=seconds)


def as_of_words(report: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> str:
    recorded = when(report["as_of"], seconds=True, zone=zone)
    if report.get("as_of_occurred"):
        occurred = when(report["as_of_occurred"], seconds=True, zone=zone)
        return f"recorded by {recorded}, happened by {occurred}"
    return f"recorded by {recorded}"


def status_words(goal: Mapping[str, Any]) -> str:
    status = str(STATUS_LABELS.get(goal["status"], goal["status"]))
    if goal["latest_level"] is not None:
        status += f" (latest level: {goal['latest_level']})"
    if goal.get("retired"):
        status += " [retired]"
    return status


def counts_words(report: Mapping[str, Any]) -> str:
    active = [g for g in report["goals"] if not g.get("retired")]
    counts = Counter(g["status"] for g in active)
    parts = [f"{STATUS_LABELS[s]} {counts[s]}" for s in STATUS_LABELS if counts[s]]
    retired = len(report["goals"]) - len(active)
    tail = f" (and {retired} retired)" if retired else ""
    return f"{len(active)} goals: {', '.join(parts) or 'none'}{tail}"


def evidence_words(goal: Mapping[str, Any]) -> str:
    return ", ".join(f"{label} {goal['evidence'][key]}" for key, label in EVIDENCE_LABELS.items())


def integrity_words(report: Mapping[str, Any]) -> str:
    integrity = report["integrity"]
    checkpoint = integrity.get("checkpoint")
    streams = integrity.get("streams")
    of = f" ({streams} event streams checked)" if streams is not None else ""
    if integrity["verified"] and checkpoint:
        return f"{VERIFIED} of {checkpoint['origin']} at {checkpoint['size']:,} events{of}"
    problems = integrity.get("problems") or []
    if problems and not any("run 'peerlog verify'" in p for p in problems):
        return UNPROVEN.format(problems="; ".join(problems))
    return NOT_VERIFIED


def event_line(ref: str, behind: Behind, zone: ZoneInfo = UTC_ZONE) -> tuple[str, str, str]:
    """(reference, when it happened, what happened) of an event behind the evidence."""
    item = behind.get(ref)
    if item is None:
        return ref, "", ""
    what = str(item["summary"])
    if item.get("changed_by"):
        what += "; " + "; ".join(f"{c['kind']} at {c['event']}" for c in item["changed_by"])
    return ref, when(item["occurred_at"], zone=zone), what


def texts_of(ref: str, behind: Behind) -> list[tuple[str, str]]:
    item = behind.get(ref)
    return list(item.get("texts", {}).items()) if item is not None else []


def render_text(
    report: Mapping[str, Any], behind: Behind, names: Names, zone: ZoneInfo = UTC_ZONE
) -> str:
    lines = [
        f"Audit of {named(report['student_id'], names)} in course {report['course_id']}",
        f"As of: {as_of_words(report, zone)}; pass level: {report['pass_level']}",
        f"Times in {zone_words(zone)}.",
        counts_words(report),
    ]
    for goal in report["goals"]:
        lines += [
            "",
            f"{goal['goal_id']}: {goal.get('title', '')}",
            f"  status: {status_words(goal)}",
            f"  evidence: {evidence_words(goal)}",
        ]
        if goal["events"]:
            lines.append("  events:")
            told = [event_line(e, behind, zone) for e in goal["events"]]
            width = max(len(moment) for _, moment, _ in told)
            for ref, moment, what in told:
                lines.append(f"    {ref:<14} {moment:<{width}}  {what}".rstrip())
    if names:
        lines += ["", "People:"]
        lines += [f"  {person}: {name}" for person, name in sorted(names.items())]
    lines += [
        "",
        f"Integrity: {integrity_words(report)}",
        f"Digest: {report['integrity']['digest']}",
        DIGEST_NOTE,
    ]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    report: Mapping[str, Any], behind: Behind, names: Names, zone: ZoneInfo = UTC_ZONE
) -> str:
    lines = [
        f"# Audit of {_md(named(report['student_id'], names))} in course {report['course_id']}",
        "",
        f"As of: {as_of_words(report, zone)}; pass level: **{report['pass_level']}**.  ",
        f"{counts_words(report)}.",
        "",
        "| goal | status | " + " | ".join(EVIDENCE_LABELS.values()) + " |",
        "|---|---|" + "---:|" * len(EVIDENCE_LABELS),
    ]
    for goal in report["goals"]:
        counts = " | ".join(str(goal["evidence"][key]) for key in EVIDENCE_LABELS)
        lines.append(f"| {_md(goal['goal_id'])} | {_md(status_words(goal))} | {counts} |")
    for goal in report["goals"]:
        lines += [
            "",
            f"## {_md(goal['goal_id'])}: {_md(goal.get('title', ''))}",
            "",
            f"Status: **{status_words(goal)}**. Evidence: {evidence_words(goal)}.",
        ]
        if goal["events"]:
            lines += [
                "",
                f"| event | occurred ({zone_words(zone)}) | what happened |",
                "|---|---|---|",
            ]
            for ref in goal["events"]:
                _, moment, what = event_line(ref, behind, zone)
                said = "".join(
                    f"<br>{_md(label)}: “{_md(value)}”" for label, value in texts_of(ref, behind)
                )
                lines.append(f"| `{ref}` | {moment} | {_md(what)}{said} |")
    if names:
        lines += ["", "## People", ""]
        lines += [f"- {_md(person)}: {_md(name)}" for person, name in sorted(names.items())]
    lines += [
        "",
        "## Integrity",
        "",
        f"{integrity_words(report)}.  ",
        f"Digest: `{report['integrity']['digest']}`",
        "",
        DIGEST_NOTE,
    ]
    return "\n".join(lines)


_env = Environment(
    loader=PackageLoader("peerlog.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def context(
    report: Mapping[str, Any],
    behind: Behind,
    names: Names,
    weeks: Mapping[str, Any] | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> dict[str, Any]:
    """What ``audit_body.html`` needs (the dashboard's page adds its own); ``weeks``,
    the student's goals by weeks (``audit_weeks``), adds that grid."""
    active = [g for g in report["goals"] if not g.get("retired")]
    return {
        "weeks": weeks,
        "quiet": quiet_goals(weeks) if weeks else [],
        "quiet_span": QUIET_WEEKS,
        "report": report,
        "behind": behind,
        "names": names,
        "counts": Counter(g["status"] for g in active),
        "active": len(active),
        "status_labels": STATUS_LABELS,
        "status_marks": STATUS_MARKS,
        "evidence_labels": EVIDENCE_LABELS,
        "named": named,
        "when": partial(when, zone=zone),
        "zone": zone,
        "zone_words": zone_words(zone),
        "as_of_words": as_of_words(report, zone),
        "counts_words": counts_words(report),
        "integrity_words": integrity_words(report),
        "digest_note": DIGEST_NOTE,
        "event_line": partial(event_line, zone=zone),
        "texts_of": texts_of,
        "status_words": status_words,
    }


def render_html(
    report: Mapping[str, Any],
    behind: Behind,
    names: Names,
    weeks: Mapping[str, Any] | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> str:
    """One standalone HTML file, its styles inline."""
    return _env.get_template("audit_file.html").render(context(report, behind, names, weeks, zone))


def render_pdf(
    report: Mapping[str, Any],
    behind: Behind,
    names: Names,
    weeks: Mapping[str, Any] | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> bytes:
    """The standalone HTML, printed to PDF (WeasyPrint), for the student's file."""
    from weasyprint import HTML  # noqa: PLC0415 - loads its fonts and Pango only when asked

    pdf: bytes = HTML(string=render_html(report, behind, names, weeks, zone)).write_pdf()
    return pdf
