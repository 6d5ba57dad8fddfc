"""``peerlog courses``, ``peerlog goals COURSE``, ``peerlog pairs``: what is in the record,
so that nobody has to guess an id; and the answer to an id that is not there."""

from __future__ import annotations

from typing import Any

import click

from peerlog.cli.errors import Failed
from peerlog.cli.output import echo_json, format_option, table
from peerlog.cli.session import Session, pass_session
from peerlog.domain.course import Course
from peerlog.domain.suggest import suggestion
from peerlog.i18n import _, lazy, pgettext, shown
from peerlog.projections import directory
from peerlog.projections.local_time import course_zone, local_when, zone_words
from peerlog.projections.names import all_named, display_names
from peerlog.projections.source import EventSource

COURSES = lazy("courses")
"""The courses, as a hint after an unknown one names them."""
PAIRS = lazy("pairs")


def require_course(source: EventSource, course_id: str) -> Course:
    """The course, or a message naming the courses there are."""
    found = directory.course(source, course_id)
    if found is None:
        hint = suggestion(course_id, directory.course_ids(source), COURSES, "peerlog courses")
        raise Failed(
            _("course '%(course_id)s' is not in the record") % {"course_id": course_id}
            + f". {shown(hint)}"
        )
    return found


def require_pair(source: EventSource, pair_id: str) -> None:
    """Nothing if the record holds the pair, else a message naming the pairs there are."""
    if source.records(f"pair/{pair_id}", limit=1):
        return
    known = [p.pair_id for p in directory.pairs(source)]
    hint = suggestion(pair_id, known, PAIRS, "peerlog pairs")
    raise Failed(
        _("pair '%(pair_id)s' is not in the record") % {"pair_id": pair_id} + f". {shown(hint)}"
    )


def require_student(course: Course, student_id: str) -> None:
    if student_id in course.students:
        return
    hint = suggestion(
        student_id,
        course.students,
        lazy("students of course %(course)s", course=course.course_id),
        f"peerlog pairs --course {course.course_id}",
    )
    raise Failed(
        _("'%(student_id)s' is not a student of course %(course_id)s")
        % {"student_id": student_id, "course_id": course.course_id}
        + f". {shown(hint)}"
    )


@click.command("courses", short_help="The record's courses: ids, titles, dates, time zones.")
@format_option("text", "json")
@pass_session
def courses_command(session: Session, *, fmt: str) -> None:
    """The courses in the record: each one's id, title, dates, time zone and how many
    goals, students and pairs it has.

    \b
    Example:
      peerlog courses
    """
    session.must_exist()
    source = session.record().events
    found = directory.courses(source)
    pairs = directory.pairs(source)
    rows = []
    data = []
    for c in found:
        active = [g for g in c.goals.values() if g.retired_at is None]
        in_course = [p for p in pairs if p.course_id == c.course_id]
        zone = course_zone(source, c.course_id)
        rows.append(
            [
                c.course_id,
                c.title,
                _("%(starts_on)s to %(ends_on)s")
                % {"starts_on": c.starts_on, "ends_on": c.ends_on},
                zone_words(zone),
                len(active),
                len(c.students),
                len(in_course),
            ]
        )
        data.append(
            {
                "course_id": c.course_id,
                "title": c.title,
                "starts_on": c.starts_on.isoformat(),
                "ends_on": c.ends_on.isoformat(),
                "time_zone": zone.key,
                "goals": len(active),
                "students": len(c.students),
                "pairs": len(in_course),
            }
        )
    if fmt == "json":
        echo_json(data)
        return
    if not rows:
        click.echo(_("The record holds no courses yet; 'peerlog demo' makes a demo placement."))
        return
    header = [
        pgettext("column", "course"),
        pgettext("column", "title"),
        pgettext("column", "dates"),
        pgettext("column", "time zone"),
        pgettext("column", "goals"),
        pgettext("column", "students"),
        pgettext("column", "pairs"),
    ]
    click.echo(table(rows, header))


@click.command("goals", short_help="A course's goals, their ids and titles.")
@click.argument("course")
@click.option("--all", "include_retired", is_flag=True, help="Include retired goals.")
@format_option("text", "json")
@pass_session
def goals_command(session: Session, *, course: str, include_retired: bool, fmt: str) -> None:
    """The goals of COURSE: the ids to give in goals=... and goal_id=..., their areas
    and titles (retired goals with --all).

    \b
    Example:
      peerlog goals vfu-1
    """
    session.must_exist()
    source = session.record().events
    found = require_course(source, course)
    zone = course_zone(source, course)
    goals = [g for g in found.goals.values() if include_retired or g.retired_at is None]
    if fmt == "json":
        echo_json(
            [
                {
                    "goal_id": g.goal_id,
                    "area": g.area,
                    "title": g.title,
                    "retired_at": g.retired_at.isoformat() if g.retired_at else None,
                }
                for g in goals
            ]
        )
        return
    rows: list[list[Any]] = []
    for g in goals:
        title = g.title
        if g.retired_at is not None:
            title += " " + _("(retired %(when)s)") % {"when": local_when(g.retired_at, zone)}
        rows.append([g.goal_id, g.area, title])
    click.echo(
        _("Goals of course %(course_id)s, %(title)s:")
        % {"course_id": found.course_id, "title": found.title}
    )
    click.echo(
        table(
            rows,
            [pgettext("column", "goal"), pgettext("column", "area"), pgettext("column", "title")],
        )
    )


@click.command("pairs", short_help="The record's pairs, their students and supervisors.")
@click.option("--course", metavar="COURSE", help="Only this course's pairs.")
@click.option("--all", "include_dissolved", is_flag=True, help="Include dissolved pairs.")
@format_option("text", "json")
@pass_session
def pairs_command(
    session: Session, *, course: str | None, include_dissolved: bool, fmt: str
) -> None:
    """The pairs in the record (of one course with --course): each one's students and
    supervisors, by name where the record has one, and its unit.

    \b
    Example:
      peerlog pairs
      peerlog pairs --course vfu-1 --format json
    """
    session.must_exist()
    source = session.record().events
    if course is not None:
        require_course(source, course)
    found = [p for p in directory.pairs(source, course) if include_dissolved or p.active]
    names = display_names(source, {p.course_id for p in found})
    if fmt == "json":
        echo_json(
            [
                {
                    **p.as_dict(),
                    "names": {
                        person: names[person]
                        for person in (*p.students, *p.supervisors)
                        if person in names
                    },
                }
                for p in found
            ]
        )
        return
    if not found:
        click.echo(_("No pairs to show."))
        return
    rows = [
        [
            p.pair_id if p.active else _("%(pair_id)s (dissolved)") % {"pair_id": p.pair_id},
            p.course_id,
            all_named(p.students, names),
            all_named(p.supervisors, names),
            p.unit,
        ]
        for p in found
    ]
    header = [
        pgettext("column", "pair"),
        pgettext("column", "course"),
        pgettext("column", "students"),
        pgettext("column", "supervisors"),
        pgettext("column", "unit"),
    ]
    click.echo(table(rows, header))
