"""Every card we send parses cleanly in Microsoft's own Adaptive Card renderer, and shows what it says.

The cards are built the way the bot builds them (services over a MemoryStore: reports submitted and acted on, a
campaign started, acknowledged and digested, a question handed off and answered), plus direct renders of the dialog
cards with the data the dialogs pass, plus every template filled with numbers. They all go, in one batch, to
``validate_cards.cjs``, which parses each with the ``adaptivecards`` npm package (the JS SDK Teams' clients use) at a
maximum card version of 1.5 with Teams' host config, reports every parse and validation event, then draws each card
with the same renderer in Chromium and reads back what a person would see (every Action.ShowCard opened in turn).
A card that parses can still show nothing: a number as a fact's value is drawn blank.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from cards.insight import policy_review_card, summary_card
from cards.render import render, template_names
from dialogs.can_i_dialog import VERDICT_HEADLINES, shown
from dialogs.guided import choice_card
from dialogs.menu import menu_activity, private_chat_activity
from domain.people.roles import CHANNEL_ROLES, Role, role_title
from domain.questions.understanding import Flow
from domain.reports.case import ESCALATIONS, OUTCOMES
from domain.reports.draft import MAX_ATTACHMENTS, MAX_DETAILS_CHARS, ReportDraft
from domain.reports.service import MAX_NOTE_CHARS
from domain.shared.clock import FakeClock
from settings import Settings
from store.memory import MemoryStore
from tests.support.cards import filled_with_numbers, said, visible
from wiring.services import Services, build_services

ROOT = Path(__file__).resolve().parents[2]
RENDERER = ROOT / "node_modules" / "adaptivecards"
SCRIPT = Path(__file__).with_name("validate_cards.cjs")
MAX_CARD_BYTES = 28 * 1024  # Teams allows about 100 KB a message (80 KB recommended); we keep cards small
# Tuesday 1 September 2026, 09:00 BST.
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
# What people type, at its worst: markdown, mentions, line breaks, and every character the escaping doubles.
NASTY = "**bold** [click](https://evil.example) <at>x</at> _u_ `c` # h | t > q ~ \\ \n- list\n1. one\u202e"


def _long(text: str, limit: int) -> str:
    """Text repeated up to exactly ``limit`` characters: the longest a field may be."""
    return (text * (limit // len(text) + 1))[:limit]


# Building the cards --------------------------------------------------------------------------------------------


def _services(tmp_path: Path) -> Services:
    settings = Settings.from_mapping({
        "DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off", "BOT_ADMINS": "29:admin",
        "POLICY_URL": "https://www.villiers.example.sch.uk/policies/social-media.pdf",
    })
    return build_services(settings, store=MemoryStore(), clock=FakeClock(START))


def _set_up_school(services: Services, staff: int) -> str:
    """A school with every lead channel bound, a holder (and a deputy DSL) for each role, and many staff."""
    directory = services.directory
    school = directory.default_school.id
    for role in CHANNEL_ROLES:
        user_id = f"29:{role}"
        directory.upsert_person(user_id, f"{role_title(role)} {NASTY[:20]}", school, "team:T1")
        directory.assign_role(school, role, user_id, by="test")
        directory.bind_channel(school, role, f"19:{role}@thread.tacv2", f"{role_title(role)} alerts", by="test")
    directory.upsert_person("29:deputy", "Dana Deputy", school, "team:T1")
    directory.assign_role(school, Role.DSL, "29:deputy", deputy=True, by="test")
    directory.upsert_person("29:admin", "Ivy IT", school, "personal")
    for i in range(staff):
        directory.upsert_person(f"29:staff{i:03d}", f"Teacher {i:03d} {NASTY[:12]}", school, "team:T1")
    return school


def _case_cards(services: Services, school: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Reports in every category, acted on in every way, and every card that produces."""
    cases = services.cases
    directory = services.directory
    reporter = directory.person("29:staff000")
    assert reporter is not None
    attachments = [{"name": f"screenshot {i} {NASTY[:10]}.png", "content_type": "image/png",
                    "url": f"https://files.example/{i}/{'x' * 80}"} for i in range(MAX_ATTACHMENTS)]
    refs = []
    for n, category in enumerate(cases.routing.for_school(school).categories):
        draft = ReportDraft(category=category, school_id=school, involved=["pupil", "staff", "parent_carer"][n % 3],
                            staff_role=["other", "head_teacher", "dsl", "dpl"][n % 4] if n % 3 == 1 else None,
                            platform="other",
                            platform_other=NASTY[:60], link=f"https://x.example/post/{n}?a=[b](c)",
                            when="**today**", details=_long(NASTY, MAX_DETAILS_CHARS), attachments=attachments,
                            immediate_risk=n % 2 == 0, already_told=NASTY[:100])
        result = cases.submit(draft, reporter)
        refs.append(result.ref)
        yield f"report_confirmation[{category}]", result.card

    head = directory.person(f"29:{Role.HEAD_TEACHER}")
    dsl = directory.person(f"29:{Role.DSL}")
    for ref in refs:
        case = cases.get(ref)
        assert case is not None
        actor = next((p for p in (dsl, head, directory.person(f"29:{Role.DPL}"), directory.person(f"29:{Role.HR}"),
                                  directory.person(f"29:{Role.CHAIR}")) if p and cases.may_act(ref, p)), None)
        if actor is None:
            continue
        for verb, data in [("claimCase", {}), ("addNote", {"note": _long(NASTY, MAX_NOTE_CHARS)}),
                           ("escalateCase", {"to": next(iter(ESCALATIONS)), "escalate_note": NASTY}),
                           ("addNote", {"note": "Spoke to the parent."})]:
            outcome = _act(cases, verb, ref, actor, data)
            assert outcome.ok, outcome.message
            yield f"case_alert[{ref} after {verb}]", outcome.card
        details = cases.show_details(ref, actor).details_card
        yield f"case_details[{ref}]", details
    for role in CHANNEL_ROLES:
        yield f"case_list[{role}]", services.case_cards.case_list_card(str(role), cases.open_cases(school, str(role)))
    first = refs[0]
    resolver, first_case = dsl or head, cases.get(first)
    assert resolver is not None and first_case is not None
    resolved = cases.resolve(first, resolver, next(iter(OUTCOMES)), NASTY, first_case["state"]["version"])
    assert resolved.ok, resolved.message
    yield f"case_alert[{first} resolved]", resolved.card
    yield "case_list[empty]", render("case_list", {"role": "Chair of Governors", "cases": [], "empty": True,
                                                   "count": 0})


def _act(cases: Any, verb: str, ref: str, actor: Any, data: dict[str, Any]) -> Any:
    """What the card's button does (bot/card_actions.py dispatches the same way)."""
    version = cases.get(ref)["state"]["version"]
    if verb == "claimCase":
        return cases.claim(ref, actor, version)
    if verb == "addNote":
        return cases.add_note(ref, actor, data["note"], version)
    return cases.escalate(ref, actor, data["to"], data["escalate_note"], version)


def _campaign_cards(services: Services, school: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    campaigns = services.campaigns
    assert campaigns.ask_yearly(START) == 1
    asked = services.outbox.get("campaign:yearly:2026:ask:29:admin")
    assert asked is not None and asked.message.card is not None
    yield "campaign_ask[question]", asked.message.card
    campaign = campaigns.start("29:admin")
    admin = services.directory.person("29:admin")
    assert admin is not None
    yield "campaign_ask[answered]", campaigns.answer_yearly("start", 2026, admin).card
    first = services.directory.person("29:staff000")
    assert first is not None
    yield "policy_ack[personal_card]", campaigns.personal_card(first)
    done = campaigns.acknowledge(campaign.id, campaign.version_hash, first.user_id)
    assert done.recorded, done.message
    yield "policy_ack_done[recorded]", done.card
    again = campaigns.acknowledge(campaign.id, campaign.version_hash, first.user_id)
    yield "policy_ack_done[already]", again.card
    old = campaigns.acknowledge(campaign.id, "0" * 64, "29:staff001")
    assert old.outcome == "old_version"
    yield "policy_ack_done[old version]", old.card
    yield "campaign_status", services.campaign_cards.status_card(campaigns.status(campaign.id))
    weekly = campaigns.digest(START + timedelta(days=7))
    final = campaigns.digest(START + timedelta(days=60))
    assert weekly and final
    for message in weekly + final:
        yield f"campaign_digest[{message.key}]", message.card


def _question_cards(services: Services) -> Iterator[tuple[str, dict[str, Any] | None]]:
    questions = services.questions
    asker = services.directory.person("29:staff002")
    question_id = questions.record_unanswered(_long(NASTY, 1000), asker,
                                              policy_version=services.policy.version_label)
    assert questions.hand_off(question_id).delivered
    outcome = questions.answer(question_id, _long(NASTY, 2000), by_user_id=f"29:{Role.HEAD_TEACHER}",
                               by_name="Harriet Head")
    assert outcome.ok, outcome.message  # the answer card goes to the asker (see the outbox cards)
    yield "question_handoff[answered, as returned]", outcome.card
    sent = services.outbox.get(f"question:{question_id}:answer")
    assert sent is not None and sent.message.card is not None
    yield "question_answer", sent.message.card
    stored = services.store.get("questions", question_id)
    assert stored is not None
    yield "question_handoff[answered]", questions.card(stored)


def _dialog_cards(services: Services, school: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The dialog cards, rendered with the data the dialogs pass."""
    yield "welcome", menu_activity(services.directory.school(school).name, "Teacher").attachments[0].content
    yield "choice[buttons]", choice_card("What is it about?", [("pupil", "A pupil"), ("staff", "A member of staff")],
                                         help_text="Pick one.").attachments[0].content
    many = [(c.id, c.label) for c in services.cases.routing.for_school(school).choices()]
    yield "choice[list]", choice_card("What is the concern about?", many, show_back=False).attachments[0].content
    for rule in services.rulebook:
        headline, colour = VERDICT_HEADLINES.get(rule.verdict, ("See what the policy says", "Default"))
        yield f"verdict[{rule.id}]", render("verdict", {
            "headline": headline, "colour": colour, "situation": rule.situation, "condition": rule.condition or "",
            "quote": rule.quote_text, "section": rule.section, "policy_version": services.policy.version_label,
            "next_step": rule.next_step, "asked": shown(_long(NASTY, 1000)), "report": bool(rule.report),
            "report_category": rule.report_category or "other"})
    yield "not_covered", render("not_covered", {"question": shown(_long(NASTY, 1000)), "answerer": "the Head Teacher",
                                                "policy_version": services.policy.version_label})
    policy = services.policy
    yield "policy_overview", render("policy_overview", {
        "title": policy.title, "version": policy.version_label,
        "principles": [{"text": p} for p in policy.key_principles()], "can_acknowledge": True,
        "policy_url": services.settings.policy_url})
    answers = [("What", "Indecent images", "category"), ("Who is involved", "A member of staff (Teacher)", "involved"),
               ("Where", NASTY[:60], "platform"), ("When", "Today", "when"),
               ("What happened", _long(NASTY, MAX_DETAILS_CHARS), "details"),
               ("Evidence", "None: images of this kind must never be collected", ""),
               ("A child in danger now", "Not sure: treated as urgent", "risk"), ("Already told", NASTY[:200], "told")]
    yield "report_summary", render("report_summary", {
        "answers": [{"title": t, "value": v, "step": step} for t, v, step in answers], "indecent": True,
        "lead": "a deputy Designated Safeguarding Lead or the Head Teacher"})
    yield "setup_status", render("setup_status", services.lead_spaces.status(school))
    yield "notice", render("notice", {"message": NASTY})
    for flow in (Flow.REPORT, Flow.QUESTION, Flow.POLICY):
        yield f"private_chat[{flow}]", private_chat_activity(flow, "28:" + "b" * 36, "t" * 36).attachments[0].content


def _insight_cards(services: Services, school: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The summary (a term, a year, a range, the trust) and the policy review, with enough reports to draw charts."""
    reporter = services.directory.person("29:staff001")
    assert reporter is not None
    for n in range(14):  # on top of the reports above: some counts of 5 or more, so there are charts to draw
        category = ("cyberbullying_pupil", "defamatory_posts", "threats")[n % 3]
        services.cases.submit(ReportDraft(category=category, school_id=school, details=f"fake acct n{n} on tiktok"),
                              reporter)
    for n in range(12):
        services.questions.record_unanswered(f"can i go on the pta fb page {n}?", reporter,
                                             policy_version=services.policy.version_label)
    for rule in list(services.rulebook)[:8]:
        services.questions.record_answered(rule, reporter, policy_hash=services.policy.content_hash)
    campaign = services.campaigns.current_campaign(school)
    assert campaign is not None
    for i in range(2, 60):  # most staff have acknowledged: the share is shown, and Teams draws it as a gauge
        services.campaigns.acknowledge(campaign.id, campaign.version_hash, f"29:staff{i:03d}")
    insight = services.insight
    for words in (["term"], ["year"], ["from", "1/9/2026", "to", "30/9/2026"]):
        summary = insight.summary(insight.period(words), school)
        yield f"insight_summary[{' '.join(words)}]", summary_card(summary)
    other = services.directory.ensure_school(f"Oakfield {NASTY[:20]} Primary")
    for i in range(30):
        services.directory.upsert_person(f"29:oak{i:03d}", f"Oak {i}", other.id, "team:T2")
    yield "insight_summary[trust]", summary_card(insight.summary(insight.period(["year"]), None))
    yield "policy_review", policy_review_card(insight.policy_review(school))


def _outbox_cards(services: Services) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in services.outbox.failed_or_pending(""):
        if entry.message.card is not None:
            yield f"outbox[{entry.key}]", entry.message.card


def _number_cards() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every template with a number wherever it shows a value: a number must still be drawn as its digits."""
    for name in template_names():
        yield f"numbers[{name}]", filled_with_numbers(name)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    """Every card, named by where it came from."""
    services = _services(tmp_path_factory.mktemp("cards"))
    try:
        school = _set_up_school(services, staff=80)
        built = [*_case_cards(services, school), *_campaign_cards(services, school),
                 *_question_cards(services), *_dialog_cards(services, school), *_insight_cards(services, school),
                 *_outbox_cards(services), *_number_cards()]
    finally:
        services.close()
    assert all(isinstance(card, dict) for _, card in built), [name for name, card in built if not card]
    return cast(list[tuple[str, dict[str, Any]]], built)  # no None left: checked just above


# Running the renderer ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def verdicts(cards: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The renderer's report on every card, from one run of the Node script."""
    message = (f"{RENDERER} is missing: run `npm ci` at the repo root to get the adaptivecards renderer"
               if not RENDERER.exists() else "node is not installed" if shutil.which("node") is None else "")
    if message:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    payload = json.dumps([{"name": name, "card": card} for name, card in cards])
    run = subprocess.run(["node", str(SCRIPT)], input=payload, capture_output=True, text=True, cwd=ROOT,
                         check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [r["name"] for r in report["results"]] == [name for name, _ in cards]
    return report


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, kind, node) for each element and action: kind is "element", "action", "column" or "card"."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "data":
                continue  # an action's payload: opaque to the renderer
            if key in ("body", "items"):
                for i, item in enumerate(value):
                    yield f"{where}[{i}]", "element", item
            elif key == "columns":
                for i, item in enumerate(value):
                    yield f"{where}[{i}]", "column", item
            elif key == "actions":
                for i, item in enumerate(value):
                    yield f"{where}[{i}]", "action", item
            elif key in ("action", "selectAction"):
                yield where, "action", value
            elif key == "card":
                yield where, "card", value
            yield from _walk(value, where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


# The tests -----------------------------------------------------------------------------------------------------


def test_every_template_is_covered(cards: list[tuple[str, dict[str, Any]]]) -> None:
    """Each template in cards/templates is among the cards checked, so a new template cannot slip past."""
    names = {name.split("[")[0] for name, _ in cards if not name.startswith(("outbox[", "numbers["))}
    assert set(template_names()) <= names, set(template_names()) - names


def _is_chart(node: Any) -> bool:
    return isinstance(node, dict) and str(node.get("type", "")).startswith("Chart.")


def test_the_renderer_reports_no_parse_or_validation_problems(cards: list[tuple[str, dict[str, Any]]],
                                                              verdicts: dict[str, Any]) -> None:
    """No parse events (unknown types, bad values, properties newer than 1.5) and no validation failures.

    The one event allowed is a Teams chart the renderer does not know, which the next test checks it replaces with
    the chart's fallback.
    """
    problems = [f"{r['name']}: {e['phase']} {e['event']} ({e['source']}): {e['message']}"
                for (_, card), r in zip(cards, verdicts["results"], strict=True) for e in r["events"]
                if not (e["event"] == "UnknownElementType" and 'type "Chart.' in e["message"])]
    assert not problems, "\n".join(problems)
    assert verdicts["maxVersion"] == "1.5"
    assert verdicts["renderer"].startswith("3.")


def test_every_card_is_version_1_5_or_lower(cards: list[tuple[str, dict[str, Any]]],
                                            verdicts: dict[str, Any]) -> None:
    """Teams renders up to 1.5 everywhere; a higher version would show the fallback text instead."""
    for (name, card), result in zip(cards, verdicts["results"], strict=True):
        declared = tuple(int(p) for p in str(card.get("version", "")).split("."))
        assert declared <= (1, 5), f"{name} declares version {card.get('version')}"
        assert result["version"] == card["version"], name


def test_every_element_and_action_type_is_known_to_the_renderer(cards: list[tuple[str, dict[str, Any]]],
                                                                 verdicts: dict[str, Any]) -> None:
    """Every element, column, action and inline card uses a type the 1.5 renderer knows."""
    elements, actions = set(verdicts["elementTypes"]), set(verdicts["actionTypes"])
    assert {"TextBlock", "Container", "FactSet", "Input.Text"} <= elements
    assert {"Action.Execute", "Action.Submit", "Action.ShowCard"} <= actions
    allowed = {"element": elements, "action": actions, "column": {"Column"}, "card": {"AdaptiveCard"}}
    unknown = [f"{name} {path}: {kind} type {node.get('type')!r}"
               for name, card in cards for path, kind, node in _walk(card)
               if not isinstance(node, dict) or (node.get("type") not in allowed[kind] and not (
                   kind == "element" and _is_chart(node) and isinstance(node.get("fallback"), dict)
                   and node["fallback"].get("type") in elements))]
    assert not unknown, "\n".join(unknown)


def test_every_chart_has_a_fallback_the_renderer_draws(cards: list[tuple[str, dict[str, Any]]],
                                                       verdicts: dict[str, Any]) -> None:
    """Teams draws Chart.* elements; the renderer (like the Playground) must draw each one's fallback instead."""
    kinds: set[str] = set()
    for (name, card), result in zip(cards, verdicts["results"], strict=True):
        charts = [node for _, kind, node in _walk(card) if kind == "element" and _is_chart(node)]
        kinds |= {c["type"] for c in charts}
        for chart in charts:
            assert isinstance(chart.get("fallback"), dict), f"{name}: {chart['type']} has no fallback"
            assert chart["fallback"].get("type") in result["parsedTypes"], name
            assert isinstance(chart.get("title"), str), name
            points = [p for item in chart.get("data") or [] for p in item.get("values", [item])]
            for point in points:  # labels are text and values numbers, as Teams' charts need
                assert all(isinstance(point[k], str) for k in ("x", "legend") if k in point), (name, point)
                assert all(isinstance(point[k], int) for k in ("y", "value") if k in point), (name, point)
        assert not [t for t in result["parsedTypes"] if t.startswith("Chart.")], name
    assert {"Chart.HorizontalBar", "Chart.VerticalBar", "Chart.Line", "Chart.Donut", "Chart.Gauge"} <= kinds


def test_every_card_is_small(cards: list[tuple[str, dict[str, Any]]]) -> None:
    """Each card, as JSON, stays well under Teams' message size limit even with the longest text we accept."""
    sizes = {name: len(json.dumps(card, ensure_ascii=False).encode("utf-8")) for name, card in cards}
    too_big = {name: size for name, size in sizes.items() if size >= MAX_CARD_BYTES}
    assert not too_big, too_big


def test_what_people_read_is_text(cards: list[tuple[str, dict[str, Any]]]) -> None:
    """Each TextBlock's text, fact's title and value, button's and choice's title is a string, in every card and
    every template filled with numbers (Teams draws a number there as nothing)."""
    assert {name for name, _ in cards if name.startswith("numbers[")} == {f"numbers[{t}]" for t in template_names()}
    wrong = [f"{name}: {what} {value!r}" for name, card in cards for what, value in said(card).everything()
             if not isinstance(value, str)]
    assert not wrong, "\n".join(wrong[:40])


def test_what_each_card_says_is_drawn(cards: list[tuple[str, dict[str, Any]]], verdicts: dict[str, Any]) -> None:
    """Drawn in Chromium by Microsoft's renderer, each card shows every fact (title beside its value), every TextBlock's
    text, every button's title and every choice's title: what it says is what a person sees."""
    if verdicts["drawError"]:
        message = f"no browser to draw the cards in: {verdicts['drawError']}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    missing: list[str] = []
    for (name, card), result in zip(cards, verdicts["results"], strict=True):
        shown = result["shown"]
        facts = {(visible(t), visible(v)) for t, v in shown["facts"]}
        texts = {visible(t) for t in shown["texts"]}
        buttons = {visible(b) for b in shown["buttons"]}
        choices = {visible(c) for c in shown["choices"]}
        card_said = said(card)
        missing += [f"{name}: fact {t!r}: {v!r}" for t, v in card_said.facts
                    if (visible(str(t)), visible(str(v))) not in facts]
        missing += [f"{name}: text {t!r}" for t in card_said.texts if t and visible(str(t)) not in texts]
        missing += [f"{name}: button {b!r}" for b in card_said.buttons if visible(str(b)) not in buttons]
        missing += [f"{name}: choice {c!r}" for c in card_said.choices if visible(str(c)) not in choices]
    assert not missing, f"{len(missing)} things a card says are not drawn:\n" + "\n".join(missing[:40])
