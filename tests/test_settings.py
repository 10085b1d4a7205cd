"""Settings: read once from the environment; a wrong value stops the start with one clear line."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from settings import PROJECT_DIR, Settings, SettingsError

GUID = "11111111-2222-3333-4444-555555555555"


def test_defaults_are_local_mode_on_loopback() -> None:
    settings = Settings.from_mapping({})
    assert settings.local_mode and settings.bind_host == "127.0.0.1" and settings.port == 3978
    assert settings.timezone == "Europe/London"


def test_app_id_switches_off_local_mode() -> None:
    settings = Settings.from_mapping({"MicrosoftAppId": GUID, "MicrosoftAppPassword": "secret",
                                      "ALLOWED_TENANTS": "t1, t2", "BOT_ADMINS": "a;b"})
    assert not settings.local_mode and settings.bind_host == "0.0.0.0"
    assert settings.allowed_tenants == frozenset({"t1", "t2"}) and settings.bot_admins == frozenset({"a", "b"})
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(("values", "says"), [
    ({"MicrosoftAppId": "not-a-guid"}, "MicrosoftAppId"),
    ({"MicrosoftAppId": GUID}, "MicrosoftAppPassword"),
    ({"MicrosoftAppType": "Sometimes"}, "MicrosoftAppType"),
    ({"MicrosoftAppType": "SingleTenant"}, "MicrosoftAppTenantId"),
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
    ({"POLICY_FILE": "/nowhere/policy.md"}, "POLICY_FILE"),
    ({"EVIDENCE_KEY": "too-short"}, "EVIDENCE_KEY"),
    ({"EVIDENCE_KEY": base64.b64encode(b"k" * 16).decode()}, "EVIDENCE_KEY"),
])
def test_bad_settings_say_what_to_fix(values: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_mapping(values)


def test_dotenv_fills_gaps_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nSCHOOL_NAME='Oak Hill Academy'\nexport PORT=4000\n", encoding="utf-8")
    settings = Settings.from_env({"PORT": "5000"}, env_file=env_file)
    assert settings.school_name == "Oak Hill Academy" and settings.port == 5000


def test_an_evidence_key_is_read_and_never_shown() -> None:
    key = bytes(range(32))
    settings = Settings.from_mapping({"EVIDENCE_KEY": base64.b64encode(key).decode()})
    assert settings.evidence_key == key and Settings.from_mapping({}).evidence_key is None
    assert str(key) not in repr(settings) and "evidence_key" not in repr(settings)


def test_a_bad_evidence_key_stops_the_start_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "app.py")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "EVIDENCE_KEY": "c2VjcmV0LWJ1dC10b28tc2hvcnQ=",
                                 "DATA_DIR": str(tmp_path)}, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "EVIDENCE_KEY" in result.stderr
    assert "c2VjcmV0LWJ1dC10b28tc2hvcnQ=" not in result.stderr


def test_the_app_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "app.py")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MicrosoftAppId": "nope", "DATA_DIR": str(tmp_path)},
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "MicrosoftAppId" in result.stderr


def test_database_url_selects_postgresql_and_needs_one_evidence_key_for_every_replica() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    url = "postgresql://thinkfirst:s3cret-pw@db.example.org:5432/thinkfirst?sslmode=require"
    settings = Settings.from_mapping({"DATABASE_URL": url, "EVIDENCE_KEY": key, "WEBSITE_INSTANCE_ID": "abc123"})
    assert settings.database_url == url and settings.database_schema == "public" and settings.replica_name == "abc123"
    assert "s3cret-pw" not in repr(settings)
    assert Settings.from_mapping({}).database_url == ""  # no setting: the embedded store, as before
    with pytest.raises(SettingsError, match="EVIDENCE_KEY is needed with DATABASE_URL"):
        Settings.from_mapping({"DATABASE_URL": url})
    with pytest.raises(SettingsError, match="must be a PostgreSQL URL"):
        Settings.from_mapping({"DATABASE_URL": "mysql://x", "EVIDENCE_KEY": key})
    with pytest.raises(SettingsError, match="DATABASE_SCHEMA"):
        Settings.from_mapping({"DATABASE_URL": url, "EVIDENCE_KEY": key, "DATABASE_SCHEMA": "Robert'); DROP"})
