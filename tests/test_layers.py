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
import re
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


# The words staff read are the presenters' (cards/): these domain modules decide what is sent and to whom, and
# hand over facts. A capitalised run of three words or more outside a docstring, a log call or a raise is a sentence
# addressed to someone, and belongs in cards/.
WORDLESS = ("domain/reports/service.py", "domain/reports/notices.py", "domain/reports/access.py",
            "domain/reports/reminders.py", "domain/reports/results.py", *(
                f"domain/campaigns/{name}.py" for name in ("audience", "chasing", "core", "lifecycle", "model",
                                                          "reporting", "service", "yearly")),
            "domain/questions/unanswered.py")
SENTENCE = re.compile(r"\b[A-Z][a-z']+ +\S+ +\S+")


def sentences(path: Path) -> list[str]:
    """String literals (f-string pieces too) that read like a sentence, outside docstrings, logs and raises."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skip.add(id(first.value))  # a docstring
        is_log = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and isinstance(node.func.value, ast.Name) and node.func.value.id == "log")
        if is_log or isinstance(node, ast.Raise):
            skip.update(id(inner) for inner in ast.walk(node))
    texts: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):  # an f-string reads as one text, its fields as "{}"
            skip.update(id(inner) for inner in ast.walk(node))
            texts.append("".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return [text for text in texts if SENTENCE.search(text)]


@pytest.mark.parametrize("name", WORDLESS)
def test_these_domain_modules_word_nothing_for_staff(name: str) -> None:
    assert sentences(ROOT / name) == [], name


def test_the_wording_check_sees_a_sentence(tmp_path: Path) -> None:
    """The checker itself can fail: a sentence in an f-string is found; a docstring and a log line are not."""
    module = tmp_path / "worded.py"
    module.write_text('def f(ref):\n    """Tell Them Something here."""\n    log.info("Case %s was claimed", ref)\n'
                      '    return f"Your report {ref} has been picked up."\n', encoding="utf-8")
    assert sentences(module) == ["Your report {} has been picked up."]
