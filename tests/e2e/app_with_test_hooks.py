"""`python app.py` as the end-to-end tests run it: the production app with one test-only command added from here.

`test reminders` (ThinkFirst admins only) queues the campaign reminders as at the moment the last one falls due, so
the Playground test can see a reminder card without waiting school days. Run it from the project folder as
`python -m tests.e2e.app_with_test_hooks`, with the same settings as `python app.py`. Production code holds no test
hook and no setting for one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from bot.commands import CommandContext, Reply
from bot.web import BOT_KEY, SERVICES_KEY, create_app
from cli.main import configure_logging
from cli.serve import serve
from domain.campaigns.model import MEMBERS as CAMPAIGN_MEMBERS
from settings import Settings, SettingsError
from wiring.services import Services

log = logging.getLogger("thinkfirst.e2e")


class ReminderHook:
    """The `test` command the end-to-end tests type in a channel."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """test reminders: queue the campaign reminders as at the moment the last one falls due (admins only)."""
        if not self.services.directory.is_admin(context.user_id, context.aad_object_id):
            return ["Sorry, only a ThinkFirst admin can use the test hooks."]
        if [a.lower() for a in args] != ["reminders"]:
            return ["Test hooks: **test reminders**."]
        campaigns = self.services.campaigns
        members = self.services.store.find(CAMPAIGN_MEMBERS, lambda d: True)
        when = max((campaigns.reminder_due_at(m) for m in members), default=self.services.clock.now())
        queued = campaigns.send_reminders(when)
        log.warning("test hook: queued %d campaign reminders as at %s", queued, when.isoformat())
        return [f"Test hook: queued {queued} reminder{'s' if queued != 1 else ''}."]


def main() -> int:
    """Serve the app with the test hooks, as `python app.py` serves it without them."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"ThinkFirst cannot start: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    app = create_app(settings)
    app[BOT_KEY].commands.register("test", ReminderHook(app[SERVICES_KEY]).run)
    return serve(settings, app)


if __name__ == "__main__":
    sys.exit(main())
