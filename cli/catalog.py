"""The help texts of the commands for the catalogs: ``make messages`` extracts them with
this (babel.cfg names it for cli/), beside the messages marked in the code.

Besides what Babel's Python extractor finds, a command's help is its docstring, and an
option's its ``help=``: each paragraph of a docstring (split as :mod:`peerlog.cli.help`
translates them), the first sentence of a group's subcommand (the short help the group
lists), and every string given as ``help=`` or ``short_help=``. Never imported when a
command runs.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

from peerlog.cli.help import paragraphs, short_help

Found = tuple[int, str | None, str | tuple[str, ...], list[str]]


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Found]:
    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[arg-type,misc]
    tree = ast.parse(source)
    for node in ast.walk(tree):
        commands = [d for d in getattr(node, "decorator_list", ()) if _is_command(d)]
        if isinstance(node, ast.FunctionDef) and commands:
            docstring = ast.get_docstring(node, clean=True)
            if docstring:
                text = docstring.partition("\f")[0]
                for message in paragraphs(text):
                    yield node.lineno, None, message, []
                if any(_in_a_group(d) for d in commands):
                    yield node.lineno, None, short_help(text), []
        elif isinstance(node, ast.Call):
            yield from _call_texts(node)


def _is_command(decorator: ast.expr) -> bool:
    """``@click.command(...)``, ``@click.group(...)``, ``@some_group.command(...)``."""
    called = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(called, ast.Attribute) and called.attr in {"command", "group"}


def _in_a_group(decorator: ast.expr) -> bool:
    """``@some_group.command(...)``: listed by its group with its first sentence."""
    called = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(called, ast.Attribute) and not (
        isinstance(called.value, ast.Name) and called.value.id == "click"
    )


def _call_texts(node: ast.Call) -> Iterator[Found]:
    for keyword in node.keywords:
        if keyword.arg in {"help", "short_help"}:
            text = _text(keyword.value)
            if text:
                yield node.lineno, None, inspect.cleandoc(text), []


def _text(value: ast.expr) -> str | None:
    """A string written in the code (not one made when it runs)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None
