"""The audit as a report for people: plain text, Markdown, or one standalone HTML file."""

from __future__ import annotations

import html
from collections import Counter
from datetime import datetime
from typing import Any, Final

from peerlog.cli.output import when
from peerlog.projections.progression import EVIDENCE_LABELS, STATUS_LABELS
from peerlog.projections.timeline import Item

DIGEST_NOTE: Final = (
    "The digest names the events this audit was made from: the same audit made later "
    "(same --as-of) has the same digest as long as they are still there, unchanged."
)


def _as_of(report: dict[str, Any]) -> str:
    text = f"recorded by {when(datetime.fromisoformat(report['as_of']))} UTC"
    if "as_of_occurred" in report:
        text += f", happened by {when(datetime.fromisoformat(report['as_of_occurred']))} UTC"
    return text


def _status(goal: dict[str, Any]) -> str:
    status = str(STATUS_LABELS.get(goal["status"], goal["status"]))
    if goal["latest_level"] is not None:
        status += f" (latest level: {goal['latest_level']})"
    if goal.get("retired"):
        status += " [retired]"
    return status


def _counts(report: dict[str, Any]) -> str:
    active = [g for g in report["goals"] if not g.get("retired")]
    counts = Counter(g["status"] for g in active)
    parts = [f"{STATUS_LABELS[s]} {counts[s]}" for s in STATUS_LABELS if counts[s]]
    retired = len(report["goals"]) - len(active)
    tail = f" (and {retired} retired)" if retired else ""
    return f"{len(active)} goals: {', '.join(parts) or 'none'}{tail}"


def _evidence(goal: dict[str, Any]) -> str:
    return ", ".join(f"{label} {goal['evidence'][key]}" for key, label in EVIDENCE_LABELS.items())


def _event_line(ref: str, events: dict[str, Item]) -> tuple[str, str, str]:
    """(reference, when it happened, what happened) of an event behind the evidence."""
    item = events.get(ref)
    if item is None:
        return ref, "", ""
    what = item.summary
    if item.changed_by:
        what += "; " + "; ".join(f"{link.kind} at #{link.position}" for link in item.changed_by)
    return ref, when(item.occurred_at, seconds=False), what


def _integrity(report: dict[str, Any]) -> tuple[str, str]:
    integrity = report["integrity"]
    streams = integrity.get("streams")
    of = f" ({streams} event streams checked)" if streams is not None else ""
    verdict = (
        f"verified: the hash chains check out{of}"
        if integrity["verified"]
        else "NOT VERIFIED: the stored record was altered; run 'peerlog verify'"
    )
    return verdict, integrity["digest"]


def render_text(report: dict[str, Any], events: dict[str, Item]) -> str:
    lines = [
        f"Audit of {report['student_id']} in course {report['course_id']}",
        f"As of: {_as_of(report)}; pass level: {report['pass_level']}",
        _counts(report),
    ]
    for goal in report["goals"]:
        lines += [
            "",
            f"{goal['goal_id']}: {goal.get('title', '')}",
            f"  status: {_status(goal)}",
            f"  evidence: {_evidence(goal)}",
        ]
        if goal["events"]:
            lines.append("  events:")
            for ref, moment, what in (_event_line(e, events) for e in goal["events"]):
                lines.append(f"    {ref:<14} {moment:<16}  {what}".rstrip())
    verdict, digest = _integrity(report)
    lines += ["", f"Integrity: {verdict}", f"Digest: {digest}", DIGEST_NOTE]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: dict[str, Any], events: dict[str, Item]) -> str:
    lines = [
        f"# Audit of {report['student_id']} in course {report['course_id']}",
        "",
        f"As of: {_as_of(report)}; pass level: **{report['pass_level']}**.  ",
        f"{_counts(report)}.",
        "",
        "| goal | status | " + " | ".join(EVIDENCE_LABELS.values()) + " |",
        "|---|---|" + "---:|" * len(EVIDENCE_LABELS),
    ]
    for goal in report["goals"]:
        counts = " | ".join(str(goal["evidence"][key]) for key in EVIDENCE_LABELS)
        lines.append(f"| {_md(goal['goal_id'])} | {_md(_status(goal))} | {counts} |")
    for goal in report["goals"]:
        lines += [
            "",
            f"## {_md(goal['goal_id'])}: {_md(goal.get('title', ''))}",
            "",
            f"Status: **{_status(goal)}**. Evidence: {_evidence(goal)}.",
        ]
        if goal["events"]:
            lines += ["", "| event | occurred (UTC) | what happened |", "|---|---|---|"]
            for ref, moment, what in (_event_line(e, events) for e in goal["events"]):
                lines.append(f"| `{ref}` | {moment} | {_md(what)} |")
    verdict, digest = _integrity(report)
    lines += ["", "## Integrity", "", f"{verdict}.  ", f"Digest: `{digest}`", "", DIGEST_NOTE]
    return "\n".join(lines)


STYLE: Final = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .3rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: 10pt; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .ref { font-family: ui-monospace, "SF Mono", Menlo, monospace; font-size: 9.5pt; }
.met { color: #1a7f37; } .not_met { color: #b42318; } .no_evidence { color: #9a6700; }
.bad { color: #b42318; font-weight: bold; } .muted { color: #666; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""


def render_html(report: dict[str, Any], events: dict[str, Item]) -> str:
    e = html.escape
    title = f"Audit of {report['student_id']} in course {report['course_id']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        (
            f"<p>As of: {e(_as_of(report))}; pass level: <strong>{e(report['pass_level'])}"
            f"</strong>.<br>{e(_counts(report))}.</p>"
        ),
        (
            "<table><thead><tr><th>goal</th><th>status</th>"
            + "".join(f"<th>{e(label)}</th>" for label in EVIDENCE_LABELS.values())
            + "</tr></thead><tbody>"
        ),
    ]
    for goal in report["goals"]:
        counts = "".join(f'<td class="n">{goal["evidence"][k]}</td>' for k in EVIDENCE_LABELS)
        parts.append(
            f'<tr><td><a href="#goal-{e(goal["goal_id"])}">{e(goal["goal_id"])}</a></td>'
            f'<td class="{e(goal["status"])}">{e(_status(goal))}</td>{counts}</tr>'
        )
    parts.append("</tbody></table>")
    for goal in report["goals"]:
        parts += [
            (
                f'<h2 id="goal-{e(goal["goal_id"])}">{e(goal["goal_id"])}: '
                f"{e(goal.get('title', ''))}</h2>"
            ),
            (
                f'<p>Status: <strong class="{e(goal["status"])}">{e(_status(goal))}</strong>. '
                f"Evidence: {e(_evidence(goal))}.</p>"
            ),
        ]
        if goal["events"]:
            parts.append(
                "<table><thead><tr><th>event</th><th>occurred (UTC)</th>"
                "<th>what happened</th></tr></thead><tbody>"
            )
            for ref, moment, what in (_event_line(x, events) for x in goal["events"]):
                parts.append(
                    f'<tr><td class="ref">{e(ref)}</td><td>{e(moment)}</td><td>{e(what)}</td></tr>'
                )
            parts.append("</tbody></table>")
    verdict, digest = _integrity(report)
    css = "" if report["integrity"]["verified"] else ' class="bad"'
    parts += [
        "<h2>Integrity</h2>",
        f"<p{css}>{e(verdict)}.</p>",
        f"<p>Digest: <code>{e(digest)}</code></p>",
        f'<p class="muted">{e(DIGEST_NOTE)}</p>',
        "</body></html>",
    ]
    return "\n".join(parts)
