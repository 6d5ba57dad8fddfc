"""The command line's errors a person meets first, in Swedish and Danish: a badly
written ``FIELD=VALUE`` in ``peerlog record``, a store that is not there or not named
right, a setting that is wrong, a file that cannot be read, an audit file that does not
verify, and what ``peerlog projections run`` says. No English message of the catalogs is
left in them; the English reads as it is written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from peerlog.cli import cli
from peerlog.cli.errors import reason
from peerlog.i18n import speaking
from peerlog.integrity.bundle import FORMAT
from tests.cli.conftest import Cli
from tests.i18n import TRANSLATED, english_left

RECORD_WORDS = {
    "no equals sign": ("record", "form_pair", "pair_id"),
    "not a mapping entry": ("record", "open_session", "roles=s1"),
    "not JSON": ("record", "open_course", "goals:=["),
    "not a mapping": ("record", "open_course", "goals:=1", "goals.x=2"),
}
FIELD_WORDS = {"goals", "pair_id", "roles", "performers", "performer", "observer"}
"""What the messages quote of the command's own words: field names and values."""
WORDS_SAID = {
    "sv": {
        "no equals sign": "Fel: 'pair_id' är inte FÄLT=VÄRDE; skriv till exempel pair_id=p1, "
        "performers=s1,s2 eller goals:='[...]' (se --fields)",
        "not a mapping entry": "Fel: 's1' är inte NYCKEL:VÄRDE; skriv till exempel "
        "roles=s1:performer,s2:observer",
        "not JSON": "Fel: 'goals:=[': värdet efter ':=' är inte giltig JSON: ",
        "not a mapping": "Fel: 'goals.x=2': goals har redan fått ett värde som inte är en mappning",
    },
    "da": {
        "no equals sign": "Fejl: 'pair_id' er ikke FELT=VÆRDI; skriv for eksempel pair_id=p1, "
        "performers=s1,s2 eller goals:='[...]' (se --fields)",
        "not a mapping entry": "Fejl: 's1' er ikke NØGLE:VÆRDI; skriv for eksempel "
        "roles=s1:performer,s2:observer",
        "not JSON": "Fejl: 'goals:=[': værdien efter ':=' er ikke gyldig JSON: ",
        "not a mapping": "Fejl: 'goals.x=2': goals har allerede fået en værdi, der ikke er en "
        "tilknytning",
    },
    "en": {
        "no equals sign": "Error: 'pair_id' is not FIELD=VALUE; write for example pair_id=p1, "
        "performers=s1,s2 or goals:='[...]' (see --fields)",
        "not a mapping entry": "Error: 's1' is not KEY:VALUE; write for example "
        "roles=s1:performer,s2:observer",
        "not JSON": "Error: 'goals:=[': the value after ':=' is not valid JSON: ",
        "not a mapping": "Error: 'goals.x=2': goals was already given a value that is not a "
        "mapping",
    },
}


def _run(env: dict[str, str], language: str, *args: str, input: str | None = None) -> Result:  # noqa: A002
    return CliRunner().invoke(
        cli, ["--lang", language, *args], env=env, input=input, catch_exceptions=False
    )


def _last_line(result: Result) -> str:
    return result.stderr.rstrip("\n").splitlines()[-1]


@pytest.mark.parametrize("language", [*TRANSLATED, "en"])
def test_a_badly_written_field_is_told_in_the_language(peerlog: Cli, language: str) -> None:
    for case, args in RECORD_WORDS.items():
        result = _run({**peerlog.env, "PEERLOG_ACTOR": "coord"}, language, *args)
        assert result.exit_code == 2, (case, result.output)
        said = _last_line(result)
        expected = WORDS_SAID[language][case]
        if case == "not JSON":
            # After the prefix, the JSON parser's own words for what it met.
            assert said.startswith(expected), (case, said)
        else:
            assert said == expected, (case, said)
        if language != "en":
            assert not english_left(said, language, FIELD_WORDS), said


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_store_not_there_or_not_named_right_is_told_in_the_language(
    tmp_path: Path, language: str
) -> None:
    missing = tmp_path / "none.sqlite3"
    env = {"PEERLOG_MASTER_KEY_FILE": str(tmp_path / "master.key")}
    said = {
        "a path": _run(env, language, "--db", str(missing), "verify"),
        "no file": _run(env, language, "--db", f"sqlite:///{missing}", "verify"),
        "no such store": _run({**env, "PEERLOG_DATABASE_URL": "ftp://h/x"}, language, "verify"),
    }
    for case, result in said.items():
        assert result.exit_code == 1, (case, result.output)
    assert not missing.exists()
    expected = {
        "sv": {
            "a path": f"Fel: --db tar en URL, inte en sökväg: för SQLite-filen {missing}, ange "
            f"sqlite:///{missing} (en PostgreSQL-databas är postgresql://user@host/dbname)",
            "no file": f"Fel: det finns inget register på sqlite:///{missing}: filen {missing} "
            "finns inte. Ange registret med --db (eller PEERLOG_DATABASE_URL); 'peerlog import' "
            "eller 'peerlog demo' skapar ett nytt",
            "no such store": "Fel: inställningar: kan inte använda lagret 'ftp://h/x': "
            "PEERLOG_DATABASE_URL börjar med sqlite:/// (följt av en absolut sökväg) eller "
            "postgresql://",
        },
        "da": {
            "a path": f"Fejl: --db tager en URL, ikke en sti: for SQLite-filen {missing}, angiv "
            f"sqlite:///{missing} (en PostgreSQL-database er postgresql://user@host/dbname)",
            "no file": f"Fejl: der er intet register på sqlite:///{missing}: filen {missing} "
            "findes ikke. Angiv registeret med --db (eller PEERLOG_DATABASE_URL); 'peerlog "
            "import' eller 'peerlog demo' opretter et nyt",
            "no such store": "Fejl: indstillinger: kan ikke bruge lageret 'ftp://h/x': "
            "PEERLOG_DATABASE_URL begynder med sqlite:/// (efterfulgt af en absolut sti) eller "
            "postgresql://",
        },
    }[language]
    for case, text in expected.items():
        assert _last_line(said[case]) == text, case


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_wrong_setting_is_told_in_the_language(peerlog: Cli, language: str) -> None:
    settings = {
        "PEERLOG_TIME_ZONE": ("Mars/Olympus", "dashboard"),
        "PEERLOG_KEY_CACHE_SECONDS": ("soon", "dashboard"),
        "PEERLOG_XAPI_VERSION": (
            "3.0",
            "xapi",
            "forward",
            "--lrs",
            "http://127.0.0.1:9/xAPI/",
            "--retries",
            "0",
        ),
    }
    expected = {
        "sv": {
            "PEERLOG_TIME_ZONE": "Fel: inställningar: PEERLOG_TIME_ZONE: 'Mars/Olympus' är "
            "ingen tidszon som systemet känner till; ange ett IANA-namn, som Europe/Stockholm",
            "PEERLOG_KEY_CACHE_SECONDS": "Fel: inställningar: PEERLOG_KEY_CACHE_SECONDS är ett "
            "antal sekunder från 0 till 3600",
            "PEERLOG_XAPI_VERSION": "Fel: inställningar: PEERLOG_XAPI_VERSION är '3.0'; ange en "
            "av 1.0.3, 2.0.0",
        },
        "da": {
            "PEERLOG_TIME_ZONE": "Fejl: indstillinger: PEERLOG_TIME_ZONE: 'Mars/Olympus' er "
            "ikke en tidszone, systemet kender; angiv et IANA-navn, som Europe/Copenhagen",
            "PEERLOG_KEY_CACHE_SECONDS": "Fejl: indstillinger: PEERLOG_KEY_CACHE_SECONDS er et "
            "antal sekunder fra 0 til 3600",
            "PEERLOG_XAPI_VERSION": "Fejl: indstillinger: PEERLOG_XAPI_VERSION er '3.0'; angiv "
            "en af 1.0.3, 2.0.0",
        },
    }[language]
    peerlog.ok("import", "-", input="")  # the record exists: the setting is what fails
    for name, (value, *args) in settings.items():
        result = _run({**peerlog.env, name: value}, language, *args)
        assert result.exit_code == 1, (name, result.output)
        assert _last_line(result) == expected[name], name


@pytest.mark.parametrize("language", TRANSLATED)
def test_an_audit_file_that_is_not_one_is_told_in_the_language(
    peerlog: Cli, tmp_path: Path, language: str
) -> None:
    key = peerlog.ok("checkpoint", "key").strip()
    not_audit = tmp_path / "audit.json"
    not_audit.write_text("{}")
    absent = tmp_path / "absent.json"
    result = _run(peerlog.env, language, "verify-bundle", str(not_audit), "--key", key)
    assert result.exit_code == 1, result.output
    result_absent = _run(peerlog.env, language, "verify-bundle", str(absent), "--key", key)
    assert result_absent.exit_code == 1, result_absent.output
    expected = {
        "sv": (
            f"INTE VERIFIERAD: filen är ingen granskningsfil i formatet {FORMAT}\n",
            f"Fel: kan inte läsa {absent}: filen eller mappen finns inte",
        ),
        "da": (
            f"IKKE VERIFICERET: filen er ikke en gennemgangsfil i formatet {FORMAT}\n",
            f"Fejl: kan ikke læse {absent}: filen eller mappen findes ikke",
        ),
    }[language]
    assert result.stdout == expected[0]
    assert _last_line(result_absent) == expected[1]
    json_said = _run(
        peerlog.env, language, "verify-bundle", str(not_audit), "--key", key, "--format", "json"
    )
    # JSON is the same in every language.
    assert f'"the file is not an audit file of the format {FORMAT}"' in json_said.stdout


@pytest.mark.parametrize("language", TRANSLATED)
def test_what_the_projections_say_is_in_the_language(peerlog: Cli, language: str) -> None:
    peerlog.ok("import", "-", input="")
    said = _run(peerlog.env, language, "projections", "run")
    assert said.exit_code == 0, said.output
    first = {
        "sv": "progression: vid 0 (redan aktuell) av 0",
        "da": "progression: ved 0 (allerede opdateret) af 0",
    }[language]
    assert said.stdout.splitlines()[0] == first


def test_the_operating_system_s_reasons_in_the_language() -> None:
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory")
    denied = PermissionError(errno.EACCES, "Permission denied")
    odd = OSError(errno.EXDEV, "Invalid cross-device link")
    with speaking("sv"):
        assert [reason(missing), reason(denied), reason(odd)] == [
            "filen eller mappen finns inte",
            "åtkomst nekad",
            # A reason the catalogs do not hold: the system's own words.
            "Invalid cross-device link",
        ]
        assert reason(_not_utf8()) == "det är inte UTF-8-text"
    with speaking("da"):
        assert reason(missing) == "filen eller mappen findes ikke"
    with speaking("en"):
        assert reason(missing) == "no such file or folder"


def _not_utf8() -> UnicodeDecodeError:
    try:
        b"\xff".decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    raise AssertionError  # pragma: no cover


@pytest.mark.parametrize("language", TRANSLATED)
def test_an_import_s_line_that_is_not_json_is_told_in_the_language(
    peerlog: Cli, language: str
) -> None:
    result = _run(peerlog.env, language, "import", "-", input="not json\n")
    said = result.stdout.splitlines()
    expected = {
        "sv": "rad 1: inte giltig JSON: expected ident at column 2 [json_invalid]",
        "da": "linje 1: ikke gyldig JSON: expected ident at column 2 [json_invalid]",
    }[language]
    assert expected in said, result.output
