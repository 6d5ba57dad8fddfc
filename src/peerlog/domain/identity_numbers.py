"""The patient-identifier guard.

Free text in the record must never identify a patient. This module finds Swedish
personal identity numbers (personnummer), Swedish coordination numbers
(samordningsnummer) and Danish CPR numbers in text, while letting dates, phone numbers
and ordinary numbers through:

* Swedish numbers: ``YYMMDD-NNNC``, ``YYMMDD+NNNC``, ``YYMMDDNNNC``, ``YYYYMMDD-NNNC``
  and ``YYYYMMDDNNNC``. The date must exist (a coordination number adds 60 to the
  day) and the last digit must be the Luhn check digit of the ten-digit form.
* Danish CPR numbers: ``DDMMYY-SSSS`` with a date that exists; written without the
  hyphen, the ten digits must also pass the modulus 11 check, so that a bare
  ten-digit phone number is not taken for a CPR number.

A number is only found as a whole: digits directly before or after it make it part
of a longer number, which is not an identity number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

_CANDIDATE: Final = re.compile(r"(?<!\d)(?P<date>\d{8}|\d{6})(?P<sep>[-+]?)(?P<serial>\d{4})(?!\d)")
_CPR_WEIGHTS: Final = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Finding:
    """Where an identity number was found, and what kind it looks like.

    The number itself is deliberately not kept, so that it cannot reach a message or log.
    """

    kind: str
    start: int
    end: int


def _date_exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _swedish_kind(date_digits: str, serial: str, separator: str) -> str | None:
    century = date_digits[:-6] if len(date_digits) == 8 else ""
    short = date_digits[-6:]
    yy, month, day = int(short[0:2]), int(short[2:4]), int(short[4:6])
    kind = "Swedish personal identity number"
    if day > 60:
        day -= 60
        kind = "Swedish coordination number"
    if century:
        centuries = [int(century)]
    elif separator == "+":
        centuries = [18, 19, 20]
    else:
        centuries = [19, 20]
    if not any(_date_exists(c * 100 + yy, month, day) for c in centuries):
        return None
    if not _luhn_valid(short + serial):
        return None
    return kind


def _danish_kind(date_digits: str, serial: str, separator: str) -> str | None:
    if len(date_digits) != 6 or separator == "+":
        return None
    day, month, yy = int(date_digits[0:2]), int(date_digits[2:4]), int(date_digits[4:6])
    if not any(_date_exists(c * 100 + yy, month, day) for c in (18, 19, 20)):
        return None
    if separator == "-":
        return "Danish CPR number"
    digits = date_digits + serial
    checksum = sum(int(d) * w for d, w in zip(digits, _CPR_WEIGHTS, strict=True))
    return "Danish CPR number" if checksum % 11 == 0 else None


def find_identity_numbers(text: str) -> list[Finding]:
    """Every identity number in ``text``, in order of appearance."""
    findings: list[Finding] = []
    for match in _CANDIDATE.finditer(text):
        date_digits, separator, serial = match["date"], match["sep"], match["serial"]
        kind = _swedish_kind(date_digits, serial, separator) or _danish_kind(
            date_digits, serial, separator
        )
        if kind is not None:
            findings.append(Finding(kind, match.start(), match.end()))
    return findings


IDENTITY_NUMBER_RULE: Final = "patient_identifier"


def identity_number_message(finding: Finding) -> str:
    """The message shown when free text holds an identity number (the number is not echoed)."""
    return (
        f"the text holds what looks like a {finding.kind} "
        f"(characters {finding.start + 1} to {finding.end}); "
        "patients must never be identifiable in the record, so write about the situation "
        "without the number"
    )
