"""``peerlog balance PAIR``: the contract's participation balance of a pair."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import click

from peerlog.cli.errors import Failed
from peerlog.cli.listing import require_pair
from peerlog.cli.output import echo_json, format_option, table, when
from peerlog.cli.replay import not_formed_yet
from peerlog.cli.session import Session, pass_session
from peerlog.cli.times import as_of_options, on_the_ward
from peerlog.i18n import N_, Labels, _, pgettext, ratio
from peerlog.projections import AsOf, NotInRecord, balance_report
from peerlog.projections.local_time import pair_zone
from peerlog.projections.names import Names, display_names, named
from peerlog.projections.participation import MEMBER_COUNTS


@click.command("balance", short_help="How evenly a pair's members take part.")
@click.argument("pair")
@as_of_options
@format_option("text", "json")
@pass_session
def balance_command(
    session: Session,
    *,
    pair: str,
    as_of: datetime | None,
    as_of_occurred: datetime | None,
    fmt: str,
) -> None:
    """How evenly a pair's members take part: counts per member and balances.

    A balance is 1 - G*, G* the normalised Gini coefficient of the members' counts:
    1.00 is even, 0.00 is one member doing everything. Retracted entries do not
    count; corrections are applied. --format json prints the contract's JSON.

    \b
    Example:
      peerlog balance p02
      peerlog balance p02 --as-of 2026-03-20 --format json
    """
    session.must_exist()
    source = session.record().events
    require_pair(source, pair)
    zone = pair_zone(source, pair)
    window = AsOf(on_the_ward(as_of, zone), on_the_ward(as_of_occurred, zone))
    try:
        report = balance_report(source, pair, window)
    except NotInRecord:
        raise Failed(not_formed_yet(source, pair, window, zone)) from None
    if fmt == "json":
        echo_json(report)
        return
    click.echo(render(report, display_names(source), zone))


def render(report: dict[str, Any], names: Names, zone: ZoneInfo) -> str:
    recorded = when(datetime.fromisoformat(report["as_of"]), zone=zone)
    as_of = _("as recorded by %(when)s") % {"when": recorded}
    if "as_of_occurred" in report:
        occurred = when(datetime.fromisoformat(report["as_of_occurred"]), zone=zone)
        as_of += ", " + _("what had happened by %(when)s") % {"when": occurred}
    rows = [
        [named(member, names), *(counts[key] for key in MEMBER_COUNTS)]
        for member, counts in report["members"].items()
    ]
    header = [pgettext("column", "student"), *(COUNT_HEADINGS[key] for key in MEMBER_COUNTS)]
    values = {"even": ratio(1.0), "none": ratio(0.0)}
    return "\n".join(
        [
            _("Pair %(pair)s, %(as_of)s") % {"pair": report["pair_id"], "as_of": as_of},
            "",
            table(rows, header),
            "",
            _(
                "performer balance %(balance)s  (%(even)s even, %(none)s one member does "
                "all the performing)"
            )
            % {"balance": ratio(report["performer_balance"]), **values},
            _("feedback balance  %(balance)s  (peer feedback given)")
            % {"balance": ratio(report["feedback_balance"])},
        ]
    )


COUNT_HEADINGS: Final = Labels(
    {
        "performer": N_("performer"),
        "observer": N_("observer"),
        "feedback_given": N_("feedback given"),
        "feedback_received": N_("feedback received"),
        "reflections": N_("reflections"),
    }
)
"""The headings of the members' counts."""
