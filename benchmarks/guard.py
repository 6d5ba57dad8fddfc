"""The patient-identifier guard, measured on a generated corpus.

Two corpora, from one seed (``corpus``):

* **identifiers**: Swedish personal identity numbers and coordination numbers and
  Danish CPR numbers of people of every age (weighted like a population: fewer the
  older), each in one of the written forms people type - with and without century,
  without separator, with a hyphen, a plus (100 years or older), a space, every kind of
  dash (en and em dash, non-breaking hyphen, minus sign, ...), a no-break or thin
  space, a dot, spaces around the dash, zero-width characters inside - alone, in a
  sentence, or after a word that says what it is (``pnr``, ``CPR-nr.``, ``Patient``).
  A Danish number of someone born since 2007 lacks the modulus 11 check in a fifth of
  cases (such numbers are issued where a birth date's supply ran out).
* **ordinary**: what clinical text holds that is not an identity number - dates, times,
  dates with times in every compact form (``150902-1904``, ``YYYYMMDDHHMM``, ...),
  Swedish and Danish phone numbers (mobile numbers ``07XXXXXXXX`` too), room numbers,
  doses, lab values, and other long numbers (order, lot and request numbers) - alone, in
  a sentence, or after a time word (``kl``, ``tid``).

``measure`` reports, per written form, how many identifiers were caught and how many
ordinary strings were taken for one.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from benchmarks.suite import Context, Result
from peerlog.domain.identity_numbers import find_identity_numbers

TODAY: Final = date(2026, 6, 1)
"""The day the corpus is written on (birth dates are before it)."""
DASHES: Final = ("\u2013", "\u2011", "\u2212", "\u2010", "\u2012", "\u2014", "\uff0d")
SPACES: Final = ("\u00a0", "\u202f", "\u2009", "\u2007")
ZERO_WIDTH: Final = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
CPR_WEIGHTS: Final = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Sample:
    text: str
    kind: str
    """What it is (``swedish``, ``danish``, or the ordinary class)."""
    form: str
    """How it is written."""


# --- identity numbers ---------------------------------------------------------------


AGES: Final = ((0, 75, 1.0), (75, 85, 0.7), (85, 95, 0.3), (95, 105, 0.05))
"""(from, to, weight) of the ages of living people, roughly as a population has them."""


def _birth_date(rng: random.Random) -> date:
    low, high, _ = rng.choices(AGES, [(b - a) * w for a, b, w in AGES])[0]
    return TODAY - timedelta(days=int(rng.uniform(low, high) * 365.25))


def _luhn_digit(nine: str) -> str:
    total = 0
    for index, char in enumerate(reversed(nine)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _swedish(rng: random.Random, born: date, *, coordination: bool) -> tuple[str, str]:
    """(date part with century, serial) of a Swedish number."""
    day = born.day + (60 if coordination else 0)
    short = f"{born.year % 100:02d}{born.month:02d}{day:02d}"
    nnn = f"{rng.randrange(1000):03d}"
    return f"{born.year // 100}{short}", nnn + _luhn_digit(short + nnn)


def _cpr_seventh(rng: random.Random, year: int) -> int:
    yy = year % 100
    if year < 1900:
        return rng.choice((5, 6, 7, 8))
    if year < 2000:
        return rng.choice((0, 1, 2, 3, 4, 9) if yy >= 37 else (0, 1, 2, 3))
    return rng.choice((4, 9, 5, 6, 7, 8) if yy <= 36 else (5, 6, 7, 8))


def _danish(rng: random.Random, born: date) -> str:
    """A CPR number (ten digits)."""
    head = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
    checked = born.year < 2007 or rng.random() < 0.8
    while True:
        serial = f"{_cpr_seventh(rng, born.year)}{rng.randrange(1000):03d}"
        digits = head + serial
        total = sum(int(d) * w for d, w in zip(digits, CPR_WEIGHTS, strict=True))
        if not checked or total % 11 == 0:
            return digits


def _separated(rng: random.Random, head: str, tail: str, separator: str) -> tuple[str, str]:
    """(text, form) of a number written with a separator of the kind asked."""
    if separator == "dash":
        dash = rng.choice(DASHES)
        return head + dash + tail, f"dash U+{ord(dash):04X}"
    if separator == "space":
        return head + " " + tail, "space"
    if separator == "wide space":
        space = rng.choice(SPACES)
        return head + space + tail, f"space U+{ord(space):04X}"
    if separator == "dot":
        return head + "." + tail, "dot"
    if separator == "spaced hyphen":
        return head + " - " + tail, "spaced hyphen"
    return head + separator + tail, {"": "no separator", "-": "hyphen", "+": "plus"}[separator]


def _zero_width(rng: random.Random, text: str) -> str:
    for _ in range(rng.choice((1, 1, 2))):
        at = rng.randrange(1, len(text))
        text = text[:at] + rng.choice(ZERO_WIDTH) + text[at:]
    return text


_FORMS: Final = (
    ("-", 20),
    ("", 14),
    ("space", 8),
    ("dash", 14),
    ("wide space", 5),
    ("dot", 3),
    ("spaced hyphen", 4),
)

IDENTITY_CONTEXT: Final = (
    "pnr {}",
    "Pnr: {}",
    "personnummer {}",
    "Patient {}",
    "pat. {}",
    "Pt {} har fått Alvedon",
    "född {}",
    "samordningsnr {}",
    "CPR-nr. {}",
    "cpr {}",
    "CPR: {}",
    "født {}",
    "personnr {}",
)
PLAIN_CONTEXT: Final = (
    "Ringde om {} angående provsvar",
    "{} kom till avdelningen i morse",
    "Läkemedelslistan för {} gicks igenom",
    "Överrapportering: {} i säng 4",
    "Notat vedr. {} efter stuegang",
    "Ringede til pårørende til {}",
    "{} skal have taget blodprøver",
    "Såromläggning hos {}, läker fint",
)


def _in_context(rng: random.Random, text: str, *, words: Sequence[str]) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.35:
        return text, "alone"
    if roll < 0.70:
        return rng.choice(PLAIN_CONTEXT).format(text), "in a sentence"
    return rng.choice(words).format(text), "after an identity word"


def identifier(rng: random.Random) -> Sample:
    """One identity number, in one written form, in one context."""
    born = _birth_date(rng)
    roll = rng.random()
    separator = rng.choices([f for f, _ in _FORMS], [w for _, w in _FORMS])[0]
    if roll < 0.55:
        kind = "swedish"
        full, serial = _swedish(rng, born, coordination=rng.random() < 0.15)
        head = full if rng.random() < 0.45 else full[2:]
        if separator == "-" and len(head) == 6 and TODAY.year - born.year >= 100:
            separator = "+"
        label = f"Swedish {len(head) + 4} digits"
    else:
        kind = "danish"
        digits = _danish(rng, born)
        head, serial = digits[:6], digits[6:]
        label = "Danish"
    text, form = _separated(rng, head, serial, separator)
    if rng.random() < 0.12:
        text, form = _zero_width(rng, text), f"{form}, zero-width inside"
    text, where = _in_context(rng, text, words=IDENTITY_CONTEXT)
    return Sample(text, kind, f"{label}, {form}, {where}")


# --- ordinary text --------------------------------------------------------------------


def _a_day(rng: random.Random) -> date:
    return date(2000, 1, 1) + timedelta(days=rng.randrange(31 * 365))


def _dates(rng: random.Random) -> tuple[str, str]:
    d = _a_day(rng)
    forms = {
        "ISO": d.isoformat(),
        "YYYYMMDD": d.strftime("%Y%m%d"),
        "YYMMDD": d.strftime("%y%m%d"),
        "DD.MM.YYYY": d.strftime("%d.%m.%Y"),
        "D/M-YY": f"{d.day}/{d.month}-{d:%y}",
        "DD/MM/YYYY": d.strftime("%d/%m/%Y"),
        "DDMMYY": d.strftime("%d%m%y"),
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _times(rng: random.Random) -> tuple[str, str]:
    h, m = rng.randrange(24), rng.randrange(60)
    h2 = (h + rng.randrange(1, 12)) % 24
    forms = {
        "HH:MM": f"{h:02d}:{m:02d}",
        "kl. HH.MM": f"kl. {h:02d}.{m:02d}",
        "HHMM": f"{h:02d}{m:02d}",
        "HH.MM-HH.MM": f"{h:02d}.{m:02d}-{h2:02d}.{m:02d}",
        "HHMM-HHMM": f"{h:02d}{m:02d}-{h2:02d}{m:02d}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _date_times(rng: random.Random) -> tuple[str, str]:
    d = _a_day(rng)
    hm = f"{rng.randrange(24):02d}{rng.randrange(60):02d}"
    forms = {
        "YYMMDD-HHMM": f"{d:%y%m%d}-{hm}",
        "YYMMDD HHMM": f"{d:%y%m%d} {hm}",
        "YYMMDDHHMM": f"{d:%y%m%d}{hm}",
        "YYYYMMDDHHMM": f"{d:%Y%m%d}{hm}",
        "YYYYMMDD HHMM": f"{d:%Y%m%d} {hm}",
        "YYYYMMDD-HHMM": f"{d:%Y%m%d}-{hm}",
        "DDMMYY-HHMM": f"{d:%d%m%y}-{hm}",
        "DDMMYY HHMM": f"{d:%d%m%y} {hm}",
        "YYYY-MM-DD HH:MM": f"{d.isoformat()} {hm[:2]}:{hm[2:]}",
        "ISO 8601": f"{d.isoformat()}T{hm[:2]}:{hm[2:]}:00+01:00",
        "DD.MM.YYYY kl. HH.MM": f"{d:%d.%m.%Y} kl. {hm[:2]}.{hm[2:]}",
        "YYMMDD kl HH.MM": f"{d:%y%m%d} kl {hm[:2]}.{hm[2:]}",
        "D/M kl HH:MM": f"{d.day}/{d.month} kl {hm[:2]}:{hm[2:]}",
    }
    # Notes are written by people: the compact forms of machine timestamps (all but
    # the last five) are a third of the dates with times.
    names = list(forms)
    name = rng.choices(names, [1] * (len(names) - 5) + [3] * 5)[0]
    return forms[name], name


def _phones(rng: random.Random) -> tuple[str, str]:
    mobile = f"07{rng.choice('02369')}{rng.randrange(10**7):07d}"
    m = mobile
    area = rng.choice(("08", "031", "040", "018", "090"))
    rest = f"{rng.randrange(10**6):06d}"
    dk = f"{rng.randrange(2, 10)}{rng.randrange(10**7):07d}"
    forms = {
        "07XXXXXXXX": m,
        "07X-XXX XX XX": f"{m[:3]}-{m[3:6]} {m[6:8]} {m[8:]}",
        "07X XXX XX XX": f"{m[:3]} {m[3:6]} {m[6:8]} {m[8:]}",
        "07X-XXXXXXX": f"{m[:3]}-{m[3:]}",
        "+46 7X XXX XX XX": f"+46 {m[1:3]} {m[3:6]} {m[6:8]} {m[8:]}",
        "+467XXXXXXXX": f"+46{m[1:]}",
        "landline": f"{area}-{rest[:3]} {rest[3:]}",
        "Danish 8 digits": dk,
        "Danish XX XX XX XX": f"{dk[:2]} {dk[2:4]} {dk[4:6]} {dk[6:]}",
        "+45 XXXXXXXX": f"+45 {dk}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _rooms(rng: random.Random) -> tuple[str, str]:
    forms = {
        "rum": f"rum {rng.randrange(1, 9999)}",
        "sal": f"sal {rng.randrange(1, 40)}{rng.choice('ABC')}",
        "säng": f"säng {rng.randrange(1, 30)}",
        "avd": f"avd {rng.randrange(1, 99)}, rum {rng.randrange(1, 40)}",
        "stue": f"stue {rng.randrange(1, 30)}, seng {rng.randrange(1, 6)}",
        "room code": f"{rng.randrange(1, 9)}-{rng.randrange(100, 999)}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _doses(rng: random.Random) -> tuple[str, str]:
    forms = {
        "tablets": f"Alvedon {rng.choice((500, 665, 1000))} mg x {rng.randrange(1, 5)}",
        "iv": f"Morfin {rng.choice(('2,5', '5', '10'))} mg iv kl {rng.randrange(24):02d}",
        "units": f"Insulin {rng.randrange(2, 40)} E",
        "IE": f"Heparin {rng.choice((2500, 5000, 10000))} IE x {rng.randrange(1, 3)}",
        "infusion": f"NaCl {rng.choice((500, 1000))} ml/{rng.choice((8, 12, 24))}h",
        "schedule": f"Furix {rng.choice((20, 40, 80))} mg 1x{rng.randrange(1, 3)}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _labs(rng: random.Random) -> tuple[str, str]:
    forms = {
        "Hb": f"Hb {rng.randrange(80, 170)} g/L",
        "CRP": f"CRP {rng.randrange(1, 300)}",
        "glucose": f"B-glukos {rng.randrange(3, 25)},{rng.randrange(10)} mmol/L",
        "creatinine": f"Krea {rng.randrange(40, 400)} µmol/L",
        "INR": f"INR {rng.randrange(1, 5)},{rng.randrange(10)}",
        "electrolytes": f"Na {rng.randrange(125, 150)}, K {rng.randrange(3, 6)},{rng.randrange(9)}",
        "vitals": f"BT {rng.randrange(90, 190)}/{rng.randrange(50, 110)}, "
        f"puls {rng.randrange(40, 140)}",
        "SpO2": f"SpO2 {rng.randrange(85, 101)} %, NEWS2 {rng.randrange(0, 12)}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


def _numbers(rng: random.Random) -> tuple[str, str]:
    forms = {
        "request number": f"remiss {rng.randrange(20, 30)}-{rng.randrange(10**6):06d}",
        "sample number": f"provnr {rng.randrange(10**7):07d}",
        "lot number": f"LOT {rng.randrange(10**10):010d}",
        "order number": f"ordernr {rng.randrange(10**12):012d}",
        "barcode": f"{rng.randrange(10**13):013d}",
        "postcode": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}",
    }
    name = rng.choice(sorted(forms))
    return forms[name], name


ORDINARY: Final[dict[str, tuple[int, Callable[[random.Random], tuple[str, str]]]]] = {
    "date": (14, _dates),
    "time": (8, _times),
    "date and time": (14, _date_times),
    "phone number": (18, _phones),
    "room number": (8, _rooms),
    "dose": (10, _doses),
    "lab value": (10, _labs),
    "other number": (10, _numbers),
}
NAMING: Final[dict[str, tuple[str, ...]]] = {
    "date": ("datum {}", "den {}", "dato {}"),
    "time": ("kl {}", "tid {}"),
    "date and time": ("kl {}", "tid {}", "datum {}", "Tidpunkt: {}", "time {}"),
    "phone number": ("tel {}", "mobil {}", "tlf. {}"),
}
"""Words that say what a number is, for the kinds whose forms do not carry one."""
SENTENCE: Final = (
    "Provtagning {} enligt ordination",
    "Dokumenterat {}",
    "Uppföljning: {}",
    "Noteret {} efter vagtskifte",
    "Se journal, {}",
)


def ordinary(rng: random.Random) -> Sample:
    """One ordinary string of clinical text, in a context mixed as for identifiers:
    alone, in a sentence, or after a word that says what it is."""
    names = sorted(ORDINARY)
    kind = rng.choices(names, [ORDINARY[n][0] for n in names])[0]
    text, form = ORDINARY[kind][1](rng)
    roll = rng.random()
    if roll < 0.35:
        where = "alone"
    elif roll < 0.70 or kind not in NAMING:
        text, where = rng.choice(SENTENCE).format(text), "in a sentence"
    else:
        text, where = rng.choice(NAMING[kind]).format(text), "after a word naming it"
    return Sample(text, kind, f"{form}, {where}")


def corpus(seed: int, identifiers: int, ordinary_strings: int) -> tuple[list[Sample], list[Sample]]:
    rng = random.Random(seed)  # noqa: S311 - a corpus from a seed, not a secret
    return (
        [identifier(rng) for _ in range(identifiers)],
        [ordinary(rng) for _ in range(ordinary_strings)],
    )


# --- measuring ------------------------------------------------------------------------


@dataclass
class Tally:
    total: int = 0
    flagged: int = 0

    @property
    def rate(self) -> float:
        return self.flagged / self.total if self.total else 0.0


@dataclass
class Measurement:
    identifiers: Tally = field(default_factory=Tally)
    ordinary: Tally = field(default_factory=Tally)
    by_class: dict[str, Tally] = field(default_factory=dict)
    """Per kind and form: identifiers (caught) and ordinary strings (taken for one)."""
    missed: list[Sample] = field(default_factory=list)
    false_alarms: list[Sample] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        return self.identifiers.rate

    @property
    def false_alarm_rate(self) -> float:
        return self.ordinary.rate

    def groups(self, level: int) -> dict[str, Tally]:
        """Tallies by the first ``level`` parts of a sample's form."""
        out: dict[str, Tally] = {}
        for name, tally in self.by_class.items():
            key = ", ".join(name.split(", ")[:level])
            merged = out.setdefault(key, Tally())
            merged.total += tally.total
            merged.flagged += tally.flagged
        return out


def measure(identifiers: Sequence[Sample], ordinary_strings: Sequence[Sample]) -> Measurement:
    found = Measurement()
    started = time.perf_counter()
    for sample, tally, wrong in (
        *((s, found.identifiers, found.missed) for s in identifiers),
        *((s, found.ordinary, found.false_alarms) for s in ordinary_strings),
    ):
        hit = bool(find_identity_numbers(sample.text))
        name = f"{'identifier' if sample.kind in {'swedish', 'danish'} else 'ordinary'}, "
        name += f"{sample.kind}, {sample.form}"
        group = found.by_class.setdefault(name, Tally())
        for t in (tally, group):
            t.total += 1
            t.flagged += hit
        is_identifier = tally is found.identifiers
        if hit != is_identifier:
            wrong.append(sample)
    found.seconds = time.perf_counter() - started
    return found


def summary(found: Measurement) -> str:
    """The figures and the worst classes, as the benchmark prints them."""
    ids, other = found.identifiers, found.ordinary
    caught = f"identifiers caught: {ids.flagged:,} of {ids.total:,} ({found.recall:.2%})"
    rejected = f"ordinary strings rejected: {other.flagged:,} of {other.total:,}"
    lines = [caught, f"{rejected} ({found.false_alarm_rate:.2%})"]
    forms = Counter(
        {k: t.total - t.flagged for k, t in found.groups(4).items() if "identifier" in k}
    )
    lines += [f"  missed {n}: {k}" for k, n in forms.most_common(8) if n]
    alarms = Counter({k: t.flagged for k, t in found.groups(3).items() if "ordinary" in k})
    lines += [f"  rejected {n}: {k}" for k, n in alarms.most_common(8) if n]
    return "\n".join(lines)


SEED: Final = 2026
FIGURE: Final = "patient-identifier guard"


def run(ctx: Context) -> Measurement:
    """The guard on the corpus of the run's size: the figures, and its summary."""
    identifiers, ordinary_strings = corpus(SEED, ctx.size.guard, ctx.size.guard)
    found = measure(identifiers, ordinary_strings)
    per_string = found.seconds / (len(identifiers) + len(ordinary_strings)) * 1e6
    common = {"seed": SEED, "us_per_string": round(per_string, 1)}
    ctx.add(
        Result(
            FIGURE,
            "-",
            "identifiers caught",
            found.recall * 100,
            "%",
            {
                "identifiers": found.identifiers.total,
                "missed": found.identifiers.total - found.identifiers.flagged,
                **common,
            },
        )
    )
    ctx.add(
        Result(
            FIGURE,
            "-",
            "ordinary strings let through",
            (1 - found.false_alarm_rate) * 100,
            "%",
            {
                "ordinary_strings": found.ordinary.total,
                "rejected": found.ordinary.flagged,
                "false_alarm_rate_percent": round(found.false_alarm_rate * 100, 3),
                **common,
            },
        )
    )
    for line in summary(found).splitlines():
        ctx.report("  " + line)
    return found
