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

from domain.campaigns.chasing import Chasing
from domain.campaigns.yearly import Yearly
from domain.shared.jobs import Cron, Interval, JobSpec


class CampaignService(Yearly, Chasing):
    """Starts campaigns, fans cards out, records acknowledgements, chases, reports."""

    def jobs(self) -> list[JobSpec]:
        """The scheduled jobs campaigns need (what they queue wakes the delivery worker through the outbox)."""
        return [
            JobSpec("campaign-reminders", Cron(day_of_week="mon-fri", hour=self.config.reminder_hour, minute=0),
                    self.send_reminders),
            JobSpec("campaign-digest", Cron(day_of_week="mon", hour=self.config.digest_hour, minute=30), self.digest),
            JobSpec("campaign-deadline", Cron(hour=self.config.digest_hour, minute=45), self.digest),
            # Every 10 minutes, not once a day: an install set up after the start hears within minutes.
            JobSpec("yearly-campaign", Interval(seconds=600), self.yearly),
            JobSpec("campaign-fan-out", Interval(seconds=600), self.fan_out_open),
            # A new policy version deployed: ask the admins to confirm a campaign (never starts one by itself).
            JobSpec("policy-version-check", Interval(seconds=24 * 3600), self.ask_admins_about_new_version),
        ]
