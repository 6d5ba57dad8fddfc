"""Every error a person can cause and read is raised with a message of the catalogs.

The command line (``cli/errors.py`` and the commands) shows these errors with
``shown_error``, which translates an error raised with a ``lazy`` message and shows any
other as it was written, in English. So an error raised with an f-string would reach a
Swedish supervisor in English and no rendering test might meet it: this test reads the
code and finds every ``raise`` of these errors, and the message each is raised with."""

from __future__ import annotations

import ast

import pytest

from peerlog.cli.fields import FieldsError
from peerlog.i18n import lazy, shown_error, speaking
from peerlog.integrity.bundle import BundleInvalid
from peerlog.integrity.checkpoints import CheckpointError
from peerlog.integrity.notes import NoteError
from peerlog.integrity.witness import WitnessRefused
from peerlog.persistence.config import ConfigurationError
from peerlog.persistence.sealing import SealedTextError
from peerlog.projections.asof import NotInRecord
from peerlog.projections.xapi.forwarder import ForwarderBusy, ForwardingFailed
from peerlog.projections.xapi.lrs import LrsError
from peerlog.web.tokens import TokenError
from tests.i18n import ROOT

SHOWN: tuple[type[Exception], ...] = (
    ConfigurationError,
    FieldsError,
    BundleInvalid,
    CheckpointError,
    NoteError,
    WitnessRefused,
    SealedTextError,
    NotInRecord,
    ForwarderBusy,
    ForwardingFailed,
    LrsError,
    TokenError,
)
"""The errors the command line shows with ``shown_error`` (and their subclasses)."""

TRANSLATING = {"lazy", "_", "gettext", "ngettext"}
SOURCES = ("src/peerlog", "cli", "web", "projections")


def _kinds() -> set[str]:
    names: set[str] = set()
    todo = list(SHOWN)
    while todo:
        kind = todo.pop()
        names.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return names


def _translated(value: ast.expr, assigned: dict[str, list[ast.expr]]) -> bool:
    """Whether the expression is a message of the catalogs: a ``lazy``/``_`` call, a
    choice between two such, a ``%`` of one, a variable only ever bound to such, or the
    message of a caught error passed on (``exc.args[0]``)."""
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in TRANSLATING
    if isinstance(value, ast.IfExp):
        return _translated(value.body, assigned) and _translated(value.orelse, assigned)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mod):
        return _translated(value.left, assigned)
    if isinstance(value, ast.Name) and value.id in assigned:
        return all(_translated(bound, assigned) for bound in assigned[value.id])
    return (
        isinstance(value, ast.Subscript)
        and isinstance(value.value, ast.Attribute)
        and value.value.attr == "args"
    )


def _raises(tree: ast.AST, kinds: set[str]) -> list[tuple[int, str, bool]]:
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(function):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in kinds and node.exc.args:
                message = node.exc.args[0]
                found.append((node.lineno, name, _translated(message, assigned)))
    return sorted(set(found))


def test_every_error_a_person_reads_is_raised_with_a_message_of_the_catalogs() -> None:
    kinds = _kinds()
    untranslated = []
    raised = 0
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, name, translated in _raises(ast.parse(path.read_text()), kinds):
                raised += 1
                if not translated:
                    untranslated.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not untranslated, untranslated
    # The check reads what it should: the errors are raised in well over a hundred places.
    assert raised > 100, raised


def test_the_check_finds_an_error_raised_in_english() -> None:
    code = """
def f(value):
    if value:
        msg = f"{value} is wrong"
        raise ConfigurationError(msg)
    raise ConfigurationError(lazy("%(value)s is wrong", value=value))
"""
    assert [translated for *_, translated in _raises(ast.parse(code), _kinds())] == [
        False,
        True,
    ]


@pytest.mark.parametrize("kind", SHOWN)
def test_each_error_raised_with_a_message_is_shown_in_the_reader_s_language(
    kind: type[Exception],
) -> None:
    # The message of the catalogs every language has in its own words.
    error = kind(lazy("permission denied"))
    with speaking("sv"):
        assert shown_error(error) == "åtkomst nekad"
    with speaking("da"):
        assert shown_error(error) == "adgang nægtet"
    assert str(error) == "permission denied"
