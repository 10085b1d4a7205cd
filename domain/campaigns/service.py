"""Yearly policy acknowledgement campaigns: every member of staff gets a card, acknowledges once, is chased gently.

Everything that sends goes through the outbox with a key derived from what it is for, so a fan-out, a reminder run
or a digest can be re-run after a crash or a missed schedule without anyone getting a second copy:

- ``campaign:{id}:card:{user}``          the card, once per person per campaign
- ``campaign:{id}:reminder:{n}:{user}``  reminder n (1..max_reminders)
- ``campaign:{id}:digest:{school}:{week}`` / ``campaign:{id}:final:{school}`` the head teacher's digests
- ``campaign:{id}:ackcard:{user}``       an update of the card after an acknowledgement made another way

- ``campaign:yearly:{year}:ask:{user}``   the question to an admin: start this year's campaign? (a first install)

The yearly campaign (1 September, 09:00) starts by itself only on an install that is set up (see
``CampaignService.set_up_since``) and was set up before this year's start. A first install set up after it asks the
admins instead, with a card: Start, or Not now (no more asking until next year, or until someone starts one). What
they chose is kept in the set-up audit trail.

The service is assembled from one part per job: core.py (records, audience, the card), audience.py (fan-out,
joiners, acknowledgements), reporting.py (status, CSV, digests), chasing.py (reminders), lifecycle.py (starting,
new policy versions) and yearly.py (the 1 September start). The records are described in model.py.
"""

from __future__ import annotations

from typing import Any

from domain.campaigns.chasing import Chasing
from domain.campaigns.yearly import Yearly
from domain.shared.jobs import Cron, Interval, JobSpec


class CampaignService(Yearly, Chasing):
    """Starts campaigns, fans cards out, records acknowledgements, chases, reports."""

    def jobs(self, wake: Any = None) -> list[JobSpec]:
        """The scheduled jobs campaigns need; ``wake`` (the worker's) makes queued messages go at once."""

        def after(func: Any) -> Any:
            def run() -> Any:
                result = func()
                if wake is not None:
                    wake()
                return result
            return run

        return [
            JobSpec("campaign-reminders", Cron(day_of_week="mon-fri", hour=self.config.reminder_hour, minute=0),
                    after(self.send_reminders)),
            JobSpec("campaign-digest", Cron(day_of_week="mon", hour=self.config.digest_hour, minute=30),
                    after(self.digest)),
            JobSpec("campaign-deadline", Cron(hour=self.config.digest_hour, minute=45), after(self.digest)),
            # Every 10 minutes, not once a day: an install set up after the start hears within minutes.
            JobSpec("yearly-campaign", Interval(seconds=600), after(self.yearly)),
            JobSpec("campaign-fan-out", Interval(seconds=600), after(self.fan_out_open)),
        ]
