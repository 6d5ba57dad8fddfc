"""The patient-identifier guard.

Free text in the record must never identify a patient. This module finds Swedish
personal identity numbers (personnummer), Swedish coordination numbers
(samordningsnummer) and Danish CPR numbers in text, as people type them, while letting
dates, times, phone numbers, room numbers, doses and lab values through.

**As people type them.** Before looking, the text is read as a person sees it:
zero-width characters (zero-width space and joiners, word joiner, soft hyphen, byte-order
mark) are dropped; every hyphen and dash (hyphen, non-breaking hyphen, figure dash,
en and em dash, minus sign, small and full-width hyphen-minus) reads as ``-``; every
space (no-break, narrow no-break, figure, thin, ...) as a space; digits of any script as
digits. A number is the date part (6 or 8 digits) and the last four, joined by nothing,
a space, or a ``-``, ``+`` or ``.`` (with a space either side or not). A number is only
found as a whole: digits right before or after it make it part of a longer number.

**What the numbers really are.**

* Swedish: the birth date must exist (a coordination number adds 60 to the day; a
  12-digit form names its century, 18, 19 or 20) and the last digit must be the Luhn
  check digit of the ten-digit form. With a word that says what it is (``pnr``,
  ``personnummer``, ``samordningsnummer``, ``patient``, ...) in front, a valid date is
  enough: a mistyped check digit still identifies someone.
* Danish CPR numbers carry no reliable check digit (numbers without the modulus 11
  check have been issued since 2007), so the date and the context decide: the date must
  exist in the century that the seventh digit gives; then a CPR word in front
  (``CPR``, ``cpr-nr``, ``personnummer``, ``pnr``, ...) or a typed separator
  (``DDMMYY-SSSS``) makes it one; written as ten bare digits it must also pass the
  modulus 11 check, as every number issued before 2007 does, or give a birth since.

**What they are not.** A Danish-looking number whose last four read as a time of day
(``150902-1904``) is taken for a date and a time, not for a CPR number, unless a CPR
word stands in front: a CPR number of that shape belongs to someone born in 1900-1931.
A Swedish number that is also a valid date and time is only let through when a time
word stands in front (``kl``, ``tid``, ``time``, ...): its digits are a valid
personnummer. Ten bare digits that start like a
Swedish mobile number (07X) are a phone number, and a number after a word that names
another kind (``LOT``, ``ordernr``, ``tel``, ...) is that kind, unless an identity word
says otherwise. ``benchmarks/guard.py`` measures all of this (docs/privacy.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final

_ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2061\u2062\u2063")
_DASHES: Final = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_SPACES: Final = frozenset(
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
_PLUS: Final = frozenset("+\ufe62\uff0b")
_DOTS: Final = frozenset(".\u2024\ufe52\uff0e")

# Ten digits, each at most a few characters from the next: anything less holds no number.
_MAYBE: Final = re.compile(r"\d(?:\D{0,6}\d){9}")
_CANDIDATE: Final = re.compile(
    r"(?<!\d)(?P<date>\d{8}|\d{6})(?P<sep> ?[-+.] ?| {1,2})?(?P<serial>\d{4})(?!\d)"
)
_IDENTITY_WORDS: Final = re.compile(
    r"(?:personnummer|personnumre|personnr|pers\s?\.?\s?nr|p\s?-?\s?nr|pnr|p\.nr|"
    r"samordningsnummer|samordningsnr|personal identity number|identity number|"
    r"civic registration number|ssn|cpr|cpr\s?-?\s?nr|cpr\s?-?\s?nummer|cprnr|"
    r"id\s?-?\s?nr|id\s?-?\s?nummer|idnr|född|født|fødselsdato|födelsedatum|"
    r"patienten|patient|pat|pt|pasient)\b\W{0,4}$",
    re.IGNORECASE,
)
_TIME_WORDS: Final = re.compile(
    r"\b(?:kl|klockan|klokken|tid|tidpunkt|tidspunkt|tidsstämpel|tidsstempel|time|"
    r"timestamp|at|datum|dato|date|den)\b\W{0,3}$|@\s?$",
    re.IGNORECASE,
)
_DANISH_WORD: Final = re.compile(r"cpr|fød|pasient", re.IGNORECASE)
_OTHER_WORDS: Final = re.compile(
    r"\b(?:lot|batch|sats|parti|order|ordernr|ordrenr|remiss|remissnr|provnr|prøvenr|"
    r"beställningsnr|faktura|fakturanr|konto|kontonr|ref|referens|reference|"
    r"tel|telefon|tlf|tfn|mobil|mobilnr|fax|orgnr|org\.\s?nr|cvr)\b\W{0,4}$",
    re.IGNORECASE,
)
_CONTEXT: Final = 32
"""How many characters before a number are read for a word that says what it is."""
_CPR_WEIGHTS: Final = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_MOBILE: Final = re.compile(r"07[02369]\d{7}")


@dataclass(frozen=True)
class Finding:
    """Where an identity number was found, and what kind it looks like.

    The number itself is deliberately not kept, so that it cannot reach a message or log.
    """

    kind: str
    start: int
    end: int


def _read(text: str) -> tuple[str, list[int]]:
    """The text as a person reads it, and where each of its characters was."""
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if char in _ZERO_WIDTH:
            continue
        if char.isascii():
            out.append(char)
        elif char in _DASHES:
            out.append("-")
        elif char in _SPACES:
            out.append(" ")
        elif char in _PLUS:
            out.append("+")
        elif char in _DOTS:
            out.append(".")
        else:
            digit = unicodedata.decimal(char, None)
            out.append(str(digit) if digit is not None else char)
        where.append(index)
    return "".join(out), where


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


def _swedish_kind(date_digits: str, separator: str) -> str | None:
    """The kind of Swedish number whose birth date this is, if the date exists."""
    century = date_digits[:-6] if len(date_digits) == 8 else ""
    short = date_digits[-6:]
    yy, month, day = int(short[0:2]), int(short[2:4]), int(short[4:6])
    kind = "Swedish personal identity number"
    if day > 60:
        day -= 60
        kind = "Swedish coordination number"
    if century:
        if century not in {"18", "19", "20"}:
            return None
        centuries = [int(century)]
    elif separator == "+":
        centuries = [18, 19, 20]
    else:
        centuries = [19, 20]
    if not any(_date_exists(c * 100 + yy, month, day) for c in centuries):
        return None
    return kind


def _cpr_century(seventh: int, yy: int) -> int:
    """The century of a CPR number's birth year, from its seventh digit."""
    if seventh <= 3:
        return 1900
    if seventh in {4, 9}:
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def _cpr_birth_year(date_digits: str, serial: str) -> int:
    yy = int(date_digits[4:6])
    return _cpr_century(int(serial[0]), yy) + yy


def _cpr_date_exists(date_digits: str, serial: str) -> bool:
    day, month = int(date_digits[0:2]), int(date_digits[2:4])
    return _date_exists(_cpr_birth_year(date_digits, serial), month, day)


def _cpr_modulus_11(digits: str) -> bool:
    return sum(int(d) * w for d, w in zip(digits, _CPR_WEIGHTS, strict=True)) % 11 == 0


def _time_of_day(serial: str) -> bool:
    return int(serial[:2]) <= 23 and int(serial[2:]) <= 59


def _date_then_time(date_digits: str, serial: str) -> bool:
    """Whether six digits and four read as a date (YYMMDD) and a time of day (HHMM)."""
    yy, month, day = int(date_digits[0:2]), int(date_digits[2:4]), int(date_digits[4:6])
    return _time_of_day(serial) and _date_exists(2000 + yy, month, day)


@dataclass(frozen=True)
class _Candidate:
    """Digits in the shape of an identity number, and what the text says before them."""

    date: str
    separator: str
    serial: str
    said: bool
    """An identity word stands in front (pnr, CPR, patient, ...)."""
    timed: bool
    """A time word stands in front (kl, tid, time, ...)."""
    other: bool
    """A word naming another kind of number stands in front (LOT, ordernr, tel, ...)."""

    @property
    def digits(self) -> str:
        return self.date[-6:] + self.serial

    @property
    def bare(self) -> bool:
        return self.separator == ""


def _swedish(found: _Candidate) -> str | None:
    kind = _swedish_kind(found.date, found.separator)
    if kind is None or not (found.said or _luhn_valid(found.digits)):
        return None
    if found.said:
        return kind
    if len(found.date) == 6:
        if found.bare and _MOBILE.fullmatch(found.digits):
            return None  # a mobile phone number, written without spaces
        looks_like_time = _date_then_time(found.date, found.serial)
    else:
        looks_like_time = found.date.startswith("20") and _time_of_day(found.serial)
    return None if found.timed and looks_like_time else kind


def _danish(found: _Candidate) -> str | None:
    if len(found.date) != 6 or found.separator.strip() == "+":
        return None
    if not _cpr_date_exists(found.date, found.serial):
        return None
    if found.said:
        is_cpr = True
    elif _time_of_day(found.serial) and (found.timed or int(found.date[4:6]) <= 31):
        # A date and a time of day: as a CPR number (seventh digit 0-2) it would be of
        # someone born in 1900-1931.
        is_cpr = False
    elif found.bare:
        # Ten bare digits: with the check every number issued before 2007 passes, or of
        # someone born since (whose number may lack it); not a mobile phone number.
        is_cpr = not _MOBILE.fullmatch(found.digits) and (
            _cpr_modulus_11(found.digits) or _cpr_birth_year(found.date, found.serial) >= 2007
        )
    else:
        is_cpr = True  # the separator people type in a CPR number
    return "Danish CPR number" if is_cpr else None


def find_identity_numbers(text: str) -> list[Finding]:
    """Every identity number in ``text``, in order of appearance."""
    if _MAYBE.search(text) is None:
        return []
    read, where = _read(text)
    findings: list[Finding] = []
    for match in _CANDIDATE.finditer(read):
        before = read[max(0, match.start() - _CONTEXT) : match.start()]
        said = _IDENTITY_WORDS.search(before)
        found = _Candidate(
            match["date"],
            match["sep"] or "",
            match["serial"],
            said=said is not None,
            timed=_TIME_WORDS.search(before) is not None,
            other=_OTHER_WORDS.search(before) is not None,
        )
        readings = (
            (_danish, _swedish) if said and _DANISH_WORD.search(said[0]) else (_swedish, _danish)
        )
        kind = None
        if found.said or not found.other:
            kind = readings[0](found) or readings[1](found)
        if kind is not None:
            findings.append(Finding(kind, where[match.start()], where[match.end() - 1] + 1))
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
