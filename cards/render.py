"""Fill Adaptive Card JSON templates with data.

Templates live in ``cards/templates/NAME.json`` and use a small, safe subset of the Adaptive Card templating
language:

- ``"${path.to.value}"`` in any string is replaced by the value. A string that is exactly one expression keeps the
  value's type (a list stays a list); inside longer strings the value is turned into text.
- ``"$when": "${flag}"`` on an element drops it when the value is falsy; ``"${!flag}"`` negates.
- ``"$data": "${items}"`` on an element inside an array repeats it for each item, with the item's fields in scope
  (and ``$root`` for the outer data, ``$index`` for the position).

Every string value that comes from data is escaped for the card's markdown and stripped of control characters,
so anything a user typed shows as typed and cannot add links, formatting or card structure. A value wrapped in
``Trusted`` (our own fixed wording) goes in unescaped.

What a person reads is always text: a TextBlock's or TextRun's text, a fact's title and value, a choice's title (and
value), an input's label and placeholder, an action's title and a chart's title and labels are turned into strings
after filling (a number there parses but Teams' renderer shows it blank), wherever the value came from.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).parent / "templates"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"

_EXPRESSION = re.compile(r"\$\{(!?)([A-Za-z0-9_$.]+)\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]#|>~<])")
_LIST_MARKER = re.compile(r"(?m)^(\s*)([-+]|\d+\.)(?=\s)")


class Trusted(str):
    """Text we wrote ourselves, allowed to carry markdown."""


def escape_text(value: str) -> str:
    """Make user text show literally in an Adaptive Card TextBlock."""
    cleaned = _CONTROL.sub("", value)
    escaped = _MARKDOWN.sub(r"\\\1", cleaned)
    return _LIST_MARKER.sub(_escape_list_marker, escaped)


def _escape_list_marker(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    if marker.endswith("."):
        return indent + marker[:-1] + "\\."
    return indent + "\\" + marker


def _lookup(scope: dict[str, Any], path: str) -> Any:
    current: Any = scope
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return str(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return escape_text(value)
    return escape_text(str(value))


def _evaluate(expr: str, scope: dict[str, Any], *, in_text_block: bool) -> Any:
    whole = _EXPRESSION.fullmatch(expr)
    if whole:
        negate, path = whole.groups()
        value = _lookup(scope, path)
        if negate:
            return not value
        if isinstance(value, str) and in_text_block:
            return _as_text(value)
        if isinstance(value, str):
            return _clean(value)
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value

    def substitute(match: re.Match[str]) -> str:
        negate, path = match.groups()
        value = _lookup(scope, path)
        if negate:
            return _as_text(not value)
        return _as_text(value) if in_text_block else _clean(value)

    return _EXPRESSION.sub(substitute, expr)


def _clean(value: Any) -> str:
    """Data that goes into a non-markdown field (ids, button data): no control characters."""
    if value is None:
        return ""
    return _CONTROL.sub("", str(value))


# Strings Teams renders as markdown: TextBlock/TextRun "text", and the titles and values of FactSet facts.
_MARKDOWN_KEYS = {"text"}
_FACT_KEYS = {"title", "value"}


def _render(node: Any, scope: dict[str, Any], key: str | None = None, in_facts: bool = False) -> Any:
    if isinstance(node, dict):
        when = node.get("$when")
        if when is not None and not _evaluate(when, scope, in_text_block=False):
            return _DROP
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in ("$when", "$data"):
                continue
            rendered = _render(v, scope, k, in_facts=(k == "facts") or in_facts)
            if rendered is not _DROP:
                out[k] = rendered
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for element in node:
            if isinstance(element, dict) and "$data" in element:
                source = _evaluate(element["$data"], scope, in_text_block=False)
                for index, item in enumerate(source or []):
                    inner = dict(item) if isinstance(item, dict) else {"$item": item}
                    inner.setdefault("$root", scope.get("$root", scope))
                    inner["$index"] = index
                    rendered = _render(element, inner, key, in_facts)
                    if rendered is not _DROP:
                        items.append(rendered)
                continue
            rendered = _render(element, scope, key, in_facts)
            if rendered is not _DROP:
                items.append(rendered)
        return items
    if isinstance(node, str) and "${" in node:
        markdown = key in _MARKDOWN_KEYS or (in_facts and key in _FACT_KEYS)
        return _evaluate(node, scope, in_text_block=markdown)
    return node


class _Drop:
    pass


_DROP = _Drop()


@functools.cache
def _load_template(name: str) -> Any:
    """The parsed template, read once: rendering builds new objects and never changes it."""
    path = TEMPLATE_DIR / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _display_text(value: Any) -> Any:
    """A value shown to a person, as text: numbers as digits, True/False as Yes/No, None as nothing."""
    if isinstance(value, str) or isinstance(value, (dict, list)):
        return value  # strings are already filled and escaped; structures are the card author's mistake to see
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


# Where each element type keeps what a person reads (besides "title" on actions, handled below).
_SHOWN_FIELDS = {"TextBlock": ("text",), "TextRun": ("text",), "Input.Text": ("label", "placeholder"),
                 "Input.ChoiceSet": ("label", "placeholder"), "Input.Number": ("label", "placeholder"),
                 "Input.Date": ("label",), "Input.Time": ("label",), "Input.Toggle": ("label", "title"),
                 "Image": ("altText",)}


def _as_shown(node: Any) -> None:
    """Turn every value a person reads into a string, in place, at any depth (inline cards of ShowCard too)."""
    if isinstance(node, list):
        for item in node:
            _as_shown(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    for name in _SHOWN_FIELDS.get(kind, ()) if isinstance(kind, str) else ():
        if name in node:
            node[name] = _display_text(node[name])
    if isinstance(kind, str) and kind.startswith("Action.") and "title" in node:
        node["title"] = _display_text(node["title"])
    if kind == "FactSet":
        for fact in node.get("facts") or []:
            if isinstance(fact, dict):
                for name in ("title", "value"):
                    fact[name] = _display_text(fact.get(name))
    if isinstance(kind, str) and kind.startswith("Chart."):
        # A Teams chart's title and labels are read; its values stay numbers (they are drawn as bars and slices).
        if "title" in node:
            node["title"] = _display_text(node["title"])
        data = node.get("data")
        for item in data if isinstance(data, list) else []:
            values = item.get("values") if isinstance(item, dict) else None
            points = values if isinstance(values, list) else [item]
            for point in points:
                if isinstance(point, dict):
                    for name in ("x", "legend"):
                        if name in point:
                            point[name] = _display_text(point[name])
    if kind == "Input.ChoiceSet":
        for choice in node.get("choices") or []:
            if isinstance(choice, dict):
                # A choice's value is text too: Teams drops a choice whose value is a number.
                for name in ("title", "value"):
                    if name in choice:
                        choice[name] = _display_text(choice[name])
    for key, value in node.items():
        if key != "data":  # an action's payload keeps its types (a case's version number, say)
            _as_shown(value)


def render(template: str, data: dict[str, Any]) -> dict[str, Any]:
    """Fill the named template (``cards/templates/<template>.json``) with data and return the card."""
    node = _load_template(template)
    scope = dict(data)
    scope["$root"] = data
    card: dict[str, Any] = _render(node, scope)
    _as_shown(card)
    card.setdefault("$schema", SCHEMA)
    card.setdefault("type", "AdaptiveCard")
    card.setdefault("version", CARD_VERSION)
    return card


def template_names() -> list[str]:
    """Every template shipped."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.json"))
