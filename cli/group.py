"""A click group that lists its commands in the order they were added."""

from __future__ import annotations

import click


class OrderedGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return list(self.commands)
