"""Every card verb is dispatched in one place (bot/card_actions.py), and read the way the domain stores it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.card_actions import CardActions
from bot.commands import CommandContext
from cards.render import TEMPLATE_DIR
from cards.verbs import VERBS, Verb
from domain.people.directory import Person
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from settings import Settings
from store.memory import MemoryStore
from wiring.services import build_services


def context(user_id: str, name: str, school_id: str) -> CommandContext:
    return CommandContext(user_id=user_id, user_name=name, aad_object_id="", conversation_id="a:personal",
                          conversation_kind="personal", channel_name="", team_id="", school_id=school_id)


def test_each_case_verb_reaches_its_action_and_strangers_learn_nothing(tmp_path: Path) -> None:
    services = build_services(Settings.from_mapping({"DATA_DIR": str(tmp_path)}), store=MemoryStore())
    school = services.directory.default_school.id
    for user_id, name in (("29:teacher", "Tom Teacher"), ("29:dsl", "Dee Safeguard")):
        services.directory.upsert_person(user_id, name, school, "team:T1")
    services.directory.assign_role(school, Role.DSL, "29:dsl", by="test")
    services.directory.bind_channel(school, Role.DSL, "19:dsl", "Safeguarding", by="test")
    teacher = services.directory.person("29:teacher")
    assert isinstance(teacher, Person)
    ref = services.cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=school, involved="pupil",
                                            platform="snapchat", details="sum1 keeps postin mean stuff"), teacher).ref
    actions = CardActions(services)
    dsl, stranger = context("29:dsl", "Dee Safeguard", school), context("29:teacher", "Tom Teacher", school)

    def version() -> int:
        case = services.cases.get(ref)
        assert case is not None
        return int(case["state"]["version"])

    for verb, data in [(Verb.CLAIM_CASE, {}), (Verb.ADD_NOTE, {"note": "hi"}), (Verb.ESCALATE_CASE, {"to": "lado"}),
                       (Verb.RESOLVE_CASE, {"outcome": "advice_given"})]:
        before = version()
        card = actions.handle_execute(verb, {"ref": ref, "version": before, **data}, dsl)
        assert version() == before + 1, verb
        assert ref in json.dumps(card)
    assert ref in json.dumps(actions.handle_execute(Verb.REFRESH_CASE, {"ref": ref}, dsl))
    # A reference that does not exist gets the same refusal as a case the person may not see.
    missing = actions.handle_execute(Verb.CLAIM_CASE, {"ref": "VPS-2026-9999"}, dsl)
    assert missing == actions.handle_execute(Verb.CLAIM_CASE, {"ref": ref}, stranger)
    assert "only the leads a case was sent to" in json.dumps(missing) and ref not in json.dumps(missing)
    # Whatever a card or person sends, the reference is read the way it is stored.
    assert ref in json.dumps(actions.handle_execute(Verb.REFRESH_CASE, {"ref": f"  {ref.lower()} "}, dsl))
    assert "older card" in json.dumps(actions.handle_execute("bogus", {}, dsl))


def test_the_templates_send_only_verbs_the_dispatcher_knows() -> None:
    sent: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                sent.add(str(node.get("verb")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in TEMPLATE_DIR.glob("*.json"):
        walk(json.loads(path.read_text("utf-8")))
    assert sent == set(VERBS)
