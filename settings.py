"""Settings: the one reader of the environment (and of an optional .env file)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.blobs import parse_evidence_key

PROJECT_DIR = Path(__file__).resolve().parent
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")


class SettingsError(ValueError):
    """A setting is wrong; the message says which and how to fix it, in one line."""


def check_app_identity(app_id: str, app_password: str, app_type: str, tenant_id: str) -> str:
    """The app type, spelt as the SDK wants it, once the bot's identity settings agree (SettingsError if not).

    The one check of them: Settings runs it when reading the environment, and bot/auth.py again before handing them
    to the SDK (which would silently take an unknown app type for MultiTenant, hiding a typo).
    """
    normalised = {t.lower(): t for t in APP_TYPES}.get((app_type or "MultiTenant").strip().lower())
    if normalised is None:
        raise SettingsError(f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}, not {app_type!r}.")
    if normalised != "MultiTenant" and not tenant_id:
        raise SettingsError(f"MicrosoftAppTenantId is needed when MicrosoftAppType is {normalised}.")
    if normalised != "MultiTenant" and not app_id:
        raise SettingsError(f"MicrosoftAppId is needed when MicrosoftAppType is {normalised}.")
    if app_id and normalised != "UserAssignedMSI" and not app_password:
        raise SettingsError("MicrosoftAppPassword is needed when MicrosoftAppId is set (or unset both to run "
                            "locally).")
    if app_password and not app_id:
        raise SettingsError("MicrosoftAppPassword is set without MicrosoftAppId: that would turn authentication off.")
    return normalised


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be configured with. Build it with ``Settings.from_env()``."""

    app_id: str = ""
    app_password: str = field(default="", repr=False)
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    port: int = 3978
    host: str = ""  # empty: 0.0.0.0 with an app id, 127.0.0.1 in local mode
    data_dir: Path = PROJECT_DIR / "data"
    school_name: str = "Villiers Primary School"
    trust_name: str = "SHINE Academies Trust"
    timezone: str = "Europe/London"
    bot_admins: frozenset[str] = frozenset()
    allowed_tenants: frozenset[str] = frozenset()
    policy_path: Path = PROJECT_DIR / "policy" / "social-media-policy.md"
    policy_url: str = ""
    rules_path: Path = PROJECT_DIR / "domain" / "data" / "rules.json"
    routing_path: Path = PROJECT_DIR / "domain" / "data" / "routing.json"
    readers_path: Path = PROJECT_DIR / "domain" / "data" / "lead_spaces.json"
    urgent_reminder_minutes: int = 15
    normal_reminder_hour: int = 9
    campaign_deadline_days: int = 30
    campaign_reminder_school_days: int = 5
    campaign_max_reminders: int = 3
    send_rate_per_second: float = 30.0
    school_holidays: tuple[date, ...] = ()
    # TERM_DATES: each term's first and last day ("2026-09-03..2026-12-18, 2027-01-05..2027-03-26, ..."); a school
    # year with none listed uses the default in domain/shared/terms.py (autumn to about 20 December, spring to Easter,
    # summer to about 22 July). The termly summary is posted on each term's last day.
    term_dates: tuple[tuple[date, date], ...] = ()
    # Closed safeguarding cases are kept this many years from closure (see domain/people/retention.py for why),
    # other closed cases OTHER_CASE_RETENTION_YEARS; then a nightly job replaces them with a stub.
    case_retention_years: int = 25
    other_case_retention_years: int = 6
    # AES-256 key for evidence files (EVIDENCE_KEY, base64). Unset: a key is made in DATA_DIR the first time evidence
    # is kept, and the log says to move it into the host's secret store.
    evidence_key: bytes | None = field(default=None, repr=False)
    # DATABASE_URL=postgresql://user:password@host/db: keep everything in PostgreSQL, so several replicas can share it
    # (a trust's deployment; docs in the README's "Running for a trust"). Unset: the embedded store in DATA_DIR.
    database_url: str = field(default="", repr=False)
    database_schema: str = "public"  # DATABASE_SCHEMA: the PostgreSQL schema holding ThinkFirst's tables
    # REPLICA_NAME: how this process names itself as leader in /healthz and the database (default: the App Service
    # instance id, else host name and process id).
    replica_name: str = ""
    log_level: str = "INFO"
    scheduler_enabled: bool = True

    @property
    def local_mode(self) -> bool:
        """No app id: no authentication, loopback only."""
        return not self.app_id

    @property
    def bind_host(self) -> str:
        """Where the server listens."""
        if self.local_mode:
            return "127.0.0.1"
        return self.host or "0.0.0.0"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Read settings from the environment, with a .env file filling gaps; SettingsError says what to fix."""
        values: dict[str, str] = {}
        dotenv = env_file if env_file is not None else PROJECT_DIR / ".env"
        if dotenv.is_file():
            values.update(_read_dotenv(dotenv))
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Build and check settings from a name -> text mapping."""

        def text(name: str, default: str = "") -> str:
            return values.get(name, default).strip()

        app_id = text("MicrosoftAppId")
        if app_id and not _GUID.match(app_id):
            raise SettingsError(f"MicrosoftAppId must be the bot's app id (a GUID), not {app_id[:40]!r}.")
        tenant = text("MicrosoftAppTenantId")
        app_type = check_app_identity(app_id, text("MicrosoftAppPassword"), text("MicrosoftAppType"), tenant)
        timezone = text("TIMEZONE", "Europe/London") or "Europe/London"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"TIMEZONE {timezone!r} is not a known time zone (try Europe/London).") from exc
        data_dir = Path(text("DATA_DIR", str(PROJECT_DIR / "data")) or PROJECT_DIR / "data").expanduser()
        policy_path = Path(text("POLICY_FILE", str(PROJECT_DIR / "policy" / "social-media-policy.md")))
        if not policy_path.is_file():
            raise SettingsError(f"POLICY_FILE {str(policy_path)!r} does not exist.")
        rules_path = Path(text("RULES_FILE", str(PROJECT_DIR / "domain" / "data" / "rules.json")))
        routing_path = Path(text("ROUTING_FILE", str(PROJECT_DIR / "domain" / "data" / "routing.json")))
        readers_path = Path(text("READERS_FILE", str(PROJECT_DIR / "domain" / "data" / "lead_spaces.json")))
        evidence_key = _evidence_key(text("EVIDENCE_KEY"))
        database_url = text("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/db), "
                                "or unset to keep the embedded store in DATA_DIR.")
        if database_url and evidence_key is None:
            raise SettingsError("EVIDENCE_KEY is needed with DATABASE_URL: every replica must encrypt and read "
                                "evidence with the same key (see \"Running for a trust\" in the README).")
        schema = text("DATABASE_SCHEMA", "public") or "public"
        if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
            raise SettingsError(f"DATABASE_SCHEMA must be a lower-case PostgreSQL schema name, not {schema[:40]!r}.")
        return cls(
            app_id=app_id,
            app_password=text("MicrosoftAppPassword"),
            app_type=app_type,
            app_tenant_id=tenant,
            port=_int(values, "PORT", 3978, 1, 65535),
            host=text("HOST"),
            data_dir=data_dir,
            school_name=text("SCHOOL_NAME", "Villiers Primary School") or "Villiers Primary School",
            trust_name=text("TRUST_NAME", "SHINE Academies Trust") or "SHINE Academies Trust",
            timezone=timezone,
            bot_admins=_id_set(text("BOT_ADMINS"), "BOT_ADMINS"),
            allowed_tenants=_id_set(text("ALLOWED_TENANTS"), "ALLOWED_TENANTS"),
            policy_path=policy_path,
            policy_url=text("POLICY_URL"),
            rules_path=rules_path,
            routing_path=routing_path,
            readers_path=readers_path,
            urgent_reminder_minutes=_int(values, "URGENT_REMINDER_MINUTES", 15, 1, 24 * 60),
            normal_reminder_hour=_int(values, "NORMAL_REMINDER_HOUR", 9, 0, 23),
            campaign_deadline_days=_int(values, "CAMPAIGN_DEADLINE_DAYS", 30, 1, 365),
            campaign_reminder_school_days=_int(values, "CAMPAIGN_REMINDER_SCHOOL_DAYS", 5, 1, 60),
            campaign_max_reminders=_int(values, "CAMPAIGN_MAX_REMINDERS", 3, 0, 50),
            send_rate_per_second=float(_int(values, "SEND_RATE_PER_SECOND", 30, 1, 50)),
            school_holidays=_holidays(text("SCHOOL_HOLIDAYS")),
            term_dates=_term_dates(text("TERM_DATES")),
            case_retention_years=_int(values, "CASE_RETENTION_YEARS", 25, 1, 100),
            other_case_retention_years=_int(values, "OTHER_CASE_RETENTION_YEARS", 6, 1, 100),
            evidence_key=evidence_key,
            database_url=database_url,
            database_schema=schema,
            replica_name=(text("REPLICA_NAME") or text("WEBSITE_INSTANCE_ID"))[:40],
            log_level=(text("LOG_LEVEL", "INFO") or "INFO").upper(),
            scheduler_enabled=text("SCHEDULER", "on").lower() not in ("off", "0", "false", "no"),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, the chat command)."""
        from dataclasses import replace

        return replace(self, **changes)


def _int(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {raw[:20]!r}.") from exc
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {number}.")
    return number


def _evidence_key(raw: str) -> bytes | None:
    if not raw:
        return None
    key = parse_evidence_key(raw)
    if key is None:
        raise SettingsError("EVIDENCE_KEY must be 32 random bytes in base64 (make one with: python -c \"import "
                            "base64, os; print(base64.b64encode(os.urandom(32)).decode())\").")
    return key


def _holidays(raw: str) -> tuple[date, ...]:
    from domain.shared.calendar import parse_holidays

    try:
        return tuple(parse_holidays(raw)) if raw else ()
    except ValueError as exc:
        raise SettingsError(f"SCHOOL_HOLIDAYS must be dates like 2026-12-25 or ranges like 2026-10-26..2026-10-30 "
                            f"({exc}).") from exc


def _term_dates(raw: str) -> tuple[tuple[date, date], ...]:
    from domain.shared.calendar import TermDatesError, parse_term_dates

    try:
        return tuple(parse_term_dates(raw)) if raw else ()
    except TermDatesError as exc:
        raise SettingsError(f"TERM_DATES must list each term as FIRST..LAST, comma-separated, like "
                            f"2026-09-03..2026-12-18, 2027-01-05..2027-03-26 ({exc}).") from exc


def _id_set(raw: str, name: str) -> frozenset[str]:
    ids = frozenset(part.strip() for part in re.split(r"[,\s;]+", raw) if part.strip())
    for item in ids:
        if len(item) > 200:
            raise SettingsError(f"{name} has an entry that is too long to be an id.")
    return ids


def _read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines; # comments; optional quotes. Enough for a school's .env, no dependency needed."""
    result: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export "):]
        if "=" not in stripped:
            raise SettingsError(f"{path.name} line {number} is not KEY=value.")
        key, value = stripped.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[key.strip()] = value
    return result
