"""The database commands: ``migrate`` (schema steps, safe on every start), ``copy-store`` (a school's embedded store
into a trust's PostgreSQL), and backup and restore when ``DATABASE_URL`` names PostgreSQL.

Exit codes as cli/admin.py: 0 done, 1 could not be done now (the message says why), 2 usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from cli.base import USAGE_ERROR, Invocation, Subcommands, add_command, fail
from domain.shared.wording import count
from settings import Settings
from store.base import StoreError

OK, CANNOT = 0, 1


def register(commands: Subcommands) -> None:
    """Add the database commands: migrate and copy-store."""
    add_command(commands, "migrate", _migrate, "bring the store's schema up to date (safe on every start)",
                "Create or bring up to date the tables and indexes in the PostgreSQL that DATABASE_URL names "
                "(under a lock, so it is safe to run on every start, from every replica). With no DATABASE_URL it "
                "only reports the embedded store's schema version.")
    copy = add_command(commands, "copy-store", _copy_store,
                       "move DATA_DIR's records and evidence into PostgreSQL (stop the bot first)",
                       "Copy a school's embedded store (DATA_DIR) into an empty PostgreSQL schema in one "
                       "transaction, then check every count and every document. The embedded store is left "
                       "unchanged. Stop the bot first.",
                       "Example:\n  python app.py copy-store --to postgresql://thinkfirst@db.example.org:5432/"
                       "thinkfirst")
    copy.add_argument("--to", required=True, metavar="postgresql://...", help="the PostgreSQL to copy into")
    copy.add_argument("--schema", metavar="NAME",
                      help="the schema to copy into (default: DATABASE_SCHEMA, or public)")


def _migrate(options: argparse.Namespace, run: Invocation) -> int:
    try:
        return migrate(run.settings, run.stdout)
    except StoreError as error:
        return fail(f"ThinkFirst: {error}", CANNOT)


def _copy_store(options: argparse.Namespace, run: Invocation) -> int:
    try:
        return copy_store(run.settings, options.to, options.schema or run.settings.database_schema, run.stdout)
    except StoreError as error:
        return fail(f"ThinkFirst: {error}", CANNOT)


def migrate(settings: Settings, stdout: TextIO) -> int:
    """Create or bring up to date the database's tables and indexes (PostgreSQL), or check the embedded store."""
    if not settings.database_url:
        from store.tiny import StoreLockedError, TinyStore

        try:
            embedded = TinyStore(settings.data_dir)
        except StoreLockedError:
            return fail(f"ThinkFirst is running on DATA_DIR {settings.data_dir}; it checked the schema when it "
                         "started, so there is nothing to do.", OK)
        try:
            print(f"The embedded store in {settings.data_dir} is at schema version {embedded.schema_version()}; "
                  "nothing to migrate.", file=stdout)
        finally:
            embedded.close()
        return OK
    from store.postgres import PostgresStore, redact

    store = PostgresStore(settings.database_url, schema=settings.database_schema, migrate=False,
                          application_name="thinkfirst-migrate")
    try:
        done = store.migrate()
        steps = store.migrations()
    finally:
        store.close()
    where = f"{redact(settings.database_url)} (schema {settings.database_schema})"
    if done:
        print(f"Brought {where} up to date:", file=stdout)
        for line in done:
            print(f"  {line}", file=stdout)
    else:
        print(f"{where} is up to date.", file=stdout)
    print(f"Schema steps applied: {', '.join(str(v) for v, _ in steps)}.", file=stdout)
    return OK


def copy_store(settings: Settings, url: str, schema: str, stdout: TextIO) -> int:
    """Copy DATA_DIR's records and evidence into the PostgreSQL at ``url`` and check the counts."""
    from store.blobs import key_id
    from store.copy import copy_store as copy
    from store.copy import embedded_evidence
    from store.postgres import PostgresStore, is_postgres_url, redact
    from store.tiny import JOURNAL_NAME, SNAPSHOT_NAME, StoreLockedError, TinyStore

    if not is_postgres_url(url):
        return fail("copy-store --to needs a PostgreSQL URL (postgresql://user:password@host:5432/db).", USAGE_ERROR)
    if not ((settings.data_dir / SNAPSHOT_NAME).exists() or (settings.data_dir / JOURNAL_NAME).exists()):
        return fail(f"DATA_DIR {settings.data_dir} holds no ThinkFirst records to copy.", USAGE_ERROR)
    try:
        source = TinyStore(settings.data_dir)
    except StoreLockedError:
        return fail(f"ThinkFirst is running on DATA_DIR {settings.data_dir}: stop it before copying, so nothing "
                     "changes half-way.", CANNOT)
    try:
        target = PostgresStore(url, schema=schema, application_name="thinkfirst-copy-store")
        try:
            report = copy(source, embedded_evidence(settings.data_dir), target, target.blobs())
        except StoreError as error:
            return fail(f"ThinkFirst: nothing was copied: {error}.", CANNOT)
        finally:
            target.close()
    finally:
        source.close()
    print(f"Copied {count(sum(report.counts.values()), 'record')} in {count(len(report.counts), 'collection')} and "
          f"{count(report.evidence, 'evidence file')} from {settings.data_dir} into {redact(url)} (schema {schema}).",
          file=stdout)
    for name in sorted(report.counts):
        mark = "ok" if report.counts[name] == report.copied_counts.get(name) else "DIFFERENT"
        print(f"  {name:<24} {report.counts[name]:>8} -> {report.copied_counts.get(name, 0):>8}  {mark}", file=stdout)
    print(f"  {'evidence files':<24} {report.evidence:>8} -> {report.copied_evidence:>8}  "
          f"{'ok' if report.evidence == report.copied_evidence else 'DIFFERENT'}", file=stdout)
    if not report.ok:
        shown = ", ".join(report.different[:5])
        return fail(f"The copy does not match{': ' + shown if shown else ''}. The embedded store is unchanged; "
                     "empty the database and try again.", CANNOT)
    print("Every count matches and every document reads back the same. The embedded store is unchanged.",
          file=stdout)
    if report.evidence:
        print(_evidence_key_advice(settings, key_id), file=stdout)
    print("Next: set DATABASE_URL (and EVIDENCE_KEY) on every replica and start them; keep DATA_DIR until the trust "
          "has checked the copy.", file=stdout)
    return OK


def _evidence_key_advice(settings: Settings, key_id: Any) -> str:
    """The evidence stays encrypted with the school's key: every replica needs that key as EVIDENCE_KEY."""
    from store.blobs import EvidenceKey, EvidenceKeyError

    try:
        key = EvidenceKey(settings.data_dir, settings.evidence_key).get(create=False)
    except EvidenceKeyError:
        return ("WARNING: no evidence key was found (EVIDENCE_KEY or evidence.key in DATA_DIR): the evidence files "
                "cannot be opened until the key they were made with is set as EVIDENCE_KEY on every replica.")
    where = "EVIDENCE_KEY" if settings.evidence_key else f"{settings.data_dir / 'evidence.key'}"
    return (f"The evidence files are still encrypted with the key in {where} (key id {key_id(key)}): set that "
            "same key as EVIDENCE_KEY on every replica.")


def backup_database(out: Path, settings: Settings, stdout: TextIO) -> int:
    """``backup`` when DATABASE_URL is PostgreSQL: one consistent logical export, safe while the replicas run."""
    from domain.shared.clock import Clock
    from store.backup import backup_database as backup
    from store.backup import backup_target
    from store.postgres import PostgresStore

    store = PostgresStore(settings.database_url, schema=settings.database_schema,
                          application_name="thinkfirst-backup")
    target = backup_target(out, Clock(settings.timezone))
    try:
        manifest = backup(store, target, Clock(settings.timezone))
    except OSError as error:
        return fail(f"ThinkFirst: could not write the backup to {target}: {error.strerror or error}.", CANNOT)
    finally:
        store.close()
    total = sum(manifest["counts"].values())
    print(f"Backup of the database written to {target} (readable by you only): {count(total, 'record')}, "
          f"{count(len(manifest['evidence']), 'evidence file')} (still encrypted), sha256 {manifest['sha256'][:12]}. "
          "It restores into PostgreSQL or into an embedded store. The database's own pg_dump backs up the same "
          "tables (README: Running for a trust).", file=stdout)
    return OK


def restore_database(backup_file: Path, force: bool, settings: Settings, stdout: TextIO) -> int:
    """``restore`` when DATABASE_URL is PostgreSQL: one transaction; what was there is backed up first."""
    from store.backup import BackupError
    from store.backup import restore_database as restore
    from store.postgres import PostgresStore

    store = PostgresStore(settings.database_url, schema=settings.database_schema,
                          application_name="thinkfirst-restore")
    try:
        try:
            manifest = restore(backup_file, store, settings.data_dir, force=force)
        except BackupError as error:
            if "not empty" in str(error):
                return fail("The database already holds records: add --force to replace them (a backup of them is "
                             f"written to {settings.data_dir} first).", USAGE_ERROR)
            return fail(f"ThinkFirst: {error}", CANNOT)
    finally:
        store.close()
    total = sum(manifest["counts"].values())
    print(f"Restored {count(total, 'record')} and {count(manifest['evidence_restored'], 'evidence file')} into the "
          "database.", file=stdout)
    if manifest.get("replaced_backup"):
        print(f"What was there before is kept in {manifest['replaced_backup']}.", file=stdout)
    print("Restart every replica so none keeps working from what it read before.", file=stdout)
    return OK
