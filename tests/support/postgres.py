"""A PostgreSQL for the tests: the server .ci/run starts (TEST_DATABASE_URL), one fresh schema per test.

Locally, without TEST_DATABASE_URL or with no server answering, the PostgreSQL tests skip with a message saying how
to start one (``.ci/start-postgres``); under CI (CI set) they fail instead, because there they must run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from store.postgres import PostgresStore

URL_VARIABLE = "TEST_DATABASE_URL"


def database_url() -> str:
    """The test server's URL, or skip (fail under CI) when there is none or it does not answer."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    problem = ""
    if not url:
        problem = f"{URL_VARIABLE} is not set"
    else:
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # noqa: BLE001 - any failure to connect means "no server here"
            problem = f"no PostgreSQL answers at {URL_VARIABLE} ({type(error).__name__})"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI is set, so the PostgreSQL tests must run (.ci/run starts a server)")
        pytest.skip(f"{problem}: start one with `.ci/start-postgres` and export {URL_VARIABLE}=<the URL it prints>")
    return url


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"t_{secrets.token_hex(6)}"


def drop_schema(url: str, schema: str) -> None:
    """Remove a test's schema and everything in it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def schema_url(url: str, schema: str) -> str:
    """The URL with the schema as the connection's search path (how a replica process is pointed at it)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@contextmanager
def postgres_store(**kwargs: object) -> Iterator[PostgresStore]:
    """A PostgresStore in a fresh schema, dropped afterwards."""
    from store.postgres import PostgresStore

    url = database_url()
    schema = new_schema()
    store = PostgresStore(url, schema=schema, **kwargs)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()
        drop_schema(url, schema)
