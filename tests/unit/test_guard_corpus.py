"""The patient-identifier guard stays above its targets on a generated corpus (a
smaller, seeded one than the benchmark's, ``python -m benchmarks --only guard``): at
least 99.5 % of identity numbers in every written form caught, at most 0.5 % of
ordinary clinical strings rejected."""

from __future__ import annotations

from benchmarks.guard import DASHES, SEED, SPACES, ZERO_WIDTH, corpus, measure

RECALL: float = 0.995
FALSE_ALARMS: float = 0.005


def test_the_guard_keeps_its_targets_on_a_seeded_corpus() -> None:
    identifiers, ordinary = corpus(SEED, 3000, 3000)
    found = measure(identifiers, ordinary)
    missed = "\n".join(f"{s.form}: {s.text!r}" for s in found.missed[:20])
    alarms = "\n".join(f"{s.form}: {s.text!r}" for s in found.false_alarms[:20])
    assert found.recall >= RECALL, missed
    assert found.false_alarm_rate <= FALSE_ALARMS, alarms


def test_the_corpus_holds_every_written_form() -> None:
    identifiers, ordinary = corpus(SEED, 3000, 3000)
    texts = "".join(s.text for s in identifiers)
    for char in (*DASHES, *SPACES, *ZERO_WIDTH, "+", "."):
        assert char in texts, f"U+{ord(char):04X}"
    forms = {s.form.split(", ")[1] for s in identifiers}
    assert {"hyphen", "no separator", "space", "dot", "spaced hyphen", "plus"} <= forms
    assert {s.form.split(", ")[0] for s in identifiers} == {
        "Swedish 10 digits",
        "Swedish 12 digits",
        "Danish",
    }
    assert {s.kind for s in ordinary} == {
        "date",
        "time",
        "date and time",
        "phone number",
        "room number",
        "dose",
        "lab value",
        "other number",
    }
    assert any(s.form.startswith("YYMMDD-HHMM") for s in ordinary)  # 150902-1904
