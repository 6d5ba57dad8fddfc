"""Errors as the API shows them: one JSON shape, the right status code.

Every error body has the shape of :meth:`peerlog.CommandRejected.as_dict`::

    {"command": "record_step" | null,
     "errors": [{"field": "...", "rule": "...", "message": "..."}]}

``command`` names the command when the error is about one, and is null otherwise
(a missing token, a pair the token may not read, a bad query parameter).
"""

from __future__ import annotations

from typing import Any, Final

from peerlog import CommandRejected
from peerlog.i18n import shown

CONFLICT_RULES: Final = frozenset(
    {
        "command_id_reused",
        "contention",
        "duplicate_course",
        "duplicate_goal",
        "duplicate_pair",
        "duplicate_session",
        "duplicate_entry",
        "already_enrolled",
        "already_assigned",
        "already_paired",
        "already_forgotten",
    }
)
"""Rules a command breaks because of what is already in the record: 409 Conflict."""
FORBIDDEN_RULES: Final = frozenset({"not_allowed", "unknown_actor", "person_forgotten"})
"""Rules about the actor itself: the token's actor may not do this (403)."""


class ApiError(Exception):
    """An error the client caused (or may retry), with its status code."""

    def __init__(
        self,
        status: int,
        field: str,
        rule: str,
        message: str,
        *,
        command: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.rule = rule
        self.message = message
        self.command = command
        self.headers = headers

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "errors": [{"field": self.field, "rule": self.rule, "message": shown(self.message)}],
        }


def status_of(rejected: CommandRejected) -> int:
    """The status code of a rejected command, from its first broken rule."""
    if rejected.rule == "too_large":
        return 413
    if rejected.rule in CONFLICT_RULES:
        return 409
    if rejected.field == "actor" and rejected.rule in FORBIDDEN_RULES:
        return 403
    return 422


def unauthenticated(message: str) -> ApiError:
    return ApiError(
        401, "authorization", "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"}
    )


def forbidden(field: str, message: str, *, command: str | None = None) -> ApiError:
    return ApiError(403, field, "forbidden", message, command=command)
