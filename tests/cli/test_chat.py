"""`python app.py chat`: a report made by a member of staff in one run and handled by the DSL in the next, a person
of their own for each role, nothing sent at start, card forms filled in, and leaving cleanly."""

from __future__ import annotations

import io
from pathlib import Path

from bot.local_chat import LEGACY_USER_ID, PERSONAS
from cli.main import main
from domain.people.roles import Role
from domain.reports.case import CASES
from settings import Settings
from wiring.services import build_services

STAFF_ID, DSL_ID = PERSONAS["staff"][0], PERSONAS["dsl"][0]
DESCRIPTION = "yr 4 boy getting called names on a class group chat, mum showed me screenshots"
# Run 1, as staff: report, pupil cyberbullying, a pupil, Instagram, no link, today, what happened, no evidence,
# no danger, nobody told, send.
REPORT = ["report", "1", "1", "2", "1", "1", DESCRIPTION, "2", "2", "1", "1"]


def settings_for(tmp_path: Path) -> Settings:
    """The chat's settings: its own data folder, no scheduler."""
    return Settings.from_mapping({"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off"})


def run(tmp_path: Path, lines: list[str], *args: str, end: str = "quit") -> str:
    """Run the chat with typed lines; return everything it printed."""
    out = io.StringIO()
    typed = "\n".join(lines + ([end] if end else [])) + ("\n" if end or lines else "")
    assert main(["chat", *args], settings=settings_for(tmp_path), stdin=io.StringIO(typed), stdout=out) == 0
    return out.getvalue()


def stored_case(tmp_path: Path) -> dict:
    """The one case in the chat's store, with its state worked out from its audit trail."""
    services = build_services(settings_for(tmp_path))
    try:
        (stored,) = services.store.all(CASES)
        case = services.cases.get(stored["ref"])
        assert case is not None
        return case
    finally:
        services.close()


def test_report_by_staff_is_claimed_noted_escalated_and_resolved_by_the_dsl_in_a_later_run(tmp_path: Path) -> None:
    first = run(tmp_path, REPORT)
    assert "Check your report" in first
    assert "New safeguarding report VPS-2026-0001 -> channel 'Designated Safeguarding Lead (local)'" in first
    # The member of staff sees that the alert arrived, but its buttons are the DSL's.
    assert "buttons for the Designated Safeguarding Lead's channel; to press them, run python app.py chat --as dsl" \
        in first

    second = run(tmp_path, [
        "5",  # Claim, on the alert shown from the DSL's channel
        "1", "5", "Spoke to class teacher, mum coming in tmrw 3:15",  # Add note, Save note, the note
        "3", "5", "3", "Referral made, duty SW rang back",  # Escalate, Escalate, children's social care, note
        "2", "5", "2", "",  # Resolve, Resolve, advice or support given, no note
    ], "--as", "dsl")
    assert "Posts in channel 'Designated Safeguarding Lead (local)', which you can read" in second
    assert "Status: Claimed by Dee Safeguard (DSL, local)" in second
    assert "Your report VPS-2026-0001 has been picked up -> 1:1 chat with Sam Taylor (staff, local)" in second
    assert "note added by Dee Safeguard (DSL, local)" in second
    assert "passed to children's social care by Dee Safeguard (DSL, local)" in second
    assert "Status: Resolved by Dee Safeguard (DSL, local)" in second and "(Advice or support given)" in second
    assert "Your report VPS-2026-0001 is closed -> 1:1 chat with Sam Taylor (staff, local)" in second

    case = stored_case(tmp_path)
    assert case["report"]["reporter_id"] == STAFF_ID and case["report"]["details"] == DESCRIPTION
    state = case["state"]
    assert state["notes"][0]["text"] == "Spoke to class teacher, mum coming in tmrw 3:15"
    assert [e["to"] for e in state["escalations"]] == ["social_care"]
    assert {entry["actor_id"] for entry in case["audit"]} == {STAFF_ID, DSL_ID}


def test_nothing_is_sent_on_start_and_a_later_run_carries_on_where_it_was(tmp_path: Path) -> None:
    first = run(tmp_path, REPORT[:6])  # up to "What happened?", then leave
    assert "Hello Sam, I'm ThinkFirst." in first  # the first visit is an install: the bot's welcome
    assert first.count("What happened? Please describe it") == 1
    second = run(tmp_path, [DESCRIPTION, "2", "2", "1"])
    assert "You were in the middle of something" in second
    assert second.index("What happened? Please describe it") < second.index("Check your report")
    summary = second[second.index("Check your report"):]
    assert DESCRIPTION in summary and "hello" not in summary.lower()
    third = run(tmp_path, [])
    assert "Sorry, I didn't understand" not in first + second + third
    assert "You were in the middle of something" in third  # the summary still waits: nothing was sent for it


def test_each_role_is_a_person_of_its_own(tmp_path: Path) -> None:
    services = build_services(settings_for(tmp_path))
    try:  # an earlier version's chat: one person who kept every role tried
        school = services.directory.default_school.id
        services.directory.upsert_person(LEGACY_USER_ID, "Sam Taylor", school, "personal")
        for role in (Role.DSL, Role.HEAD_TEACHER):
            services.directory.assign_role(school, role, LEGACY_USER_ID, by="local-chat")
    finally:
        services.close()
    run(tmp_path, [], "--as", "dsl")
    run(tmp_path, [], "--as", "head_teacher")
    status = run(tmp_path, ["setup status"])
    services = build_services(settings_for(tmp_path))
    try:
        directory = services.directory
        assert directory.roles_of(LEGACY_USER_ID) == []
        assert [r for _, r, _ in directory.roles_of(DSL_ID)] == ["dsl"]
        assert [r for _, r, _ in directory.roles_of(PERSONAS["head_teacher"][0])] == ["head_teacher"]
        assert directory.roles_of(STAFF_ID) == []
        assert directory.person(DSL_ID).name == "Dee Safeguard (DSL, local)"  # type: ignore[union-attr]
    finally:
        services.close()
    card = status[status.index("ThinkFirst set-up"):]
    held = [line.strip() for line in card.splitlines() if "Held by:" in line]
    assert held == ["|   Held by: Helen Head (Head Teacher, local)", "|   Held by: Dee Safeguard (DSL, local)",
                    "|   Held by: Nobody assigned", "|   Held by: Nobody assigned", "|   Held by: Nobody assigned"]
    assert "Sam Taylor" not in card


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


class Interrupted(io.StringIO):
    """Standard input where the person presses Ctrl-C after some lines."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("".join(f"{line}\n" for line in lines))

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        """The next line, or Ctrl-C once the lines run out."""
        line = super().readline()
        if not line:
            raise KeyboardInterrupt
        return line


def test_ctrl_d_and_ctrl_c_leave_cleanly(tmp_path: Path) -> None:
    assert run(tmp_path, [], end="").endswith("Bye.\n")  # Ctrl-D at the first prompt
    out = io.StringIO()
    # Ctrl-C at the next prompt
    assert main(["chat"], settings=settings_for(tmp_path), stdin=Interrupted(["report"]), stdout=out) == 0
    assert out.getvalue().endswith("Bye.\n") and "Traceback" not in out.getvalue()
    # Ctrl-D while a card's form asks for something (a DSL's note) leaves too, and nothing half-filled is sent.
    run(tmp_path, REPORT)
    printed = run(tmp_path, ["5", "1", "5"], "--as", "dsl", end="")
    assert printed.endswith("Bye.\n") and "note added" not in printed
    assert stored_case(tmp_path)["state"]["notes"] == []


def test_campaign_status_shows_its_numbers(tmp_path: Path) -> None:
    printed = run(tmp_path, ["campaign start", "campaign status"], "--as", "admin")
    status = printed[printed.index("Policy acknowledgement campaign C1"):]
    for line in ("Complete: 0% (0 of 1)", "Outstanding: 1", "Exempt: 0", "Cards delivered: 1", "Not delivered: 0"):
        assert line in status


def test_a_ticked_choice_is_shown_and_next_sends_it(tmp_path: Path) -> None:
    """The platform named in the reporter's words is ticked; Next (its number) answers with it, as in Teams."""
    said = run(tmp_path, ["a parent is slagging off miss jones on facebook", "1", "2", "11"])
    assert "[1] Facebook (ticked)" in said
    assert "Is there a link to the post or page?" in said  # Next moved on: Facebook was taken as the answer
    assert "Please pick one of the buttons" not in said
