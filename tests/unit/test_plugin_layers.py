"""The plugin's layers import downwards only: ``toolbelt`` (settings, translations, logging, vocabulary) is
the bottom layer, ``logic`` (no widgets) sits on it, ``gui`` and ``processing`` on both, and the plugin object
(``main``, ``runs``) on top. Checked on the source, so no QGIS is needed."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"

#: Layer of each top-level part of ``plugin/``; a module may import its own layer or lower ones.
LAYERS = {"toolbelt": 0, "about": 0, "logic": 1, "gui": 2, "processing": 2, "runs": 3, "main": 3}


def plugin_imports(path: Path, root: Path = PLUGIN) -> list[tuple[str, int]]:
    """``(top-level part of plugin/, line)`` for each relative import in ``path`` that stays inside ``root``."""
    module_parts = path.relative_to(root).with_suffix("").parts  # e.g. ("toolbelt", "settings")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = list(module_parts[:-1])  # the package the module lives in
            up = node.level - 1
            if up > len(package):
                continue  # above plugin/ (the repo root: model_backend, about)
            base = package[: len(package) - up]
            target = base + (node.module.split(".") if node.module else [])
            if not target:  # "from .. import about" inside a subpackage
                target = [node.names[0].name]
            found.append((target[0], node.lineno))
    return found


def test_imports_go_down_the_layers_only():
    wrong = []
    for path in sorted(PLUGIN.rglob("*.py")):
        parts = path.relative_to(PLUGIN).with_suffix("").parts
        if parts[0] == "__init__":
            continue
        own = LAYERS[parts[0]]
        for target, line in plugin_imports(path):
            if target in LAYERS and LAYERS[target] > own:
                wrong.append(f"{path.relative_to(PLUGIN)}:{line} imports {target}")
    assert wrong == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The check above can fail: a toolbelt module importing logic is reported."""
    (tmp_path / "toolbelt").mkdir()
    bad = tmp_path / "toolbelt" / "bad.py"
    bad.write_text("from ..logic.service import BackendConfig\nfrom . import log\nfrom ...model_backend import x\n")
    assert plugin_imports(bad, tmp_path) == [("logic", 1), ("toolbelt", 2)]
