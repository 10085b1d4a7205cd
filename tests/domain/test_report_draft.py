"""Reading a platform out of a reporter's own words, as staff write them."""

from __future__ import annotations

import pytest

from domain.reports.draft import platform_mentioned


@pytest.mark.parametrize(("words", "platform"), [
    ("a parent is slagging off miss jones on facebook", "facebook"),
    ("photo of y3 sports day on fb without permission", "facebook"),
    ("Year 5 pupil being called names on insta, screenshot attached", "instagram"),
    ("someone made a TikTok about mr patel", "tiktok"),
    ("a nasty tik tok about our school", "tiktok"),
    ("parent tweeted that the head is a liar", "x_twitter"),
    ("class whatsapp group has got really nasty", "whatsapp"),
    ("I emailed the wrong parent a child's report by mistake", "email"),
    ("video of the nativity put on you tube", "youtube"),
])
def test_the_one_platform_staff_name_is_found(words: str, platform: str) -> None:
    assert platform_mentioned(words) == platform


@pytest.mark.parametrize("words", [
    "someone is bullying a child online",
    "called names on insta and snapchat",  # two: the reporter picks
    "a pupil sent me a friend request",
    "fbi",  # not a whole word
    "",
])
def test_none_or_several_names_nothing(words: str) -> None:
    assert platform_mentioned(words) is None
