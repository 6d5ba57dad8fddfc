"""The language of the texts people read: Swedish, Danish or English.

Messages are written in English in the code and templates and translated through gettext
catalogs (``locale/<language>/LC_MESSAGES/peerlog.po``, compiled to ``.mo`` at install
by Babel; ``make messages`` extracts them). The language is the current context's: a web
request's (its cookie, else its ``Accept-Language``), or the command line's (``--lang``,
``PEERLOG_LANGUAGE``, the locale's ``LC_ALL``/``LC_MESSAGES``/``LANG``), English when
none of them names a language peerlog speaks.

What machines read stays as it is in every language: JSON keys, rule codes, ids.
"""

from __future__ import annotations

import errno
import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final, Self, TypeVar, overload

if TYPE_CHECKING:
    from babel import Locale
    from jinja2 import Environment

LANGUAGES: Final = ("sv", "da", "en")
"""The languages peerlog speaks, each with a catalog."""
DEFAULT: Final = "en"
NAMES: Final = {"sv": "Svenska", "da": "Dansk", "en": "English"}
"""Each language in its own words, for the choice on the pages."""
COOKIE: Final = "peerlog_lang"
"""The cookie that remembers the language chosen on a page."""
ENVIRONMENT: Final = "PEERLOG_LANGUAGE"
DOMAIN: Final = "peerlog"

_T = TypeVar("_T")

_current: ContextVar[str] = ContextVar("peerlog_language", default=DEFAULT)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    """Marks a message for the catalogs where it is defined; it is translated where shown."""
    return message


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural form for the catalogs (as :func:`N_` does one
    without); it is translated where shown, with :func:`ngettext`."""
    return singular, plural


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of a language (English reads the messages as written)."""
    if language not in LANGUAGES:
        language = DEFAULT
    path = resources.files("peerlog") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        if language == DEFAULT:
            return _gettext.NullTranslations()
        msg = f"the {language} catalog is not compiled: run 'make install'"
        raise RuntimeError(msg)
    with path.open("rb") as compiled:
        return _gettext.GNUTranslations(compiled)


def language() -> str:
    """The current language."""
    return _current.get()


def set_language(chosen: str) -> None:
    """Makes ``chosen`` (one of LANGUAGES) the language of this context."""
    _current.set(chosen if chosen in LANGUAGES else DEFAULT)


@contextmanager
def speaking(chosen: str) -> Iterator[None]:
    """The texts inside the block in ``chosen``."""
    token = _current.set(chosen if chosen in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


REMEMBERED: Final = 20_000
"""How many translations :func:`gettext` (and forms :func:`ngettext`) remembers in each
language. The code's messages are a few hundred; a caller that translated texts of its
own making would otherwise grow the memory without end, so beyond this they are looked
up anew each time."""

_remembered: Final[dict[str, dict[str, str]]] = {chosen: {} for chosen in LANGUAGES}
"""Each language's translations looked up so far (the catalogs never change while
peerlog runs), so that a message told thousands of times (a long timeline's summaries)
is looked up in the catalog once."""
_remembered_forms: Final[dict[str, dict[tuple[str, str, int], str]]] = {
    chosen: {} for chosen in LANGUAGES
}
"""The same for :func:`ngettext`, by message and count."""


def gettext(message: str) -> str:
    """The message in the current language."""
    chosen = _current.get()
    remembered = _remembered[chosen]
    translated = remembered.get(message)
    if translated is None:
        translated = translations(chosen).gettext(message)
        if len(remembered) < REMEMBERED:
            remembered[message] = translated
    return translated


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of the message for ``n`` by the language's plural rule."""
    chosen = _current.get()
    remembered = _remembered_forms[chosen]
    key = (singular, plural, n)
    translated = remembered.get(key)
    if translated is None:
        translated = translations(chosen).ngettext(singular, plural, n)
        if len(remembered) < REMEMBERED:
            remembered[key] = translated
    return translated


def pgettext(context: str, message: str) -> str:
    """A message of a context (``column``: a table's heading), where the same English
    word is translated otherwise elsewhere."""
    return translations(_current.get()).pgettext(context, message)


_ = gettext


def pick(value: str | None) -> str | None:
    """The language a tag like ``sv-SE``, ``da_DK.UTF-8`` or ``en`` names, if peerlog speaks it."""
    if not value:
        return None
    tag = value.strip().split(".", 1)[0].replace("_", "-").lower()
    primary = tag.split("-", 1)[0]
    if primary in {"nb", "nn", "no"}:
        # Norwegian readers read Danish more easily than English.
        primary = "da"
    return primary if primary in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The language of an HTTP ``Accept-Language`` header peerlog speaks best (by its
    weights, the first listed of equal weight), English when it names none."""
    offered: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        chosen = pick(tag)
        if chosen and weight > 0:
            offered.append((-weight, index, chosen))
    return min(offered)[2] if offered else DEFAULT


def from_environment(given: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The command line's language: ``--lang``, else ``PEERLOG_LANGUAGE``, else the locale."""
    env = os.environ if environ is None else environ
    for value in (given, env.get(ENVIRONMENT)):
        chosen = pick(value)
        if chosen:
            return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            # The first of these set is the locale's, as in the C library.
            return pick(env[name]) or DEFAULT
    return DEFAULT


def locale() -> Locale:
    # Babel loads its locale data when a date or number is written, not at start-up.
    from babel import Locale  # noqa: PLC0415

    return Locale.parse({"sv": "sv_SE", "da": "da_DK", "en": "en_GB"}[_current.get()])


def number(value: float) -> str:
    """A number as the language writes it (``1 234`` in Swedish, ``1.234`` in Danish)."""
    if _current.get() == DEFAULT:
        return f"{value:,}"
    from babel.numbers import format_decimal  # noqa: PLC0415

    return str(format_decimal(value, locale=locale()))


class Fixed(float):
    """A ratio shown with two decimals: ``0.61`` in English (and wherever it is a plain
    ``str``, as in logs and JSON), ``0,61`` in Swedish and Danish where it is shown."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self:.2f}"


def ratio(value: float | None) -> str:
    """A balance or other ratio with two decimals, as the language writes it ("-" for none)."""
    if value is None:
        return "-"
    if _current.get() == DEFAULT:
        return f"{value:.2f}"
    from babel.numbers import format_decimal  # noqa: PLC0415

    return str(format_decimal(value, format="0.00", locale=locale()))


def moment(value: datetime, *, seconds: bool = False) -> str:
    """A date and time as the language writes it (English keeps ``2026-03-02 07:30``)."""
    if _current.get() == DEFAULT:
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    from babel.dates import format_date, format_datetime, format_time  # noqa: PLC0415

    if seconds:
        written = format_date(value, "short", locale=locale())
        return f"{written} {format_time(value, 'medium', locale=locale())}"
    return str(format_datetime(value, "short", locale=locale()))


def day(value: datetime) -> str:
    """A date as the language writes it."""
    if _current.get() == DEFAULT:
        return value.strftime("%Y-%m-%d")
    from babel.dates import format_date  # noqa: PLC0415

    return str(format_date(value, "short", locale=locale()))


def install(env: Environment) -> None:
    """Gives a Jinja2 environment the catalogs: ``_``, ``gettext``, ``ngettext`` (new
    style: escaped, with ``%(name)s`` placeholders) and ``{% trans %}`` blocks (trimmed)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(language=language, languages=NAMES, number=number)


class Labels(Mapping[str, str]):
    """Words for codes (a status, a kind), each marked with ``N_`` where it is defined and
    read in the current language: ``labels[code]`` is translated as it is looked up."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._labels = dict(labels)

    def __getitem__(self, code: str) -> str:
        return gettext(self._labels[code])

    @overload
    def get(self, code: str, /) -> str | None: ...
    @overload
    def get(self, code: str, /, default: str | _T) -> str | _T: ...
    def get(self, code: str, /, default: object = None) -> object:
        # Mapping's own get goes through __getitem__ and a KeyError for each code it lacks.
        message = self._labels.get(code)
        return default if message is None else gettext(message)

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


class Text(str):
    """A message written in English (the ``str`` itself, as JSON and logs have it) that
    remembers its catalog id and values, so that where a person reads it it is shown in
    their language (:func:`shown`). Values that are ``Text`` are translated with it, and
    a tuple of values is listed (``a, b``)."""

    __slots__ = ("msgid", "values")
    msgid: str
    values: Mapping[str, object]

    def __new__(cls, msgid: str, values: Mapping[str, object]) -> Self:
        made = super().__new__(cls, msgid % _plain(values) if values else msgid)
        made.msgid = msgid
        made.values = dict(values)
        return made

    def translated(self) -> str:
        message = gettext(self.msgid)
        if not self.values:
            return message
        return message % {k: _shown_value(v) for k, v in self.values.items()}


class PluralText(Text):
    """A :class:`Text` with a plural form, chosen by ``count`` in the reader's language
    (by the language's plural rule, as :func:`ngettext` chooses)."""

    __slots__ = ("number", "plural")
    plural: str
    number: int

    def __new__(cls, singular: str, plural: str, count: int, values: Mapping[str, object]) -> Self:
        chosen = singular if count == 1 else plural
        made = str.__new__(cls, chosen % _plain(values))
        made.msgid = singular
        made.values = dict(values)
        made.plural = plural
        made.number = count
        return made

    def translated(self) -> str:
        message = ngettext(self.msgid, self.plural, self.number)
        return message % {k: _shown_value(v) for k, v in self.values.items()}


def lazy_plural(singular: str, plural: str, count: int, **values: object) -> PluralText:
    """A message with a plural form, translated where it is shown (as :func:`lazy`);
    ``count`` chooses the form and is the value ``%(count)s``."""
    return PluralText(singular, plural, count, {"count": count, **values})


def _plain(values: Mapping[str, object]) -> dict[str, object]:
    """A message's values as English (logs, JSON) writes them: a tuple listed."""
    return {k: ", ".join(map(str, v)) if isinstance(v, tuple) else v for k, v in values.items()}


def _shown_value(value: object) -> object:
    """A value of a message as shown: a Text translated, a tuple of them listed."""
    if isinstance(value, tuple):
        return ", ".join(str(_shown_value(v)) for v in value)
    if isinstance(value, Fixed):
        return ratio(value)
    return shown(value) if isinstance(value, Text) else value


def lazy(msgid: str, **values: object) -> Text:
    """A message to be translated where it is shown (an error a rule of the record raises
    is made in English and read in whichever language its reader speaks)."""
    return Text(msgid, values)


def shown(message: object) -> str:
    """A message in the current language: a :class:`Text` translated, any other as it is."""
    return message.translated() if isinstance(message, Text) else str(message)


def shown_error(exc: BaseException) -> str:
    """An error's message in the current language (its :class:`Text`, if it was raised
    with one; ``str(exc)``, in English, is what logs and JSON have)."""
    return shown(exc.args[0]) if len(exc.args) == 1 else str(exc)


_OS_REASONS: Final = {
    errno.ENOENT: N_("no such file or folder"),
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("the operation is not permitted"),
    errno.EISDIR: N_("it is a folder"),
    errno.ENOTDIR: N_("a part of the path is not a folder"),
    errno.EEXIST: N_("it exists already"),
    errno.ENOSPC: N_("no space is left on the device"),
    errno.EDQUOT: N_("the disk quota is used up"),
    errno.EROFS: N_("the file system is read-only"),
    errno.ENAMETOOLONG: N_("the name is too long"),
    errno.ENOTEMPTY: N_("the folder is not empty"),
    errno.EBUSY: N_("it is in use"),
    errno.EIO: N_("the device could not be read or written"),
    errno.EMFILE: N_("too many files are open"),
    errno.ECONNREFUSED: N_("the connection was refused"),
}
"""The operating system's reasons people meet, in words of the catalogs (the C
library's own texts are English)."""


def os_reason(exc: OSError) -> str:
    """Why the operating system refused, as a message shown in the reader's language
    (the C library's English text for a reason not in the catalogs)."""
    known = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    if known is not None:
        return lazy(known)
    return exc.strerror or type(exc).__name__
