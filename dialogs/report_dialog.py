"""Report a concern: a short guided report, routed to the right lead, with a summary to confirm first."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from botbuilder.dialogs import DialogContext, DialogInstance, DialogTurnResult
from botbuilder.schema import Activity

from dialogs.evidence_fetch import Download, FetchPolicy, bot_token, refusal_text, take_evidence
from dialogs.guided import (
    Done,
    GuidedDialog,
    Next,
    Retry,
    Step,
    StepOutcome,
    UserInput,
    card_activity,
    card_message,
    choice_card,
    read_input,
)
from dialogs.state_storage import DEFAULT_COLLECTION
from domain.people.roles import Role
from domain.questions.understanding import Flow
from domain.reports.case import DANGER_ANSWERS, INVOLVED, PLATFORMS, STAFF_ROLES, DraftError
from domain.reports.draft import MAX_DETAILS_CHARS, MAX_LINK_CHARS, ReportDraft, platform_mentioned
from domain.reports.evidence import ALLOWED_WORDS, MAX_FILE_BYTES, MAX_FILES
from domain.reports.indecent_images import child_is_known, default_detector
from domain.reports.routing import INDECENT_IMAGES, OTHER, instead_of, join_titles, who_to_tell
from domain.shared.dates import long_date, read_typed_date
from domain.shared.wording import count
from wiring.services import Services

log = logging.getLogger(__name__)

YES = {"yes", "y", "yeah", "yep", "true", "correct", "right", "that's right", "thats right", "yes that's right",
       "yes please", "it is", "yes it is"}
CHOOSE_ANOTHER = {"choose another", "choose_another", "another", "no", "n", "nope", "wrong", "not quite", "change",
                  "something different", "no it isn't", "no it's not"}
USE_WRITTEN = {"use this", "use_written", "use it", "keep", "keep it", "yes", "ok", "fine", "that's fine", "same"}
SKIP = {"skip", "none", "no link", "no", "n/a", "na", "done", "no evidence", "nothing"}
WHEN_CHOICES = [("Today", "Today"), ("Yesterday", "Yesterday"), ("Earlier this week", "Earlier this week"),
                ("Last week", "Last week"), ("More than a week ago", "More than a week ago"),
                ("Not sure", "Not sure")]
_URL = re.compile(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)

DSL = "the Designated Safeguarding Lead"


def indecent_warning(lead: str = DSL) -> str:
    """The policy's warning for the indecent-images path; `lead` is who to tell in person (never the person the
    report is about, nor the reporter)."""
    return ("**Please read this first.** In the policy's words: *it is an offence to save, send, or alter an image "
            "or to show it to anyone else.* Do not send me any image or file, and do not screenshot or forward it. "
            "Secure the device (for example lock it away where others cannot see it) and **tell "
            f"{lead} in person now**. The police must be contacted for advice. I will ask a few questions without "
            "any image.")




@dataclass
class ReportState:
    """What the reporter has told the dialog so far (never an image in the indecent-images category)."""

    category: str = ""
    involved: str = ""
    staff_role: str = ""
    centrally_employed: bool = False
    central: str = ""  # the answer as given: yes, no or not_sure (only yes sends it to the Head of HR)
    platform: str = ""
    platform_other: str = ""
    link: str = ""
    when: str = ""
    details: str = ""
    # Files kept at the evidence step: {evidence_id, name, content_type, size, sha256} (the bytes are encrypted in
    # the evidence store; no address to fetch them from is ever kept).
    attachments: list[dict[str, Any]] = field(default_factory=list)
    immediate_risk: bool = False
    danger: str = ""  # the answer to "Is a child in danger right now?": yes, no or not_sure (urgent too)
    already_told: str = ""
    dropped_files: int = 0
    draft_id: str = ""  # set when the report starts, so a second Send cannot file it twice
    reported_category: str = ""  # what the reporter picked, when their words moved the report to indecent images
    moved_by_words: bool = False  # once the words describe such images, the report stays on that path
    dropped_link: bool = False  # a link was given and then dropped unread (only this flag is kept)
    forget_earlier: bool = False  # earlier saved versions of this state held the dropped files' names and links
    suggested: str = ""  # the category the reporter's own words suggested, offered for them to confirm
    unkept_description: int = 0  # the length of what they wrote first, when it was too long to keep as the draft
    reporter_id: str = ""  # who is reporting: they are never told to go to themselves in person


class ReportDialog(GuidedDialog[ReportState]):
    """Category, who, where, when, what, evidence, risk, who knows, confirm."""

    ID = "report"

    def __init__(self, services: Services, download: Download | None = None,
                 fetch_policy: FetchPolicy | None = None) -> None:
        self.services = services
        self.fetch_policy = fetch_policy or FetchPolicy.from_settings(services.settings)
        self.download = download  # how files are downloaded (None: over the network; dialog tests give their own)
        other = self._category_label(OTHER)
        super().__init__(self.ID, ReportState, [
            Step("category", self.ask_category, self.on_category, label="What",
                 help=f"Pick what best describes what happened. If nothing fits, choose {other}.",
                 takes=(Flow.REPORT,)),
            Step("suggest", self.ask_suggest, self.on_suggest, label="What",
                 help="From what you wrote, this is the kind of report I think it is. Press Yes if it fits, or "
                      "Choose another to see the whole list."),
            Step("involved", self.ask_involved, self.on_involved, label="Who is involved",
                 help="Who is the concern about, or who is affected? Choose Not sure if you don't know."),
            Step("staff_role", self.ask_staff_role, self.on_staff_role, label="Which member of staff",
                 help="If the report is about a lead, I make sure it goes to someone else, never to them."),
            Step("central", self.ask_central, self.on_central, label="Employed centrally",
                 help="Staff employed by the trust centrally (not by the school) are looked after by the Head of HR."),
            Step("platform", self.ask_platform, self.on_platform, label="Where", help="Where did you see it?"),
            Step("link", self.ask_link, self.on_link, label="Link",
                 help="Paste the web address of the post or page if there is one, or type skip."),
            Step("when", self.ask_when, self.on_when, label="When",
                 help="When did it happen, or when did you see it?"),
            Step("details", self.ask_details, self.on_details, label="What happened",
                 help=f"Describe what happened in your own words, in up to {MAX_DETAILS_CHARS:,} characters. Only "
                      "the leads handling the report will see this.", takes=("*",)),
            Step("evidence", self.ask_evidence, self.on_evidence, label="Evidence",
                 help=f"Attach screenshots showing the time, date and web address ({ALLOWED_WORDS}, up to "
                      f"{MAX_FILE_BYTES // (1024 * 1024)} MB each), then type done. Or type skip."),
            Step("risk", self.ask_risk, self.on_risk, label="A child in danger now",
                 help="If a child could be harmed right now, say Yes: the report becomes urgent. If you are not "
                      "sure, say Not sure: it is treated as urgent too."),
            Step("told", self.ask_told, self.on_told, label="Already told",
                 help="For example: I told the DSL in person this morning.", takes=("*",)),
            Step("confirm", self.ask_confirm, self.on_confirm, numbered=False,
                 help="Check the summary. Press Send report to send it, or Change beside an answer to change it."),
        ], title="Report", help_text="I'm taking a report of social media misuse to the right lead.",
            show_progress=True, review_step="confirm")

    def initial_state(self, dialog_context: DialogContext, options: object) -> ReportState:
        """A report started from a "Can I ...?" answer may already know its category; one typed in the reporter's
        own words comes with a suggested category and what they wrote, kept as the draft description."""
        given = options if isinstance(options, dict) else {}
        category, suggested = str(given.get("category") or ""), str(given.get("suggested_category") or "")
        description = str(given.get("description") or "").strip()
        sender = dialog_context.context.activity.from_property
        state = ReportState(draft_id=uuid.uuid4().hex, reporter_id=(sender.id or "") if sender else "")
        known = {c.id for c in self._categories()}
        if category in known:
            state.category = category
        elif suggested in known:
            state.suggested = suggested
        if description and len(description) <= MAX_DETAILS_CHARS:
            state.details = description  # shown pre-filled at the details step, where it can be kept or replaced
        elif description:
            state.unkept_description = len(description)
        return state

    async def on_begin(self, dialog_context: DialogContext, state: ReportState) -> StepOutcome | None:
        """Skip the first question when the category is known; offer the suggested one when the words said it."""
        # What started the report is screened like any answer: its files are never kept (nor opened, for this
        # category), and the draft description goes through the same checks as one typed at a step.
        started_with = read_input(dialog_context.context.activity)
        if state.details:
            started_with.text, started_with.value = state.details, {}
        for notice in self.screen_input(state, "start", started_with):
            await dialog_context.context.send_activity(notice)
        if state.unkept_description:
            await dialog_context.context.send_activity(
                f"What you wrote is {state.unkept_description:,} characters, more than the {MAX_DETAILS_CHARS:,} a "
                "report's description can hold, so I haven't kept it: I'll ask for the main facts in a moment.")
        if state.moved_by_words:
            return Next("involved")  # what they wrote describes indecent images: that path, its warning given
        if state.category:
            return self._after_category(state)
        if state.suggested:
            return Next("suggest")
        return None

    def screen_input(self, state: ReportState, step_name: str, user_input: UserInput) -> list[str]:
        """Words describing indecent images move the report to that path; files are kept only at the evidence
        step, and never in the indecent-images category."""
        if state.category != INDECENT_IMAGES and default_detector().any_describes(
                self._words(user_input), child_known=child_is_known(state.category, state.involved)):
            sent_now = len(user_input.attachments)
            user_input.attachments.clear()  # dropped unread, with everything attached before
            return self._move_to_indecent_images(state, sent_now)
        if not user_input.attachments:
            return []
        if self._no_images(state):
            count = len(user_input.attachments)
            user_input.attachments.clear()  # dropped unread: never stored, forwarded or displayed
            state.dropped_files += count
            log.info("report dialog: dropped %d file(s) unread in the indecent-images category", count)
            return ["I have not opened or kept what you sent, and nobody else will see it. It is an offence to "
                    "save, send, or alter an image of this kind or to show it to anyone else. Please delete it from "
                    f"this chat and tell {self._lead(state)} in person now."]
        if step_name != "evidence":
            count = len(user_input.attachments)
            user_input.attachments.clear()
            return [f"I've not kept the {'file' if count == 1 else f'{count} files'} you sent here: I'll ask for "
                    "evidence in a moment."]
        return []

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        """Run the turn; if files or a link were dropped, have the store keep no earlier version of this chat's
        state on disk (before the report's words showed what they were, they were saved as evidence)."""
        result = await super().continue_dialog(dialog_context)
        active = dialog_context.active_dialog
        data = active.state.get("flow", {}).get("data", {}) if active is not None and active.id == self.id else {}
        if data.get("forget_earlier"):
            data["forget_earlier"] = False
            activity = dialog_context.context.activity
            # ConversationState's storage key; the state is written at the end of this turn, and that write
            # folds the store's journal into a fresh snapshot without the earlier versions.
            key = f"{activity.channel_id}/conversations/{activity.conversation.id}"
            self.services.store.forget_earlier_versions(DEFAULT_COLLECTION, key)
        return result

    def _words(self, user_input: UserInput) -> list[str]:
        """What the reporter wrote this turn: the typed text, and a card's value unless it is a category button's."""
        words = [user_input.text]
        if user_input.choice != user_input.text and user_input.choice not in {c.id for c in self._categories()}:
            words.append(user_input.choice)  # a choice is stored as typed where a step takes free text (platform)
        return words

    def step_applies(self, state: ReportState, step_name: str) -> bool:
        """Which questions this report asks, given the answers so far (it agrees with where each handler goes):
        which member of staff only when it is about one, employed centrally only where that changes who gets it,
        and never a link or evidence for indecent images (so back never returns to them either)."""
        if step_name == "staff_role":
            return state.involved == "staff"
        if step_name == "central":
            return state.involved == "staff" and bool(self._category(state).hr_if_central)
        if step_name in ("link", "evidence"):
            return state.category != INDECENT_IMAGES
        # "What happened" is asked once: as the suggestion from the reporter's own words, or as the whole list.
        if step_name == "suggest":
            return bool(state.suggested)
        if step_name == "category":
            return not state.suggested
        return True

    def _about(self, state: ReportState) -> str | None:
        """The lead role the report is about, if any."""
        if state.involved == "staff" and state.staff_role in (Role.HEAD_TEACHER, Role.DSL, Role.DPL):
            return state.staff_role
        return None

    def _lead(self, state: ReportState) -> str:
        """Who the reporter should go to in person: the DSL, or whoever routing puts in their place when the report
        is about the DSL or the reporter is the DSL ("a deputy Designated Safeguarding Lead or the Head Teacher")."""
        own = [str(role) for _, role, deputy in self.services.directory.roles_of(state.reporter_id) if not deputy] \
            if state.reporter_id else []
        return who_to_tell(self._table(), self._about(state), own)

    def _move_to_indecent_images(self, state: ReportState, sent_now: int) -> list[str]:
        """The reporter's words describe nude or sexual images of a child: drop every file and the link unread,
        make the report urgent to the leads, and say plainly what happened and why (they did nothing wrong)."""
        if state.category:
            state.reported_category = state.category
        state.category, state.moved_by_words = INDECENT_IMAGES, True
        files = len(state.attachments) + sent_now
        had_link = bool(state.link)
        if state.attachments:  # kept (encrypted) at the evidence step before the words showed what they are
            self.services.evidence.discard([str(a.get("evidence_id", "")) for a in state.attachments],
                                           "moved to the indecent-images path")
        state.attachments, state.link = [], ""
        state.dropped_files += files
        state.dropped_link = state.dropped_link or had_link
        state.forget_earlier = bool(files or had_link) or state.forget_earlier
        log.info("report dialog: moved to the indecent-images path by the reporter's words; %d file(s) dropped "
                 "unread, link dropped: %s", files, had_link)
        titles = join_titles(t.title for t in instead_of(self._table(), self._category(state).targets,
                                                          [self._about(state) or ""]))
        message = ("From what you have written, this report is about nude or sexual images of a child. I have "
                   f"made it an urgent report to {titles}, with advice to contact the police. You have done the "
                   "right thing by reporting it.")
        removed = ([f"the {'file' if files == 1 else f'{files} files'} you sent"] if files else []) + (
            ["the link"] if had_link else [])
        if removed:
            message += (f" I have removed {' and '.join(removed)} without opening "
                        f"{'it' if files + had_link == 1 else 'them'}, and I will not ask for evidence: nobody may "
                        "keep or pass on an image like this, not even the school.")
            if files:
                message += f" Please delete {'it' if files == 1 else 'them'} from this chat too."
        else:
            message += (" I will not ask for any evidence or link: nobody may keep or pass on an image like this, "
                        "not even the school.")
        message += (f" If I have misunderstood, please carry on anyway: {titles} will look at it straight away and "
                    "can talk to you.")
        return [message, indecent_warning(self._lead(state))]

    def _table(self) -> Any:
        return self.services.cases.routing.for_school(self.services.directory.default_school.id)

    async def on_cancel(self, state: ReportState) -> None:
        """Cancelled: nothing from the report is kept, its files included."""
        self._drop_kept_files(state, why="report cancelled")

    def _drop_kept_files(self, state: ReportState, why: str = "not to be kept for this report") -> None:
        """Remove files kept so far for this report (they belong to no case yet) and forget them."""
        if state.attachments:
            self.services.evidence.discard([str(a.get("evidence_id", "")) for a in state.attachments], why)
            state.dropped_files += len(state.attachments)
            state.attachments = []

    def _settle_kept_files(self, state: ReportState, ref: str) -> None:
        """After sending: files the case holds belong to it now; any it did not keep (indecent images) go."""
        case = self.services.cases.case(ref)
        held = {a.get("evidence_id") for a in case.report.attachments} if case is not None else set()
        self.services.evidence.link(ref, [a for a in state.attachments if a.get("evidence_id") in held])
        self.services.evidence.discard([str(a.get("evidence_id", "")) for a in state.attachments
                                        if a.get("evidence_id") not in held], "not kept by the case")

    def must_see(self, instance: DialogInstance, user_input: UserInput) -> bool:
        """Words describing indecent images always reach the report, even put as a question, so that they move it
        to that path (dropping any file or link) rather than being taken elsewhere by an interruption."""
        state = self.load_state(instance.state["flow"]["data"])
        if state.category == INDECENT_IMAGES:
            return False
        return default_detector().any_describes(
            self._words(user_input), child_known=child_is_known(state.category, state.involved)) or (
            self.services.understander.read(user_input.text).category == INDECENT_IMAGES)

    def _categories(self) -> list[Any]:
        return self._table().choices()

    def _category_label(self, category_id: str) -> str:
        return str(self._table().category(category_id).label)

    def _no_images(self, state: ReportState) -> bool:
        """Indecent images of children, chosen or only suggested by the reporter's words: never a link, never a
        file (the policy: never save, send or show such an image, not even to the leads)."""
        return INDECENT_IMAGES in (state.category, state.suggested)

    # Steps -----------------------------------------------------------------------------------------------------

    def ask_category(self, state: ReportState) -> list[Activity | str]:
        """What happened, one tap."""
        return [choice_card("What would you like to report?", [(c.id, c.label) for c in self._categories()],
                            help_text=f"If a child is in danger right now, go to {self._lead(state)} in person or "
                                      "call 999 first.",
                            show_back=bool(state.category),  # the first question, unless it is being changed
                            summary="Report a concern: what happened?")]

    def on_category(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Record the category; the indecent-images path starts with the policy's warning."""
        chosen = _match_choice(user_input, [(c.id, c.label) for c in self._categories()])
        if state.moved_by_words:
            # What was written describes indecent images: no other category may bring back the evidence step.
            if chosen is None:
                return Next("involved")
            if chosen != INDECENT_IMAGES:
                state.reported_category = chosen
            return Next("involved", ["This stays an urgent report about images of a child, because of what you "
                                     "wrote. I will not ask for evidence or a link."])
        if chosen is None and user_input.text:
            # A description typed here instead of a button: keep it, and suggest the category it points to.
            reading = self.services.understander.read(user_input.text)
            if reading.flow == Flow.REPORT and reading.description and not state.details:
                state.details = reading.description[:MAX_DETAILS_CHARS]
            if reading.flow == Flow.REPORT and reading.category in {c.id for c in self._categories()}:
                state.suggested = reading.category
                return Next("suggest")
            if reading.flow == Flow.REPORT and reading.description:
                return Retry("Thank you: I've kept what you wrote as the description. Which of these fits it best?")
        if chosen is None:
            return Retry("Please pick one of the buttons, so the report reaches the right person.")
        state.category = chosen
        return self._after_category(state)

    def ask_suggest(self, state: ReportState) -> list[Activity | str]:
        """The category the reporter's words point to, to confirm or change."""
        category = self._category(state, state.suggested)
        warning = indecent_warning(self._lead(state))
        items: list[Activity | str] = [warning] if state.suggested == INDECENT_IMAGES else []
        items.append(choice_card(f"It sounds like: {category.label}. Is that right?",
                                 [("yes", "Yes"), ("choose_another", "Choose another")], help_text=category.help,
                                 show_back=False, summary=f"It sounds like: {category.label}"))
        return items

    def on_suggest(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Yes takes the suggestion; Choose another shows the whole list; a typed category name is taken as chosen."""
        if state.moved_by_words:
            return Next("involved")  # what they wrote here describes indecent images: that path, whatever else
        if user_input.word in YES:
            state.category = state.suggested
            if state.category == INDECENT_IMAGES:
                return Next("involved")  # the policy's warning came with the suggestion
            return self._after_category(state)
        if user_input.word in CHOOSE_ANOTHER:
            state.suggested = ""  # the whole list instead: it is now the question that counts
            return Next("category")
        chosen = _match_choice(user_input, [(c.id, c.label) for c in self._categories()])
        if chosen is None:
            return Retry("Please press **Yes** if that's right, or **Choose another** to see the whole list.")
        state.category = chosen
        return self._after_category(state)

    def _after_category(self, state: ReportState) -> StepOutcome:
        say: list[Activity | str] = []
        if state.category == INDECENT_IMAGES:
            say.extend(self._drop_evidence(state))
            say.append(indecent_warning(self._lead(state)))
        return Next("involved", say)

    def _drop_evidence(self, state: ReportState) -> list[str]:
        """The category was changed to indecent images after a link or files were given: drop them unread."""
        files, had_link = len(state.attachments), bool(state.link)
        if not files and not had_link:
            return []
        if state.attachments:  # kept (encrypted) at the evidence step, before the category was changed to this one
            self.services.evidence.discard([str(a.get("evidence_id", "")) for a in state.attachments],
                                           "category changed to indecent images")
        state.attachments, state.link = [], ""
        state.dropped_files += files
        state.dropped_link = state.dropped_link or had_link
        state.forget_earlier = True
        log.info("report dialog: category changed to indecent images; %d file(s) dropped unread, link dropped: %s",
                 files, had_link)
        removed = ([f"the {'file' if files == 1 else f'{files} files'} you sent"] if files else []) + (
            ["the link"] if had_link else [])
        return [f"I have removed {' and '.join(removed)} without opening {'it' if files + had_link == 1 else 'them'}:"
                " nobody may keep or pass on an image like this, not even the school."]

    def ask_involved(self, state: ReportState) -> list[Activity | str]:
        """Who is involved."""
        return [choice_card("Who is involved?", list(INVOLVED.items()), summary="Who is involved?")]

    def on_involved(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """A member of staff leads to which one."""
        chosen = _match_choice(user_input, list(INVOLVED.items()))
        if chosen is None:
            return Retry("Please pick one of the buttons.")
        state.involved = chosen
        if chosen == "staff":
            return Next("staff_role")
        state.staff_role = ""
        return Next("platform")

    def ask_staff_role(self, state: ReportState) -> list[Activity | str]:
        """Whether it is a lead, for conflict of interest."""
        return [choice_card("Which member of staff? This makes sure the report never goes to the person it is "
                            "about.", [(k, v[0].upper() + v[1:]) for k, v in STAFF_ROLES.items()],
                            summary="Which member of staff?")]

    def on_staff_role(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Staff abuse asks about central employment next."""
        chosen = _match_choice(user_input, [(k, v[0].upper() + v[1:]) for k, v in STAFF_ROLES.items()])
        if chosen is None:
            return Retry("Please pick one of the buttons.")
        state.staff_role = chosen
        say: list[Activity | str] = []
        if state.category == INDECENT_IMAGES and self._about(state) == Role.DSL:
            # The warning, given before we knew, said to tell the DSL: not the person this report is about.
            say.append(f"As this report is about {STAFF_ROLES[Role.DSL]}, tell {self._lead(state)} in person "
                       "instead.")
        if self._category(state).hr_if_central:
            return Next("central", say)
        return Next("platform", say)

    def ask_central(self, state: ReportState) -> list[Activity | str]:
        """Centrally employed staff go to the Head of HR."""
        return [choice_card("Is the member of staff employed centrally by the trust (not by the school)?",
                            [("yes", "Yes"), ("no", "No, by the school"), ("not_sure", "Not sure")],
                            summary="Employed centrally?")]

    def on_central(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Record it."""
        chosen = _match_choice(user_input, [("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")])
        if chosen is None:
            return Retry("Please answer Yes, No or Not sure.")
        state.central, state.centrally_employed = chosen, chosen == "yes"
        return Next("platform")

    def ask_platform(self, state: ReportState) -> list[Activity | str]:
        """Where; a platform named in the reporter's own words is ticked already, to confirm with one press."""
        mentioned = platform_mentioned(state.details) if state.details else None
        prompt = "Where did it happen?"
        if mentioned is not None:
            prompt = (f"Where did it happen? You mentioned {PLATFORMS[mentioned]}, so it is ticked: press Next, or "
                      "pick another.")
        return [choice_card(prompt, list(PLATFORMS.items()), summary="Where did it happen?", selected=mentioned or "")]

    def on_platform(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """A typed platform name counts as Other."""
        chosen = _match_choice(user_input, list(PLATFORMS.items()))
        if chosen is None:
            typed = " ".join(user_input.choice.split())
            if not typed or len(typed) > 60:
                return Retry("Please pick one of the buttons, or type the name of the app or site.")
            state.platform, state.platform_other = "other", typed
        else:
            state.platform, state.platform_other = chosen, ""
        if self._no_images(state):
            state.link = ""  # a link to such an image is forwarding it: never asked for, never kept
            return Next("when")
        return Next("link")

    def ask_link(self, state: ReportState) -> list[Activity | str]:
        """A link, if there is one."""
        return [choice_card("Is there a link to the post or page? Paste it, or press Skip.", [("skip", "Skip")],
                            summary="Is there a link?")]

    def on_link(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Keep a web address or nothing."""
        if self._no_images(state):
            state.link = ""  # a link to such an image is forwarding it: never kept
            return Next("when")
        text = user_input.choice.strip()
        if text.lower() in SKIP:
            state.link = ""
            return Next("when")
        if len(text) > MAX_LINK_CHARS or " " in text or not _URL.match(text):
            return Retry("That doesn't look like a web address. Paste the address (for example "
                         "https://www.facebook.com/...), or press Skip.")
        state.link = text
        return Next("when")

    def ask_when(self, state: ReportState) -> list[Activity | str]:
        """When."""
        return [choice_card("When did it happen, or when did you see it? Pick one or type a date (for example "
                            "12/11/2026).", WHEN_CHOICES, summary="When did it happen?")]

    def on_when(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """A choice or a date (kept as a UK long date: "12 November 2026"); nothing else, because this is shown in
        lead channels."""
        chosen = _match_choice(user_input, WHEN_CHOICES)
        if chosen is None:
            today = self.services.clock.now().astimezone(self.services.clock.tz).date()
            day = read_typed_date(user_input.choice, today)
            if day is not None and day > today:
                return Retry(f"{long_date(day)} is still to come. Please type the date it happened or you saw it, "
                             "or pick one of the buttons.")
            chosen = long_date(day) if day is not None else None
        if chosen is None:
            return Retry("Please pick one of the buttons or type a date like 12/11/2026.")
        state.when = chosen
        return Next("details")

    def ask_details(self, state: ReportState) -> list[Activity | str]:
        """What happened, in the reporter's words (pre-filled with what they wrote when they started)."""
        if state.details:
            return [choice_card("What happened? Here is what you wrote. Press Use this to keep it, or type a fuller "
                                "description to use instead (only the leads handling the report will see it).",
                                [("use_written", "Use this")], help_text=state.details, summary="What happened?")]
        return ["What happened? Please describe it in your own words: what was posted or said, by whom if you "
                f"know, and who it affects. (Up to {MAX_DETAILS_CHARS:,} characters; only the leads handling the "
                "report will see it.)"]

    def on_details(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Free text, with a clear limit; or what they wrote when they started, kept."""
        text = user_input.text.strip()
        if state.details and (user_input.word in USE_WRITTEN or not text and user_input.choice == "use_written"):
            text = state.details
        if not text:
            return Retry("Please type a short description of what happened.")
        if len(text) > MAX_DETAILS_CHARS:
            return Retry(f"That's {len(text):,} characters; the limit is {MAX_DETAILS_CHARS:,}. Please shorten it "
                         "to the main facts (leads can ask you for more).", reask=False)
        if len(text) < 5:
            return Retry("Please say a little more, so the lead can understand what happened.")
        state.details = text
        if self._no_images(state):
            return Next("risk")
        return Next("evidence")

    def ask_evidence(self, state: ReportState) -> list[Activity | str]:
        """Screenshots, as the policy advises."""
        return [choice_card("Do you have evidence? The policy asks you to keep records: screenshots showing the "
                            "time, date and web address. Attach them here (pictures or PDFs, up to "
                            f"{MAX_FILES}) and then press Done, or press Skip.",
                            [("done", "Done"), ("skip", "Skip")], summary="Any evidence?")]

    async def on_evidence(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Fetch and keep (encrypted) what was sent, at once; say clearly what was not kept and why."""
        if self._no_images(state):
            return Next("risk")  # the report's words moved it to indecent images: no evidence is ever collected
        if user_input.attachments:
            intake = await take_evidence(
                user_input.attachments, service_url=user_input.service_url, evidence=self.services.evidence,
                policy=self.fetch_policy, reporter_id=user_input.user_id, draft_id=state.draft_id,
                room=max(MAX_FILES - len(state.attachments), 0), token_source=lambda: bot_token(user_input.turn),
                download=self.download)
            state.attachments.extend(item.to_dict() for item in intake.kept)
            parts = []
            if intake.kept:
                kept = len(intake.kept)
                parts.append(f"Got it: {kept} file{'s' if kept != 1 else ''} kept safely "
                             f"({len(state.attachments)} in all). Only the leads handling your report will see them.")
            if intake.refused:
                parts.append(f"{refusal_text(intake.refused)} I can keep {ALLOWED_WORDS}, up to "
                             f"{MAX_FILE_BYTES // (1024 * 1024)} MB each.")
            if len(state.attachments) >= MAX_FILES:
                parts.append(f"That's the most I can take ({MAX_FILES}); the leads can ask you for more. Press Done.")
            else:
                parts.append("Attach more, or press Done.")
            return Retry(" ".join(parts), reask=False)
        if user_input.word in SKIP or user_input.word in ("done", "finished", "that's all"):
            return Next("risk")
        return Retry("Attach a screenshot, or press Done or Skip.", reask=False)

    def ask_risk(self, state: ReportState) -> list[Activity | str]:
        """Immediate danger."""
        return [choice_card("Is a child in danger right now?", [("yes", "Yes"), ("no", "No"),
                                                                ("not_sure", "Not sure")],
                            summary="Is a child in danger right now?")]

    def on_risk(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Yes, or Not sure, makes it urgent (a careful DSL would rather look at once) and says what to do now."""
        chosen = _match_choice(user_input, [("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")])
        if chosen is None:
            return Retry("Please answer Yes, No or Not sure.")
        state.danger = chosen
        state.immediate_risk = chosen in ("yes", "not_sure")
        say: list[Activity | str] = []
        if chosen == "yes":
            say.append(f"**Go to {self._lead(state)} in person now, or call 999 if a child is in immediate "
                       "danger.** I'll mark this report urgent; finish it when the child is safe.")
        elif chosen == "not_sure":
            say.append(f"I'll mark this report urgent, to be safe. If you think a child could be in danger now, go to "
                       f"{self._lead(state)} in person or call 999.")
        return Next("told", say)

    def ask_told(self, state: ReportState) -> list[Activity | str]:
        """Whether anyone knows already."""
        return [choice_card("Has anyone been told already?",
                            [("No", "No"), ("The DSL, in person", "The DSL, in person"),
                             ("The Head Teacher, in person", "The Head Teacher, in person"),
                             ("The police", "The police")],
                            help_text="Or type who you told.", summary="Has anyone been told?")]

    def on_told(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Free text or a button."""
        text = " ".join(user_input.choice.split())
        if not text:
            return Retry("Please pick one, or type who you told.")
        if len(text) > 200:
            return Retry("Please keep that under 200 characters.")
        state.already_told = text
        return Next("confirm")

    def ask_confirm(self, state: ReportState) -> list[Activity | str]:
        """The summary to confirm before anything is sent: each answer with a Change button beside it."""
        category = self._category(state)
        dropped = (f" ({count(state.dropped_files, 'file')} not kept, never opened)" if state.dropped_files else "")
        values = {
            "category": category.label,
            "involved": INVOLVED.get(state.involved, "Not sure"),
            "staff_role": _capital(STAFF_ROLES.get(state.staff_role, "Not given")),
            "central": {"yes": "Yes", "not_sure": "Not sure"}.get(state.central, "No"),
            "platform": state.platform_other or PLATFORMS.get(state.platform, "Other"),
            "link": state.link or "None", "when": state.when, "details": state.details,
            "evidence": (count(len(state.attachments), "file") if state.attachments else "None")
            if category.evidence_allowed else "None: images of this kind must never be collected" + dropped,
            "risk": _danger_summary(state.danger, state.immediate_risk),
            "told": state.already_told,
        }
        answers = []
        for step, value in values.items():  # in the order asked, each with a Change button
            if step == "category" and state.suggested:
                step = "suggest"  # "What" was asked as the suggestion from the reporter's own words
            if self.step_applies(state, step):
                answers.append({"title": self.steps[step].label, "value": value, "step": step})
            elif step == "evidence":  # said plainly, with nothing to change
                answers.append({"title": self.steps[step].label, "value": value, "step": ""})
        return [card_activity("report_summary", {
            "answers": answers, "indecent": state.category == INDECENT_IMAGES, "lead": self._lead(state),
        }, "Check your report before it is sent")]

    def on_confirm(self, state: ReportState, user_input: UserInput) -> StepOutcome:
        """Send: store the case, alert the leads, tell the reporter what happens next."""
        if user_input.word not in ("send", "submit", "yes", "confirm", "send report"):
            return Retry("Press **Send report** to send it, **Change** beside an answer to change it, **Back** to "
                         "change your last answer, or **Cancel**.")
        reporter = self.services.directory.person(user_input.user_id)
        if reporter is None:
            reporter, _ = self.services.directory.upsert_person(
                user_input.user_id, user_input.user_name, self.services.directory.default_school.id, "personal",
                aad_object_id=user_input.aad_object_id)
        draft = ReportDraft(
            category=state.category, school_id=reporter.school_id, involved=state.involved or "not_sure",
            staff_role=state.staff_role or None, centrally_employed=state.centrally_employed,
            platform=state.platform or "other", platform_other=state.platform_other, link=state.link,
            when=state.when, details=state.details, attachments=list(state.attachments),
            immediate_risk=state.immediate_risk, danger=state.danger if state.danger in DANGER_ANSWERS else "",
            already_told=state.already_told, draft_id=state.draft_id,
            dropped_files=state.dropped_files, dropped_link=state.dropped_link,
            reported_category=state.reported_category)
        try:
            result = self.services.cases.submit(draft, reporter)
        except DraftError as error:
            return Retry("I can't send this yet: " + "; ".join(error.problems))
        self._settle_kept_files(state, result.ref)
        log.info("report submitted: %s (category %s)", result.ref, state.category)
        # "sent" only when its alerts are queued; otherwise the card says so and the alert check keeps trying.
        preview = f"Report {result.ref} {'sent' if result.alerts_queued else 'saved, not sent yet'}"
        return Done([card_message(result.card, preview)], result=result.ref)

    def _category(self, state: ReportState, category_id: str | None = None) -> Any:
        table = self.services.cases.routing.for_school(self.services.directory.default_school.id)
        return table.category(category_id if category_id is not None else state.category)


def _capital(text: str) -> str:
    """"the Head Teacher" -> "The Head Teacher"."""
    return text[:1].upper() + text[1:]


def _danger_summary(answer: str, urgent: bool) -> str:
    """The danger answer as given: Not sure says so (and that it is urgent), never "Yes"."""
    if answer == "not_sure":
        return "Not sure: treated as urgent"
    if answer == "yes" or (not answer and urgent):
        return "Yes: urgent"
    return "No"


def _match_choice(user_input: UserInput, choices: list[tuple[str, str]]) -> str | None:
    """The chosen value from a button, or typed text matching a value, a label or a number."""
    picked = user_input.choice.strip()
    lowered = " ".join(picked.lower().split())
    for value, label in choices:
        if picked == value or lowered == value.lower() or lowered == label.lower():
            return value
    if lowered.isdecimal() and 1 <= int(lowered) <= len(choices):  # isdigit() passes '²', which int() refuses
        return choices[int(lowered) - 1][0]
    starts = [value for value, label in choices if label.lower().startswith(lowered) and len(lowered) >= 3]
    return starts[0] if len(starts) == 1 else None


