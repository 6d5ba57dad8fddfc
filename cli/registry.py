"""Every command of ``peerlog``, in the order ``peerlog --help`` lists them.

A command's module is imported only when the command runs (or its own help is asked
for): ``peerlog --version`` and ``peerlog --help`` start without loading the record,
the web server or the projections. ``--help`` lists each command with the short help
written here, which a test keeps equal to the command's own.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import click

from peerlog import i18n
from peerlog.cli.click_texts import route
from peerlog.cli.help import HelpContext, in_the_readers_language
from peerlog.i18n import N_

# click's own words (its labels and messages) in the command line's language.
route()


class Entry(NamedTuple):
    name: str
    module: str
    attribute: str
    short_help: str


COMMANDS: Final = (
    Entry("demo", "demo_command", "demo_command",
          N_("Seed a demo placement and show what peerlog makes of it.")),
    Entry("import", "importing", "import_command", N_("Apply a JSON-lines file of commands.")),
    Entry("record", "recording", "record_command",
          N_("Record one command, written as FIELD=VALUE words.")),
    Entry("courses", "listing", "courses_command",
          N_("The record's courses: ids, titles, dates, time zones.")),
    Entry("goals", "listing", "goals_command", N_("A course's goals, their ids and titles.")),
    Entry("pairs", "listing", "pairs_command",
          N_("The record's pairs, their students and supervisors.")),
    Entry("replay", "replay", "replay_command",
          N_("A pair's history, event by event, as of a time.")),
    Entry("audit", "audit", "audit_command",
          N_("A student's goals, evidence and the events behind them.")),
    Entry("balance", "balance", "balance_command", N_("How evenly a pair's members take part.")),
    Entry("dashboard", "dashboard", "dashboard_command",
          N_("The supervisor overview, flagged pairs first.")),
    Entry("verify", "verify", "verify_command",
          N_("Check that the stored record was not altered.")),
    Entry("checkpoint", "checkpoint", "checkpoint_group",
          N_("Sign a checkpoint of the record (and list, show, publish them).")),
    Entry("verify-bundle", "verify_bundle", "verify_bundle_command",
          N_("Check an examiner's audit file, without the record.")),
    Entry("witness", "witness", "witness_group",
          N_("Cosign a record's checkpoints as a second party.")),
    Entry("projections", "read_models", "projections_group",
          N_("Status, running and rebuilding of the read models.")),
    Entry("export", "export", "export_command",
          N_("Events, xAPI statements or a read model as JSON lines or CSV.")),
    Entry("xapi", "xapi", "xapi_group", N_("Send the record to a learning record store.")),
    Entry("serve", "serve", "serve_command",
          N_("Serve the HTTP API and the supervisor dashboard.")),
    Entry("tokens", "tokens", "tokens_group", N_("API tokens for the HTTP API and the dashboard.")),
    Entry("person", "dpo", "person_command",
          N_("What the record holds about a person (subject access).")),
    Entry("forget", "dpo", "forget_command",
          N_("Erase a person's personal data (the right to erasure).")),
    Entry("keys", "rotation", "keys_group", N_("Replace the master key or the checkpoint key.")),
    Entry("backup", "backup", "backup_command",
          N_("Copy an SQLite record while it is in use, and check the copy.")),
)  # fmt: skip
BY_NAME: Final = {entry.name: entry for entry in COMMANDS}


def language_of(args: Sequence[str]) -> str:
    """The language ``--lang`` (else the environment) names, read before click parses the
    arguments: ``--help`` is answered while they are parsed."""
    given: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(args):
            given = args[index + 1]
        elif arg.startswith("--lang="):
            given = arg.partition("=")[2]
    return i18n.from_environment(given)


def load(entry: Entry) -> click.Command:
    """The command itself (its module imported now)."""
    module = importlib.import_module(f"peerlog.cli.{entry.module}")
    command = getattr(module, entry.attribute)
    assert isinstance(command, click.Command)
    return in_the_readers_language(command)


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run, and listed without; their
    help is in the reader's language (:mod:`peerlog.cli.help`)."""

    context_class = HelpContext

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        # The language of the help and of click's own messages, which click writes while
        # it parses the arguments (before any command runs).
        given = sys.argv[1:] if args is None else list(args)
        with i18n.speaking(language_of(given)):
            return super().main(given, *rest, **options)

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        entry = BY_NAME.get(cmd_name)
        if entry is None:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load(entry)
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        del ctx
        with formatter.section("Commands"):
            formatter.write_dl([(entry.name, entry.short_help) for entry in COMMANDS])
