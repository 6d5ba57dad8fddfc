"""Erasure: forgetting a person records ``PersonForgotten`` in every course they are
known in (a command like any other, through the executor), then destroys their key,
so that every text by or about them reads as erased everywhere."""

from __future__ import annotations

from datetime import datetime

from peerlog.commands import ForgetPerson, build_command
from peerlog.domain.errors import CommandRejected, RuleViolation
from peerlog.executor import CommandResult, Executor
from peerlog.handlers import handle


def forget(
    executor: Executor,
    person_id: str,
    *,
    actor: str,
    command_id: str,
    occurred_at: datetime | None = None,
) -> CommandResult:
    """Forget a person (see :meth:`peerlog.PeerLog.forget`)."""
    cmd = build_command(
        ForgetPerson,
        {
            "person_id": person_id,
            "actor": actor,
            "command_id": command_id,
            "occurred_at": occurred_at,
        },
    )
    keys = executor.keys
    try:
        result = executor.record(cmd)
    except CommandRejected as rejected:
        if rejected.rule == "already_forgotten":
            # Recorded before, key not yet destroyed: an interrupted erasure completes.
            keys.destroy(person_id, executor.clock())
        raise
    keys.destroy(person_id, result.recorded_at)
    return result


def check_forget(executor: Executor, person_id: str, *, actor: str) -> None:
    """Raise :class:`CommandRejected` if ``actor`` may not forget ``person_id`` now, as
    :func:`forget` would; records nothing."""
    cmd = build_command(
        ForgetPerson, {"person_id": person_id, "actor": actor, "command_id": "check"}
    )
    uow = executor.uow
    uow.evict(uow.course_streams())
    try:
        handle(uow, cmd, executor.stamp(cmd))
    except RuleViolation as violation:
        raise CommandRejected(cmd.command, [violation.violation]) from None
