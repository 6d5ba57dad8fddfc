"""Test vectors for the patient-identifier guard: identity numbers are found, ordinary
numbers in clinical text are not."""

from __future__ import annotations

import pytest

from peerlog.commands import parse_command
from peerlog.domain.errors import CommandRejected
from peerlog.domain.identity_numbers import find_identity_numbers

FOUND = [
    # Swedish personal identity numbers (valid date, valid Luhn check digit)
    ("19121212-1212", "Swedish personal identity number"),
    ("191212121212", "Swedish personal identity number"),
    ("121212-1212", "Swedish personal identity number"),
    ("1212121212", "Swedish personal identity number"),
    ("121212+1212", "Swedish personal identity number"),  # '+': 100 years or older
    ("811218-9876", "Swedish personal identity number"),
    ("pnr 811218-9876.", "Swedish personal identity number"),
    ("Pat:198112189876 i säng 4", "Swedish personal identity number"),
    # Swedish coordination numbers (day + 60)
    ("701063-2391", "Swedish coordination number"),
    ("19701063-2391", "Swedish coordination number"),
    ("7010632391", "Swedish coordination number"),
    # Danish CPR numbers: with the hyphen a valid date is enough; without it the
    # modulus 11 check must hold too
    ("010190-1234", "Danish CPR number"),
    ("CPR-nr. 311299-0001", "Danish CPR number"),
    ("1503851004", "Danish CPR number"),
    # the separators people type
    ("811218 9876", "Swedish personal identity number"),
    ("19811218 9876", "Swedish personal identity number"),
    ("811218\u20139876", "Swedish personal identity number"),  # en dash
    ("811218\u20119876", "Swedish personal identity number"),  # non-breaking hyphen
    ("811218\u22129876", "Swedish personal identity number"),  # minus sign
    ("811218\u00a09876", "Swedish personal identity number"),  # no-break space
    ("811218 - 9876", "Swedish personal identity number"),
    ("811218.9876", "Swedish personal identity number"),
    ("8112\u200b18-9876", "Swedish personal identity number"),  # zero-width space
    ("81121\u00ad8\u20609876", "Swedish personal identity number"),  # soft hyphen, joiner
    ("\uff18\uff11\uff11\uff12\uff11\uff18-9876", "Swedish personal identity number"),
    ("010190 1234", "Danish CPR number"),
    ("010190\u20131234", "Danish CPR number"),
    # a word in front decides what the digits alone cannot
    ("pnr 811218-9875", "Swedish personal identity number"),  # a mistyped check digit
    ("CPR 150902-1904", "Danish CPR number"),  # the shape of a date and a time
    ("cpr-nr: 0101251904", "Danish CPR number"),
    # born since 2007, without the modulus 11 check: a CPR number all the same
    ("0105165118", "Danish CPR number"),
]

NOT_FOUND = [
    # invalid check digits
    "811218-9875",
    "19121212-1213",
    "701063-2392",
    # invalid dates
    "811332-9876",
    "123456-7890",
    "1234567890",
    # dates and times
    "2026-03-02",
    "20260302",
    "02/03/2026",
    "2026-03-02T07:30:00+01:00",
    "kl. 07:30-15:45",
    # phone numbers
    "070-123 45 67",
    "0701234567",
    "+46701234567",
    "+46 70 123 45 67",
    "08-123 456 78",
    "031-12 34 56",
    # ordinary numbers in clinical text
    "BT 120/80, puls 72",
    "Alvedon 2x500 mg",
    "SpO2 97 %, NEWS2 3",
    "B-glukos 5,6 mmol/l",
    "rum 1234, säng 4",
    "IBAN SE45 5000 0000 0583 9825 7466",
    "ISBN 978-91-0-012345-6",
    "order 1234567890123",
    "12345678901",
    # dates with times, in the compact forms of timestamps
    "150902-1904",
    "150902 1904",
    "020326-1905",  # 2 March 2026, 19:05, in the Danish order
    "kl 2603021904",
    "tid 202603021904",
    "datum 260302-0730",
    # Swedish mobile numbers without spaces, other numbers named as such
    "0701234567",
    "0705963224",
    "tel 0701720199",
    "LOT 1208157195",
    "ordernr 2307536947",
]


@pytest.mark.parametrize(("text", "kind"), FOUND)
def test_identity_numbers_are_found(text: str, kind: str) -> None:
    findings = find_identity_numbers(text)
    assert [f.kind for f in findings] == [kind]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_ordinary_numbers_pass(text: str) -> None:
    assert find_identity_numbers(text) == []


def test_the_finding_says_where_but_not_what() -> None:
    text = "The patient (19121212-1212) was calm"
    (finding,) = find_identity_numbers(text)
    assert text[finding.start : finding.end] == "19121212-1212"
    assert "19121212" not in repr(finding)


def test_a_command_with_an_identity_number_is_rejected_without_echoing_it() -> None:
    command = (
        '{"command": "close_session", "command_id": "c1", "actor": "s1", "pair_id": "p1",'
        ' "session_id": "d1", "summary": "Talked with 19121212-1212 about pain"}'
    )
    with pytest.raises(CommandRejected) as rejected:
        parse_command(command)
    message = str(rejected.value)
    assert rejected.value.field == "summary"
    assert rejected.value.rule == "patient_identifier"
    assert "patients must never be identifiable" in message
    assert "1212" not in message
