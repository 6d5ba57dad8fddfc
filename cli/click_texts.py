"""click's own words in the reader's language: its labels (``Error:``, ``Usage:``,
``[default: …]``, ``[env var: …]``, ``[required]``, ``Try '… --help' for help.``) and its
messages (no such option, a missing argument, a value that is not one of the choices).

click writes them in English and looks each up with the standard library's gettext
(``from gettext import gettext as _`` and ``ngettext`` in each of its modules), in the
process's global text domain. peerlog's catalogs hold them (listed here, for ``make
messages``), and :func:`route` points those lookups of click's modules at peerlog's
catalog of the current language (:mod:`peerlog.i18n`): the command line's, set before
click parses the arguments (:class:`peerlog.cli.registry.LazyGroup`).

A few of click's words are looked up when a command is defined, not when it is shown
(an option's help, the kind of a path): those stay in English, as the help written in
peerlog's code does, and are translated where they are shown (:mod:`peerlog.cli.help`)
or left out of the sentences that would hold them.
"""

from __future__ import annotations

import gettext as _stdlib
import importlib
from typing import Final

from peerlog import i18n
from peerlog.i18n import N_, ngettext_noop

MODULES: Final = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
    "click._termui_impl",
)
"""click's modules that look their messages up with gettext (all but the one for
Windows consoles)."""

MESSAGES: Final = (
    N_("Aborted!"),
    N_("deprecated"),
    N_("Options"),
    N_("Positional arguments"),
    N_("DeprecationWarning: The command {name!r} is deprecated.{extra_message}"),
    N_("Commands"),
    N_("Missing command."),
    N_("Value must be an iterable."),
    N_("DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}"),
    N_("Name '{name}' defined twice"),
    N_("Boolean option {decl!r} cannot use the same flag for true/false."),
    N_("Could not determine name for option with declarations {decls!r}"),
    N_(
        "No options defined but a name was passed ({name}). Did you mean to declare an "
        "argument instead? Did you mean to pass '--{name}'?"
    ),
    N_("env var: {var}"),
    N_("default: {default}"),
    # What click adds to the help of an option given required=True ([required]).
    N_("required"),
    N_("(dynamic)"),
    N_("Arguments take exactly one parameter declaration, got {length}: {decls}."),
    N_("Do you want to continue?"),
    N_("Confirm the action without prompting."),
    N_("%(prog)s, version %(version)s"),
    N_("Show the version and exit."),
    N_("Show this message and exit."),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("unknown error"),
    N_("Could not open file {filename!r}: {message}"),
    N_("Usage:"),
    N_("Invalid start character for option ({option})"),
    N_("Argument {name!r} takes {nargs} values."),
    N_("Option {name!r} does not take a value."),
    N_("Shell completion is not supported for Bash versions older than 4.4."),
    N_("Couldn't detect Bash version, shell completion is not supported."),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
    N_("Unknown color {colour!r}"),
    N_("Press any key to continue..."),
    N_("Choose from:\n\t{choices}"),
    N_("Choice({choices})"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{value!r} is not a valid UUID."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    N_("Unknown standard stream '{name}'"),
    # A progress bar's days left.
    N_("d"),
    N_("{editor}: Editing failed"),
    N_("{editor}: Editing failed: {e}"),
)
"""click's messages (each as click writes it, its placeholders ``{name}`` in braces)."""

PLURALS: Final = (
    ngettext_noop(
        "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"
    ),
    ngettext_noop(
        "Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."
    ),
    ngettext_noop("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    ngettext_noop(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    ),
    ngettext_noop("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    ngettext_noop(
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ),
    ngettext_noop(
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ),
)
"""click's messages with a plural form."""

DEFINED: Final = frozenset(
    {
        "Show this message and exit.",
        "Show the version and exit.",
        "Confirm the action without prompting.",
        "Do you want to continue?",
        "%(prog)s, version %(version)s",
        "file",
        "directory",
        "path",
    }
)
"""click's words looked up when a command is defined (kept as written there): the help
of the options click adds, the version line, and the kind of a path (the sentences
about a path leave it out in Swedish and Danish)."""


def gettext(message: str) -> str:
    """click's lookup of a message: in the current language, unless click looks it up
    when a command is defined."""
    return message if message in DEFINED else i18n.gettext(message)


def route() -> None:
    """Point click's lookups at peerlog's catalogs (once; again changes nothing)."""
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "_", None) in (_stdlib.gettext, gettext):
            module._ = gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) in (_stdlib.ngettext, i18n.ngettext):
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]
