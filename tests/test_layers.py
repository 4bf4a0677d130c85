"""The code's own rules, read from the code: imports at the top (lazy ones say why), every
plugged step and action exists, every error code has the documented shape."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.automation import PLUGINS
from vanthu.errors import CODE_PATTERN

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "signing", "storage", "vanthu")


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _function_imports(path: Path) -> Iterator[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner.lineno


def _is_commented_lazy(path: Path, line: int) -> bool:
    """A lazy import says so: '# lazy' on its line or the comment lines just above it, or
    its module's docstring says its commands import the engine lazily (the CLI)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    above = line - 2
    while above >= 0 and (
        not lines[above].strip() or lines[above].strip().startswith(("#", "from ", "import "))
    ):
        if "lazy" in lines[above]:
            return True
        above -= 1
    if "lazy" in lines[line - 1]:
        return True
    docstring = ast.get_docstring(ast.parse("\n".join(lines))) or ""
    return "lazy" in docstring and path.parent.name == "cli"


def test_no_import_hides_inside_a_function_unless_it_says_it_is_lazy() -> None:
    hidden = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        for line in _function_imports(path)
        if not _is_commented_lazy(path, line)
    ]
    assert hidden == []


PLUGGED = {**PLUGINS.steps, **PLUGINS.actions, **PLUGINS.hooks}


@pytest.mark.parametrize("name", sorted(PLUGGED))
def test_every_plugged_function_exists(name: str) -> None:
    target = PLUGGED[name]
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


ERROR_NAMES = ("Error", "Input", "NotFound", "NotAllowed", "Conflict", "Rejected", "Failed")
DEFINITION_CODES = "workflow.definition."
"""definitions.py gives its errors the last part of the code only."""


def _is_error(name: str) -> bool:
    return name.endswith(ERROR_NAMES)


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _codes() -> Iterator[tuple[str, str]]:
    """Every error code written in the code: ``code=`` given to an error (or to a helper that
    makes one: a dotted string), ``code = …`` of an error class."""
    for path in _sources():
        definitions = path.name == "definitions.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found: list[ast.expr] = []
            if isinstance(node, ast.Call):
                found += [k.value for k in node.keywords if k.arg == "code"]
                error_call = _is_error(_called(node))
            elif isinstance(node, ast.ClassDef) and _is_error(node.name):
                error_call = True
                found += [
                    a.value
                    for a in node.body
                    if isinstance(a, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "code" for t in a.targets)
                ]
            for value in found:
                if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    continue
                code = value.value
                if definitions and "." not in code:
                    code = DEFINITION_CODES + code
                if error_call or "." in code:
                    yield f"{path.relative_to(ROOT)}:{value.lineno}", code


def test_every_error_code_is_dotted_lower_case_words() -> None:
    codes = list(_codes())
    assert len(codes) > 200
    bad = [(where, code) for where, code in codes if not CODE_PATTERN.fullmatch(code)]
    assert bad == []


def test_every_error_code_is_in_the_reference() -> None:
    """ERRORS.md is what integrators read: a new code goes there with its kind and meaning."""
    listed = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", (ROOT / "ERRORS.md").read_text(), re.M))
    missing = sorted({f"{code} ({where})" for where, code in _codes() if code not in listed})
    assert missing == []
