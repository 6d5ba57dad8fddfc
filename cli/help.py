"""``--help`` in the reader's language.

The help of the commands and options is written in English where they are defined (a
command's docstring, an option's ``help=``) and translated as it is shown: each command's
context writes its help through :class:`HelpFormatter`, which reads every paragraph of a
command's help, every option's help and the headings in the current language. The
language is the command line's (``--lang``, ``PEERLOG_LANGUAGE``, the locale), found when
the help is shown, so that ``peerlog --lang sv audit --help`` and ``peerlog --help`` with
``LANG=da_DK.UTF-8`` need nothing loaded before. ``make messages`` finds the help texts
with :mod:`peerlog.cli.catalog`, which splits them the same way (:func:`paragraphs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

import click

from peerlog import i18n
from peerlog.i18n import N_, Text, gettext, shown

NO_WRAP: Final = "\b"
"""click's mark of a paragraph it keeps as written (an example's command lines)."""
_PARAGRAPHS: Final = re.compile(r"\n\s*\n")
_SENTENCE: Final = re.compile(r"(.*?\.)(?:\s|$)")
_EXTRAS: Final = re.compile(r"^(.*?)(\s+\[[^\[\]]*\])$", re.DOTALL)

CLICK_TEXTS: Final = (
    N_("Usage: "),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Example:"),
)
"""click's own words in the help, read from peerlog's catalogs."""

_MADE: dict[str, Text] = {}
"""Help texts made with values when a command is defined, by their English text."""


def made_with(message: Text) -> str:
    """A help text with values (the default file's path): the text in English, as click
    is given it, shown in the reader's language with the same values."""
    _MADE[str(message)] = message
    return str(message)


def paragraphs(text: str) -> Iterator[str]:
    """The messages of a help text: each paragraph click wraps, as one line; of a paragraph
    it keeps as written, the lines that are not commands (``Example:``)."""
    for paragraph in _PARAGRAPHS.split(text.strip()):
        if paragraph.startswith(NO_WRAP):
            yield from (line for line in paragraph.splitlines()[1:] if line[:1].strip())
        elif paragraph.strip():
            yield " ".join(line.strip() for line in paragraph.splitlines())


def translated_text(text: str) -> str:
    """A command's help, paragraph by paragraph, in the current language."""
    out = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        if paragraph.startswith(NO_WRAP):
            lines = paragraph.splitlines()
            out.append(
                "\n".join(
                    [lines[0]] + [gettext(line) if line[:1].strip() else line for line in lines[1:]]
                )
            )
        else:
            joined = " ".join(line.strip() for line in paragraph.splitlines())
            out.append(gettext(joined))
    return "\n\n".join(out)


def translated_line(text: str) -> str:
    """An option's or a command's short help in the current language; what click adds in
    brackets (``[default: 5]``, ``[env var: ...]``), which click writes in the current
    language itself (:mod:`peerlog.cli.click_texts`), stays as it is."""
    found = gettext(text)
    if found != text:
        return found
    if text in _MADE:
        return shown(_MADE[text])
    extras = _EXTRAS.match(text)
    if extras is None:
        return text
    return f"{translated_line(extras.group(1))} {translated_line(extras.group(2).strip())}"


class HelpFormatter(click.HelpFormatter):
    """click's help formatter, writing peerlog's texts in the current language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, gettext("Usage: ") if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(gettext(heading))

    def write_text(self, text: str) -> None:
        super().write_text(translated_text(text))

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        super().write_dl(
            [(term, translated_line(text)) for term, text in rows], col_max, col_spacing
        )


def help_language(ctx: click.Context) -> str:
    """The language of the command line whose help is asked for."""
    given = ctx.find_root().params.get("lang")
    return i18n.from_environment(given if isinstance(given, str) else None)


class HelpContext(click.Context):
    """A command's context whose help and usage are in the command line's language."""

    formatter_class = HelpFormatter

    def get_help(self) -> str:
        with i18n.speaking(help_language(self)):
            return super().get_help()

    def get_usage(self) -> str:
        with i18n.speaking(help_language(self)):
            return super().get_usage()


def in_the_readers_language(command: click.Command) -> click.Command:
    """The command (and its subcommands) with help in the reader's language. A subcommand
    is listed by the first sentence of its help, which is a message of the catalogs."""
    command.context_class = HelpContext
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            if not sub.short_help and sub.help:
                sub.short_help = short_help(sub.help)
            in_the_readers_language(sub)
    return command


def short_help(text: str) -> str:
    """A command's first sentence (as click shortens its help, not cut off)."""
    first = " ".join(line.strip() for line in _PARAGRAPHS.split(text.strip(), 1)[0].splitlines())
    sentence = _SENTENCE.match(first)
    return sentence.group(1) if sentence else first
