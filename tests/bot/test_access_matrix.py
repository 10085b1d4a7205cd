"""The access policy as a table: every command and every card action against every kind of person, over HTTP.

Read the two tables below as the policy. "ok" means the person may do it, "refused" that the bot says no and
changes nothing, "403" that the request never reaches the bot (a tenant outside ALLOWED_TENANTS).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cards.reports import REFUSAL_TEXT, refusal_text
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from tests.support.connector import DEFAULT_TENANT
from tests.support.flows import set_up_school
from tests.support.teams import (
    ADMIN,
    CHAIR,
    DEPUTY,
    DPL,
    DSL,
    HEAD,
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    card_text,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)

HR = User("29:hr", "Harriet Resources")
OTHER_SCHOOL = User("29:oak-dsl", "Olga Oakwood")  # the DSL of another school of the same trust
FOREIGN = User("29:foreign", "Fay Foreign")  # from another tenant
SCRATCH = User("29:scratch", "Sid Scratch")  # mentioned by set-up and campaign commands
SCRATCH_CHANNEL = "19:scratch@thread.tacv2"
FOREIGN_TENANT = "11111111-2222-3333-4444-555555555555"

# Kind of person -> (who clicks or types, is it the report's subject)
PEOPLE: dict[str, User] = {
    "staff": TEACHER, "dsl": DSL, "deputy_dsl": DEPUTY, "head_teacher": HEAD, "dpl": DPL, "hr": HR,
    "chair": CHAIR, "admin": ADMIN, "other_school": OTHER_SCHOOL, "other_tenant": FOREIGN,
    "subject": DSL,  # the DSL, on a case that is about the DSL (conflict of interest)
}
KINDS = list(PEOPLE)

OK, NO, FORBIDDEN = "ok", "refused", "403"
ADMIN_ONLY = {k: (OK if k == "admin" else NO) for k in KINDS} | {"other_tenant": FORBIDDEN}
EVERYONE = {k: OK for k in KINDS} | {"other_tenant": FORBIDDEN}
HEAD_OR_ADMIN = {k: (OK if k in ("admin", "head_teacher") else NO) for k in KINDS} | {"other_tenant": FORBIDDEN}
CASE_LEADS = {k: (OK if k in ("dsl", "deputy_dsl") else NO) for k in KINDS} | {"other_tenant": FORBIDDEN}
HEAD_ONLY = {k: (OK if k == "head_teacher" else NO) for k in KINDS} | {"other_tenant": FORBIDDEN}

# The policy: who may run each command. `cases` and `case export` are about a cyberbullying case sent to the
# DSL's channel (for "subject": a case about the DSL, sent to the deputies and the Head Teacher instead).
COMMAND_POLICY: dict[str, dict[str, str]] = {
    "setup status": EVERYONE,
    "setup dsl direct": ADMIN_ONLY,  # binding a space also checks who can read it: tests/bot/test_lead_spaces.py
    "setup assign dsl": ADMIN_ONLY,
    "setup school": ADMIN_ONLY,
    "cases": CASE_LEADS | {"subject": OK},  # the DSL lists the channel's cases, never the one about them
    "case export": CASE_LEADS,
    "campaign start": HEAD_OR_ADMIN,
    "campaign status": HEAD_OR_ADMIN,
    "campaign export": HEAD_OR_ADMIN,
    "campaign resend": HEAD_OR_ADMIN,
    "campaign exempt": HEAD_OR_ADMIN,
}
# The policy: who may press each card button.
ACTION_POLICY: dict[str, dict[str, str]] = {
    "claimCase": CASE_LEADS,
    "addNote": CASE_LEADS,
    "resolveCase": CASE_LEADS,
    "escalateCase": CASE_LEADS,
    "showDetails": CASE_LEADS,
    "answerQuestion": HEAD_ONLY,
    "acknowledge": {k: OK for k in KINDS} | {"other_tenant": FORBIDDEN},  # every member of staff of the trust
}

REFUSALS = ("only a ThinkFirst admin", "only the leads", "Sorry, only", "I don't know you as a member of staff")


@dataclass
class Rig:
    """The app with every role held and bound, a running campaign, and its own event loop."""

    loop: asyncio.AbstractEventLoop
    harness: BotHarness
    other_school_id: str = ""
    shared_refs: dict[str, str] = field(default_factory=dict)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the rig's loop."""
        return self.loop.run_until_complete(coro)


async def _arrange(harness: BotHarness) -> str:
    url = harness.connector.service_url
    await set_up_school(harness)
    for user in (DEPUTY, DPL, HR, CHAIR, ADMIN, SCRATCH):
        await harness.post(personal_message(user, url, text="hi"))
    services = harness.services
    directory, school = services.directory, services.directory.default_school
    directory.assign_role(school.id, Role.DSL, DEPUTY.id, deputy=True, by="test")
    directory.assign_role(school.id, Role.DPL, DPL.id, by="test")
    directory.assign_role(school.id, Role.HR, HR.id, by="test")
    directory.assign_role(school.id, Role.CHAIR, CHAIR.id, by="test")
    for role, channel in ((Role.DPL, "19:dpl@thread.tacv2"), (Role.CHAIR, "19:chair@thread.tacv2"),
                          (Role.HR, "19:hr@thread.tacv2")):
        directory.bind_channel(school.id, role, channel, str(role), by="test")
    other = directory.ensure_school("Oakwood Academy")
    directory.upsert_person(OTHER_SCHOOL.id, OTHER_SCHOOL.name, other.id, "team:19:oak", aad_object_id=OTHER_SCHOOL.aad)
    directory.assign_role(other.id, Role.DSL, OTHER_SCHOOL.id, by="test")
    services.campaigns.start("test")
    await harness.flush()
    harness.connector.clear()
    return other.id


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """One app for the module; each cell arranges fresh records of its own."""
    loop = asyncio.new_event_loop()
    harness = BotHarness(tmp_path_factory.mktemp("matrix") / "data",
                         settings_overrides={"ALLOWED_TENANTS": DEFAULT_TENANT})
    loop.run_until_complete(harness.start())
    rig = Rig(loop, harness)
    rig.other_school_id = loop.run_until_complete(_arrange(harness))
    rig.shared_refs["dsl_case"] = new_case(rig, about_dsl=False)
    rig.shared_refs["about_dsl"] = new_case(rig, about_dsl=True)
    try:
        yield rig
    finally:
        loop.run_until_complete(harness.stop())
        loop.close()


def new_case(rig: Rig, *, about_dsl: bool) -> str:
    """File a fresh case from the teacher: a pupil cyberbullying case, or one about the DSL."""
    services = rig.harness.services
    reporter = services.directory.person(TEACHER.id)
    draft = ReportDraft(category="staff_pupil_contact" if about_dsl else "cyberbullying_pupil",
                        school_id=services.directory.default_school.id, involved="staff" if about_dsl else "pupil",
                        staff_role="dsl" if about_dsl else None, details="A report for the access matrix.")
    return services.cases.submit(draft, reporter).ref


def as_kind(activity: dict[str, Any], kind: str) -> dict[str, Any]:
    """Move the activity into another tenant for the other-tenant person."""
    if kind == "other_tenant":
        activity = copy.deepcopy(activity)
        activity["channelData"]["tenant"]["id"] = FOREIGN_TENANT
        activity["conversation"]["tenantId"] = FOREIGN_TENANT
    return activity


def said(rig: Rig, body: Any = None) -> str:
    """Everything the bot said this cell (texts, cards, and an invoke's card)."""
    parts = [a.get("text") or "" for a in rig.harness.sent()] + [card_text(c) for c in rig.harness.cards()]
    if isinstance(body, dict) and isinstance(body.get("value"), dict):
        parts.append(card_text(body["value"]))
    return "\n".join(parts)


def restore(rig: Rig) -> None:
    """Undo what an allowed set-up or campaign command changed, so cells stay independent."""
    directory = rig.harness.services.directory
    school = directory.default_school
    directory.bind_channel(school.id, Role.DSL, SAFEGUARDING, "Safeguarding", by="test")
    directory.unassign_role(school.id, Role.DSL, SCRATCH.id)
    rig.harness.services.campaigns.unexempt(SCRATCH.id)


COMMANDS: dict[str, tuple[str, str, list[User]]] = {
    "setup status": (SCRATCH_CHANNEL, "setup status", []),
    "setup dsl direct": (SCRATCH_CHANNEL, "setup dsl direct", []),
    "setup assign dsl": (SCRATCH_CHANNEL, "setup assign dsl", [SCRATCH]),
    "setup school": (SCRATCH_CHANNEL, "setup school Oak Lane Primary", []),
    "cases": (SAFEGUARDING, "cases", []),
    "case export": (SAFEGUARDING, "case export {ref}", []),
    "campaign start": (HEAD_CHANNEL, "campaign start", []),
    "campaign status": (HEAD_CHANNEL, "campaign status", []),
    "campaign export": (HEAD_CHANNEL, "campaign export", []),
    "campaign resend": (HEAD_CHANNEL, "campaign resend", []),
    "campaign exempt": (HEAD_CHANNEL, "campaign exempt on long-term leave", [SCRATCH]),
}


@pytest.mark.parametrize(("command", "kind", "expected"),
                         [(c, k, e) for c, row in COMMAND_POLICY.items() for k, e in row.items()])
def test_command_access(rig: Rig, command: str, kind: str, expected: str) -> None:
    user = PEOPLE[kind]
    channel, text, mentions = COMMANDS[command]
    ref = rig.shared_refs["about_dsl" if kind == "subject" else "dsl_case"]
    activity = channel_message(user, rig.harness.connector.service_url, channel, channel.split(":")[1][:10],
                               text.format(ref=ref), mentions)
    if command == "setup school":
        activity["channelData"]["team"]["id"] = "19:scratch-team@thread.tacv2"
    audit_before = len(rig.harness.services.cases.get(ref)["audit"])
    bindings_before = rig.harness.services.directory.channel_for(rig.harness.services.directory.default_school.id,
                                                                 Role.DSL)
    rig.harness.connector.clear()
    status, _ = rig.run(rig.harness.post(as_kind(activity, kind)))
    try:
        if expected == FORBIDDEN:
            assert status == 403
            assert rig.harness.sent() == []
            return
        assert status == 200
        reply = said(rig)
        refused = any(r in reply for r in REFUSALS)
        assert refused == (expected == NO), reply
        if expected == NO:
            # Nothing changed: no audit entry, the DSL channel still bound where it was, nobody exempted.
            assert len(rig.harness.services.cases.get(ref)["audit"]) == audit_before
            assert rig.harness.services.directory.channel_for(
                rig.harness.services.directory.default_school.id, Role.DSL) == bindings_before
            assert not rig.harness.services.directory.has_role(SCRATCH.id, rig.harness.services.directory
                                                               .default_school.id, Role.DSL)
        if command == "cases" and expected == OK:
            assert rig.shared_refs["dsl_case"] in reply
            assert rig.shared_refs["about_dsl"] not in reply  # never listed to anyone in the DSL channel
    finally:
        restore(rig)


def action_data(rig: Rig, verb: str, kind: str) -> tuple[dict[str, Any], str]:
    """Fresh records for one cell and the card data its button would carry; also the record's key."""
    services = rig.harness.services
    if verb == "answerQuestion":
        question_id = services.questions.record_unanswered("Can I like a parent's post?", None, policy_version="v")
        services.questions.hand_off(question_id)
        return {"question_id": question_id, "answer": "No: keep it professional."}, question_id
    if verb == "acknowledge":
        campaign = services.campaigns.current_campaign(services.directory.default_school.id)
        return {"campaign_id": campaign.id, "version": campaign.version_hash}, campaign.id
    ref = new_case(rig, about_dsl=kind == "subject")
    data: dict[str, Any] = {"ref": ref, "version": 1}
    data |= {"addNote": {"note": "Spoke to the pupil."}, "resolveCase": {"outcome": "advice_given"},
             "escalateCase": {"to": "police"}}.get(verb, {})
    if verb == "showDetails":
        data = {"ref": ref}
    return data, ref


@pytest.mark.parametrize(("verb", "kind", "expected"),
                         [(v, k, e) for v, row in ACTION_POLICY.items() for k, e in row.items()])
def test_card_action_access(rig: Rig, verb: str, kind: str, expected: str) -> None:
    user = PEOPLE[kind]
    services = rig.harness.services
    data, key = action_data(rig, verb, kind)
    where = HEAD_CHANNEL if verb == "answerQuestion" else SAFEGUARDING
    if verb == "acknowledge":
        activity = invoke_execute(user, rig.harness.connector.service_url, personal_conversation(user), verb, data)
    else:
        activity = invoke_execute(user, rig.harness.connector.service_url,
                                  {"id": where, "conversationType": "channel", "isGroup": True}, verb, data,
                                  channel=(where, "Lead channel"))
    audit_before = len(services.cases.get(key)["audit"]) if verb in CASE_ACTIONS else 0
    rig.run(rig.harness.flush())  # the new record's own alerts go before the click
    rig.harness.connector.clear()
    status, body = rig.run(rig.harness.post(as_kind(activity, kind)))
    if expected == FORBIDDEN:
        assert status == 403
    else:
        assert status == 200 and body["statusCode"] == 200
    done = action_done(rig, verb, key, user, audit_before)
    assert done == (expected == OK), said(rig, body)
    if expected == NO:
        assert any(r in said(rig, body) for r in REFUSALS), said(rig, body)
        assert rig.harness.sent() == []  # not even the details 1:1


CASE_ACTIONS = {"claimCase": "claimed", "addNote": "note_added", "resolveCase": "resolved",
                "escalateCase": "escalated", "showDetails": "details_shown"}


def action_done(rig: Rig, verb: str, key: str, user: User, audit_before: int) -> bool:
    """Whether the click changed the record it was aimed at (and only in the expected way)."""
    services = rig.harness.services
    if verb in CASE_ACTIONS:
        case = services.cases.get(key)
        assert services.cases.verify_audit(key)
        added = case["audit"][audit_before:]
        if not added:
            return False
        assert added[0]["action"] == CASE_ACTIONS[verb] and added[0]["actor_id"] == user.id
        return True
    if verb == "answerQuestion":
        return services.store.get("questions", key)["status"] == "answered"
    return services.store.get("campaign_acks", f"{key}|{user.id}") is not None


def test_policy_tables_cover_every_command_action_and_person() -> None:
    assert set(COMMAND_POLICY) == set(COMMANDS)
    for row in (*COMMAND_POLICY.values(), *ACTION_POLICY.values()):
        assert set(row) == set(KINDS)



# Nothing about a case for anyone not entitled, whether or not it exists -------------------------------------------

ALL_CASE_VERBS = ["claimCase", "addNote", "resolveCase", "escalateCase", "showDetails", "refreshCase"]
ENTITLED = {"dsl", "deputy_dsl"}


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "non-existent"])
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "other_tenant"])
@pytest.mark.parametrize("verb", ALL_CASE_VERBS)
def test_case_verbs_tell_nothing_to_those_not_entitled(rig: Rig, verb: str, kind: str, exists: bool) -> None:
    user = PEOPLE[kind]
    services = rig.harness.services
    ref = new_case(rig, about_dsl=kind == "subject")
    rig.run(rig.harness.flush())
    if not exists:
        ref = ref[:-4] + "9999"  # sequential references: the next ones are easy to guess
    data: dict[str, Any] = {"ref": ref.lower() if kind == "dsl" else ref, "version": 1, "note": "x",
                            "outcome": "advice_given", "to": "police"}
    activity = invoke_execute(user, rig.harness.connector.service_url,
                              {"id": SAFEGUARDING, "conversationType": "channel", "isGroup": True}, verb, data,
                              channel=(SAFEGUARDING, "Safeguarding"))
    rig.harness.connector.clear()
    status, body = rig.run(rig.harness.post(activity))
    assert status == 200 and body["statusCode"] == 200
    shown = card_text(body["value"])
    if exists and kind in ENTITLED:
        assert ref in shown  # a lead sees the case (a lowercase reference from a card is read the same)
        return
    # The same short refusal for everyone, and nothing of the case: no reference, category, urgency or status. It
    # names who to speak to by role, never the person refused: the Head Teacher is sent to the Chair of Governors.
    expected = refusal_text("the Chair of Governors") if kind == "head_teacher" else REFUSAL_TEXT
    assert [b.get("text") for b in body["value"]["body"]] == [expected], shown
    assert not body["value"].get("actions") and not body["value"].get("refresh")
    for leak in (ref, "Cyberbullying", "Urgent", "Normal", "Claimed", "Open", "Tom Teacher"):
        assert leak not in shown
    assert rig.harness.sent() == []
    if exists:
        assert [e["action"] for e in services.cases.get(ref)["audit"]] == ["submitted"]
