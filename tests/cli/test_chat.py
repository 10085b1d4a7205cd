"""`python app.py chat`: a report walked from the first question to the lead's alert and the claim."""

from __future__ import annotations

import io
from pathlib import Path

from cli.chat import run_chat
from settings import Settings


def run(tmp_path: Path, lines: list[str], *args: str) -> str:
    """Run the chat with typed lines; return everything it printed."""
    out = io.StringIO()
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off"})
    assert run_chat(list(args), settings, io.StringIO("\n".join(lines + ["quit"]) + "\n"), out) == 0
    return out.getvalue()


def test_report_walks_to_the_alert_and_the_claim(tmp_path: Path) -> None:
    printed = run(tmp_path, ["report", "1", "1", "2", "1", "1", "A pupil is being called names in a group chat",
                             "2", "2", "1", "1", "1"], "--as", "dsl")
    assert "Check your report" in printed
    assert "New safeguarding report VPS-2026-0001 -> channel 'Designated Safeguarding Lead (local)'" in printed
    assert "Status: Claimed by Sam Taylor" in printed
    assert "has been picked up by the Designated Safeguarding Lead" in printed


def test_can_i_question_gets_a_cited_answer(tmp_path: Path) -> None:
    printed = run(tmp_path, ["can I accept a friend request from a pupil?"])
    assert "What the policy says" in printed
    assert "Social Media, Website & Networking Policy, April 2020" in printed


def test_unknown_text_gets_help_and_menu(tmp_path: Path) -> None:
    printed = run(tmp_path, ["asdfghjkl"])
    assert "not sure what you'd like to do" in printed and "didn't understand" not in printed
    assert "Report a concern" in printed


def test_the_head_teacher_sees_the_summary_as_text_in_their_channel(tmp_path: Path) -> None:
    printed = run(tmp_path, ["#head_teacher summary"], "--as", "head_teacher")
    assert "Termly summary" in printed and "Reports made: 0" in printed
    assert "Acknowledgement of the current policy version" in printed
    assert "Under a week |  | 0" in printed  # a chart's fallback, drawn as text
