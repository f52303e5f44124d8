"""Every public function, method and class in `bot/` says in one line what it is for.

The check reads the source with `ast` (nothing is imported, so code no test runs is seen too) and
fails with the full list of what is missing. Exempt: `@overload` stubs, property setters and
deleters (the getter carries the docstring), dunder methods (their meaning is Python's), names
with a leading underscore, and anything inside a private class or a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _is_exempt(node: Definition) -> bool:
    """Overloads, property setters/deleters and dunder methods are documented elsewhere."""
    if node.name.startswith("__") and node.name.endswith("__"):
        return True
    if isinstance(node, ast.ClassDef):
        return False
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "overload":
            return True
        if isinstance(target, ast.Attribute) and target.attr in ("overload", "setter", "deleter"):
            return True
    return False


def _undocumented(node: ast.AST, prefix: str) -> Iterator[str]:
    """Yield `name (line)` for each public definition directly under `node` without a docstring.

    Recurses into public classes only: a private class's methods are its own business, and
    functions nested inside functions are implementation detail.
    """
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if child.name.startswith("_") or _is_exempt(child):
            continue
        if ast.get_docstring(child) is None:
            yield f"{prefix}{child.name} (line {child.lineno})"
        if isinstance(child, ast.ClassDef):
            yield from _undocumented(child, f"{prefix}{child.name}.")


def undocumented_in(path: Path) -> list[str]:
    """List the public definitions of one source file that lack a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return list(_undocumented(tree, ""))


def test_every_public_definition_in_bot_has_a_docstring() -> None:
    missing = [
        f"{path.relative_to(BOT.parent)}: {name}"
        for path in sorted(BOT.rglob("*.py"))
        for name in undocumented_in(path)
    ]
    assert not missing, "public definitions without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring() -> None:
    source = (
        "from typing import overload\n"
        "def documented():\n    '''Why.'''\n"
        "def bare(): ...\n"
        "def _private(): ...\n"
        "class Thing:\n"
        "    '''Why.'''\n"
        "    def method(self): ...\n"
        "    def __eq__(self, other): ...\n"
        "    @property\n    def value(self): ...\n"
        "    @value.setter\n    def value(self, v): ...\n"
        "    @overload\n    def many(self, x: int) -> int: ...\n"
        "class _Hidden:\n"
        "    def method(self): ...\n"
    )
    found = list(_undocumented(ast.parse(source), ""))
    assert found == ["bare (line 4)", "Thing.method (line 8)", "Thing.value (line 11)"]
