"""The import contract of docs/architecture.md, read from the source itself.

``tests/test_layering.py`` imports each package in a fresh interpreter, which
cannot see an import written inside a function until that function runs. This
test parses every module with ``ast`` and checks every ``import`` statement,
at any depth (functions, methods, ``if TYPE_CHECKING:`` blocks), against the
rules below. A relative import is resolved against its module first.
"""

from __future__ import annotations

import ast
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
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
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
