"""Show details with evidence, in the Playground's page: checked, and photographed for the README.

Writes docs/screenshots/show-details.png (tests/e2e/details_screenshot.py tells the whole story: a teaching assistant
outside the Playground reports with a pasted screenshot and a PDF; Tom, a deputy DSL, presses Show details).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import require_playground
from tests.e2e.details_screenshot import CONSENT, DETAILS, OUT, PDF_NAME, REPORTER, data_url_bytes, photograph
from tests.e2e.playground import screenshot_path
from tests.e2e.school import TOM
from tests.e2e.test_browser import require_browser

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_show_details_sends_the_card_then_each_file_to_the_leads_chat(tmp_path: Path) -> None:
    """The alert keeps the reporter and the files out of the channel; Show details sends Tom the details card and
    both files, exactly as sent; the page is photographed, with what the Playground can and cannot draw."""
    require_playground()
    require_browser()
    out = screenshot_path(OUT, tmp_path)
    seen = await photograph(out)
    ref, png, pdf = seen["ref"], seen["png"], seen["pdf"]

    # The channel's alert, before and after Show details: no reporter, no words of the report, no files.
    for secret in (REPORTER.name, "Jamie", "called names", seen["png_name"], PDF_NAME):
        assert secret not in seen["alert"], (secret, seen["alert"])
        assert secret not in seen["pressed"], (secret, seen["pressed"])

    # Tom's chat: the details card names the reporter and lists both files; each file's words name only the file.
    texts = [text for text, _ in seen["frames"]]
    [details] = [t for t in texts if t.startswith(f"Details of {ref}")]
    assert REPORTER.name in details and DETAILS in details, details
    assert seen["png_name"] in details and PDF_NAME in details, details
    for number, name in ((1, seen["png_name"]), (2, PDF_NAME)):
        [words] = [t for t in texts if t.startswith(f"{ref}, evidence {number} of 2: {name}")]
        assert REPORTER.name not in words and "Priya" not in words, words

    # What the bot posted there: the reporter's PNG inline, byte for byte; the PDF offered as a file of its exact
    # size under a neutral name (a reporter's file name may name a pupil, and it lands in the lead's OneDrive).
    assert png in [data_url_bytes(a) for a in seen["sent"]]
    [consent] = [a for a in seen["sent"] if a.get("contentType") == CONSENT]
    assert consent["name"] == f"{ref}-evidence-02.pdf", consent
    assert consent["content"]["sizeInBytes"] == len(pdf), consent

    # The case's audit: Tom was shown the details with both files, by their SHA-256.
    shown = [e for e in seen["case"]["audit"] if e["action"] == "details_shown"]
    assert [e["actor_id"] for e in shown] == [TOM]
    assert shown[0]["detail"]["evidence_sha256"] == [hashlib.sha256(png).hexdigest(), hashlib.sha256(pdf).hexdigest()]

    # The page (0.2.28) draws the card and the files' words, and says it cannot draw a picture or a file consent
    # card. If a newer Playground draws them, take the picture again and change the README's caption.
    drawn = [" ".join(row["text"].split()) for row in seen["page"]["rows"] if row["text"].strip()]
    assert any(f"Details of {ref}" in row for row in drawn), drawn
    assert any("image/png is not supported yet" in row for row in drawn), drawn
    assert any("File Consent Card is not supported yet" in row for row in drawn), drawn
    assert not any(row["images"] for row in seen["page"]["rows"]), seen["page"]["rows"]
    assert out.stat().st_size > 20_000

    # The card says "Each file follows this card": the card comes first and the files in order (one send at a
    # time per conversation).
    order = [m.group(1) if (m := re.match(rf"{ref}, evidence (\d) of 2", text)) else "card"
             for text, _ in seen["frames"] if text]  # the files themselves come with no words of their own
    assert order == ["card", "1", "2"], order
