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
