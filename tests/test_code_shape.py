"""Production code stays in small pieces: modules up to 400 lines, functions up to 60.

A module may be larger, or hold a longer function, when its docstring says why on a line
starting with "Size:" (e.g. "Size: one table of every region, read top to bottom."). The
check reads the source with `ast`, so it needs neither Django nor a database.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_PACKAGES = ("tenants", "media", "outbound", "webhooks", "genesys_gateway", "settings")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SIZE_REASON_PREFIX = "Size:"


@dataclass(frozen=True)
class Violation:
    path: str
    what: str  # "module" or the function's qualified name
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}: {self.what} has {self.lines} lines (limit {self.limit})"


def size_reason(tree: ast.Module) -> str | None:
    """The module docstring's "Size:" line, if it has one."""
    docstring = ast.get_docstring(tree) or ""
    for line in docstring.splitlines():
        if line.strip().startswith(SIZE_REASON_PREFIX):
            reason = line.strip()[len(SIZE_REASON_PREFIX) :].strip()
            return reason or None
    return None


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(node: ast.AST, prefix: str = "") -> list[tuple[str, Function]]:
    """Every function and method under `node`, nested ones included, with dotted names."""
    found: list[tuple[str, Function]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            found.append((name, child))
            found.extend(_functions(child, f"{name}."))
        elif isinstance(child, ast.ClassDef):
            found.extend(_functions(child, f"{prefix}{child.name}."))
        else:
            found.extend(_functions(child, prefix))
    return found


def shape_violations(source: str, *, path: str) -> list[Violation]:
    """What in `source` is over the limits, unless its module gives a "Size:" reason."""
    tree = ast.parse(source)
    if size_reason(tree):
        return []
    violations = []
    module_lines = len(source.splitlines())
    if module_lines > MAX_MODULE_LINES:
        violations.append(Violation(path, "module", module_lines, MAX_MODULE_LINES))
    for name, function in _functions(tree):
        assert function.end_lineno is not None
        lines = function.end_lineno - function.lineno + 1
        if lines > MAX_FUNCTION_LINES:
            violations.append(Violation(path, f"{name}()", lines, MAX_FUNCTION_LINES))
    return violations


def production_modules() -> list[Path]:
    modules = []
    for package in PRODUCTION_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                modules.append(path)
    return modules


def test_production_code_is_within_its_size_limits() -> None:
    modules = production_modules()
    assert len(modules) > 50  # the walk found the apps, not an empty folder
    violations = [
        violation
        for path in modules
        for violation in shape_violations(path.read_text(), path=str(path.relative_to(ROOT)))
    ]
    assert not violations, (
        "Split these, or say why at the top of the module's docstring on a line starting "
        f"with {SIZE_REASON_PREFIX!r}:\n" + "\n".join(str(v) for v in violations)
    )


def _function(name: str, body_lines: int) -> str:
    return f"def {name}():\n" + "    x = 1\n" * (body_lines - 1)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (_function("short", MAX_FUNCTION_LINES), []),
        (_function("long", MAX_FUNCTION_LINES + 1), ["long()"]),
        (
            "class Api:\n    def get(self):\n" + "        x = 1\n" * MAX_FUNCTION_LINES,
            ["Api.get()"],
        ),
        (
            "def outer():\n    def inner():\n" + "        x = 1\n" * MAX_FUNCTION_LINES,
            ["outer()", "outer.inner()"],
        ),
        ("x = 1\n" * (MAX_MODULE_LINES + 1), ["module"]),
        ('"""A table.\n\nSize: one table, read top to bottom.\n"""\n' + "x = 1\n" * 500, []),
        ('"""A table.\n\nSize:\n"""\n' + "x = 1\n" * 500, ["module"]),
        ('"""A table."""\n# Size: not in the docstring\n' + "x = 1\n" * 500, ["module"]),
    ],
    ids=[
        "function-at-limit",
        "function-over",
        "method-over",
        "nested-over",
        "module-over",
        "reason-given",
        "empty-reason",
        "reason-in-comment",
    ],
)
def test_shape_violations_finds_what_is_over_the_limits(source: str, expected: list[str]) -> None:
    found = [violation.what for violation in shape_violations(source, path="example.py")]
    assert found == expected
