"""The web app: health check and the shape of the endpoint."""

from __future__ import annotations

from tests.support.teams import TEACHER, BotHarness, personal_bot_added, personal_install, personal_message


async def test_healthz_reports_status_version_and_store(harness: BotHarness) -> None:
    assert harness.session is not None
    async with harness.session.get(f"http://127.0.0.1:{harness.port}/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body["status"] == "ok" and body["store"] == "reachable" and body["version"]
    assert body["mode"] == "local" and body["schema_version"] == 1
    # One process on the embedded store: it leads (sends and runs the jobs) by construction.
    assert body["database"] == "tinydb" and body["leading"] is True and body["leader"] == body["replica"]


async def test_get_on_the_messages_endpoint_is_not_allowed(harness: BotHarness) -> None:
    assert harness.session is not None
    async with harness.session.get(harness.url) as response:
        assert response.status == 405


async def test_personal_install_welcomes_once_for_the_two_events_teams_sends(harness: BotHarness) -> None:
    url = harness.connector.service_url
    await harness.post(personal_install(TEACHER, url))
    await harness.post(personal_bot_added(TEACHER, url))
    welcomes = [c for c in harness.cards() if "I'm ThinkFirst" in str(c)]
    assert len(welcomes) == 1


async def test_an_invoke_the_bot_does_not_offer_gets_a_4xx_not_a_5xx(harness: BotHarness) -> None:
    activity = personal_message(TEACHER, harness.connector.service_url)
    activity.update(type="invoke", name="task/fetch", value={"data": {}})
    status, body = await harness.post(activity)
    assert status == 400 and "does not handle" in str(body)
