"""ThinkFirst itself (`python app.py`) in the Microsoft 365 Agents Playground: what staff do, end to end."""

from __future__ import annotations

import pytest

from tests.e2e.playground import card_of
from tests.e2e.school import School, card_text, frame_text, set_up

pytestmark = [pytest.mark.e2e]


async def test_install_and_set_up_the_school(school: School) -> None:
    """Installing greets the team and Tom; an admin binds Safeguarding and General and names the DSL and head."""
    seen = await set_up(school)
    for step, frame in seen.items():
        print(step, "=>", frame_text(frame)[:300].replace("\n", " | "))
    assert card_of(seen["welcome"]) is not None
