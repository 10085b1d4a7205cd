"""The PostgreSQL tests never skip quietly in CI: .ci/run sets CI and starts a server, and without one they fail."""

from __future__ import annotations

import pytest

from tests.support.postgres import URL_VARIABLE, database_url


def test_without_a_server_they_skip_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="start-postgres"):
        database_url()


@pytest.mark.parametrize("url", ["", "postgresql://nobody@127.0.0.1:1/none"])
def test_without_a_server_they_fail_in_ci(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(URL_VARIABLE, url)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        database_url()
