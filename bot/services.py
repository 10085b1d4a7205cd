"""The bot's domain services, built once from settings and handed to everything that needs them.

No botbuilder here: the local chat, the command line and the web app all build the same Services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cards.campaigns import CampaignCards
from cards.questions import QuestionCards
from cards.reports import CaseCards
from domain.campaigns.model import CampaignConfig
from domain.campaigns.service import CampaignService
from domain.delivery.outbox import Outbox
from domain.people.directory import Directory
from domain.people.lead_spaces import LeadSpaces, load_readers
from domain.questions.matcher import Matcher
from domain.questions.policy import PolicyDocument
from domain.questions.rules import RuleBook
from domain.questions.unanswered import QuestionService
from domain.questions.understanding import Understander
from domain.reports.alerts import CaseAlerts
from domain.reports.evidence import EvidenceService
from domain.reports.reminders import CaseConfig
from domain.reports.routing import RoutingBook
from domain.reports.service import CaseService
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock
from settings import Settings
from store import open_store
from store.base import RecordStore
from store.blobs import BlobStore, open_evidence_store


@dataclass
class Services:
    """Everything a handler may need, wired together."""

    settings: Settings
    store: RecordStore
    clock: Clock
    calendar: SchoolCalendar
    directory: Directory
    policy: PolicyDocument
    rulebook: RuleBook
    matcher: Matcher
    outbox: Outbox
    routing: RoutingBook
    cases: CaseService
    campaigns: CampaignService
    questions: QuestionService
    lead_spaces: LeadSpaces
    case_alerts: CaseAlerts  # the delivery worker's policy for safeguarding messages, and the alert check job
    evidence: EvidenceService
    understander: Understander  # what a typed message asks for (report, question, policy, command, small talk)
    case_cards: CaseCards  # draws the cases' cards (the case service's presenter; the `cases` list)
    campaign_cards: CampaignCards  # draws the campaigns' cards (their presenter; `campaign status`)
    # Set by whoever runs the delivery worker: makes newly queued messages go at once rather than at the next poll.
    wake: Callable[[], None] = field(default=lambda: None)

    def close(self) -> None:
        """Release the store."""
        self.store.close()


def build_services(settings: Settings, *, store: RecordStore | None = None, clock: Clock | None = None,
                   blobs: BlobStore | None = None) -> Services:
    """Open the store and build every service from the settings."""
    clock = clock or Clock(settings.timezone)
    store = store or open_store(settings.data_dir)
    # Evidence files: encrypted, in DATA_DIR/evidence (nothing is created until the first file is kept).
    blobs = blobs or open_evidence_store(settings.data_dir, settings.evidence_key)
    directory = Directory(store, clock, settings.school_name, set(settings.bot_admins))
    policy = PolicyDocument.load(settings.policy_path)
    rulebook = RuleBook.load(settings.rules_path, policy)
    outbox = Outbox(store, clock)
    routing = RoutingBook.from_files(settings.routing_path)
    # One school calendar for everything (domain/shared/calendar.py).
    calendar = SchoolCalendar(settings.school_holidays, settings.timezone, settings.term_dates)
    case_cards = CaseCards(clock)
    cases = CaseService(store, directory, clock, outbox, case_cards, CaseConfig(
        urgent_reminder_minutes=settings.urgent_reminder_minutes,
        normal_reminder_hour=settings.normal_reminder_hour), routing=routing, calendar=calendar)
    campaign_cards = CampaignCards(clock, settings.policy_url)
    campaigns = CampaignService(store, directory, outbox, clock, policy, campaign_cards, CampaignConfig(
        deadline_days=settings.campaign_deadline_days,
        reminder_every_school_days=settings.campaign_reminder_school_days,
        max_reminders=settings.campaign_max_reminders), calendar=calendar)
    # The school's and trust's names are read as "the school" in questions ("can I say I work at Villiers?").
    matcher = Matcher(rulebook, names=(settings.school_name, settings.trust_name))
    return Services(settings=settings, store=store, clock=clock, calendar=calendar, directory=directory, policy=policy,
                    rulebook=rulebook, matcher=matcher, outbox=outbox, routing=routing, cases=cases,
                    campaigns=campaigns,
                    questions=QuestionService(store, directory, clock, outbox, QuestionCards(clock)),
                    lead_spaces=LeadSpaces(directory, clock, outbox, load_readers(settings.readers_path)),
                    case_alerts=CaseAlerts(cases, outbox, directory, clock),
                    evidence=EvidenceService(store, blobs, clock),
                    understander=Understander.load(), case_cards=case_cards,
                    campaign_cards=campaign_cards)
