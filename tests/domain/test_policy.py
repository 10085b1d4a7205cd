"""PolicyDocument: title, date, version, sections and quotes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from domain.questions.policy import DEFAULT_POLICY_PATH, PolicyDocument


@pytest.fixture(scope="module")
def policy() -> PolicyDocument:
    return PolicyDocument.load(DEFAULT_POLICY_PATH)


def test_title_and_date(policy: PolicyDocument) -> None:
    assert policy.title == "Social Media, Website & Networking Policy"
    assert policy.date == "April 2020"


def test_version(policy: PolicyDocument) -> None:
    expected = hashlib.sha256(DEFAULT_POLICY_PATH.read_bytes()).hexdigest()
    assert policy.content_hash == expected
    assert policy.short_hash == expected[:8]
    assert policy.version_label == f"Social Media, Website & Networking Policy, April 2020 (version {expected[:8]})"
    assert policy.version_dict() == {"title": policy.title, "date": "April 2020", "hash": expected}


def test_sections(policy: PolicyDocument) -> None:
    for heading in ("Introduction", "Principles", "Monitoring", "Personal use of Social Media", "Use of Images",
                    "Cyber bullying and Harassment"):
        assert heading in policy.sections
    assert all("**" not in name for name in policy.sections)
    assert "restricted list" in policy.sections["Use of Images"]


def test_section_lookup_is_forgiving(policy: PolicyDocument) -> None:
    assert policy.section("principles") == policy.sections["Principles"]
    assert policy.section("personal use") == policy.sections["Personal use of Social Media"]
    assert policy.section("Cyber bulying and harassment") == policy.sections["Cyber bullying and Harassment"]
    assert policy.section("Lunch menu") is None


def test_contains_ignores_spacing_and_emphasis(policy: PolicyDocument) -> None:
    assert policy.contains("Staff should never give out their personal number to parents, carers or pupils.")
    assert policy.contains("In the event that such evidence contains indecent images of children, it is an offence")
    assert policy.contains("may be subject to the School/Academy Trust's disciplinary procedure.")
    assert policy.contains("Staff   should never\ngive out their personal number")
    assert not policy.contains("Staff may give out their personal number to parents.")
    assert not policy.contains("   ")


def test_key_principles(policy: PolicyDocument) -> None:
    lines = policy.key_principles()
    assert 5 <= len(lines) <= 7
    assert all(line and len(line) < 200 and "**" not in line for line in lines)
    assert any("personal and professional lives separate" in line for line in lines)


def test_school_can_use_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.md"
    path.write_text("# **Online Safety Policy**\n\nSeptember 2024\n\n## **Rules**\n\nBe kind online.\n", "utf-8")
    own = PolicyDocument.load(path)
    assert own.title == "Online Safety Policy"
    assert own.date == "September 2024"
    assert own.section("rules") == "Be kind online."
    assert own.version_label.startswith("Online Safety Policy, September 2024 (version ")
