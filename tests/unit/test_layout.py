"""The read side and the interface are subpackages of peerlog; importing them by their
folder names would load second copies of their modules."""

from __future__ import annotations

import ast
from pathlib import Path

import peerlog.cli
import peerlog.projections
import peerlog.web

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"cli", "projections", "web"}


def _python_files() -> list[Path]:
    folders = ["src", "projections", "cli", "web", "tests", "benchmarks"]
    return [
        p for folder in folders if (ROOT / folder).exists() for p in (ROOT / folder).rglob("*.py")
    ]


def test_nothing_imports_cli_projections_or_web_as_a_top_level_name() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} imports {name}"
                for name in names
                if name.split(".")[0] in FORBIDDEN
            ]
    assert offenders == []


def test_the_folders_are_the_installed_subpackages() -> None:
    assert Path(peerlog.projections.__file__).resolve().parent == ROOT / "projections"
    assert Path(peerlog.cli.__file__).resolve().parent == ROOT / "cli"
    assert Path(peerlog.web.__file__).resolve().parent == ROOT / "web"


WRITE_SIDE_READERS = {"event_mapper", "mapper", "recorder", "store", "history", "records"}
"""What an application offers to read its record with: the read side goes through
``peerlog.projections.source`` instead."""


def _app_like(node: ast.expr) -> bool:
    """``app``, ``self.app``, ``source.app``: an expression naming an application."""
    if isinstance(node, ast.Name):
        return node.id == "app"
    return isinstance(node, ast.Attribute) and node.attr == "app"


def _reaches_into_app(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and (
        node.attr == "event_mapper" or (node.attr in WRITE_SIDE_READERS and _app_like(node.value))
    )


def test_the_read_side_reads_the_record_through_its_event_source_only() -> None:
    """Outside ``projections/source.py`` nothing under ``projections/`` imports the
    application, names it, or reaches into an application's store or mapper."""
    offenders = []
    for path in sorted((ROOT / "projections").rglob("*.py")):
        if path == ROOT / "projections" / "source.py":
            continue
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Import):
                offenders += [
                    f"{where}:{line} imports {a.name}"
                    for a in node.names
                    if a.name == "peerlog.application"
                ]
            elif isinstance(node, ast.ImportFrom) and node.module in {
                "peerlog.application",
                "peerlog",
            }:
                offenders += [
                    f"{where}:{line} imports {a.name} from {node.module}"
                    for a in node.names
                    if node.module == "peerlog.application" or a.name == "PeerLog"
                ]
            elif isinstance(node, ast.Name) and node.id == "PeerLog":
                offenders.append(f"{where}:{line} names PeerLog")
            elif _reaches_into_app(node):
                assert isinstance(node, ast.Attribute)
                offenders.append(f"{where}:{line} reads .{node.attr} of an application")
    assert offenders == []


def test_the_read_side_check_finds_what_it_looks_for() -> None:
    """The check above is not blind: it finds each kind of reach into the application."""
    code = (
        "from peerlog.application import PeerLog\n"
        "def f(app: PeerLog) -> None:\n"
        "    app.store.iter_raw(0)\n"
        "    app.event_mapper.decode\n"
        "    self.app.records('x')\n"
    )
    tree = ast.parse(code)
    found = [
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _reaches_into_app(n)
    ]
    assert sorted(found) == ["event_mapper", "records", "store"]
    assert any(isinstance(n, ast.Name) and n.id == "PeerLog" for n in ast.walk(tree))
