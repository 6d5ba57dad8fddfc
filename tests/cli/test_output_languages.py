"""What the command line prints for people besides the audit and the replay, in Swedish
and Danish: a pair's balance, the replay's state lines, the courses' dates, the
projections' status, and the first line of the demo. Ratios are written as the language
writes decimals (``0,50``); JSON keeps its numbers; the English reads as before."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from peerlog.cli import cli
from tests.cli.conftest import Cli
from tests.cli.test_audit_reports import placement as placement  # noqa: PLC0414 - the fixture
from tests.i18n import TRANSLATED, english_left, record_texts
from tests.support import Placement

BALANCE_SAID = {
    "sv": (
        "Par p1, som registrerat t.o.m. ",
        (
            "student            utförare  observatör  gett återkoppling  fått återkoppling  "
            "reflektioner"
        ),
        "utförarbalans 0,00  (1,00 jämnt, 0,00 en medlem utför allt)",
        "återkopplingsbalans  0,00  (given kamratåterkoppling)",
    ),
    "da": (
        "Par p1, som registreret t.o.m. ",
        "studerende         udfører  observatør  givet feedback  modtaget feedback  refleksioner",
        "udførerbalance 0,00  (1,00 ligeligt, 0,00 ét medlem udfører det hele)",
        "feedbackbalance  0,00  (givet makkerfeedback)",
    ),
    "en": (
        "Pair p1, as recorded by ",
        "student            performer  observer  feedback given  feedback received  reflections",
        "performer balance 0.00  (1.00 even, 0.00 one member does all the performing)",
        "feedback balance  0.00  (peer feedback given)",
    ),
}


def _spaced(line: str) -> str:
    """A table's line with its columns one space apart (their widths follow the data)."""
    return re.sub(r" {2,}", "  ", line.strip())


@pytest.mark.parametrize("language", [*TRANSLATED, "en"])
def test_a_pair_s_balance_in_the_language(
    peerlog: Cli, placement: Placement, language: str
) -> None:
    out = peerlog.ok("--lang", language, "balance", "p1")
    lines = out.splitlines()
    heading, columns, performer, feedback = BALANCE_SAID[language]
    assert lines[0].startswith(heading), lines[0]
    assert _spaced(lines[2]) == _spaced(columns)
    assert lines[-2:] == [performer, feedback]
    if language != "en":
        data = record_texts(placement.app, ["course/vfu-1", "pair/p1"])
        assert not english_left(out, language, data), out
    # JSON is the same in every language, its ratios numbers.
    report = json.loads(peerlog.ok("--lang", language, "balance", "p1", "--format", "json"))
    english = json.loads(peerlog.ok("--lang", "en", "balance", "p1", "--format", "json"))
    assert report.pop("as_of")
    assert english.pop("as_of")
    assert report == english
    assert report["performer_balance"] == 0.0


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_replay_s_state_lines_in_the_language(
    peerlog: Cli, placement: Placement, language: str
) -> None:
    out = peerlog.ok("--lang", language, "replay", "p1", "--state")
    states = [
        line.strip() for line in out.splitlines() if line.strip().startswith(("läge:", "tilstand:"))
    ]
    assert states, out
    expected = {
        "sv": "läge: pass d1: s1 utförare, s2 observatör; utfört s1 1, s2 0 (balans 0,00); "
        "återkoppling given s1 0, s2 1 (balans 0,00)",
        "da": "tilstand: vagt d1: s1 udfører, s2 observatør; udført s1 1, s2 0 (balance 0,00); "
        "feedback givet s1 0, s2 1 (balance 0,00)",
    }[language]
    assert expected in states, states
    data = record_texts(placement.app, ["course/vfu-1", "pair/p1"])
    assert not english_left(out, language, data), out


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_courses_dates_and_the_projections_status_in_the_language(
    peerlog: Cli, placement: Placement, language: str
) -> None:
    courses = peerlog.ok("--lang", language, "courses")
    until = {"sv": "2026-03-02 till 2026-04-24", "da": "2026-03-02 til 2026-04-24"}[language]
    assert until in courses.splitlines()[1]
    status = peerlog.ok("--lang", language, "projections", "status")
    heading = {
        "sv": "projektion     position  senaste  efter  version  uppdaterad (UTC)",
        "da": "projektion     position  seneste  bagud  version  opdateret (UTC)",
    }[language]
    assert _spaced(status.splitlines()[0]) == _spaced(heading)
    assert "2026-03-02 to 2026-04-24" in peerlog.ok("--lang", "en", "courses").splitlines()[1]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_demo_s_first_line_and_its_next_steps_in_the_language(
    tmp_path: Path, language: str
) -> None:
    db = f"sqlite:///{tmp_path}/demo.sqlite3"
    env = {"PEERLOG_MASTER_KEY_FILE": str(tmp_path / "master.key")}
    result = CliRunner().invoke(
        cli, ["--lang", language, "--db", db, "demo", "--no-progress"], env=env
    )
    assert result.exit_code == 0, result.output
    first = {
        "sv": f"Skapade en VFU i {db}: 1 kurs, 6 par, 1\u00a0786 kommandon registrerade.",
        "da": f"Oprettede et praktikforløb i {db}: 1 kursus, 6 par, 1.786 kommandoer registreret.",
    }[language]
    lines = result.stdout.splitlines()
    assert lines[0] == first
    tried = {"sv": "Prova sedan:", "da": "Prøv derefter:"}[language]
    assert tried in lines
    assert (
        lines[-1]
        == {
            "sv": "Se docs/cli.md för alla kommandon.",
            "da": "Se docs/cli.md for alle kommandoer.",
        }[language]
    )
