"""Charts of the trends read model, drawn on the server as SVG by pygal.

Every chart is readable without colour: lines differ by dash and marker, bars carry
their values as labels, and the page gives each chart a text equivalent (a table
beside it, or a sentence), so the chart itself is hidden from screen readers. No
script is sent: pygal's tooltips load one from the web, and pygal writes the settings
for them into every chart as an inline script, which is taken out (the dashboard's
content security policy would refuse it anyway).
Values are drawn as pygal writes them (each point's ``<desc class="value">``), so a
test can read them back.

A chart is a pure function of its figures, and drawing one takes pygal milliseconds:
the last charts drawn are kept by their figures (and pair), so that a page fetched
again after an event elsewhere in the record draws only what changed.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pygal
from pygal.style import Style

from peerlog import i18n
from peerlog.i18n import _, ngettext, ratio

# pygal puts an import hook for its map plugins on sys.meta_path, of the old kind that
# Python 3.11 warns about on every import it is asked for; peerlog draws no maps.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

STYLE: Final = Style(
    background="white",
    plot_background="white",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#5c5c5c",
    # Dark blue, orange, dark grey, purple: apart also in grey.
    colors=("#1f4e9c", "#b35900", "#404040", "#6a3d9a", "#2d7a3a"),
    font_family="system-ui, sans-serif",
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    value_label_font_size=12,
)
KEPT: Final = 2048
"""How many pairs' charts (and sparklines) are kept drawn."""
THRESHOLD_DASH: Final = {"width": 2, "dasharray": "8,6"}
LINE: Final = {"width": 3}


def _decimal(value: float) -> str:
    """An axis label or a value as the language writes decimals (``0,6`` in Swedish)."""
    rounded = round(value, 4)
    return i18n.number(int(rounded) if float(rounded).is_integer() else rounded)


def _base(kind: type[pygal.graph.graph.Graph], title: str, **config: Any) -> Any:
    config.setdefault("value_formatter", _decimal)
    chart = kind(
        style=STYLE,
        js=[],
        width=720,
        height=300,
        margin=8,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        truncate_legend=-1,
        truncate_label=-1,
        x_label_rotation=0,
        show_minor_x_labels=True,
        disable_xml_declaration=True,
        **config,
    )
    chart.title = title
    return chart


SCRIPT: Final = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _render(chart: Any, **options: Any) -> str:
    svg: str = chart.render_sparkline(**options) if options else chart.render(is_unicode=True)
    return SCRIPT.sub("", svg)


def _short(week: str) -> str:
    """``2026-W10`` -> ``W10`` (the year is in the table beside the chart)."""
    return week.partition("-")[2] or week


def balance_by_week(weeks: Sequence[Mapping[str, Any]], threshold: float) -> str:
    """Performer balance per week as a line against the flag threshold; the weeks at
    whose end the pair was flagged marked with large dots."""
    chart = _base(pygal.Line, _("Performer balance per week"), range=(0, 1), dots_size=4)
    chart.x_labels = [_short(w["week"]) for w in weeks]
    chart.add(_("performer balance"), [w["performer_balance"] for w in weeks], stroke_style=LINE)
    chart.add(
        _("flag threshold %(threshold)s") % {"threshold": i18n.number(threshold)},
        [threshold] * len(weeks),
        stroke_style=THRESHOLD_DASH,
        dots_size=1,
    )
    chart.add(
        _("flagged week (large dot)"),
        [
            {"value": w["performer_balance"] or 0.0, "node": {"r": 7}} if w["flags"] else None
            for w in weeks
        ],
        stroke=False,
        dots_size=7,
        allow_interruptions=True,
    )
    return _render(chart)


def balance_by_session(sessions: Sequence[Mapping[str, Any]], threshold: float) -> str:
    """Performer balance in each session, in the order opened, against the threshold."""
    chart = _base(pygal.Line, _("Performer balance per session"), range=(0, 1), dots_size=4)
    chart.x_labels = [str(s["ordinal"] + 1) for s in sessions]
    chart.x_title = _("session, in the order opened")
    chart.show_minor_x_labels = len(sessions) <= 16
    chart.add(_("performer balance"), [s["performer_balance"] for s in sessions], stroke_style=LINE)
    chart.add(
        _("flag threshold %(threshold)s") % {"threshold": i18n.number(threshold)},
        [threshold] * len(sessions),
        stroke_style=THRESHOLD_DASH,
        dots_size=1,
    )
    return _render(chart)


def feedback_by_week(weeks: Sequence[Mapping[str, Any]], members: Sequence[str]) -> str:
    """Peer feedback each member gave, week by week, as bars labelled with their counts."""
    chart = _base(
        pygal.Bar, _("Peer feedback given per week"), print_values=True, print_zeroes=False
    )
    chart.x_labels = [_short(w["week"]) for w in weeks]
    for member in members:
        chart.add(
            _("given by %(member)s") % {"member": member},
            [w["members"][member]["peer_feedback_given"] for w in weeks],
        )
    return _render(chart)


def reflections_by_week(weeks: Sequence[Mapping[str, Any]]) -> str:
    """How complete the week's reflections were (share of Gibbs stages covered), as
    bars labelled with the percentage; weeks without reflections have no bar."""
    chart = _base(
        pygal.Bar,
        _("Reflection completeness per week"),
        range=(0, 1),
        print_values=True,
        value_formatter=lambda v: f"{v:.0%}",
    )
    chart.x_labels = [_short(w["week"]) for w in weeks]
    chart.add(_("Gibbs stages covered"), [w["reflection_completeness"] for w in weeks])
    return _render(chart)


def sparkline(pair_id: str, values: Sequence[float | None]) -> str:
    """A small line of a pair's weekly balances, for the overview (its numbers are
    beside it)."""
    return _sparkline(pair_id, tuple(values), i18n.language())


@functools.lru_cache(maxsize=KEPT)
def _sparkline(pair_id: str, values: tuple[float | None, ...], language: str) -> str:
    del pair_id, language  # one pair's chart per page; drawn in the current language
    chart = pygal.Line(
        style=STYLE, js=[], range=(0, 1), allow_interruptions=True, disable_xml_declaration=True
    )
    chart.add(_("performer balance"), list(values), stroke_style=LINE)
    return _render(chart, width=160, height=36, show_dots=True, dots_size=2, is_unicode=True)


def pair_charts(trend: Mapping[str, Any]) -> dict[str, str]:
    """The pair page's charts (SVG) and the sentence that sums them up."""
    return dict(_pair_charts(json.dumps(trend, sort_keys=True), i18n.language()))


def forget() -> None:
    """Draw every chart afresh (the benchmarks time a page drawn for the first time)."""
    _pair_charts.cache_clear()
    _sparkline.cache_clear()


@functools.lru_cache(maxsize=KEPT)
def _pair_charts(figures: str, language: str) -> tuple[tuple[str, str], ...]:
    """Drawn once for each pair's figures in each language (the current one)."""
    del language
    trend = json.loads(figures)
    weeks, sessions = trend["weeks"], trend["sessions"]
    threshold = trend["thresholds"]["performer_balance"]
    return (
        ("balance_week", balance_by_week(weeks, threshold)),
        ("balance_session", balance_by_session(sessions, threshold)),
        ("feedback", feedback_by_week(weeks, trend["members"])),
        ("reflections", reflections_by_week(weeks)),
        ("summary", summary(trend)),
    )


def summary(trend: Mapping[str, Any]) -> str:
    """What the pair's charts show, in a sentence or three (for screen readers, print,
    and a glance)."""
    weeks = trend["weeks"]
    threshold = trend["thresholds"]["performer_balance"]
    worked = [w for w in weeks if w["performer_balance"] is not None]
    below = [_short(w["week"]) for w in worked if w["performer_balance"] < threshold]
    flagged = [_short(w["week"]) for w in weeks if w["flags"]]
    values = {"weeks": len(weeks), "worked": len(worked), "threshold": i18n.number(threshold)}
    parts = [
        ngettext(
            "%(weeks)s week, %(worked)s with steps; performer balance below %(threshold)s in",
            "%(weeks)s weeks, %(worked)s with steps; performer balance below %(threshold)s in",
            len(weeks),
        )
        % values
        + f" {len(below)}"
        + (f" ({', '.join(below)})" if below else "")
        + "."
    ]
    parts.append(
        ngettext(
            "Flagged at the end of %(count)s week",
            "Flagged at the end of %(count)s weeks",
            len(flagged),
        )
        % {"count": len(flagged)}
        + (f": {', '.join(flagged)}." if flagged else ".")
    )
    given = {
        m: sum(w["members"][m]["peer_feedback_given"] for w in weeks) for m in trend["members"]
    }
    parts.append(
        _("Peer feedback given: %(given)s.")
        % {"given": ", ".join(f"{m} {n}" for m, n in given.items())}
    )
    reflected = [w for w in weeks if w["reflection_completeness"] is not None]
    if reflected:
        last = reflected[-1]
        parts.append(
            ngettext(
                "Reflections in %(count)s week; in %(week)s they covered %(share)s of the "
                "Gibbs stages.",
                "Reflections in %(count)s weeks; in %(week)s they covered %(share)s of the "
                "Gibbs stages.",
                len(reflected),
            )
            % {
                "count": len(reflected),
                "week": _short(last["week"]),
                "share": f"{last['reflection_completeness']:.0%}",
            }
        )
    else:
        parts.append(_("No reflections yet."))
    return " ".join(parts)


def sparkline_words(weekly: Sequence[Mapping[str, Any]]) -> str:
    """A sparkline's numbers in words: ``W10 0.50, W11 -, ...``."""
    return ", ".join(f"{_short(w['week'])} {ratio(w['performer_balance'])}" for w in weekly)
