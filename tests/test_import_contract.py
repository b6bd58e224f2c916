"""The import contract of docs/architecture.md, read from the source itself.

``tests/test_layering.py`` imports each package in a fresh interpreter, which
cannot see an import written inside a function until that function runs. This
test parses every module with ``ast`` and checks every ``import`` statement,
at any depth (functions, methods, ``if TYPE_CHECKING:`` blocks), against the
rules below. A relative import is resolved against its module first.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "store", "reads", "agent", "tui", "slawatch")

# (module prefix the rule applies to, imported prefixes it may not use, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "core",
        ("agent", "tui", "store", "reads", "slawatch", "textual", "httpx", "aiosqlite", "psycopg"),
        "core is pure: it imports nothing above it and no I/O library",
    ),
    (
        "store",
        ("core.claim", "core.bundle", "reads", "agent", "tui", "slawatch"),
        "store speaks SQL only",
    ),
    ("reads", ("tui", "agent", "slawatch"), "the read models sit below the applications"),
    ("tui", ("agent",), "the dashboard and the agent never import each other"),
    ("agent", ("tui",), "the dashboard and the agent never import each other"),
    ("tui.source", ("tui.components", "tui.app", "textual"), "the data side knows no screen"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _from_target(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from X import ...`` names, a relative one resolved in ``package``."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(node, package)
            found.append((node.lineno, target))
            # ``from core import claim`` imports core.claim
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(files: list[Path]) -> list[str]:
    out: dict[str, str] = {}  # one finding per import statement
    for path in files:
        name = _module_name(path)
        for line, target in _imports(path):
            for owner, banned, why in RULES:
                if _within(name, owner) and any(_within(target, b) for b in banned):
                    where = f"{path.relative_to(ROOT)}:{line}"
                    out.setdefault(where, f"{where}: imports {target} ({why})")
    return list(out.values())


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_contract(package: str) -> None:
    files = _sources(package)
    assert files, package
    assert _violations(files) == []


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """A planted violation in a function body, a relative import and a from-import of a
    module are each caught (the checker can fail)."""
    global ROOT
    saved = ROOT
    ROOT = tmp_path
    try:
        (tmp_path / "store").mkdir()
        (tmp_path / "store" / "__init__.py").write_text("")
        planted = tmp_path / "store" / "bad.py"
        planted.write_text(
            "def later():\n    from core import claim\n\n"
            "def other():\n    from ..reads import reports\n"
        )
        (tmp_path / "tui").mkdir()
        (tmp_path / "tui" / "source.py").write_text(
            "import os\nif os:\n    from .components.case_form import CaseForm\n"
        )
        found = _violations([planted, tmp_path / "tui" / "source.py"])
    finally:
        ROOT = saved
    assert [f.split(": ")[0] for f in found] == [
        "store/bad.py:2",
        "store/bad.py:5",
        "tui/source.py:3",
    ]


def _edges(files: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (at any depth). ``from pkg import mod``
    names ``pkg.mod``, not ``pkg``; a name that is no module of ours names its module."""
    modules = {_module_name(path): path for path in files}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str | None] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {owner(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                target = _from_target(node, package)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules else owner(target))
        edges[name] = {m for m in found if m is not None and m != name}
    return edges


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each strongly connected group of two or more modules."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(edges):
        if node not in order:
            visit(node)
    return circles


def test_no_import_circles() -> None:
    """No two modules import each other, directly or round a loop, not even from inside
    a function (docs/architecture.md): the config loader imports the config's
    dataclasses, never the other way round."""
    files = [path for package in PACKAGES for path in _sources(package)]
    assert _circles(_edges(files)) == []


def test_the_circle_finder_finds_a_planted_circle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A circle through a function-level relative import is found; a module that only
    imports into the circle is not part of it (the finder can fail)."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    core = tmp_path / "core"
    core.mkdir()
    (core / "__init__.py").write_text("")
    (core / "a.py").write_text("from core import b\n")
    (core / "b.py").write_text("def later():\n    from .c import x\n")
    (core / "c.py").write_text("import core.a\n")
    (core / "d.py").write_text("from core import a\n")
    assert _circles(_edges(sorted(core.glob("*.py")))) == [["core.a", "core.b", "core.c"]]
