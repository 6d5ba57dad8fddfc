"""The ``peerlog`` command: a thin skin over the application and the projections."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from peerlog import __version__, i18n
from peerlog.cli.errors import guarded
from peerlog.cli.registry import LazyGroup
from peerlog.cli.session import DEFAULT_DB_HELP, Session
from peerlog.folding import pause_while_folding
from peerlog.i18n import N_


class Group(LazyGroup):
    """The ``peerlog`` group: errors a user can cause become messages."""

    def invoke(self, ctx: click.Context) -> Any:
        def where() -> str:
            session = ctx.find_object(Session)
            return session.where if session is not None else "the configured store"

        try:
            return guarded(where, lambda: super(Group, self).invoke(ctx))
        except BrokenPipeError:
            # Whoever reads the output (``| head``) has read enough: end quietly, as
            # standard tools do; what is still buffered goes nowhere.
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_(
        "peerlog keeps the learning record of peer learning in clinical placements.\n\n"
        "Every command works on one record: --db, else PEERLOG_DATABASE_URL, else the\n"
        "default SQLite file. Commands whose output is data take --format.\n\n"
        "\b\nExample:\n  peerlog demo\n  peerlog replay p03 --session p03-s006"
    ),
)
@click.option(
    "--db",
    metavar="URL",
    envvar="PEERLOG_DATABASE_URL",
    show_envvar=True,
    help=DEFAULT_DB_HELP,
)
@click.option(
    "--lang",
    metavar="LANGUAGE",
    type=click.Choice(i18n.LANGUAGES),
    help=N_(
        "The language of the output people read: sv (Swedish), da (Danish) or en "
        "(English). Else PEERLOG_LANGUAGE, else the locale (LC_ALL, LC_MESSAGES, LANG), "
        "else English. JSON output is the same in every language."
    ),
)
@click.version_option(__version__, prog_name="peerlog")
@click.pass_context
def cli(ctx: click.Context, db: str | None, lang: str | None) -> None:
    """The group's help is given above, in the catalogs."""
    # The language of this command's output, for as long as it runs.
    ctx.with_resource(i18n.speaking(i18n.from_environment(lang)))
    source = ctx.get_parameter_source("db")
    ctx.obj = Session(db or None, db_from_option=source is click.core.ParameterSource.COMMANDLINE)


def _quiet_stdout() -> None:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file (a test's captured output)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def main() -> None:
    """The console script."""
    logging.basicConfig(level=logging.WARNING, format="peerlog: %(message)s")
    # The pool's own retry messages repeat what the error message says.
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    # A command folds in one thread: its folds may hold off the collector (``serve``,
    # whose threads answer requests, takes this back).
    pause_while_folding()
    cli.main(prog_name="peerlog")
