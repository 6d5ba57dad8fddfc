"""Errors a user can cause, raised by the domain and the application."""

from __future__ import annotations

from dataclasses import dataclass

from peerlog.i18n import _, shown


@dataclass(frozen=True)
class Violation:
    """One broken rule: which field, which rule, and a message that says how to fix it
    (written in English; shown in the reader's language, :func:`peerlog.i18n.shown`)."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{shown(self.message)} [{self.rule}]"


class RuleViolation(Exception):
    """A command broke a rule of the record; nothing was written."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.violation = Violation(field, rule, message)

    @property
    def field(self) -> str:
        return self.violation.field

    @property
    def rule(self) -> str:
        return self.violation.rule

    @property
    def message(self) -> str:
        return self.violation.message


class CommandRejected(Exception):
    """A command was rejected: it names the command and every broken rule."""

    def __init__(self, command: str, violations: list[Violation]) -> None:
        self.command = command
        self.violations = tuple(violations)
        super().__init__(self.describe())

    def describe(self) -> str:
        reasons = "; ".join(str(v) for v in self.violations)
        return _("%(command)s rejected: %(reasons)s") % {
            "command": self.command or _("command"),
            "reasons": reasons,
        }

    @property
    def rule(self) -> str:
        return self.violations[0].rule

    @property
    def field(self) -> str:
        return self.violations[0].field

    def as_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "errors": [
                {"field": v.field, "rule": v.rule, "message": shown(v.message)}
                for v in self.violations
            ],
        }
