"""The house's import directions, read from the source of every module (imports inside
functions included): ``sources`` uses only the ground floor of ``feeds``; the ground floor uses
no wing; the ``ledger`` knows neither ``refresh`` nor ``serve``, which never import each other;
the core knows no web framework; nothing but ``server`` imports ``server``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WINGS = ("feeds.ledger", "feeds.refresh", "feeds.serve")
#: What each part of the tree may not import (a module's own part is always allowed).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "sources": (*WINGS, "server"),
    "feeds.ledger": ("feeds.refresh", "feeds.serve", "sources", "server"),
    "feeds.refresh": ("feeds.serve", "sources", "server"),
    "feeds.serve": ("feeds.refresh", "sources", "server"),
    "feeds": (*WINGS, "sources", "server"),  # the ground floor
}
#: The core and the adapters know no web framework and no command line.
FRAMEWORKS = ("flask", "werkzeug", "click", "granian")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module the source imports, relative imports resolved against ``module`` (a
    package's ``__init__`` when ``is_package``)."""
    names: set[str] = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            # ``from feeds import refresh`` imports the wing ``feeds.refresh``
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def part_of(module: str) -> str | None:
    """The part of the tree whose rules apply to ``module`` (the most specific one)."""
    for part in sorted(FORBIDDEN, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return None


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imported: set[str]) -> list[str]:
    """What ``module`` imports against the house's directions (the shortest name of each)."""
    part = part_of(module)
    if part is None:
        return []
    wrong = {
        name
        for name in imported
        for forbidden in FORBIDDEN[part]
        # a wing may import itself; the ground floor ("feeds") may import no wing
        if within(name, forbidden) and not (part != "feeds" and within(name, part))
    }
    frameworks = {name for name in imported for f in FRAMEWORKS if within(name, f)}
    shortest = [
        name
        for name in sorted(wrong | frameworks)
        if not any(other != name and within(name, other) for other in wrong | frameworks)
    ]
    return [
        f"{module} imports the framework {name}"
        if name in frameworks
        else f"{module} imports {name}"
        for name in shortest
    ]


def project_modules() -> list[Path]:
    return sorted(path for folder in ("feeds", "sources") for path in (ROOT / folder).rglob("*.py"))


def test_every_module_imports_in_the_house_directions() -> None:
    modules = project_modules()
    assert len(modules) > 30  # the walk found the tree
    found = [
        problem
        for path in modules
        for problem in violations(
            module_name(path),
            imported_modules(
                path.read_text(encoding="utf-8"),
                module_name(path),
                is_package=path.name == "__init__.py",
            ),
        )
    ]
    assert found == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "feeds.serve.publish",
            "from feeds.refresh.fetch import Fetcher",
            ["feeds.serve.publish imports feeds.refresh.fetch"],
        ),
        (
            "feeds.refresh.scheduler",
            "def later():\n    import feeds.serve.render\n",
            ["feeds.refresh.scheduler imports feeds.serve.render"],
        ),
        (
            "sources.ilo.grammar",
            "from feeds.ledger import store",
            ["sources.ilo.grammar imports feeds.ledger"],
        ),
        (
            "sources.feed",
            "from feeds import refresh",
            ["sources.feed imports feeds.refresh"],
        ),
        (
            "feeds.ledger.store",
            "from ..serve.topics import select_entries",
            ["feeds.ledger.store imports feeds.serve.topics"],
        ),
        (
            "feeds.model",
            "from feeds.ledger.tables import metadata",
            ["feeds.model imports feeds.ledger.tables"],
        ),
        (
            "feeds.serve.http",
            "from werkzeug.http import parse_date",
            ["feeds.serve.http imports the framework werkzeug.http"],
        ),
        ("sources.suggest", "import server", ["sources.suggest imports server"]),
    ],
)
def test_a_wrong_direction_is_caught(module: str, source: str, expected: list[str]) -> None:
    assert violations(module, imported_modules(source, module)) == expected


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("feeds.serve.publish", "from feeds.ledger.store import Ledger"),
        ("feeds.refresh.refresher", "from feeds.ledger.store import Ledger"),
        ("feeds.refresh.fetch", "from feeds import __version__"),
        ("sources.selectors", "from feeds.dates import read_listing_date"),
        ("feeds.serve.pages", "from . import overview"),
    ],
)
def test_an_allowed_direction_passes(module: str, source: str) -> None:
    assert violations(module, imported_modules(source, module)) == []
