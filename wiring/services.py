"""Services: the domain's services, built once from the settings and handed to everything that needs them."""

from __future__ import annotations

from dataclasses import dataclass

from cards.campaigns import CampaignCards
from cards.questions import QuestionCards
from cards.reports import CaseCards
from domain.campaigns.model import CampaignConfig
from domain.campaigns.service import CampaignService
from domain.delivery.outbox import Outbox
from domain.insight.figures import InsightService
from domain.people.directory import Directory
from domain.people.lead_spaces import LeadSpaces, load_readers
from domain.people.retention import RetentionPolicy
from domain.people.setup import SetupService
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
    calendar: SchoolCalendar  # the one school calendar (domain/shared/calendar.py)
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
    setup: SetupService  # set-up changes, who may make them, and their audit trail
    case_alerts: CaseAlerts  # the delivery worker's policy for safeguarding messages, and the alert check job
    evidence: EvidenceService
    understander: Understander  # what a typed message asks for (report, question, policy, command, small talk)
    retention: RetentionPolicy
    case_cards: CaseCards  # draws the cases' cards (the case service's presenter; the `cases` list)
    campaign_cards: CampaignCards  # draws the campaigns' cards (their presenter; `campaign status`)

    @property
    def insight(self) -> InsightService:
        """The head teacher's and governors' figures, over the policy in use now."""
        return InsightService(self.store, self.directory, self.clock, self.policy, outbox=self.outbox,
                              routing=self.routing, case_config=self.cases.config, calendar=self.calendar,
                              matcher=self.matcher, trust_name=self.settings.trust_name)

    def close(self) -> None:
        """Release the store."""
        self.store.close()


def case_config(settings: Settings) -> CaseConfig:
    """How often unclaimed cases remind their leads."""
    return CaseConfig(urgent_reminder_minutes=settings.urgent_reminder_minutes,
                      normal_reminder_hour=settings.normal_reminder_hour)


def campaign_config(settings: Settings) -> CampaignConfig:
    """How campaigns run."""
    return CampaignConfig(deadline_days=settings.campaign_deadline_days,
                          reminder_every_school_days=settings.campaign_reminder_school_days,
                          max_reminders=settings.campaign_max_reminders)


def retention_policy(settings: Settings) -> RetentionPolicy:
    """How long closed cases are kept."""
    return RetentionPolicy(safeguarding_years=settings.case_retention_years,
                           other_years=settings.other_case_retention_years)


def school_calendar(settings: Settings) -> SchoolCalendar:
    """The one school calendar: holidays, terms and time zone."""
    return SchoolCalendar(settings.school_holidays, settings.timezone, settings.term_dates)


def build_services(settings: Settings, *, store: RecordStore | None = None, clock: Clock | None = None,
                   blobs: BlobStore | None = None) -> Services:
    """Open the store and build every service from the settings."""
    clock = clock or Clock(settings.timezone)
    store = store or open_store(settings.data_dir, settings.database_url, settings.database_schema)
    # Evidence files: encrypted, in DATA_DIR/evidence (nothing is created until the first file is kept).
    blobs = blobs or open_evidence_store(settings.data_dir, settings.evidence_key, records=store)
    directory = Directory(store, clock, settings.school_name, set(settings.bot_admins))
    policy = PolicyDocument.load(settings.policy_path)
    rulebook = RuleBook.load(settings.rules_path, policy)
    outbox = Outbox(store, clock)
    routing = RoutingBook.from_files(settings.routing_path)
    calendar = school_calendar(settings)
    case_cards = CaseCards(clock)
    cases = CaseService(store, directory, clock, outbox, case_cards, case_config(settings), routing=routing,
                        calendar=calendar)
    campaign_cards = CampaignCards(clock, settings.policy_url)
    campaigns = CampaignService(store, directory, outbox, clock, policy, campaign_cards, campaign_config(settings),
                                calendar=calendar)
    # The school's and trust's names are read as "the school" in questions ("can I say I work at Villiers?").
    matcher = Matcher(rulebook, names=(settings.school_name, settings.trust_name))
    lead_spaces = LeadSpaces(directory, clock, outbox, load_readers(settings.readers_path))
    return Services(settings=settings, store=store, clock=clock, calendar=calendar, directory=directory, policy=policy,
                    rulebook=rulebook, matcher=matcher, outbox=outbox, routing=routing, cases=cases,
                    campaigns=campaigns,
                    questions=QuestionService(store, directory, clock, outbox, QuestionCards(clock)),
                    lead_spaces=lead_spaces, setup=SetupService(store, directory, clock, lead_spaces),
                    case_alerts=CaseAlerts(cases, outbox, directory, clock),
                    evidence=EvidenceService(store, blobs, clock), understander=Understander.load(),
                    retention=retention_policy(settings), case_cards=case_cards,
                    campaign_cards=campaign_cards)
