"""The house rules for layers, checked on the source: the domain stays plain Python, the SDK stays at the edges.

- nothing in domain/ imports cards, bot, dialogs, wiring, settings or botbuilder (the domain returns data; cards/
  draws it; wiring/ hands it small config objects, never ``Settings``);
- botbuilder is imported only in bot/ and dialogs/ (tests and the bench's stand-ins aside);
- no domain module is over 500 lines (one job per module);
- no layer imports one above it (cli, bot, dialogs, wiring, cards, domain, store, top to bottom): store/ is below
  the domain, dialogs/ do not reach into bot/, and the wiring is neutral ground for bot/, dialogs/ and cli/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("app.py", "settings.py", "bot", "cards", "cli", "dialogs", "domain", "store", "wiring")
NOT_IN_DOMAIN = ("cards", "bot", "dialogs", "wiring", "settings", "botbuilder", "botframework", "aiohttp")
SDK_HOMES = ("bot", "dialogs")
MAX_DOMAIN_LINES = 500


def python_files(*places: str) -> Iterator[Path]:
    """Every .py file under the given top-level files and folders."""
    for place in places:
        path = ROOT / place
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    """The top-level package of every module a file imports, wherever the import is (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", list(python_files("domain")), ids=rel)
def test_the_domain_imports_no_edge_and_no_settings(path: Path) -> None:
    assert not imported_modules(path) & set(NOT_IN_DOMAIN), rel(path)


@pytest.mark.parametrize("path", list(python_files(*PRODUCTION)), ids=rel)
def test_botbuilder_is_imported_only_in_bot_and_dialogs(path: Path) -> None:
    if rel(path).split("/")[0] in SDK_HOMES:
        return
    assert not imported_modules(path) & {"botbuilder", "botframework"}, rel(path)


# What each layer must not import: the layers above it (top to bottom: cli, bot, dialogs, wiring, cards, domain,
# store). app.py and cli/ are the top; settings.py is read only by the wiring and the edges.
ABOVE: dict[str, set[str]] = {
    "store": {"domain", "cards", "wiring", "dialogs", "bot", "cli", "settings"},
    "domain": {"cards", "wiring", "dialogs", "bot", "cli", "settings"},
    "cards": {"wiring", "dialogs", "bot", "cli", "settings"},
    "wiring": {"dialogs", "bot", "cli"},
    "dialogs": {"bot", "cli"},
    "bot": {"cli"},
}


@pytest.mark.parametrize("path", list(python_files(*ABOVE)), ids=rel)
def test_no_layer_imports_a_layer_above_it(path: Path) -> None:
    layer = rel(path).split("/")[0]
    assert not imported_modules(path) & ABOVE[layer], rel(path)


@pytest.mark.parametrize("path", list(python_files("domain")), ids=rel)
def test_no_domain_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_DOMAIN_LINES, f"{rel(path)} has {lines} lines"


def test_the_checks_see_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself can fail: an import inside a function is found."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from cards.render import render\n    import botbuilder.core\n", encoding="utf-8")
    assert {"cards", "botbuilder"} <= imported_modules(module)
