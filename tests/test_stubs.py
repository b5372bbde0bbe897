"""The shipped type stubs describe the extension that was built."""

from __future__ import annotations

import ast
from pathlib import Path

import helion_hybrid
from helion_hybrid import _core

STUB = Path(helion_hybrid.__file__).with_name("_core.pyi")


def _stub_names() -> dict[str, set[str]]:
    tree = ast.parse(STUB.read_text())
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            names[node.name] = {
                item.name for item in node.body if isinstance(item, ast.FunctionDef) and not item.name.startswith("__")
            }
    return names


def test_stub_and_extension_name_the_same_things():
    stub = _stub_names()
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert set(stub) == public
    for name, members in stub.items():
        if members:
            actual = {m for m in dir(getattr(_core, name)) if not m.startswith("_")}
            assert members <= actual, (name, members - actual)
    assert Path(helion_hybrid.__file__).with_name("py.typed").exists()
