"""web/ is an interface beside cli/: installed as peerlog.web, it uses the read side and
the write side, and nothing inside imports it (imports point inward)."""

from __future__ import annotations

import ast
from pathlib import Path

import peerlog.web

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = found.setdefault(str(path.relative_to(ROOT)), set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return found


def test_the_folder_is_the_installed_subpackage() -> None:
    assert Path(peerlog.web.__file__).resolve().parent == ROOT / "web"


def test_web_does_not_import_the_cli() -> None:
    offenders = {
        path: sorted(n for n in names if n.startswith("peerlog.cli") or n.split(".")[0] == "cli")
        for path, names in _imports("web").items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


def test_the_write_and_read_sides_do_not_import_web() -> None:
    for folder in ("src", "projections"):
        offenders = {
            path: sorted(
                n for n in names if n.startswith("peerlog.web") or n.split(".")[0] == "web"
            )
            for path, names in _imports(folder).items()
        }
        assert {p: n for p, n in offenders.items() if n} == {}
