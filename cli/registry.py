"""Every command of ``peerlog``, in the order ``peerlog --help`` lists them."""

from __future__ import annotations

import click

from peerlog.cli.audit import audit_command
from peerlog.cli.backup import backup_command
from peerlog.cli.balance import balance_command
from peerlog.cli.checkpoint import checkpoint_group
from peerlog.cli.dashboard import dashboard_command
from peerlog.cli.demo_command import demo_command
from peerlog.cli.dpo import forget_command, person_command
from peerlog.cli.export import export_command
from peerlog.cli.importing import import_command
from peerlog.cli.read_models import projections_group
from peerlog.cli.recording import record_command
from peerlog.cli.replay import replay_command
from peerlog.cli.rotation import keys_group
from peerlog.cli.serve import serve_command
from peerlog.cli.tokens import tokens_group
from peerlog.cli.verify import verify_command
from peerlog.cli.verify_bundle import verify_bundle_command
from peerlog.cli.witness import witness_group
from peerlog.cli.xapi import xapi_group

COMMANDS = (
    demo_command,
    import_command,
    record_command,
    replay_command,
    audit_command,
    balance_command,
    dashboard_command,
    verify_command,
    checkpoint_group,
    verify_bundle_command,
    witness_group,
    projections_group,
    export_command,
    xapi_group,
    serve_command,
    tokens_group,
    person_command,
    forget_command,
    keys_group,
    backup_command,
)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
