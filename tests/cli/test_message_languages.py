"""What the command line says besides its reports, in Swedish and Danish: click's own
words (``Error:``, ``Usage:``, ``[default: …]``, ``[required]``, its messages about the
arguments), the errors of the signed notes, checkpoints, witnesses, tokens and the xAPI
forwarder, what ``peerlog verify`` finds, and ``peerlog record --fields``. No English
message of the catalogs is left in them, JSON is the same in every language, and the
English reads as before."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from babel.messages.extract import extract_python
from click.testing import CliRunner, Result

from peerlog import i18n
from peerlog.cli import cli, click_texts
from peerlog.cli.fields import _NESTED, MODELS, _unwrap
from peerlog.persistence.config import default_sqlite_path
from tests.cli.conftest import Cli
from tests.cli.test_verify_against import Published, recompute_chains
from tests.cli.test_verify_against import published as published  # noqa: PLC0414 - the fixture
from tests.conftest import Store
from tests.i18n import TRANSLATED, catalog, english_left, forms

BRACES = re.compile(r"\{\w*(?:![rs])?\}")
NO_LOCALE = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, "PEERLOG_LANGUAGE": None}
ENGLISH_LABELS = ("Error:", "Usage:", "Try '", "[default: ", "[env var: ", "[required]")


def _click_messages() -> set[str]:
    """Every message click's modules look up (their first form), read from click's source."""
    found: set[str] = set()
    keywords = {"_": None, "ngettext": (1, 2)}
    for name in click_texts.MODULES:
        module = __import__(name, fromlist=["_"])
        assert module.__file__ is not None
        with Path(module.__file__).open("rb") as source:
            for _line, _func, message, _comments in extract_python(source, keywords, [], {}):
                # A lookup of a value (click's "required"), not of a message, has none.
                value: Any = message
                first = value if isinstance(value, str) or value is None else value[0]
                if first:
                    found.add(first)
    return found


def test_every_message_click_looks_up_is_translated() -> None:
    looked_up = _click_messages()
    assert {"Error: {message}", "No such option {name!r}.", "Missing argument"} <= looked_up
    listed = set(click_texts.MESSAGES) | {singular for singular, _plural in click_texts.PLURALS}
    missing = sorted(looked_up - listed)
    assert not missing, f"add to peerlog.cli.click_texts and translate: {missing}"
    # What click adds to a required option's help is looked up by its value.
    assert "required" in listed
    for language in TRANSLATED:
        messages = {forms(m.id)[0]: m for m in catalog(language) if m.id}
        for msgid in sorted(listed):
            message = messages.get(msgid)
            assert message is not None, (language, msgid)
            assert all(forms(message.string)), (language, msgid)
            # click fills in the placeholders by name: a translation makes up none.
            wanted = {p for form in forms(message.id) for p in BRACES.findall(form)}
            for string in forms(message.string):
                assert set(BRACES.findall(string)) <= wanted, (language, msgid, string)


def _run(peerlog: Cli, language: str, *args: str) -> Result:
    return peerlog("--lang", language, *args)


USAGE_ERRORS = {
    "no such option": ("audit", "s1", "--bogus"),
    "missing argument": ("audit",),
    "not a choice": ("audit", "s1", "--format", "xml"),
    "no such command": ("frobnicate",),
    "missing option": ("tokens", "create", "sup1"),
    "out of range": ("xapi", "forward", "--batch-size", "0"),
    "unexpected argument": ("verify", "extra"),
}


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("case", USAGE_ERRORS)
def test_click_tells_a_usage_error_in_the_language(peerlog: Cli, language: str, case: str) -> None:
    args = USAGE_ERRORS[case]
    said = _run(peerlog, language, *args)
    english = _run(peerlog, "en", *args)
    assert said.exit_code == english.exit_code == 2
    assert said.stdout == english.stdout == ""
    error, usage, hint = {
        "sv": ("Fel: ", "Användning: cli", "Skriv 'cli"),
        "da": ("Fejl: ", "Brug: cli", "Skriv 'cli"),
    }[language]
    lines = said.stderr.splitlines()
    assert lines[0].startswith(usage), said.stderr
    assert lines[1].startswith(hint), said.stderr
    assert lines[1].endswith(" --help' för hjälp." if language == "sv" else " --help' for hjælp.")
    assert any(line.startswith(error) for line in lines[2:]), said.stderr
    # The roles a token may have are codes, the same in every language.
    assert not english_left(
        said.stderr, language, {"student", "supervisor", "coordinator", "examiner"}
    ), said.stderr
    assert not any(label in said.stderr for label in ENGLISH_LABELS), said.stderr
    assert "\nError: " in english.stderr
    assert said.stderr != english.stderr


def test_click_usage_errors_word_for_word() -> None:
    runner = CliRunner()

    def said(language: str, *args: str) -> str:
        result = runner.invoke(cli, ["--lang", language, *args], env=NO_LOCALE)
        assert result.exit_code == 2
        return result.stderr

    assert said("sv", "audit", "s1", "--bogus") == (
        "Användning: cli audit [OPTIONS] STUDENT\n"
        "Skriv 'cli audit --help' för hjälp.\n\n"
        "Fel: Det finns inget alternativ '--bogus'. Menade du '--course'?\n"
    )
    assert said("da", "audit").endswith("\nFejl: Argument mangler 'STUDENT'.\n")
    assert said("da", "audit", "s1", "--format", "xml").endswith(
        "\nFejl: Ugyldig værdi for '--format': 'xml' er ikke en af 'text', 'json', 'md', "
        "'html', 'pdf'.\n"
    )
    assert "\nFel: Alternativ saknas '--role'. Välj bland:\n\tstudent,\n" in said(
        "sv", "tokens", "create", "sup1"
    )
    # English as click writes it.
    assert said("en", "audit", "s1", "--bogus") == (
        "Usage: cli audit [OPTIONS] STUDENT\n"
        "Try 'cli audit --help' for help.\n\n"
        "Error: No such option '--bogus'. Did you mean '--course'?\n"
    )
    assert "\nError: Missing option '--role'. Choose from:\n\tstudent,\n" in said(
        "en", "tokens", "create", "sup1"
    )


def _flat(text: str) -> str:
    """A help as words, without click's wrapping (which breaks lines after a hyphen)."""
    return " ".join(re.sub(r"(?<=\w)-\n\s+", "-", text).split())


def _help(language: str, *command: str) -> str:
    result = CliRunner().invoke(cli, ["--lang", language, *command, "--help"], env=NO_LOCALE)
    assert result.exit_code == 0, result.output
    return _flat(result.output)


def test_what_click_adds_to_the_help_is_in_the_language() -> None:
    db = default_sqlite_path()
    added = {
        ("tokens", "create"): {
            "en": "[required]",
            "sv": "[obligatoriskt]",
            "da": "[påkrævet]",
        },
        ("record",): {
            "en": "[env var: PEERLOG_ACTOR]",
            "sv": "[miljövariabel: PEERLOG_ACTOR]",
            "da": "[miljøvariabel: PEERLOG_ACTOR]",
        },
        ("xapi", "forward"): {
            "en": "Statements per request. [default: 200; 1<=x<=10000]",
            "sv": "Utsagor per förfrågan. [standard: 200; 1<=x<=10000]",
            "da": "[standard: 200; 1<=x<=10000]",
        },
        (): {
            "en": f"[default: the SQLite file {db}] [env var: PEERLOG_DATABASE_URL]",
            "sv": f"[standard: SQLite-filen {db}] [miljövariabel: PEERLOG_DATABASE_URL]",
            "da": f"[standard: SQLite-filen {db}] [miljøvariabel: PEERLOG_DATABASE_URL]",
        },
    }
    for command, words in added.items():
        for language, expected in words.items():
            shown = _help(language, *command)
            assert _flat(expected) in shown, (command, language, shown)
            if language != "en":
                assert not any(label in shown for label in ENGLISH_LABELS), (command, shown)
    # Written where the option is defined ([default: stdout]), in the language too.
    assert "[standard: stdout]" in _help("sv", "export")


def _no_english(text: str, language: str, data: set[str]) -> None:
    left = english_left(text, language, data)
    assert not left, (language, left, text)


def _failure(peerlog: Cli, language: str, *args: str) -> str:
    result = _run(peerlog, language, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    prefix = {"sv": "Fel: ", "da": "Fejl: ", "en": "Error: "}[language]
    assert result.stderr.startswith(prefix), result.stderr
    return result.stderr


@pytest.mark.parametrize("language", TRANSLATED)
def test_errors_of_keys_checkpoints_tokens_and_the_forwarder_in_the_language(
    peerlog: Cli, published: Published, tmp_path: Path, language: str
) -> None:
    key = published.key
    key_name = "+".join(key.split("+")[:2])
    origin = published.checkpoint.origin
    not_a_note = tmp_path / "not-a-note.txt"
    not_a_note.write_text("tests.peerlog.example/record\n12\n")
    forged = tmp_path / "forged.txt"
    forged.write_text(published.note.replace(published.note.split("\n")[2], "A" * 43 + "="))
    unreachable = "http://127.0.0.1:9/xAPI/"
    failures = {
        "a key that is no key": ("verify", "--against", str(published.file), "--key", "a+b"),
        "not a note": ("verify", "--against", str(not_a_note), "--key", key),
        "not signed": ("verify", "--against", str(forged), "--key", key),
        "no examiner courses": ("tokens", "create", "ext-1", "--role", "examiner"),
        "not an id": ("tokens", "create", "sup 1", "--role", "supervisor"),
        "no store there": ("xapi", "forward", "--lrs", unreachable, "--retries", "0"),
    }
    # What is no message: the keys, names and addresses, and the commands named.
    data = {key, key_name, origin, "sup 1", unreachable + "statements", "peerlog checkpoint key"}
    # The system's own words for a refused connection; "note" is a Danish word too.
    data |= {os.strerror(errno.ECONNREFUSED), "note"}
    said = {case: _failure(peerlog, language, *args) for case, args in failures.items()}
    english = {case: _failure(peerlog, "en", *args) for case, args in failures.items()}
    for case, text in said.items():
        _no_english(text, language, data)
        assert text.removeprefix("Fel: ").removeprefix("Fejl: ") != english[case].removeprefix(
            "Error: "
        ), case
    expected = {
        "sv": {
            "a key that is no key": "Fel: --key: en verifieringsnyckel skrivs NAME+KEYID+KEY "
            "(som 'peerlog checkpoint key' skriver ut den)\n",
            "not a note": "Fel: ingen signerad kontrollpunkt: en signerad anteckning har en tom "
            "rad mellan sin text och sina signaturer\n",
            "not signed": f"Fel: kontrollpunkten är inte signerad av {key_name}\n",
            "no examiner courses": "Fel: en examinatortoken anger de kurser den granskar "
            "(--course)\n",
        },
        "da": {
            "a key that is no key": "Fejl: --key: en verifikationsnøgle skrives "
            "NAME+KEYID+KEY (som 'peerlog checkpoint key' udskriver den)\n",
            "not a note": "Fejl: intet signeret kontrolpunkt: en signeret note har en tom linje "
            "mellem sin tekst og sine signaturer\n",
            "not signed": f"Fejl: kontrolpunktet er ikke signeret af {key_name}\n",
            "no examiner courses": "Fejl: et eksaminatortoken angiver de kurser, det gennemgår "
            "(--course)\n",
        },
    }[language]
    for case, text in expected.items():
        assert said[case] == text, case
    rule = {"sv": "aktören måste vara ett id: ", "da": "aktøren skal være et id: "}[language]
    assert rule in said["not an id"]
    store_said = {
        "sv": f"lagret på {unreachable}statements: det går inte att nå (",
        "da": f"lageret på {unreachable}statements: det kan ikke nås (",
    }[language]
    assert store_said in said["no store there"]
    # The English as it was written.
    assert english["not signed"] == f"Error: the checkpoint is not signed by {key_name}\n"
    assert english["no store there"].startswith(
        f"Error: the LRS at {unreachable}statements: cannot reach it ("
    )
    assert english["no store there"].endswith(
        "), 1 times; the position stays where its last answer left it\n"
    )


def _event_at(store: Store, stream: str, version: int) -> tuple[int, bytes]:
    """The position and stored state of a stream's event at a version."""
    (row,) = store.execute_raw(
        "SELECT position, state FROM events WHERE originator_id = %s AND originator_version = %s",
        (stream, version),
    )
    position, state = row[0], row[1]
    assert isinstance(position, int)
    assert isinstance(state, bytes | memoryview)
    return position, bytes(state)


def _streams(store: Store) -> set[str]:
    """The names of the record's streams (and 'record', the whole record's): ids, the
    same in every language."""
    rows = store.execute_raw("SELECT DISTINCT originator_id FROM events", ())
    return {str(row[0]) for row in rows} | {"record"}


@pytest.mark.parametrize("language", TRANSLATED)
def test_what_verify_finds_is_told_in_the_language(
    peerlog: Cli, published: Published, store: Store, language: str
) -> None:
    position, _state = _event_at(store, "pair/p1", 3)
    store.execute_raw("DELETE FROM events WHERE position = %s", (position,))
    data = _streams(store) | {published.checkpoint.origin, published.key}
    # The chains: a version missing, a position missing.
    said = _run(peerlog, language, "verify")
    english = _run(peerlog, "en", "verify")
    assert said.exit_code == english.exit_code == 1
    _no_english(said.stdout, language, data)
    assert "is missing (deleted); the chain is broken from here" in english.stdout
    assert {
        "sv": "saknas (raderad); kedjan är bruten härifrån",
        "da": "mangler (slettet); kæden er brudt herfra",
    }[language] in said.stdout
    assert f"position {position} is missing: an event was deleted" in english.stdout
    # Against the checkpoint: each position named.
    args = ("verify", "--against", str(published.file), "--key", published.key)
    said = _run(peerlog, language, *args)
    english = _run(peerlog, "en", *args)
    assert said.exit_code == english.exit_code == 1
    _no_english(said.stdout, language, data)
    assert f"position {position}: missing: the event the checkpoint covers here was deleted" in (
        english.stdout
    )
    assert {
        "sv": f"position {position}: saknas: händelsen som kontrollpunkten täcker här raderades",
        "da": f"position {position}: mangler: den hændelse, kontrolpunktet dækker her, blev slettet",
    }[language] in said.stdout
    # JSON is the same in every language (its texts in English).
    for json_args in (("verify",), args):
        translated = _run(peerlog, language, *json_args, "--format", "json")
        in_english = _run(peerlog, "en", *json_args, "--format", "json")
        assert translated.stdout == in_english.stdout
        report = json.loads(translated.stdout)
        assert "deleted" in json.dumps(report)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_rewrite_found_against_a_checkpoint_is_told_in_the_language(
    peerlog: Cli, published: Published, store: Store, language: str
) -> None:
    position, state = _event_at(store, "pair/p1", 3)
    forged = state.replace(b"performance", b"preparation")
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, position))
    recompute_chains(store, published.app)
    args = ("verify", "--against", str(published.file), "--key", published.key)
    said = _run(peerlog, language, *args)
    assert said.exit_code == 1
    # "bytes" is a Danish word too.
    data = _streams(store) | {published.checkpoint.origin, "bytes"}
    _no_english(said.stdout, language, data)
    assert {
        "sv": f"position {position}: ändrad: pair/p1@3, så som",
        "da": f"position {position}: ændret: pair/p1@3, som",
    }[language] in said.stdout


def _field_data(command: str) -> set[str]:
    """What a command's fields table shows as the contract has it: the fields' names
    and the values of their vocabularies."""
    # How a value is written (FIELD=text, FIELD=a,b, FIELD.KEY=text), in every language.
    found = {"FIELD", "KEY", "ID", "JSON", "text", "key", "value", *_NESTED}
    for name, info in MODELS[command].model_fields.items():
        found.add(name)
        inner = _unwrap(info.annotation)
        if get_origin(inner) is Literal:
            found.update(str(v) for v in get_args(inner))
    return found


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("command", ["record_step", "give_feedback", "correct_entry"])
def test_the_fields_of_a_command_in_the_language(peerlog: Cli, language: str, command: str) -> None:
    said = peerlog.ok("--lang", language, "record", command, "--fields")
    english = peerlog.ok("--lang", "en", "record", command, "--fields")
    _no_english(said, language, _field_data(command))
    rows = [line.split() for line in said.splitlines()[1:]]
    needed = {"sv": {"obligatoriskt", "valfritt"}, "da": {"påkrævet", "valgfrit"}}[language]
    assert {row[1] for row in rows} == needed, said
    assert said.splitlines()[0] != english.splitlines()[0]
    # The same fields, in the same order, in every language.
    assert [row[0] for row in rows] == [line.split()[0] for line in english.splitlines()[1:]]


def test_the_fields_of_a_command_in_english() -> None:
    result = CliRunner().invoke(
        cli, ["--lang", "en", "record", "give_feedback", "--fields"], env=NO_LOCALE
    )
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines()[1:]}
    assert rows["giver"] == "optional giver=ID (default: the actor)"
    assert rows["actor"] == "required --actor ID (or PEERLOG_ACTOR)"
    assert rows["command_id"] == "optional --id ID (default: a new id)"
    assert result.stdout.splitlines()[0].split() == ["field", "needed", "write", "it", "as"]


def test_click_is_routed_once_and_leaves_what_is_defined_in_english() -> None:
    import click.core
    import click.exceptions

    # Once more changes nothing: click's modules look up through peerlog's catalogs.
    click_texts.route()
    assert vars(click.exceptions)["_"] is click_texts.gettext
    assert vars(click.core)["ngettext"] is i18n.ngettext

    with i18n.speaking("sv"):
        assert click_texts.gettext("Error: {message}") == "Fel: {message}"
        # Looked up when a command is defined: kept as written, translated where shown.
        assert click_texts.gettext("Show this message and exit.") == "Show this message and exit."
        assert click.Path(dir_okay=False).name == "file"
