"""The audit in Swedish, Danish and English, in every format: no English message left in
the Swedish and Danish reports, counts in the language's plural forms, and the language
taken from --lang, PEERLOG_LANGUAGE or the locale."""

from __future__ import annotations

import inspect
import json
import re
import zlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from peerlog import i18n
from peerlog.cli import cli
from peerlog.cli import help as help_texts
from peerlog.persistence.config import default_sqlite_path
from tests.cli.conftest import Cli
from tests.cli.test_audit_reports import FEELINGS, STRENGTHS
from tests.cli.test_audit_reports import placement as placement  # noqa: PLC0414 - the fixture
from tests.cli.test_help import COMMANDS
from tests.i18n import catalog, english_left, forms, record_texts, shown_text
from tests.support import Placement

DATA = (
    "Clinical placement",
    "Basic hygiene",
    "Saga Lind",
    "Noah Berg",
    "Eva Holm",
    STRENGTHS,
    FEELINGS,
)
"""The record's own texts: the same in every language."""

TITLES = {
    "en": "Audit of Saga Lind (s1) in course vfu-1",
    "sv": "Granskning av Saga Lind (s1) i kursen vfu-1",
    "da": "Gennemgang af Saga Lind (s1) på kurset vfu-1",
}


def _audit(peerlog: Cli, language: str, fmt: str) -> str:
    return peerlog.ok("--lang", language, "audit", "s1", "--course", "vfu-1", "--format", fmt)


@pytest.mark.parametrize("language", ["sv", "da"])
def test_every_audit_format_is_in_the_language_chosen(
    peerlog: Cli, placement: Placement, language: str
) -> None:
    data = record_texts(placement.app, ["course/vfu-1", "pair/p1"])
    assert STRENGTHS in data
    text = _audit(peerlog, language, "text")
    md = _audit(peerlog, language, "md")
    html = _audit(peerlog, language, "html")
    for report in (text, md, shown_text(html)):
        assert not english_left(report, language, data), report
    assert text.splitlines()[0] == TITLES[language]
    assert md.startswith(f"# {TITLES[language]}\n")
    assert f"<title>{TITLES[language]}</title>" in html
    assert f'<html lang="{language}">' in html
    # The record's texts are shown as written, labelled in the language.
    said = {"sv": "känslor", "da": "følelser"}[language]
    assert f"{said}: “{FEELINGS}”" in md
    # The JSON is the same whatever the language.
    translated = json.loads(_audit(peerlog, language, "json"))
    english = json.loads(_audit(peerlog, "en", "json"))
    # The same audit, made a moment later: only its time and so its digest differ.
    for report in (translated, english):
        assert report.pop("as_of")
        assert report["integrity"].pop("digest")
    assert translated == english


def test_the_english_audit_reads_as_before(peerlog: Cli, placement: Placement) -> None:
    del placement
    md = _audit(peerlog, "en", "md")
    assert md.startswith(f"# {TITLES['en']}\n")
    assert "1 goal: evidenced 1." in md
    assert "| goal | status | performed | observed | feedback received |" in md


def test_a_pdf_in_each_language(peerlog: Cli, placement: Placement, tmp_path: Path) -> None:
    del placement
    for language in ("sv", "da", "en"):
        out = tmp_path / f"{language}.pdf"
        peerlog.ok(
            "--lang",
            language,
            "audit",
            "s1",
            "--course",
            "vfu-1",
            "--format",
            "pdf",
            "-o",
            str(out),
        )
        data = out.read_bytes()
        assert data.startswith(b"%PDF-")
        # The PDF names its language and its title (the report's, in that language).
        objects = _pdf_objects(data)
        assert f"/Lang ({language})".encode() in objects
        assert _pdf_title(objects) == TITLES[language]


def _pdf_objects(data: bytes) -> bytes:
    """The PDF's objects, its compressed streams inflated (WeasyPrint packs the catalog
    and the document information into them)."""
    out = [data]
    for found in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            out.append(zlib.decompress(found.group(1)))
        except zlib.error:
            continue
    return b"\n".join(out)


def _pdf_title(data: bytes) -> str:
    found = re.search(rb"/Title\s*(<[0-9A-Fa-f]+>|\((?:[^()\\]|\\.)*\))", data)
    assert found, "the PDF has no title"
    raw = found.group(1)
    if raw.startswith(b"<"):
        decoded = bytes.fromhex(raw[1:-1].decode())
        return (
            decoded.decode("utf-16")
            if decoded.startswith(b"\xfe\xff")
            else decoded.decode("latin-1")
        )
    return re.sub(rb"\\(.)", rb"\1", raw[1:-1]).decode("latin-1")


def test_counts_in_the_plural_forms_of_the_language(peerlog: Cli, placement: Placement) -> None:
    placement.run(
        "add_goal",
        "coord",
        course_id="vfu-1",
        goal_id="meds",
        title="Medication",
        occurred_at="2026-03-03T08:00:00+00:00",
    )
    two = {"en": "2 goals:", "sv": "2 mål:", "da": "2 læringsmål:"}
    for language, words in two.items():
        assert words in _audit(peerlog, language, "text"), language
    with i18n.speaking("en"):
        from peerlog.web.audit_report import counts_words

        goals = [{"status": "met", "retired": False}, {"status": "met", "retired": True}]
        assert counts_words({"goals": goals[1:]}) == "0 goals: none (and 1 retired)"
        assert counts_words({"goals": goals}) == "1 goal: met 1 (and 1 retired)"
        assert counts_words({"goals": [*goals, *goals]}) == "2 goals: met 2 (and 2 retired)"
    with i18n.speaking("sv"):
        assert counts_words({"goals": goals[1:]}) == "0 mål: inga (och 1 avvecklat)"
        assert counts_words({"goals": [*goals, *goals]}) == "2 mål: uppnått 2 (och 2 avvecklade)"


def test_the_language_from_the_environment_and_the_locale(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    args = ("audit", "s1", "--course", "vfu-1", "--format", "md")
    peerlog.env["PEERLOG_LANGUAGE"] = "da"
    assert peerlog.ok(*args).startswith(f"# {TITLES['da']}")
    # --lang wins over the environment.
    assert peerlog.ok("--lang", "sv", *args).startswith(f"# {TITLES['sv']}")
    del peerlog.env["PEERLOG_LANGUAGE"]
    peerlog.env.update({"PEERLOG_LANGUAGE": "", "LC_ALL": "", "LANG": "sv_SE.UTF-8"})
    assert peerlog.ok(*args).startswith(f"# {TITLES['sv']}")
    # A --lang peerlog does not speak is refused in the locale's language.
    bad = peerlog("--lang", "de", *args)
    assert bad.exit_code == 2
    assert "Fel: Ogiltigt värde för '--lang': 'de' är inte något av 'sv', 'da', 'en'." in (
        bad.stderr
    )
    peerlog.env["LANG"] = "C.UTF-8"
    bad = peerlog("--lang", "de", *args)
    assert "Error: Invalid value for '--lang': 'de' is not one of 'sv', 'da', 'en'." in (bad.stderr)


def test_a_rejected_command_is_explained_in_the_language(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    args = ("record", "record_step", "pair_id=p1", "session_id=nope", "step_id=x1",
            "kind=performance", "performers=s1", "observers=s2", "goals=hygiene", "--actor", "s1")  # fmt: skip
    said = {}
    for language in ("en", "sv", "da"):
        result = peerlog("--lang", language, *args)
        assert result.exit_code == 1
        said[language] = result.stderr.strip()
    assert said == {
        "en": "Error: record_step rejected: session_id: pair p1 has no session 'nope'; "
        "open it with open_session [unknown_session]",
        "sv": "Fel: record_step avvisades: session_id: paret p1 har inget pass 'nope'; "
        "öppna det med open_session [unknown_session]",
        "da": "Fejl: record_step blev afvist: session_id: parret p1 har ingen vagt 'nope'; "
        "åbn den med open_session [unknown_session]",
    }


def test_the_dashboard_counts_pairs_in_the_plural_forms_of_the_language() -> None:
    from datetime import UTC, datetime

    from peerlog.cli.dashboard import render
    from peerlog.projections import Thresholds
    from peerlog.projections.local_time import UTC_ZONE

    now = datetime(2026, 4, 24, 18, tzinfo=UTC)
    headings = {}
    for language in ("en", "sv", "da"):
        with i18n.speaking(language):
            page = render([], now, 5, 7, Thresholds(), names={}, zones={}, zone=UTC_ZONE)
        headings[language] = page.splitlines()[:2]
    assert headings == {
        "en": [
            "Supervisor overview at 2026-04-24 18:00 UTC: 0 pairs, 0 need attention.",
            "Read models at position 5 of 7: 2 events behind.",
        ],
        "sv": [
            "Handledaröversikt 2026-04-24 18:00 UTC: 0 par, 0 behöver uppmärksamhet.",
            "Läsmodellerna vid position 5 av 7: 2 händelser efter.",
        ],
        "da": [
            "Vejlederoverblik 24.04.2026 18.00 UTC: 0 par, 0 kræver opmærksomhed.",
            "Læsemodellerne ved position 5 af 7: 2 hændelser bagud.",
        ],
    }
    for language, (one, two) in {
        "en": ("1 needs attention", "2 need attention"),
        "sv": ("1 behöver uppmärksamhet", "2 behöver uppmärksamhet"),
        "da": ("1 kræver opmærksomhed", "2 kræver opmærksomhed"),
    }.items():
        with i18n.speaking(language):
            words = [
                i18n.ngettext("%(count)s needs attention", "%(count)s need attention", n)
                % {"count": n}
                for n in (1, 2)
            ]
        assert words == [one, two]


@pytest.mark.parametrize("language", ["sv", "da"])
def test_the_replay_in_the_language(peerlog: Cli, placement: Placement, language: str) -> None:
    data = record_texts(placement.app, ["course/vfu-1", "pair/p1"])
    out = peerlog.ok("--lang", language, "replay", "p1")
    assert not english_left(out, language, data), out
    heading = {"sv": "Par p1 (kurs vfu-1): ", "da": "Par p1 (kursus vfu-1): "}[language]
    assert out.startswith(heading)


def _option_messages(text: str, translations: dict[str, str]) -> set[str]:
    """An option's help as a message, or, where a default is added to one, both."""
    if text in translations:
        return {text}
    # What is not written in the code (the default file's path) is no message.
    return set(re.split(r" +(?=\[default: )", text)) - {f"[default: the SQLite file {DB}]"}


def _help_messages(
    command: click.Command, ctx: click.Context, translations: dict[str, str]
) -> set[str]:
    """The messages a command's help is written with: its help, paragraph by paragraph,
    its options' help (without what click adds in brackets), its subcommands' short
    help, and click's own words."""
    found = set(help_texts.CLICK_TEXTS)
    if command.help:
        found |= set(help_texts.paragraphs(inspect.cleandoc(command.help).partition("\f")[0]))
    if command.epilog:
        found |= set(help_texts.paragraphs(inspect.cleandoc(command.epilog)))
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        text = getattr(param, "help", None)
        if record is not None and text:
            # What is not written in the code (the default file's path) is no message.
            found |= _option_messages(str(text), translations)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found.add(sub.get_short_help_str(10_000))
    return {message for message in found if message.strip()}


DB = default_sqlite_path()


def _flat(text: str) -> str:
    """A help as words, without click's wrapping (which breaks lines after a hyphen)."""
    return " ".join(re.sub(r"(?<=\w)-\n\s+", "-", text).split())


@pytest.mark.parametrize("language", ["sv", "da"])
@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "peerlog")
def test_every_help_is_in_the_language_chosen(language: str, path: tuple[str, ...]) -> None:
    command: click.Command = cli
    ctx = click.Context(cli, **cli.context_settings)
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, name)
        assert found is not None
        command, ctx = found, click.Context(found, parent=ctx)
    translations = {forms(m.id)[0]: forms(m.string)[0] for m in catalog(language) if m.id}
    messages = _help_messages(command, ctx, translations)
    assert len(messages) > len(help_texts.CLICK_TEXTS)
    untranslated = sorted(m for m in messages if not translations.get(m))
    assert not untranslated, f"{language}: run 'make messages' and translate {untranslated}"
    result = CliRunner().invoke(cli, ["--lang", language, *path, "--help"], env=_NO_LOCALE)
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)
    for message in messages:
        if translations[message] != message:
            assert _flat(message) not in shown, (language, message)
            assert _flat(translations[message]) in shown or message in help_texts.CLICK_TEXTS
    # The examples' command lines are kept as written.
    if command.help and "Example:" in command.help:
        assert {"sv": "Exempel:", "da": "Eksempel:"}[language] in result.output
        first = command.help.split("Example:\n", 1)[1].splitlines()[0].strip()
        assert first in result.output


_NO_LOCALE = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, "PEERLOG_LANGUAGE": None}


@pytest.mark.parametrize(
    ("env", "heading"),
    [
        ({"PEERLOG_LANGUAGE": "sv"}, "Kommandon:"),
        ({"LANG": "da_DK.UTF-8"}, "Kommandoer:"),
        ({"LANG": "C.UTF-8"}, "Commands:"),
    ],
)
def test_the_help_takes_its_language_from_the_environment(
    env: dict[str, str], heading: str
) -> None:
    for args in (["--help"], ["audit", "--help"], ["checkpoint", "--help"]):
        result = CliRunner().invoke(cli, args, env={**_NO_LOCALE, **env})
        assert result.exit_code == 0, result.output
        if args == ["--help"]:
            assert f"\n{heading}\n" in result.output
    # --lang before the command wins over the environment.
    english = CliRunner().invoke(
        cli, ["--lang", "en", "balance", "--help"], env={**_NO_LOCALE, **env}
    )
    assert "How evenly a pair's members take part" in english.output


def test_the_listings_speak_the_language_chosen(peerlog: Cli, placement: Placement) -> None:
    del placement
    courses = peerlog.ok("--lang", "sv", "courses")
    assert courses.splitlines()[0].split() == [
        "kurs", "titel", "datum", "tidszon", "mål", "studenter", "par",
    ]  # fmt: skip
    goals = peerlog.ok("--lang", "da", "goals", "vfu-1")
    assert goals.startswith("Mål i kurset vfu-1, ")
    pairs = peerlog.ok("--lang", "da", "pairs")
    assert pairs.splitlines()[0].split() == ["par", "kursus", "studerende", "vejledere", "enhed"]
    missing = peerlog("--lang", "sv", "pairs", "--course", "vfu-9")
    assert missing.exit_code == 1
    assert "kursen 'vfu-9' finns inte i registret" in missing.output
    # JSON stays the same in every language.
    assert peerlog.ok("--lang", "sv", "pairs", "--format", "json") == peerlog.ok(
        "--lang", "en", "pairs", "--format", "json"
    )


def _help(language: str, *command: str) -> str:
    from click.testing import CliRunner

    from peerlog.cli import cli

    args = ["--lang", language, *command, "--help"]
    result = CliRunner().invoke(cli, args, prog_name="peerlog", env={})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _walk_commands() -> list[tuple[str, ...]]:
    import click

    from peerlog.cli import cli

    found: list[tuple[str, ...]] = [()]
    ctx = click.Context(cli, **cli.context_settings)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        found.append((name,))
        if isinstance(command, click.Group):
            found += [(name, sub) for sub in command.list_commands(ctx)]
    return found


@pytest.mark.parametrize("language", ["sv", "da"])
def test_no_message_of_the_catalogs_left_in_english_in_the_help(language: str) -> None:
    from tests.i18n import catalog, forms

    english = [
        " ".join(msgid.split())
        for message in catalog(language)
        if message.id
        for msgid in forms(message.id)
        # Whole sentences: a single word ("checkpoint") is also a command name.
        if " " in msgid.strip() and msgid not in forms(message.string)
    ]
    assert "Show this message and exit." in english
    left = [msgid for msgid in english if msgid in _help(language)]
    assert not left, left
    # Every command's help: click's words and headings in the language.
    usage, heading, help_option = {
        "sv": ("Användning: peerlog", "Alternativ:", "Visa den här hjälpen och avsluta."),
        "da": ("Brug: peerlog", "Indstillinger:", "Vis denne hjælp og afslut."),
    }[language]
    for command in _walk_commands():
        shown = _help(language, *command)
        assert shown.startswith(usage), (command, shown)
        assert heading in shown, (command, shown)
        assert help_option in shown, (command, shown)
        assert "Show this message and exit." not in shown, command


def test_the_main_help_in_each_language() -> None:
    words = {
        "sv": ("Användning: peerlog", "Kommandon:", "Visa den här hjälpen och avsluta."),
        "da": ("Brug: peerlog", "Kommandoer:", "Vis denne hjælp og afslut."),
        "en": ("Usage: peerlog", "Commands:", "Show this message and exit."),
    }
    for language, expected in words.items():
        shown = _help(language)
        for word in expected:
            assert word in shown, (language, word)
    assert "Registrets kurser: id, rubriker, datum, tidszoner." in _help("sv")
    # The environment names the language too, before click writes the help.
    from click.testing import CliRunner

    from peerlog.cli import cli

    result = CliRunner().invoke(
        cli, ["--help"], prog_name="peerlog", env={"PEERLOG_LANGUAGE": "da"}
    )
    assert "Vis denne hjælp og afslut." in " ".join(result.output.split())


def test_a_time_that_is_none_is_told_in_the_language(peerlog: Cli) -> None:
    said = {
        "sv": "'igår' är ingen tidpunkt",
        "da": "'igår' er ikke et tidspunkt",
        "en": "'igår' is not a time",
    }
    for language, words in said.items():
        result = peerlog("--lang", language, "replay", "p1", "--as-of", "igår")
        assert result.exit_code == 2, result.output
        assert words in result.output, (language, result.output)


RECORDED = {
    "en": "recorded add_goal goal-en: course/vfu-1@{v} (position {p})",
    "sv": "registrerade add_goal goal-sv: course/vfu-1@{v} (position {p})",
    "da": "registrerede add_goal goal-da: course/vfu-1@{v} (position {p})",
}
AGAIN = {
    "en": "already recorded: add_goal goal-en (course/vfu-1@{v} (position {p})); nothing new",
    "sv": "redan registrerat: add_goal goal-sv (course/vfu-1@{v} (position {p})); inget nytt",
    "da": "allerede registreret: add_goal goal-da (course/vfu-1@{v} (position {p})); intet nyt",
}


@pytest.mark.parametrize("language", ["en", "sv", "da"])
def test_a_recorded_command_is_told_in_the_language(
    peerlog: Cli, placement: Placement, language: str
) -> None:
    args = ("record", "add_goal", "course_id=vfu-1", f"goal_id=g-{language}", "title=Teamwork",
            "occurred_at=2026-03-03T08:00:00+00:00", "--actor", "coord", "--id", f"goal-{language}")  # fmt: skip
    said = peerlog.ok("--lang", language, *args).strip()
    position = placement.app.store.max_notification_id()
    version = len(list(placement.app.records("course/vfu-1")))
    assert said == RECORDED[language].format(v=version, p=position)
    again = peerlog.ok("--lang", language, *args).strip()
    assert again == AGAIN[language].format(v=version, p=position)


def test_an_unknown_pair_is_hinted_at_in_the_language(peerlog: Cli, placement: Placement) -> None:
    del placement
    args = ("record", "record_step", "pair_id=p11", "session_id=d1", "step_id=x1",
            "kind=performance", "performers=s1", "observers=s2", "goals=hygiene", "--actor", "s1")  # fmt: skip
    said = {}
    for language in ("en", "sv", "da"):
        result = peerlog("--lang", language, *args)
        assert result.exit_code == 1
        said[language] = result.stderr
    assert said["en"].endswith("[unknown_pair] Did you mean p1? The pairs are: p1.\n")
    assert said["sv"].endswith("[unknown_pair] Menade du p1? Det finns dessa par: p1.\n")
    assert said["da"].endswith("[unknown_pair] Mente du p1? Der er disse par: p1.\n")


def test_verify_says_in_the_language_that_the_record_is_intact(
    peerlog: Cli, placement: Placement
) -> None:
    events = placement.app.store.max_notification_id()
    said = {language: peerlog.ok("--lang", language, "verify") for language in ("en", "sv", "da")}
    first = {language: text.splitlines()[0] for language, text in said.items()}
    assert first["en"] == (
        f"verified: {events} events in 2 streams, hash chains and command log intact"
    )
    assert first["sv"] == (
        f"verifierat: {events} händelser i 2 strömmar, hashkedjor och kommandologg intakta"
    )
    assert first["da"] == (
        f"verificeret: {events} hændelser i 2 strømme, hashkæder og kommandolog intakte"
    )
    digest = said["en"].splitlines()[1].removeprefix("digest: ")
    assert said["sv"].splitlines()[1] == f"kontrollsumma: {digest}"
    assert said["da"].splitlines()[1] == f"kontrolsum: {digest}"
    pair = peerlog.ok("--lang", "da", "verify", "--pair", "p1").splitlines()[0]
    assert re.fullmatch(r"verificeret: par p1: \d+ hændelser, hashkæden intakt", pair), pair


def test_an_import_is_summed_up_in_the_language(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    def step(step_id: str) -> str:
        command = placement.step(step_id, occurred_at="2026-03-02T09:00:00+00:00")
        return json.dumps(command | {"command_id": f"imp-{step_id}"})

    path = tmp_path / "day.jsonl"
    lines = [step("st7"), step("st8"), '{"command": "record_step", ', step("st7")]
    path.write_text("\n".join(lines) + "\n")
    dry = peerlog("--lang", "da", "import", "--dry-run", str(path))
    assert dry.exit_code == 1
    out = dry.stdout.splitlines()
    assert out[0] == f"{path} (prøvekørsel): 4 linjer: gyldige 3, afviste 1"
    assert out[1].startswith("linje 3: ")
    assert "Intet blev registreret." in dry.stdout
    result = peerlog("--lang", "sv", "import", str(path))
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0] == f"{path}: 4 rader: registrerade 2, redan registrerade 1, avvisade 1"
    assert out[1].startswith("rad 3: ")
    assert len(out) == 2
    one = tmp_path / "one.jsonl"
    one.write_text(step("st9") + "\n")
    assert peerlog.ok("--lang", "da", "import", str(one)) == (
        f"{one}: 1 linje: registrerede 1, allerede registrerede 0, afviste 0\n"
    )
    assert peerlog.ok("--lang", "en", "import", str(one)) == (
        f"{one}: 1 line: 0 recorded, 1 already recorded, 0 rejected\n"
    )
