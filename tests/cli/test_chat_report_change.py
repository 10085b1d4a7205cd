"""`python app.py chat`: a report's summary lists each answer as "Label: value" with its Change button (after the
card's own Send, Back and Cancel), and pressing one goes to that question and back to the summary."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_chat import run

TO_THE_SUMMARY = ["report", "1", "1", "2", "1", "1", "A pupil is being called names in a group chat", "2", "2", "1"]


def test_change_from_the_summary_in_the_terminal(tmp_path: Path) -> None:
    printed = run(tmp_path, [*TO_THE_SUMMARY, "8", "2", "1"])
    summaries = printed.split("Check your report")[1:]
    assert len(summaries) == 2
    first, second = summaries
    assert "| When: Today" in first and "[1] Send report  [2] Back  [3] Cancel  [4] Change: What" in first
    assert "[8] Change: When" in first
    assert "| When: Yesterday" in second  # changed, and straight back to the summary
    assert "Question 5 of 9" in printed.split("Check your report")[1]  # the when question, asked again
    assert "New safeguarding report VPS-2026-0001" in printed
