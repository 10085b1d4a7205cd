"""What a card says to a person, read from its JSON; and every template filled with numbers.

``said(card)`` lists what Teams draws for a person to read: each TextBlock's text, each fact's title and value, each
button's title and each choice's title, in the card and in the cards its Action.ShowCard buttons open (for a chart,
in the fallback that renderers without charts draw).
``filled_with_numbers(template)`` fills a template with a number for every value it shows (lists for what it
repeats, a colour and a link where one is needed), so a test can check that no number reaches a person as a number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cards.render import TEMPLATE_DIR, render

_ESCAPED = re.compile(r"\\([\\`*_\[\]#|>~<.\-+!(){}])")


def visible(text: str) -> str:
    """Text as a person reads it, for comparing: markdown escapes and bold marks gone, no whitespace."""
    return re.sub(r"\s+", "", _ESCAPED.sub(r"\1", text).replace("**", ""))


@dataclass
class Said:
    """What a card shows a person: texts, facts (title, value), buttons and choices."""

    texts: list[Any] = field(default_factory=list)
    facts: list[tuple[Any, Any]] = field(default_factory=list)
    buttons: list[Any] = field(default_factory=list)
    choices: list[Any] = field(default_factory=list)

    def everything(self) -> list[tuple[str, Any]]:
        """(what, value) for every shown value, for type checks."""
        return ([("TextBlock text", t) for t in self.texts] + [("fact title", t) for t, _ in self.facts]
                + [("fact value", v) for _, v in self.facts] + [("button title", b) for b in self.buttons]
                + [("choice title", c) for c in self.choices])


def said(card: dict[str, Any]) -> Said:
    """Everything a person can read on a card (and on the cards its ShowCard buttons open)."""
    found = Said()

    def actions(items: Any) -> None:
        for action in items or []:
            if not isinstance(action, dict):
                continue
            found.buttons.append(action.get("title"))
            if action.get("type") == "Action.ShowCard" and isinstance(action.get("card"), dict):
                whole(action["card"])

    def elements(items: Any) -> None:
        for element in items or []:
            if not isinstance(element, dict) or element.get("isVisible") is False:
                continue
            kind = element.get("type")
            if str(kind).startswith("Chart.") and isinstance(element.get("fallback"), dict):
                elements([element["fallback"]])  # Teams draws the chart; other renderers draw its fallback
                continue
            if kind == "TextBlock":
                found.texts.append(element.get("text"))
            elif kind == "FactSet":
                found.facts += [(f.get("title"), f.get("value")) for f in element.get("facts") or []]
            elif kind == "Input.ChoiceSet" and isinstance(element.get("choices"), list):
                found.choices += [c.get("title") for c in element["choices"] if isinstance(c, dict)]
            elif kind == "ActionSet":
                actions(element.get("actions"))
            elif kind == "ColumnSet":
                for column in element.get("columns") or []:
                    elements(column.get("items") if isinstance(column, dict) else None)
            elements(element.get("items"))

    def whole(inner: dict[str, Any]) -> None:
        elements(inner.get("body"))
        actions(inner.get("actions"))

    whole(card)
    return found


_EXPRESSION = re.compile(r'"([A-Za-z$]+)"\s*:\s*"\$\{!?([A-Za-z0-9_]+)\}"|\$\{!?([A-Za-z0-9_]+)\}')
# Values a template needs to be of a kind other than text to make a valid card.
_BY_KEY: dict[str, Any] = {
    "color": "Good", "url": "https://example.org/7", "userIds": ["29:seven"],
    "choices": [{"title": 7, "value": "7"}, {"title": 8.5, "value": "8"}],
}


def filled_with_numbers(template: str) -> dict[str, Any]:
    """The template filled with numbers wherever it shows a value (and wherever it tests one, so all is shown)."""
    text = (TEMPLATE_DIR / f"{template}.json").read_text(encoding="utf-8")
    json.loads(text)  # a broken template fails here, named
    values: dict[str, Any] = {}
    repeated: set[str] = set()
    for key, whole_name, inner_name in _EXPRESSION.findall(text):
        name = whole_name or inner_name
        if key == "$data":
            repeated.add(name)
        elif key in _BY_KEY:
            values[name] = _BY_KEY[key]  # whatever else tests it, it must be of this kind
        else:
            values.setdefault(name, 7)
    item = {name: value for name, value in values.items() if name not in repeated}
    return render(template, {**item, **{name: [dict(item), dict(item)] for name in repeated}})
