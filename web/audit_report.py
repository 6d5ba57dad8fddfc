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

from peerlog import i18n
from peerlog.i18n import N_, Labels, _, ngettext
from peerlog.projections.local_time import UTC_ZONE, local_when, zone_words
from peerlog.projections.names import Names, named
from peerlog.projections.progression import EVIDENCE_LABELS, STATUS_LABELS
from peerlog.projections.trends import QUIET_WEEKS, quiet_goals

Behind = Mapping[str, Mapping[str, Any]]
"""Event reference -> the event as the timeline tells it (``Item.as_dict()``)."""

CHANGE_KINDS: Final = Labels({"corrected": N_("corrected"), "retracted": N_("retracted")})
"""How a later event changed an entry, in words."""
TEXT_LABELS: Final = Labels(
    {
        "note": N_("note"),
        "strengths": N_("strengths"),
        "improvements": N_("improvements"),
        "plan": N_("plan"),
        "summary": N_("summary"),
        "comment": N_("comment"),
        "reason": N_("reason"),
        "description": N_("description"),
        "feelings": N_("feelings"),
        "evaluation": N_("evaluation"),
        "analysis": N_("analysis"),
        "conclusion": N_("conclusion"),
        "action plan": N_("action plan"),
        "new note": N_("new note"),
        "new strengths": N_("new strengths"),
        "new improvements": N_("new improvements"),
        "new description": N_("new description"),
        "new feelings": N_("new feelings"),
        "new evaluation": N_("new evaluation"),
        "new analysis": N_("new analysis"),
        "new conclusion": N_("new conclusion"),
        "new action plan": N_("new action plan"),
    }
)
"""The labels of the texts of an event (the timeline's, the same in every language)."""
ASSESSMENT_LABELS: Final = Labels(
    {"formative": N_("formative"), "midpoint": N_("midpoint"), "final": N_("final")}
)
STATUS_MARKS: Final = {"met": "✓", "not_met": "✗", "evidenced": "•", "no_evidence": "\u2013"}
DIGEST_NOTE: Final = N_(
    "The digest names this audit and the checkpoint it is proven against: the same audit "
    "made later (same --as-of) has the same digest. 'peerlog audit --bundle' writes the "
    "file that proves it to anyone, and 'peerlog verify-bundle' checks that file."
)


def when(value: Any, *, seconds: bool = False, zone: ZoneInfo = UTC_ZONE) -> str:
    """A moment in the course's zone, ``2026-03-02 08:30 CET`` (or with seconds)."""
    if value is None or value == "":
        return ""
    return local_when(value, zone, seconds=seconds)


def as_of_words(report: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> str:
    recorded = when(report["as_of"], seconds=True, zone=zone)
    if report.get("as_of_occurred"):
        occurred = when(report["as_of_occurred"], seconds=True, zone=zone)
        return _("recorded by %(recorded)s, happened by %(occurred)s") % {
            "recorded": recorded,
            "occurred": occurred,
        }
    return _("recorded by %(recorded)s") % {"recorded": recorded}


def status_words(goal: Mapping[str, Any]) -> str:
    code = goal["status"]
    status = STATUS_LABELS[code] if code in STATUS_LABELS else str(code)
    if goal["latest_level"] is not None:
        status += " " + _("(latest level: %(level)s)") % {"level": goal["latest_level"]}
    if goal.get("retired"):
        status += " " + _("[retired]")
    return status


def counts_words(report: Mapping[str, Any]) -> str:
    active = [g for g in report["goals"] if not g.get("retired")]
    counts = Counter(g["status"] for g in active)
    parts = [f"{STATUS_LABELS[s]} {i18n.number(counts[s])}" for s in STATUS_LABELS if counts[s]]
    retired = len(report["goals"]) - len(active)
    words = ngettext("%(count)s goal: %(statuses)s", "%(count)s goals: %(statuses)s", len(active))
    text = words % {"count": i18n.number(len(active)), "statuses": ", ".join(parts) or _("none")}
    if retired:
        text += " " + ngettext("(and %(count)s retired)", "(and %(count)s retired)", retired) % {
            "count": i18n.number(retired)
        }
    return text


def evidence_words(goal: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{label} {i18n.number(goal['evidence'][key])}" for key, label in EVIDENCE_LABELS.items()
    )


def integrity_words(report: Mapping[str, Any]) -> str:
    integrity = report["integrity"]
    checkpoint = integrity.get("checkpoint")
    streams = integrity.get("streams")
    if integrity["verified"] and checkpoint:
        values = {"origin": checkpoint["origin"], "size": i18n.number(checkpoint["size"])}
        text = (
            ngettext(
                "verified: the hash chains check out and the events are those of the checkpoint "
                "of %(origin)s at %(size)s event",
                "verified: the hash chains check out and the events are those of the checkpoint "
                "of %(origin)s at %(size)s events",
                checkpoint["size"],
            )
            % values
        )
        if streams is not None:
            text += " " + ngettext(
                "(%(count)s event stream checked)", "(%(count)s event streams checked)", streams
            ) % {"count": i18n.number(streams)}
        return text
    problems = integrity.get("problems") or []
    if problems and not any("run 'peerlog verify'" in p for p in problems):
        return _("not yet proven: %(problems)s") % {"problems": "; ".join(problems)}
    return _("NOT VERIFIED: the stored record was altered; run 'peerlog verify'")


def digest_note() -> str:
    return _(DIGEST_NOTE)


def event_line(ref: str, behind: Behind, zone: ZoneInfo = UTC_ZONE) -> tuple[str, str, str]:
    """(reference, when it happened, what happened) of an event behind the evidence."""
    item = behind.get(ref)
    if item is None:
        return ref, "", ""
    what = str(item["summary"])
    if item.get("changed_by"):
        what += "; " + "; ".join(
            _("%(kind)s at %(event)s")
            % {"kind": CHANGE_KINDS.get(c["kind"], c["kind"]), "event": c["event"]}
            for c in item["changed_by"]
        )
    return ref, when(item["occurred_at"], zone=zone), what


def texts_of(ref: str, behind: Behind) -> list[tuple[str, str]]:
    """(label in words, text) of each text of an event behind the evidence."""
    item = behind.get(ref)
    texts = item.get("texts", {}) if item is not None else {}
    return [(TEXT_LABELS.get(label, label), value) for label, value in texts.items()]


def withheld_of(ref: str, behind: Behind) -> str:
    """The labels of the texts of an event the reader does not read, in words."""
    item = behind.get(ref) or {}
    return ", ".join(TEXT_LABELS.get(label, label) for label in item.get("withheld") or ())


def title(report: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    return _("Audit of %(student)s in course %(course)s") % {
        "student": named(report["student_id"], names or {}),
        "course": report["course_id"],
    }


def as_of_line(report: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> str:
    return _("As of: %(as_of)s; pass level: %(level)s") % {
        "as_of": as_of_words(report, zone),
        "level": report["pass_level"],
    }


def render_text(
    report: Mapping[str, Any], behind: Behind, names: Names, zone: ZoneInfo = UTC_ZONE
) -> str:
    lines = [
        title(report, names),
        as_of_line(report, zone),
        _("Times in %(zone)s.") % {"zone": zone_words(zone)},
        counts_words(report),
    ]
    for goal in report["goals"]:
        lines += [
            "",
            f"{goal['goal_id']}: {goal.get('title', '')}",
            "  " + _("status: %(status)s") % {"status": status_words(goal)},
            "  " + _("evidence: %(evidence)s") % {"evidence": evidence_words(goal)},
        ]
        if goal["events"]:
            lines.append("  " + _("events:"))
            told = [event_line(e, behind, zone) for e in goal["events"]]
            width = max(len(moment) for _ref, moment, _what in told)
            for ref, moment, what in told:
                lines.append(f"    {ref:<14} {moment:<{width}}  {what}".rstrip())
    if names:
        lines += ["", _("People:")]
        lines += [f"  {person}: {name}" for person, name in sorted(names.items())]
    lines += [
        "",
        _("Integrity: %(integrity)s") % {"integrity": integrity_words(report)},
        _("Digest: %(digest)s") % {"digest": report["integrity"]["digest"]},
        digest_note(),
    ]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    report: Mapping[str, Any], behind: Behind, names: Names, zone: ZoneInfo = UTC_ZONE
) -> str:
    lines = [
        f"# {_md(title(report, names))}",
        "",
        _("As of: %(as_of)s; pass level: %(level)s")
        % {
            "as_of": as_of_words(report, zone),
            "level": f"**{report['pass_level']}**",
        }
        + ".  ",
        f"{counts_words(report)}.",
        "",
        f"| {_('goal')} | {_('status')} | " + " | ".join(EVIDENCE_LABELS.values()) + " |",
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
            _("Status: %(status)s. Evidence: %(evidence)s.")
            % {"status": f"**{status_words(goal)}**", "evidence": evidence_words(goal)},
        ]
        if goal["events"]:
            head = (
                _("event"),
                _("occurred (%(zone)s)") % {"zone": zone_words(zone)},
                _("what happened"),
            )
            lines += ["", "| {} | {} | {} |".format(*head), "|---|---|---|"]
            for ref in goal["events"]:
                _ref, moment, what = event_line(ref, behind, zone)
                said = "".join(
                    f"<br>{_md(label)}: “{_md(value)}”" for label, value in texts_of(ref, behind)
                )
                lines.append(f"| `{ref}` | {moment} | {_md(what)}{said} |")
    if names:
        lines += ["", f"## {_('People')}", ""]
        lines += [f"- {_md(person)}: {_md(name)}" for person, name in sorted(names.items())]
    lines += [
        "",
        f"## {_('Integrity')}",
        "",
        f"{integrity_words(report)}.  ",
        _("Digest: %(digest)s") % {"digest": f"`{report['integrity']['digest']}`"},
        "",
        digest_note(),
    ]
    return "\n".join(lines)


_env = Environment(
    loader=PackageLoader("peerlog.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
i18n.install(_env)


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
        "digest_note": digest_note(),
        "title": title(report, names),
        "event_line": partial(event_line, zone=zone),
        "texts_of": texts_of,
        "withheld_of": withheld_of,
        "assessment_labels": ASSESSMENT_LABELS,
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
