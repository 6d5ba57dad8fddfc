"""Every command of ``peerlog``, in the order ``peerlog --help`` lists them.

A command's module is imported only when the command runs (or its own help is asked
for): ``peerlog --version`` and ``peerlog --help`` start without loading the record,
the web server or the projections. ``--help`` lists each command with the short help
written here, which a test keeps equal to the command's own.
"""

from __future__ import annotations

import importlib
from typing import Final, NamedTuple

import click

from peerlog.cli.help import HelpContext, in_the_readers_language


class Entry(NamedTuple):
    name: str
    module: str
    attribute: str
    short_help: str


COMMANDS: Final = (
    Entry("demo", "demo_command", "demo_command",
          "Seed a demo placement and show what peerlog makes of it."),
    Entry("import", "importing", "import_command", "Apply a JSON-lines file of commands."),
    Entry("record", "recording", "record_command",
          "Record one command, written as FIELD=VALUE words."),
    Entry("courses", "listing", "courses_command",
          "The record's courses: ids, titles, dates, time zones."),
    Entry("goals", "listing", "goals_command", "A course's goals, their ids and titles."),
    Entry("pairs", "listing", "pairs_command",
          "The record's pairs, their students and supervisors."),
    Entry("replay", "replay", "replay_command", "A pair's history, event by event, as of a time."),
    Entry("audit", "audit", "audit_command",
          "A student's goals, evidence and the events behind them."),
    Entry("balance", "balance", "balance_command", "How evenly a pair's members take part."),
    Entry("dashboard", "dashboard", "dashboard_command",
          "The supervisor overview, flagged pairs first."),
    Entry("verify", "verify", "verify_command", "Check that the stored record was not altered."),
    Entry("checkpoint", "checkpoint", "checkpoint_group",
          "Sign a checkpoint of the record (and list, show, publish them)."),
    Entry("verify-bundle", "verify_bundle", "verify_bundle_command",
          "Check an examiner's audit file, without the record."),
    Entry("witness", "witness", "witness_group",
          "Cosign a record's checkpoints as a second party."),
    Entry("projections", "read_models", "projections_group",
          "Status, running and rebuilding of the read models."),
    Entry("export", "export", "export_command",
          "Events, xAPI statements or a read model as JSON lines or CSV."),
    Entry("xapi", "xapi", "xapi_group", "Send the record to a learning record store."),
    Entry("serve", "serve", "serve_command", "Serve the HTTP API and the supervisor dashboard."),
    Entry("tokens", "tokens", "tokens_group", "API tokens for the HTTP API and the dashboard."),
    Entry("person", "dpo", "person_command",
          "What the record holds about a person (subject access)."),
    Entry("forget", "dpo", "forget_command",
          "Erase a person's personal data (the right to erasure)."),
    Entry("keys", "rotation", "keys_group", "Replace the master key or the checkpoint key."),
    Entry("backup", "backup", "backup_command",
          "Copy an SQLite record while it is in use, and check the copy."),
)  # fmt: skip
BY_NAME: Final = {entry.name: entry for entry in COMMANDS}


def load(entry: Entry) -> click.Command:
    """The command itself (its module imported now)."""
    module = importlib.import_module(f"peerlog.cli.{entry.module}")
    command = getattr(module, entry.attribute)
    assert isinstance(command, click.Command)
    return command


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run, and listed without; their
    help is in the reader's language."""

    context_class = HelpContext

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        entry = BY_NAME.get(cmd_name)
        if entry is None:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = in_the_readers_language(load(entry))
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        del ctx
        with formatter.section("Commands"):
            formatter.write_dl([(entry.name, entry.short_help) for entry in COMMANDS])
