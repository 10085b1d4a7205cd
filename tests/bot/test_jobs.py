"""The bot's named jobs: every job is there once, and a new policy version asks the admins first."""

from __future__ import annotations

from pathlib import Path

from domain.questions.policy import PolicyDocument
from settings import PROJECT_DIR, Settings
from store.memory import MemoryStore
from wiring.jobs import scheduled_jobs
from wiring.services import build_services


def services_for(tmp_path: Path):  # noqa: ANN201 - test helper
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "BOT_ADMINS": "aad-admin"})
    return build_services(settings, store=MemoryStore())


async def no_transport(message, previous):  # noqa: ANN001, ANN201 - never called here
    raise AssertionError("nothing is delivered in this test")


def test_every_job_is_named_once(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    names = [job.name for job in scheduled_jobs(services)]
    assert len(names) == len(set(names))
    assert {"case-reminders", "campaign-reminders", "campaign-digest", "yearly-campaign",
            "policy-version-check", "case-alert-check"} <= set(names)


def test_new_policy_version_asks_each_admin_once_and_starts_nothing(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    school = services.directory.default_school.id
    services.directory.upsert_person("29:admin", "Ivy IT", school, "personal", aad_object_id="aad-admin")
    assert services.campaigns.ask_admins_about_new_version() == 0  # first install: nothing changed
    services.campaigns.start("29:admin")
    changed = tmp_path / "policy.md"
    changed.write_text((PROJECT_DIR / "policy" / "social-media-policy.md").read_text() + "\nA new paragraph.\n")
    services.policy = PolicyDocument.load(changed)
    services.campaigns.use_policy(services.policy)
    assert services.campaigns.ask_admins_about_new_version() == 1
    assert services.campaigns.ask_admins_about_new_version() == 0
    assert len(services.campaigns.campaigns()) == 1  # nothing started without an admin's say-so
    queued = [e for e in services.outbox.failed_or_pending("policy-version:")]
    assert queued and queued[0].message.to_user == "29:admin"
