"""Administration from the command line: campaign export and status, backup and restore, subject access, erasure.

Commands that only read (campaign, backup, export-person) work while the bot is running: they read a consistent
copy of the records without taking the store's lock. Commands that change records (restore, erase-person) take the
lock, so they refuse while the bot runs. Exit codes: 0 done, 1 could not be done now (say why), 2 usage or not found.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from cli.base import USAGE_ERROR, Invocation, Subcommands, add_command, add_commands, fail
from domain.shared.clock import parse_iso
from domain.shared.dates import long_date, long_date_time
from domain.shared.wording import count
from settings import Settings
from store.base import RecordStore, StoreError
from store.memory import MemoryStore

OK, CANNOT = 0, 1


def register(commands: Subcommands) -> None:
    """Add the administration commands."""
    campaign = add_command(commands, "campaign", _campaign, "the acknowledgement campaign: export (CSV) or status",
                           "The policy acknowledgement campaign: who has acknowledged, as a CSV or a summary. Safe "
                           "while the bot runs.")
    actions = add_commands(campaign, "actions", "ACTION")
    for name, line in (("export", "who acknowledged the policy, and when, as CSV (governors, inspectors)"),
                       ("status", "how far the campaign has got, school by school")):
        action = add_command(actions, name, _campaign, line)
        action.set_defaults(action=name)
        action.add_argument("--campaign", dest="campaign_id", metavar="ID",
                            help="which campaign (default: the one open now)")
        if name == "export":
            action.add_argument("--out", type=Path, metavar="FILE",
                                help="write the CSV to FILE, readable by you only (default: standard output)")
        else:
            action.add_argument("--json", action="store_true", help="the figures as JSON (for scripts)")

    backup = add_command(commands, "backup", _backup, "back up every record to a zip (safe while the bot runs)",
                         "Back up every record to a zip, readable by you only. Safe while the bot runs. Evidence "
                         "files stay encrypted: keep the evidence key (EVIDENCE_KEY) apart from the backups.")
    backup.add_argument("--out", type=Path, required=True, metavar="FILE|FOLDER",
                        help="the zip to write, or a folder to get a dated thinkfirst-backup-....zip in it")

    restore = add_command(commands, "restore", _restore, "restore a backup into DATA_DIR (stop the bot first)",
                          "Restore a backup into DATA_DIR. Stop the bot first.")
    restore.add_argument("file", type=Path, metavar="FILE", help="the backup zip")
    restore.add_argument("--force", action="store_true",
                         help="replace records already there (they are moved aside, not deleted)")

    export = add_command(commands, "export-person", _export_person,
                         "everything held about one person (subject access)",
                         "Everything ThinkFirst holds about one person, as JSON (a subject access request). Safe "
                         "while the bot runs.")
    export.add_argument("id", metavar="ID", help="their Teams user id, Azure AD object id or email")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="write to FILE, readable by you only (default: standard output)")

    erase = add_command(commands, "erase-person", _erase_person,
                        "erase one person's personal data (stop the bot first)",
                        "Erase one person: roster and personal data removed, their name pseudonymised; safeguarding "
                        "case records are kept, as the law requires, with an addendum. Stop the bot first.")
    erase.add_argument("id", metavar="ID", help="their Teams user id, Azure AD object id or email")
    erase.add_argument("--yes", action="store_true", help="erase (without it: only say what would be erased)")

    case = add_command(commands, "case", _case, "export one case for CPOMS or MyConcern",
                       "One safeguarding case, for the school's own record system.")
    case_actions = add_commands(case, "actions", "ACTION")
    case_export = add_command(case_actions, "export", _case,
                              "a zip with the summary, audit trail, evidence files and their SHA-256 hashes")
    case_export.add_argument("ref", metavar="REF", help="the case reference, for example VPS-2026-0042")
    case_export.add_argument("--out", type=Path, required=True, metavar="FILE.zip",
                             help="the zip to write (readable by you only)")

    summary = add_command(commands, "summary", _summary, "reports, acknowledgement and questions as counts (CSV)",
                          "The termly or yearly summary for governors: counts only, 1 to 4 shown as \"fewer than "
                          "5\". Safe while the bot runs.",
                          "examples:\n  python app.py summary --out summary.csv\n"
                          "  python app.py summary year --trust\n"
                          "  python app.py summary from 1/9/2026 to 18/12/2026 --card card.json")
    summary.add_argument("period", nargs="*", metavar="PERIOD",
                         help="term (default), year, or from DATE to DATE")
    scope = summary.add_mutually_exclusive_group()
    scope.add_argument("--school", metavar="NAME", help="one school of the trust (default: the first)")
    scope.add_argument("--trust", action="store_true", help="the whole trust")
    summary.add_argument("--out", type=Path, metavar="FILE.csv", help="write the CSV to FILE (readable by you only)")
    summary.add_argument("--card", type=Path, metavar="FILE.json",
                         help="also write the Adaptive Card, to see in the Adaptive Cards Designer")

    review = add_command(commands, "policy-review", _policy_review,
                         "the agenda for the governors' review of the policy",
                         "The agenda for the governors' review of the policy: the version in use, unanswered "
                         "questions and the clauses staff ask about.")
    review.add_argument("--school", metavar="NAME", help="one school of the trust (default: the first)")
    review.add_argument("--card", type=Path, metavar="FILE.json", help="write the Adaptive Card to FILE instead")


# Opening the records ------------------------------------------------------------------------------------------


def _has_records(data_dir: Path) -> bool:
    from store.tiny import JOURNAL_NAME, SNAPSHOT_NAME

    return (data_dir / SNAPSHOT_NAME).exists() or (data_dir / JOURNAL_NAME).exists()


def read_only_store(data_dir: Path) -> RecordStore:
    """A consistent in-memory copy of the records, read without the lock (safe while the bot runs)."""
    from store.tiny import KEY_FIELD, META_TABLE, load_tables

    tables, _, _ = load_tables(data_dir)
    store = MemoryStore()
    for name, docs in tables.items():
        if name == META_TABLE:
            continue
        for doc in docs.values():
            key = doc.get(KEY_FIELD)
            if isinstance(key, str):
                store.put(name, key, {k: v for k, v in doc.items() if k not in (KEY_FIELD, "_etag")})
    return store


def _services(settings: Settings, store: RecordStore) -> Any:
    from wiring.services import build_services

    return build_services(settings, store=store)


def _need_records(settings: Settings) -> None:
    if not _has_records(settings.data_dir):
        raise _NotFound(f"There are no ThinkFirst records in DATA_DIR {settings.data_dir}.")


class _NotFound(Exception):
    """Nothing to work on (exit code 2, without the usage text)."""


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600, also when it existed): these files hold personal data."""
    from store.files import open_private

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _write_private_bytes(path: Path, data: bytes) -> None:
    """Write a private file (0600) beside the target and rename it, so a half-written zip never has the real name
    and a failed write leaves nothing behind."""
    from store.files import write_private_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_atomic(path, data)


# campaign -----------------------------------------------------------------------------------------------------


def _campaign(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    try:
        _need_records(settings)
    except _NotFound as error:
        return fail(str(error), USAGE_ERROR)
    campaigns = _services(settings, read_only_store(settings.data_dir)).campaigns
    if options.campaign_id:
        campaign = campaigns.campaign(options.campaign_id.strip().upper())
        if campaign is None:
            known = ", ".join(c.id for c in campaigns.campaigns()) or "none yet"
            return fail(f"There is no campaign {options.campaign_id} (campaigns: {known}).", USAGE_ERROR)
    else:
        open_ones = campaigns.campaigns(open_only=True)
        if not open_ones:
            known = ", ".join(c.id for c in campaigns.campaigns())
            return fail("No campaign is open" + (f"; name one with --campaign ({known})." if known else
                                                 " and none has been started yet."), USAGE_ERROR)
        campaign = open_ones[-1]
    if options.action == "export":
        text = campaigns.export_csv(campaign.id)
        rows = max(0, text.count("\n") - 1)
        return _emit(text, options.out, stdout,
                     f"Campaign {campaign.id}: {count(rows, 'person', 'people')} written to {options.out}.")
    status = campaigns.status(campaign.id)
    if options.json:
        print(json.dumps(status, indent=2), file=stdout)
        return OK
    print(f"Campaign {status['campaign_id']} ({status['state']}): {status['version_label']}", file=stdout)
    deadline = long_date(date.fromisoformat(status["deadline"]))
    print(f"  {status['acknowledged']} of {status['total']} acknowledged ({status['percent']}%), "
          f"{status['outstanding']} outstanding, {status['exempt']} exempt; deadline {deadline}.",
          file=stdout)
    print(f"  Cards delivered: {status['delivered']}; not delivered to outstanding staff: {status['undelivered']}.",
          file=stdout)
    for school in status["schools"]:
        print(f"  {school['name']}: {school['acknowledged']} of {school['total']} ({school['percent']}%)",
              file=stdout)
    return OK


# backup and restore -------------------------------------------------------------------------------------------


def _backup(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from domain.shared.clock import Clock
    from store.backup import backup, backup_target

    if not _has_records(settings.data_dir):
        return fail(f"There are no ThinkFirst records in DATA_DIR {settings.data_dir}.", USAGE_ERROR)
    # A folder gets a dated file in it, named in the school's time zone.
    out = backup_target(options.out, Clock(settings.timezone))
    try:
        manifest = backup(settings.data_dir, out)
    except OSError as error:
        return fail(f"ThinkFirst: could not write the backup to {out}: {error.strerror or error}.", CANNOT)
    total = sum(manifest["counts"].values())
    print(f"Backup written to {out} (readable by you only): {count(total, 'record')}, sha256 "
          f"{manifest['sha256'][:12]}.", file=stdout)
    if manifest.get("evidence"):
        files = len(manifest["evidence"])
        print(f"It holds {count(files, 'evidence file')}, still encrypted: restoring {'it' if files == 1 else 'them'} "
              "needs the evidence key (EVIDENCE_KEY, or evidence.key in DATA_DIR), which is not in the backup. Keep "
              "the key safe and apart from the backups.", file=stdout)
    return OK


def _restore(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from store.backup import BackupError, restore
    from store.tiny import StoreLockedError

    if not options.file.is_file():
        return fail(f"There is no backup file {options.file}.", USAGE_ERROR)
    had_records = _has_records(settings.data_dir)
    try:
        manifest = restore(options.file, settings.data_dir, force=options.force)
    except StoreLockedError:
        return fail(f"ThinkFirst is running on DATA_DIR {settings.data_dir}: stop it before restoring.", CANNOT)
    except BackupError as error:
        if "not empty" in str(error):
            return fail(f"DATA_DIR {settings.data_dir} already holds records: add --force to replace them "
                         "(they are moved aside, not deleted).", USAGE_ERROR)
        return fail(f"ThinkFirst: {error}", CANNOT)
    total = sum(manifest["counts"].values())
    made = long_date_time(parse_iso(manifest["created"]), ZoneInfo(settings.timezone))
    print(f"Restored {count(total, 'record')} (backup made {made}) into {settings.data_dir}.", file=stdout)
    if manifest.get("evidence_restored"):
        print(f"Restored {count(manifest['evidence_restored'], 'evidence file')}. {_evidence_key_check(settings)}",
              file=stdout)
    if had_records:
        print("The records that were there are kept in a replaced-<date> folder beside them.", file=stdout)
    return OK


# subject access and erasure -----------------------------------------------------------------------------------


def _evidence_key_check(settings: Settings) -> str:
    """Whether the evidence key in use opens the restored evidence (it is not in backups)."""
    from store.blobs import open_evidence_store

    store = open_evidence_store(settings.data_dir, settings.evidence_key)
    keys = store.keys()
    try:
        store.get(keys[0])
    except StoreError as error:
        return f"WARNING: they cannot be opened yet: {error}."
    return "The evidence key in use opens them."


def _export_person(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from domain.people.personal_data import PersonalData

    if not _has_records(settings.data_dir):
        return fail(f"There are no ThinkFirst records in DATA_DIR {settings.data_dir}.", USAGE_ERROR)
    services = _services(settings, read_only_store(settings.data_dir))
    data = PersonalData(services.store, services.clock, services.cases, services.evidence)
    subject = data.find(options.id)
    if subject is None:
        return fail(f"ThinkFirst holds nothing about {options.id!r} (tried Teams id, Azure AD object id, email).",
                     USAGE_ERROR)
    text = json.dumps(data.export(subject), indent=2, ensure_ascii=False) + "\n"
    return _emit(text, options.out, stdout,
                 f"Everything held about {options.id} written to {options.out} (readable by you only).")


def _emit(text: str, out: Path | None, stdout: TextIO, written: str) -> int:
    """Write to a private file (saying so) or to standard output."""
    if out:
        _write_private(out, text)
        print(written, file=stdout)
    else:
        stdout.write(text)
    return OK


def _erase_person(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from domain.people.personal_data import ERASURE_NOTE, PersonalData
    from store import open_store
    from store.tiny import StoreLockedError

    if not _has_records(settings.data_dir):
        return fail(f"There are no ThinkFirst records in DATA_DIR {settings.data_dir}.", USAGE_ERROR)
    try:
        store = open_store(settings.data_dir)
    except StoreLockedError:
        return fail(f"ThinkFirst is running on DATA_DIR {settings.data_dir}: stop it before erasing anyone.",
                     CANNOT)
    services = _services(settings, store)
    try:
        data = PersonalData(services.store, services.clock, services.cases, services.evidence)
        subject = data.find(options.id)
        if subject is None:
            return fail(f"ThinkFirst holds nothing about {options.id!r} (tried Teams id, Azure AD object id, "
                         "email).", USAGE_ERROR)
        if not options.yes:
            print(f"Erasing {options.id} would do this:", file=stdout)
            for what, number in data.erasure_plan(subject).items():
                print(f"  {what}: {number}", file=stdout)
            print(ERASURE_NOTE, file=stdout)
            return fail("Nothing erased: run again with --yes to erase.", USAGE_ERROR)
        result = data.erase(subject)
    finally:
        services.close()
    removed = ", ".join(f"{k} {v}" for k, v in result.removed.items()) or "nothing"
    changed = ", ".join(f"{k} {v}" for k, v in result.pseudonymised.items()) or "nothing"
    print(f"Erased {options.id} as {result.pseudonym}. Removed: {removed}. Pseudonymised: {changed}.", file=stdout)
    if result.cases_kept:
        print(f"Kept {count(len(result.cases_kept), 'safeguarding case record')} ({', '.join(result.cases_kept)}): "
              "the law requires them to be kept; each has an addendum recording this erasure.", file=stdout)
    if result.lead_roles:
        print(f"They held {', '.join(result.lead_roles)}: give those roles to someone else with 'setup assign'.",
              file=stdout)
    return OK


# case export -----------------------------------------------------------------------------------------------------


def _case(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from domain.people.directory import Person
    from domain.reports.export import build_case_export
    from store import open_store
    from store.tiny import StoreLockedError

    if not _has_records(settings.data_dir):
        return fail(f"There are no ThinkFirst records in DATA_DIR {settings.data_dir}.", USAGE_ERROR)
    ref = options.ref.strip().upper()
    try:
        store, audited = open_store(settings.data_dir), True
    except StoreLockedError:
        # The bot is running: read a consistent copy instead (the export cannot be added to the trail then).
        store, audited = read_only_store(settings.data_dir), False
    services = _services(settings, store)
    try:
        case = services.cases.case(ref)
        if case is None:
            return fail(f"There is no case {ref}.", USAGE_ERROR)
        if audited:
            actor = Person(user_id="thinkfirst-admin", name="ThinkFirst administrator (command line)", school_id="")
            kept = sum(1 for a in case.report.attachments if a.get("evidence_id"))
            case = services.cases.add_addendum(ref, actor, "exported", {"format": "zip", "evidence_files": kept})
        export = build_case_export(services.cases, services.evidence, case)
    finally:
        services.close()
    _write_private_bytes(options.out, export.data)
    print(f"Case {ref} written to {options.out} (readable by you only): summary, audit trail, {export.files} "
          f"evidence file{'' if export.files == 1 else 's'} and their SHA-256 hashes.", file=stdout)
    if not audited:
        print("ThinkFirst is running, so this export could not be recorded in the case's audit trail; note it in "
              "the school's own record.", file=stdout)
    for problem in export.problems:
        print(f"WARNING: {problem}", file=stdout)
    return OK if export.complete else CANNOT


# summary and policy review ------------------------------------------------------------------------------------


def _insight_for(settings: Settings, school_name: str | None) -> tuple[Any, str | None]:
    """The insight service over a read-only copy of the records, and the school asked for (None: the trust)."""

    services = _services(settings, read_only_store(settings.data_dir))
    if school_name is None:
        return services.insight, services.directory.default_school.id
    wanted = school_name.strip().lower()
    for school in services.directory.schools():
        if wanted in (school.name.lower(), school.id, school.code.lower()):
            return services.insight, school.id
    known = ", ".join(s.name for s in services.directory.schools())
    raise _NotFound(f"There is no school {school_name!r} (schools: {known}).")


def _insight_or_error(settings: Settings, school_name: str | None) -> tuple[Any, str | None] | int:
    """The insight service and school for summary and policy-review, or the exit code after saying what is wrong."""
    try:
        _need_records(settings)
        return _insight_for(settings, school_name)
    except _NotFound as error:
        return fail(str(error), USAGE_ERROR)


def _summary(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from cards.insight import summary_card
    from domain.insight.periods import PeriodError

    found = _insight_or_error(settings, options.school)
    if isinstance(found, int):
        return found
    insight, school_id = found
    try:
        period = insight.period(options.period)
    except PeriodError as error:
        return fail(str(error).replace("**", "").replace("Type summary", "Use python app.py summary"),
                     USAGE_ERROR)
    summary = insight.summary(period, None if options.trust else school_id)
    if options.card:
        _write_private(options.card, json.dumps(summary_card(summary), indent=2, ensure_ascii=False) + "\n")
        print(f"Card written to {options.card} (paste it into the Adaptive Cards Designer to see it).", file=stdout)
    text = insight.csv_text(summary)
    if options.card and not options.out:
        return OK
    return _emit(text, options.out, stdout, f"{period.label} summary for {summary.scope}: {summary.reports.text} "
                 f"reports; written to {options.out} (counts only, 1 to 4 shown as \"fewer than 5\").")


def _policy_review(options: argparse.Namespace, run: Invocation) -> int:
    settings, stdout = run.settings, run.stdout
    from cards.insight import policy_review_card

    found = _insight_or_error(settings, options.school)
    if isinstance(found, int):
        return found
    insight, school_id = found
    review = insight.policy_review(school_id)
    if options.card:
        _write_private(options.card, json.dumps(policy_review_card(review), indent=2, ensure_ascii=False) + "\n")
        print(f"Card written to {options.card}.", file=stdout)
        return OK
    print(f"Policy review for {review.scope}: {review.version_label}", file=stdout)
    print(f"  In use since: {review.version_began or 'not recorded'}", file=stdout)
    print(f"  {review.everyone_text}", file=stdout)
    for breakdown in (review.unanswered, review.clauses):
        total = breakdown.total.text if breakdown.total else "0"
        print(f"  {breakdown.title}: {total}", file=stdout)
        for row in breakdown.rows:
            print(f"    {row.label}: {row.text}", file=stdout)
    return OK
