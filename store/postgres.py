"""The PostgreSQL RecordStore, for a trust running several replicas against one managed database.

``DATABASE_URL=postgresql://...`` selects it (settings.py). Everything the bot keeps lives in three tables in one
schema (``public`` unless the URL's options say otherwise):

* ``thinkfirst_records(collection, key, doc json, etag, seq)``: one row per document. ``doc`` is ``json``, not
  ``jsonb``, on purpose: it keeps the document's text (and so its key order) exactly as written, which the embedded
  store does too and some cards rely on; queries go through expression indexes on ``doc::jsonb``. ``etag`` comes
  from one sequence, so every write everywhere gets a new one; ``seq`` keeps insertion order.
* ``thinkfirst_blobs(key, data bytea)``: evidence files, already encrypted (store/blobs.py) before they get here.
* ``thinkfirst_migrations(version, name, applied_at)``: which schema steps ran (``python app.py migrate``).

Synchronous on purpose: the domain is plain synchronous Python, and a store call is one short query over a pool
(psycopg 3's ``ConnectionPool``). docs/architecture.md has the measured cost per call on the event loop and why
that beat an async pool here.

Contract (store/base.py): compare-and-set writes are single ``UPDATE ... WHERE etag = ...`` / ``INSERT ... ON
CONFLICT DO NOTHING`` statements; ``next_sequence`` is one upsert; ``claim_due`` is ``SELECT ... FOR UPDATE SKIP
LOCKED`` and the updates in one transaction, fenced by the leader lock when the caller runs as leader.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from store.base import (
    SCHEMA_VERSION,
    UPDATE_TRIES,
    ConflictError,
    Document,
    LeaderLock,
    RecordStore,
    SchemaTooNewError,
    StoreError,
)
from store.blobs import BlobStore, check_blob_key
from store.indexes import DECLARED_INDEXES
from store.query import RANGES, AtLeast, AtMost, Before, Condition, OneOf, check_field

log = logging.getLogger(__name__)

# Advisory lock keys: (THINKFIRST, a hash of schema and purpose). Two int4 keys show in pg_locks as classid/objid.
THINKFIRST_LOCK_SPACE = 0x54_46_31  # "TF1"
MIGRATE_PURPOSE = "migrate"
STATEMENT_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_SECONDS = 10
# A leader whose host vanishes must lose its lock in well under 30 s: the server gives up on its connection after
# 10 s of unacknowledged data or 5 + 3 x 2 s of silence.
LEADER_TCP_SETTINGS = {"tcp_user_timeout": "10000", "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
                       "tcp_keepalives_count": "3"}
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached (or stopped answering)."""


def _dumps(doc: Any) -> str:
    """Compact strict JSON; PostgreSQL's JSON cannot hold U+0000, so it becomes U+FFFD (never meaningful text)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if "\\u0000" in text:
        text = _NUL_ESCAPE.sub(lambda m: m.group(1) + "\\ufffd", text)
    return text


def _lock_key(schema: str, purpose: str) -> int:
    """A stable non-negative int4 for (schema, purpose)."""
    return zlib.crc32(f"{schema}:{purpose}".encode()) & 0x7FFF_FFFF


def _index_name(collection: str, field: str) -> str:
    """A short, stable, valid index name for (collection, field)."""
    digest = hashlib.sha256(f"{collection}\0{field}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9]+", "_", f"{collection}_{field}".lower())[:40]
    return f"tf_{readable}_{digest}"


def _path_literal(field: str) -> str:
    """``'{a,b}'`` for ``a.b`` (field names are checked identifiers, so this is safe to inline)."""
    return "'{" + ",".join(check_field(field)) + "}'"


def _field_expr(field: str) -> str:
    """The SQL expression for a declared field; the same text is used in its index, so the planner matches it."""
    return f"((doc::jsonb) #> {_path_literal(field)})"


def _field_text(field: str) -> str:
    return f"(((doc::jsonb) #>> {_path_literal(field)}) COLLATE \"C\")"


MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "records, blobs and sequences", [
        "CREATE SEQUENCE IF NOT EXISTS {schema}.thinkfirst_etags",
        """CREATE TABLE IF NOT EXISTS {schema}.thinkfirst_records (
               collection text COLLATE "C" NOT NULL,
               key text COLLATE "C" NOT NULL,
               doc json NOT NULL,
               etag bigint NOT NULL,
               seq bigserial NOT NULL,
               PRIMARY KEY (collection, key))""",
        "CREATE INDEX IF NOT EXISTS thinkfirst_records_order ON {schema}.thinkfirst_records (collection, seq)",
        """CREATE TABLE IF NOT EXISTS {schema}.thinkfirst_blobs (
               key text COLLATE "C" PRIMARY KEY,
               data bytea NOT NULL,
               stored_at timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE IF NOT EXISTS {schema}.thinkfirst_meta (
               name text PRIMARY KEY,
               value json NOT NULL)""",
    ]),
]
PG_SCHEMA_VERSION = MIGRATIONS[-1][0]


class PostgresStore(RecordStore):
    """Collections as rows of one table, over a pool of short synchronous connections."""

    backend = "postgresql"

    def __init__(self, url: str, *, schema: str = "public", indexes: Mapping[str, tuple[str, ...]] | None = None,
                 min_size: int = 1, max_size: int = 10, migrate: bool = True, application_name: str = "thinkfirst",
                 pool_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
            raise ValueError(f"not a schema name: {schema!r}")
        self.url = url
        self.schema = schema
        self.indexes = DECLARED_INDEXES if indexes is None else indexes
        self._q = sql.Identifier(schema).as_string(None)
        self._records = f"{self._q}.thinkfirst_records"
        self._etags = f"{self._q}.thinkfirst_etags"
        self._leader: PostgresLeaderLock | None = None  # set while this process may run as leader (fences claims)
        self._forget: set[tuple[str, str]] = set()
        self._forget_lock = threading.Lock()
        self.pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, timeout=pool_timeout, name="thinkfirst",
            kwargs={"autocommit": True, "application_name": application_name[:63],
                    "connect_timeout": CONNECT_TIMEOUT_SECONDS, "keepalives": 1, "keepalives_idle": 30,
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
        try:
            self.pool.open(wait=True, timeout=pool_timeout)
        except PoolTimeout as error:
            self.pool.close()
            raise DatabaseUnavailableError(
                f"cannot reach the database at {redact(url)} within {pool_timeout:.0f} s; check DATABASE_URL and "
                "that the server lets this host in") from error
        try:
            if migrate:
                self.migrate()
        except BaseException:
            self.pool.close()
            raise

    # --- plumbing ---------------------------------------------------------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as error:
            raise DatabaseUnavailableError(f"no database connection free or reachable ({redact(self.url)})") from error
        except psycopg.OperationalError as error:
            raise DatabaseUnavailableError(f"the database stopped answering: {type(error).__name__}") from error

    def _one(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._conn() as conn:
            return conn.execute(query, params).fetchone()

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(query, params).fetchall()

    @staticmethod
    def _doc(doc: Any, etag: int) -> Document:
        found: Document = json.loads(doc) if isinstance(doc, str) else doc
        found["_etag"] = str(etag)
        return found

    @staticmethod
    def _text(collection: str, key: str, doc: Document) -> str:
        if not isinstance(key, str):
            raise TypeError(f"keys are strings, not {type(key).__name__}")
        if not isinstance(doc, Mapping):
            raise TypeError("a document is a dict")
        body = {k: v for k, v in doc.items() if k != "_etag"}
        try:
            return _dumps(body)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{collection}/{key} is not JSON-compatible: {error}") from error

    @staticmethod
    def _check_collection(collection: str) -> None:
        if not isinstance(collection, str) or not collection:
            raise ValueError("collection must be a non-empty string")

    # --- schema -----------------------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Create or bring up to date the tables and every declared index; safe to run on every start, from any
        number of replicas at once (they queue on an advisory lock)."""
        done: list[str] = []
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                         (THINKFIRST_LOCK_SPACE, _lock_key(self.schema, MIGRATE_PURPOSE)))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._q}")
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._q}.thinkfirst_migrations (
                                 version int PRIMARY KEY, name text NOT NULL,
                                 applied_at timestamptz NOT NULL DEFAULT now())""")
            applied = {row[0] for row in conn.execute(f"SELECT version FROM {self._q}.thinkfirst_migrations")}
            for version, name, steps in MIGRATIONS:
                if version in applied:
                    continue
                for step in steps:
                    conn.execute(step.format(schema=self._q))
                conn.execute(f"INSERT INTO {self._q}.thinkfirst_migrations (version, name) VALUES (%s, %s)",
                             (version, name))
                done.append(f"schema step {version}: {name}")
            existing = {row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'thinkfirst_records'",
                (self.schema,))}
            for collection, fields in sorted(self.indexes.items()):
                for field in fields:
                    name = _index_name(collection, field)
                    if name in existing:
                        continue
                    # One partial index per declared field: small, and only that collection's writes maintain it.
                    conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {self._records} ({_field_expr(field)}, seq) "
                                 f"WHERE collection = {sql.Literal(collection).as_string(None)}")
                    done.append(f"index {collection}.{field}")
            conn.execute(f"""INSERT INTO {self._q}.thinkfirst_meta (name, value) VALUES ('schema_version', %s)
                             ON CONFLICT (name) DO NOTHING""", (json.dumps(SCHEMA_VERSION),))
        self._check_schema()
        return done

    def _check_schema(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"the database holds schema version {version}, but this ThinkFirst understands only up to "
                f"{SCHEMA_VERSION}; upgrade ThinkFirst on every replica")

    def schema_version(self) -> int:
        """The data's schema version recorded in the database."""
        row = self._one(f"SELECT value FROM {self._q}.thinkfirst_meta WHERE name = 'schema_version'")
        if row is None:
            return SCHEMA_VERSION
        value = row[0]
        return int(json.loads(value) if isinstance(value, str) else value)

    def migrations(self) -> list[tuple[int, str]]:
        """The schema steps applied, oldest first."""
        return [(int(v), str(n)) for v, n in self._rows(
            f"SELECT version, name FROM {self._q}.thinkfirst_migrations ORDER BY version")]

    # --- RecordStore ------------------------------------------------------------------------------------------

    def get(self, collection: str, key: str) -> Document | None:
        """Return a copy of the document, or None."""
        self._check_collection(collection)
        row = self._one(f"SELECT doc, etag FROM {self._records} WHERE collection = %s AND key = %s",
                        (collection, key))
        return self._doc(row[0], row[1]) if row else None

    def put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        """Write the document (see RecordStore.put); with ``if_match`` one compare-and-set UPDATE."""
        self._check_collection(collection)
        text = self._text(collection, key, doc)
        if if_match is not None and if_match != "*":
            if not str(if_match).isdigit():
                raise ConflictError(f"{collection}/{key} changed since it was read")
            row = self._one(f"UPDATE {self._records} SET doc = %s::json, etag = nextval('{self._etags}') "
                            "WHERE collection = %s AND key = %s AND etag = %s RETURNING etag",
                            (text, collection, key, int(if_match)))
            if row is None:
                raise ConflictError(f"{collection}/{key} changed since it was read")
        else:
            row = self._one(f"INSERT INTO {self._records} (collection, key, doc, etag) "
                            f"VALUES (%s, %s, %s::json, nextval('{self._etags}')) ON CONFLICT (collection, key) "
                            "DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag RETURNING etag",
                            (collection, key, text))
        assert row is not None
        self._after_write(collection, key)
        return self._doc(text, row[0])

    def insert_new(self, collection: str, key: str, doc: Document) -> Document:
        """Write the document only if the key is free: one INSERT ... ON CONFLICT DO NOTHING."""
        self._check_collection(collection)
        text = self._text(collection, key, doc)
        row = self._one(f"INSERT INTO {self._records} (collection, key, doc, etag) "
                        f"VALUES (%s, %s, %s::json, nextval('{self._etags}')) ON CONFLICT (collection, key) "
                        "DO NOTHING RETURNING etag", (collection, key, text))
        if row is None:
            raise ConflictError(f"{collection}/{key} already exists")
        return self._doc(text, row[0])

    def delete(self, collection: str, key: str) -> bool:
        """Remove the document; True if there was one."""
        self._check_collection(collection)
        row = self._one(f"DELETE FROM {self._records} WHERE collection = %s AND key = %s RETURNING 1",
                        (collection, key))
        if row is not None:
            self._after_write(collection, key)
        return row is not None

    def all(self, collection: str) -> list[Document]:
        """Copies of every document in the collection, in insertion order."""
        return [doc for _, doc in self.items(collection)]

    def items(self, collection: str) -> list[tuple[str, Document]]:
        """(key, copy) for every document, in insertion order."""
        self._check_collection(collection)
        return [(key, self._doc(doc, etag)) for key, doc, etag in self._rows(
            f"SELECT key, doc, etag FROM {self._records} WHERE collection = %s ORDER BY seq", (collection,))]

    def keys(self, collection: str) -> list[str]:
        """Every key in the collection, in insertion order."""
        self._check_collection(collection)
        return [row[0] for row in self._rows(
            f"SELECT key FROM {self._records} WHERE collection = %s ORDER BY seq", (collection,))]

    def collections(self) -> list[str]:
        """The collections that hold documents."""
        return [row[0] for row in self._rows(f"SELECT DISTINCT collection FROM {self._records} ORDER BY 1")]

    def counts(self) -> dict[str, int]:
        """Documents per collection, in one query."""
        return {c: int(n) for c, n in self._rows(
            f"SELECT collection, count(*) FROM {self._records} GROUP BY collection ORDER BY 1")}

    def _where(self, conditions: Mapping[str, Condition], key_prefix: str | None) -> tuple[str, list[Any]]:
        """SQL for the conditions (each on a declared, indexed field) and their parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for field, condition in conditions.items():
            expr = _field_expr(field)
            if isinstance(condition, OneOf):
                values = [v for v in condition.values if v is not None]
                parts = []
                if values:
                    parts.append(f"{expr} = ANY(%s::jsonb[])")
                    params.append([_dumps(v) for v in values])
                if len(values) != len(condition.values):
                    parts.append(f"({expr} IS NULL OR {expr} = 'null'::jsonb)")
                clauses.append("(" + (" OR ".join(parts) or "FALSE") + ")")
            elif isinstance(condition, RANGES):
                op = {AtMost: "<=", Before: "<", AtLeast: ">="}[type(condition)]
                clauses.append(f"(jsonb_typeof({expr}) = 'string' AND {_field_text(field)} {op} %s)")
                params.append(condition.value)
            elif condition is None:
                clauses.append(f"({expr} IS NULL OR {expr} = 'null'::jsonb)")
            else:
                clauses.append(f"{expr} = %s::jsonb")
                params.append(_dumps(condition))
        if key_prefix is not None:
            escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("key LIKE %s")
            params.append(escaped + "%")
        return "".join(f" AND {c}" for c in clauses), params

    @staticmethod
    def _order(order_by: Sequence[str]) -> str:
        """Numbers by value, then strings by code point, missing last; ties in insertion order (as query.py)."""
        parts: list[str] = []
        for field in order_by:
            expr = _field_expr(field)
            parts.append(f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN 0 WHEN jsonb_typeof({expr}) = 'string' "
                         f"THEN 1 WHEN {expr} IS NULL OR {expr} = 'null'::jsonb THEN 3 ELSE 2 END)")
            parts.append(f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({expr} #>> '{{}}')::numeric END)")
            parts.append(f"(CASE WHEN jsonb_typeof({expr}) = 'string' THEN {_field_text(field)} END)")
        parts.append("seq")
        return " ORDER BY " + ", ".join(parts)

    def count_by(self, collection: str, field: str, *, key_prefix: str | None = None,
                 **conditions: Condition) -> dict[Any, int]:
        """One GROUP BY on the field's index expression."""
        self._check_collection(collection)
        self._conditions(collection, None, conditions, (field,))
        where, params = self._where(conditions, key_prefix)
        rows = self._rows(f"SELECT {_field_expr(field)}, count(*) FROM {self._records} WHERE collection = %s{where} "
                          "GROUP BY 1", [collection, *params])
        counts: dict[Any, int] = {}
        for value, number in rows:
            counts[value] = counts.get(value, 0) + int(number)  # JSON null and a missing field both read as None
        return counts

    def _find_items(self, collection: str, conditions: Mapping[str, Condition], key_prefix: str | None,
                    order_by: Sequence[str], limit: int | None) -> list[tuple[str, Document]]:
        self._check_collection(collection)
        where, params = self._where(conditions, key_prefix)
        query = (f"SELECT key, doc, etag FROM {self._records} WHERE collection = %s{where}{self._order(order_by)}"
                 + (" LIMIT %s" if limit is not None else ""))
        args: list[Any] = [collection, *params] + ([max(0, limit)] if limit is not None else [])
        return [(key, self._doc(doc, etag)) for key, doc, etag in self._rows(query, args)]

    def update(self, collection: str, key: str,
               change: Callable[[Document | None], Document | None]) -> Document | None:
        """Read with ``FOR UPDATE``, change and write in one transaction, so concurrent updates of one document
        queue rather than fail; a document made by someone else between our look and our insert is read again and
        the change re-run (the contract's retry)."""
        self._check_collection(collection)
        for _ in range(UPDATE_TRIES):
            with self._conn() as conn, conn.transaction():
                row = conn.execute(f"SELECT doc, etag FROM {self._records} "
                                   "WHERE collection = %s AND key = %s FOR UPDATE", (collection, key)).fetchone()
                if row is not None:
                    current = self._doc(row[0], row[1])
                    new = change(current)
                    if new is None:
                        return current
                    text = self._text(collection, key, new)
                    written = conn.execute(
                        f"UPDATE {self._records} SET doc = %s::json, etag = nextval('{self._etags}') "
                        "WHERE collection = %s AND key = %s RETURNING etag", (text, collection, key)).fetchone()
                    assert written is not None  # locked above
                    result = self._doc(text, written[0])
                    break
            new = change(None)
            if new is None:
                return None
            try:
                return self.insert_new(collection, key, new)
            except ConflictError:
                continue  # made meanwhile: lock it and run the change on it
        else:
            raise ConflictError(f"{collection}/{key} kept changing; gave up after {UPDATE_TRIES} tries")
        self._after_write(collection, key)
        return result

    def claim_due(self, collection: str, change: Callable[[Document], Document | None], *, limit: int = 1,
                  keys: Iterable[str] | None = None, order_by: Sequence[str] = (),
                  where: Mapping[str, Condition] | None = None, **fields: Condition) -> list[Document]:
        """``SELECT ... FOR UPDATE SKIP LOCKED`` then the changes, in one transaction; a replica that is not the
        leader (when a leader lock is in use) claims nothing."""
        conditions = self._conditions(collection, where, fields, order_by)
        clause, params = self._where(conditions, None)
        named = ""
        if keys is not None:
            named = " AND key = ANY(%s)"
            params.append(list(dict.fromkeys(keys)))
        fence = ""
        if self._leader is not None:
            pid = self._leader.fence_pid()
            if pid is None:
                return []
            # The fence: the claim only happens while the leader's own connection still holds the lock, so a
            # replica that lost it (its connection dropped) cannot send alongside the new leader.
            fence = (" AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s "
                     "AND classid = %s AND objid = %s AND objsubid = 2)")
            params += [pid, self._leader.key1, self._leader.key2]
        query = (f"SELECT key, doc, etag FROM {self._records} WHERE collection = %s{clause}{named}{fence}"
                 f"{self._order(order_by)} LIMIT %s FOR UPDATE SKIP LOCKED")
        claimed: list[Document] = []
        with self._conn() as conn, conn.transaction():
            rows = conn.execute(query, [collection, *params, max(0, limit)]).fetchall()
            for key, doc, etag in rows:
                new = change(self._doc(doc, etag))
                if new is None:
                    continue
                text = self._text(collection, key, new)
                row = conn.execute(f"UPDATE {self._records} SET doc = %s::json, etag = nextval('{self._etags}') "
                                   "WHERE collection = %s AND key = %s RETURNING etag",
                                   (text, collection, key)).fetchone()
                assert row is not None  # the row is locked by this transaction
                claimed.append(self._doc(text, row[0]))
        return claimed

    def put_many(self, collection: str, docs: Iterable[tuple[str, Document]]) -> None:
        """Write several documents in one transaction: all of them or none."""
        self._check_collection(collection)
        rows = [(collection, key, self._text(collection, key, doc)) for key, doc in docs]
        if not rows:
            return
        with self._conn() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {self._records} (collection, key, doc, etag) "
                               f"VALUES (%s, %s, %s::json, nextval('{self._etags}')) ON CONFLICT (collection, key) "
                               "DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag", rows)

    def next_sequence(self, name: str) -> int:
        """One upsert: the row lock makes concurrent callers queue, so no number is handed out twice."""
        row = self._one(
            f"INSERT INTO {self._records} AS r (collection, key, doc, etag) "
            f"VALUES ('_sequences', %s, '{{\"value\":1}}'::json, nextval('{self._etags}')) "
            "ON CONFLICT (collection, key) DO UPDATE SET "
            "doc = json_build_object('value', ((r.doc::jsonb) ->> 'value')::bigint + 1), etag = EXCLUDED.etag "
            "RETURNING ((doc::jsonb) ->> 'value')::bigint", (name,))
        assert row is not None
        return int(row[0])

    def healthy(self) -> bool:
        """True if the database answers a write and a read."""
        try:
            return self._one("SELECT 1") is not None and super().healthy()
        except Exception:  # noqa: BLE001 - health checks report, they never raise
            return False

    def forget_earlier_versions(self, collection: str, key: str) -> None:
        """After the next write of this document, VACUUM the table so the old row version's space is reclaimed.

        PostgreSQL cannot promise more: the old version may survive in the write-ahead log until it is recycled and
        in base backups (docs/architecture.md says what a trust should do about that).
        """
        with self._forget_lock:
            self._forget.add((collection, key))

    def _after_write(self, collection: str, key: str) -> None:
        if not self._forget:
            return
        with self._forget_lock:
            if (collection, key) not in self._forget:
                return
            self._forget.discard((collection, key))
        try:
            with self._conn() as conn:
                conn.execute(f"VACUUM {self._records}")
        except (psycopg.Error, StoreError) as error:
            log.warning("could not VACUUM after a document that must not be kept was replaced: %s",
                        type(error).__name__)

    def leader_lock(self, name: str, replica: str = "") -> PostgresLeaderLock:
        """The advisory lock that chooses the leader; while one exists, claims are fenced by it."""
        lock = PostgresLeaderLock(self, name, replica)
        self._leader = lock
        return lock

    def blobs(self) -> PostgresBlobStore:
        """The evidence table, over the same pool."""
        return PostgresBlobStore(self)

    @contextmanager
    def snapshot(self) -> Iterator[PostgresSnapshot]:
        """A consistent read of everything (one REPEATABLE READ, READ ONLY transaction), for backups: safe while
        every replica keeps writing."""
        with self._conn() as conn:
            conn.autocommit = False
            try:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield PostgresSnapshot(self, conn)
            finally:
                conn.rollback()
                conn.autocommit = True

    def load(self, collections: Iterable[tuple[str, Iterable[tuple[str, Document]]]],
             blobs: Iterable[tuple[str, bytes]] = (), *, replace: bool = False) -> None:
        """Write whole collections and blobs in one transaction (copy-store, restore): all of them or none.

        Refuses (StoreError) if the database already holds records, unless ``replace`` (the caller keeps a copy of
        what was there first)."""
        with self._conn() as conn, conn.transaction(), conn.cursor() as cursor:
            # Nobody else may write while the records are swapped: a second copy-store or restore waits here.
            cursor.execute(f"LOCK TABLE {self._records}, {self._q}.thinkfirst_blobs "
                           "IN SHARE ROW EXCLUSIVE MODE")
            if replace:
                cursor.execute(f"DELETE FROM {self._records}")
                cursor.execute(f"DELETE FROM {self._q}.thinkfirst_blobs")
            else:
                held = cursor.execute(f"SELECT count(*) FROM {self._records} "
                                      "WHERE collection <> '_health'").fetchone()
                if held and held[0]:
                    raise StoreError(f"the database already holds {held[0]} records; refusing to mix two stores")
            for collection, items in collections:
                self._check_collection(collection)
                rows = [(collection, key, self._text(collection, key, doc)) for key, doc in items]
                cursor.executemany(f"INSERT INTO {self._records} (collection, key, doc, etag) "
                                   f"VALUES (%s, %s, %s::json, nextval('{self._etags}')) ON CONFLICT "
                                   "(collection, key) DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag", rows)
            for key, data in blobs:
                cursor.execute(f"INSERT INTO {self._q}.thinkfirst_blobs (key, data) VALUES (%s, %s) "
                               "ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data", (check_blob_key(key), data))

    def drop_everything(self) -> None:
        """Remove this schema's ThinkFirst tables (tests, and a restore that replaces a database)."""
        with self._conn() as conn, conn.transaction():
            for table in ("thinkfirst_records", "thinkfirst_blobs", "thinkfirst_meta", "thinkfirst_migrations"):
                conn.execute(f"DROP TABLE IF EXISTS {self._q}.{table}")
            conn.execute(f"DROP SEQUENCE IF EXISTS {self._etags}")

    def close(self) -> None:
        """Close the pool (and the leader's connection, if any)."""
        if self._leader is not None:
            self._leader.close()
        self.pool.close()


class PostgresSnapshot:
    """What one consistent transaction sees: records by collection and the (still encrypted) evidence."""

    def __init__(self, store: PostgresStore, conn: psycopg.Connection[Any]) -> None:
        self.store = store
        self.conn = conn

    def schema_version(self) -> int:
        """The data's schema version."""
        row = self.conn.execute(f"SELECT value FROM {self.store._q}.thinkfirst_meta "
                                "WHERE name = 'schema_version'").fetchone()
        if row is None:
            return SCHEMA_VERSION
        return int(json.loads(row[0]) if isinstance(row[0], str) else row[0])

    def collections(self) -> list[str]:
        """The collections holding documents."""
        return [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT collection FROM {self.store._records} ORDER BY 1").fetchall()]

    def items(self, collection: str) -> list[tuple[str, Document]]:
        """(key, document) in insertion order."""
        return [(key, self.store._doc(doc, etag)) for key, doc, etag in self.conn.execute(
            f"SELECT key, doc, etag FROM {self.store._records} WHERE collection = %s "
            "ORDER BY seq", (collection,)).fetchall()]

    def blob_keys(self) -> list[str]:
        """Every evidence key, sorted."""
        return [r[0] for r in self.conn.execute(
            f"SELECT key FROM {self.store._q}.thinkfirst_blobs ORDER BY key").fetchall()]

    def blob(self, key: str) -> bytes | None:
        """One evidence file's stored (encrypted) bytes."""
        row = self.conn.execute(f"SELECT data FROM {self.store._q}.thinkfirst_blobs "
                                "WHERE key = %s", (key,)).fetchone()
        return bytes(row[0]) if row else None


class PostgresLeaderLock(LeaderLock):
    """``pg_try_advisory_lock`` on a dedicated connection: held while that connection lives.

    If the leader's process dies, the server drops its connection and the lock with it at once; if its host
    vanishes, the TCP settings above make the server notice within about 15 s. Followers try again every few
    seconds, so another replica leads within 30 s. Followers ``signal`` the leader (NOTIFY) when they queue work.
    Used from one thread at a time (the leadership loop runs each call in a worker thread, one after another).
    """

    def __init__(self, store: PostgresStore, name: str, replica: str) -> None:
        super().__init__(replica)
        self.store = store
        self.key1 = THINKFIRST_LOCK_SPACE
        self.key2 = _lock_key(store.schema, f"leader:{name}")
        self.channel = f"thinkfirst_{self.key2:x}"
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._pid: int | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = psycopg.connect(self.store.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                               application_name=f"thinkfirst-leader:{self.replica}"[:63], keepalives=1,
                               keepalives_idle=5, keepalives_interval=2, keepalives_count=3, tcp_user_timeout=10000)
        for setting, value in LEADER_TCP_SETTINGS.items():
            conn.execute(sql.SQL("SELECT set_config({}, {}, false)").format(sql.Literal(setting), sql.Literal(value)))
        self._conn = conn
        return conn

    def _drop(self) -> None:
        self._held = False
        self._pid = None
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free (and start listening for followers' signals)."""
        try:
            conn = self._connect()
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s), pg_backend_pid()",
                               (self.key1, self.key2)).fetchone()
            if row is None or not row[0]:
                return False
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self._held, self._pid = True, int(row[1])
            return True
        except psycopg.Error as error:
            log.warning("leader lock: could not ask the database (%s)", type(error).__name__)
            self._drop()
            return False

    def still_held(self) -> bool:
        """The connection answers and the lock is granted to it."""
        if not self._held or self._conn is None:
            return False
        try:
            row = self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "pid = pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 2)",
                (self.key1, self.key2)).fetchone()
        except psycopg.Error as error:
            log.warning("leader lock: lost the database connection (%s)", type(error).__name__)
            self._drop()
            return False
        if not (row and row[0]):
            self._drop()
            return False
        return True

    def fence_pid(self) -> int | None:
        """The backend pid holding the lock for this process, or None when not leading."""
        return self._pid if self._held else None

    def wait_for_signal(self, timeout: float) -> bool:
        """Wait for a follower's NOTIFY (leader side); True if one came."""
        if not self._held or self._conn is None:
            return False
        try:
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error:
            self._drop()
            return False

    def signal(self) -> None:
        """NOTIFY the leader that work was queued."""
        with self.store._conn() as conn:
            conn.execute("SELECT pg_notify(%s, '')", (self.channel,))

    def holder(self) -> str | None:
        """The leading replica's name (from its connection's application_name), or None."""
        row = self.store._one(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2",
            (self.key1, self.key2))
        if row is None:
            return None
        name = str(row[0] or "")
        return name.split(":", 1)[1] if ":" in name else name

    def release(self) -> None:
        """Give the lock up at once (then close its connection, which would release it too, a moment later)."""
        if self._held and self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self.key1, self.key2))
            except psycopg.Error:
                pass  # the connection is gone, and the lock with it
        self._drop()

    def close(self) -> None:
        """Release the lock and stop fencing claims with it."""
        self._drop()
        if self.store._leader is self:
            self.store._leader = None


class PostgresBlobStore(BlobStore):
    """Evidence bytes (already encrypted by EncryptedBlobStore) in the ``thinkfirst_blobs`` table."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._table = f"{store._q}.thinkfirst_blobs"

    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) the blob; durable when the statement returns."""
        self.store._one(f"INSERT INTO {self._table} (key, data) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                        "SET data = EXCLUDED.data, stored_at = now() RETURNING 1", (check_blob_key(key), bytes(data)))

    def get(self, key: str) -> bytes | None:
        """The blob's bytes, or None."""
        row = self.store._one(f"SELECT data FROM {self._table} WHERE key = %s", (check_blob_key(key),))
        return bytes(row[0]) if row else None

    def delete(self, key: str) -> bool:
        """Remove the blob; True if there was one."""
        return self.store._one(f"DELETE FROM {self._table} WHERE key = %s RETURNING 1",
                               (check_blob_key(key),)) is not None

    def keys(self) -> list[str]:
        """Every key held, sorted."""
        return [row[0] for row in self.store._rows(f"SELECT key FROM {self._table} ORDER BY key")]


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def is_postgres_url(url: str) -> bool:
    """True for a postgresql:// (or postgres://) URL."""
    return url.startswith(("postgresql://", "postgres://"))
