"""The catalogs: every message of the code and templates translated into Swedish and
Danish (none fuzzy, none missing, the compiled catalogs those of the .po files), plural
forms by the language's rule, and the language chosen the way a person expects."""

from __future__ import annotations

import gettext
import re

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

from peerlog import i18n
from tests.i18n import LOCALES, ROOT, TRANSLATED, catalog, forms

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "lazy": None,
    "lazy_plural": (1, 2),
    "ngettext_noop": (1, 2),
}


def _extracted() -> set[str]:
    """The messages ``make messages`` extracts (babel.cfg's mapping), by their ids."""
    method_map = [
        ("src/**.py", "python"),
        ("projections/**.py", "python"),
        # The commands' help besides: their docstrings and help= texts.
        ("cli/**.py", "peerlog.cli.catalog:extract"),
        ("web/**.py", "python"),
        ("web/templates/**.html", "jinja2"),
    ]
    options = {
        "web/templates/**.html": {
            "extensions": "jinja2.ext.i18n",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
            "trimmed": "true",
        }
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_code_and_templates_is_translated() -> None:
    extracted = _extracted()
    assert len(extracted) > 150
    for language in TRANSLATED:
        messages = {forms(m.id)[0]: m for m in catalog(language) if m.id}
        missing = sorted(extracted - set(messages))
        assert not missing, f"{language}: run 'make messages' and translate {missing}"
        stale = sorted(set(messages) - extracted)
        assert not stale, f"{language}: messages no longer used: {stale}"
        fuzzy = sorted(k for k, m in messages.items() if m.fuzzy)
        assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
        empty = sorted(k for k, m in messages.items() if not all(forms(m.string)))
        assert not empty, f"{language}: untranslated: {empty}"
        for key, m in messages.items():
            # The translation has the message's placeholders, none lost or made up (the
            # form for one may leave out the count).
            wanted = {p for msgid in forms(m.id) for p in _placeholders(msgid)}
            for string in forms(m.string):
                assert _placeholders(string) <= wanted, (language, key, string)
                assert _placeholders(forms(m.id)[0]) - {"%(count)s"} <= _placeholders(string), (
                    language,
                    key,
                    string,
                )


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)s", text))


def test_the_compiled_catalogs_are_those_of_the_po_files() -> None:
    for language in TRANSLATED:
        with (LOCALES / language / "LC_MESSAGES" / "peerlog.mo").open("rb") as mo:
            compiled = {forms(m.id): forms(m.string) for m in read_mo(mo) if m.id}
        written = {forms(m.id): forms(m.string) for m in catalog(language) if m.id}
        assert compiled == written, f"{language}: run 'make install' to compile the catalogs"


def test_gibbs_stages_in_the_regions_words() -> None:
    from peerlog.web.capture import GIBBS

    titles = [title for title, _question in GIBBS.values()]
    assert titles == [
        "Description",
        "Feelings",
        "Evaluation",
        "Analysis",
        "Conclusion",
        "Action plan",
    ]
    with i18n.speaking("sv"):
        assert [i18n.gettext(t) for t in titles] == [
            "Beskrivning",
            "Känslor",
            "Värdering",
            "Analys",
            "Slutsats",
            "Handlingsplan",
        ]
    with i18n.speaking("da"):
        assert [i18n.gettext(t) for t in titles] == [
            "Beskrivelse",
            "Følelser",
            "Vurdering",
            "Analyse",
            "Konklusion",
            "Handleplan",
        ]


def test_plural_forms_at_zero_one_and_two() -> None:
    def steps(n: int) -> str:
        return i18n.ngettext("%(count)s step", "%(count)s steps", n) % {"count": n}

    expected = {
        "en": ("0 steps", "1 step", "2 steps"),
        "sv": ("0 moment", "1 moment", "2 moment"),
        "da": ("0 handlinger", "1 handling", "2 handlinger"),
    }
    for language, words in expected.items():
        with i18n.speaking(language):
            assert tuple(steps(n) for n in (0, 1, 2)) == words
    with i18n.speaking("sv"):
        retired = [
            i18n.ngettext("(and %(count)s retired)", "(and %(count)s retired)", n) % {"count": n}
            for n in (0, 1, 2)
        ]
    assert retired == ["(och 0 avvecklade)", "(och 1 avvecklat)", "(och 2 avvecklade)"]


def test_the_browsers_language_by_its_weights() -> None:
    assert i18n.negotiate("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7") == "sv"
    assert i18n.negotiate("de-DE,da;q=0.8,sv;q=0.5") == "da"
    assert i18n.negotiate("en;q=0.4, da;q=0.9") == "da"
    assert i18n.negotiate("nb-NO") == "da"
    assert i18n.negotiate("fr, de") == "en"
    assert i18n.negotiate("sv;q=0, da;q=oops") == "en"
    assert i18n.negotiate(None) == "en"


def test_the_command_lines_language() -> None:
    env = {"PEERLOG_LANGUAGE": "da", "LANG": "sv_SE.UTF-8"}
    assert i18n.from_environment("sv", env) == "sv"
    assert i18n.from_environment(None, env) == "da"
    assert i18n.from_environment(None, {"LANG": "sv_SE.UTF-8"}) == "sv"
    assert i18n.from_environment(None, {"LC_ALL": "da_DK.UTF-8", "LANG": "sv_SE.UTF-8"}) == "da"
    # The locale named first decides, as in the C library: C is English.
    assert i18n.from_environment(None, {"LC_ALL": "C", "LANG": "sv_SE.UTF-8"}) == "en"
    assert i18n.from_environment(None, {}) == "en"


def test_dates_and_numbers_as_the_language_writes_them() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 2, 7, 30, 5, tzinfo=UTC)
    written = {}
    for language in ("en", "sv", "da"):
        with i18n.speaking(language):
            written[language] = (
                i18n.moment(moment),
                i18n.moment(moment, seconds=True),
                i18n.number(12345),
            )
    assert written["en"] == ("2026-03-02 07:30", "2026-03-02 07:30:05", "12,345")
    assert written["sv"] == ("2026-03-02 07:30", "2026-03-02 07:30:05", "12\xa0345")
    assert written["da"] == ("02.03.2026 07.30", "02.03.2026 07.30.05", "12.345")


def _compiled(language: str) -> gettext.GNUTranslations:
    """The language's compiled catalog read anew (not the one peerlog holds)."""
    with (LOCALES / language / "LC_MESSAGES" / "peerlog.mo").open("rb") as mo:
        return gettext.GNUTranslations(mo)


def test_remembered_translations_are_the_catalogs_in_every_language() -> None:
    compiled = {language: _compiled(language) for language in i18n.LANGUAGES}
    messages = [m for m in catalog("sv") if m.id and not m.context]
    assert len(messages) > 150
    # Each message asked twice in each language, the languages in turn: the first
    # answer is looked up, the second remembered, and neither is another language's.
    for message in messages:
        for _round in range(2):
            for language in i18n.LANGUAGES:
                with i18n.speaking(language):
                    if isinstance(message.id, str):
                        assert i18n.gettext(message.id) == compiled[language].gettext(message.id)
                    else:
                        singular, plural = message.id
                        for n in (0, 1, 2, 5):
                            assert i18n.ngettext(singular, plural, n) == compiled[
                                language
                            ].ngettext(singular, plural, n), (language, singular, n)
    with i18n.speaking("sv"):
        assert i18n.gettext("it no longer counts") == "den räknas inte längre"
    with i18n.speaking("da"):
        assert i18n.gettext("it no longer counts") == "den tæller ikke længere"
    assert i18n.gettext("it no longer counts") == "it no longer counts"


def test_switching_language_within_a_thread() -> None:
    message = "no fields changed"
    said = []
    for language in ("sv", "da", "en", "sv", "en", "da"):
        i18n.set_language(language)
        said.append(i18n.gettext(message))
        with i18n.speaking("da" if language == "sv" else "sv"):
            said.append(i18n.gettext(message))
        said.append(i18n.gettext(message))
    i18n.set_language(i18n.DEFAULT)
    sv, da, en = (_compiled(language).gettext(message) for language in ("sv", "da", "en"))
    assert len({sv, da, en}) == 3
    assert said == [
        *(sv, da, sv),
        *(da, sv, da),
        *(en, sv, en),
        *(sv, da, sv),
        *(en, sv, en),
        *(da, sv, da),
    ]


def test_the_remembered_translations_are_capped() -> None:
    remembered, forms_remembered = i18n._remembered["da"], i18n._remembered_forms["da"]
    real = "no fields changed"
    try:
        remembered.clear()
        forms_remembered.clear()
        with i18n.speaking("da"):
            made_up = [f"no such message {n}" for n in range(i18n.REMEMBERED + 100)]
            assert [i18n.gettext(m) for m in made_up] == made_up
            assert len(remembered) == i18n.REMEMBERED
            # Beyond the cap a message is still translated, only not remembered.
            assert i18n.gettext(real) == "ingen felter ændret"
            assert real not in remembered
            counts = range(i18n.REMEMBERED + 100)
            steps = [i18n.ngettext("%(count)s step", "%(count)s steps", n) for n in counts]
            assert len(forms_remembered) == i18n.REMEMBERED
            assert steps[1] == "%(count)s handling"
            assert set(steps) == {"%(count)s handling", "%(count)s handlinger"}
            assert i18n.ngettext("%(count)s step", "%(count)s steps", 1) == "%(count)s handling"
    finally:
        # What the test filled the memory with is of no use to the tests after it.
        remembered.clear()
        forms_remembered.clear()


def test_a_lazy_message_with_a_plural_form_chooses_it_in_the_reader_s_language() -> None:
    from peerlog.i18n import lazy_plural, shown, speaking

    singular = "no reflection in the last closed session; the threshold is a reflection in every %(every)s closed sessions"
    plural = "no reflection in the last %(count)s closed sessions; the threshold is a reflection in every %(every)s closed sessions"
    for count, english, swedish in (
        (1, "no reflection in the last closed session;", "under det senaste avslutade passet;"),
        (2, "no reflection in the last 2 closed sessions;", "under de senaste 2 avslutade passen;"),
        (0, "no reflection in the last 0 closed sessions;", "under de senaste 0 avslutade passen;"),
    ):
        message = lazy_plural(singular, plural, count, every=3)
        assert str(message).startswith(english)  # as logs and JSON have it
        with speaking("sv"):
            assert swedish in shown(message)
        with speaking("en"):
            assert shown(message) == str(message)
