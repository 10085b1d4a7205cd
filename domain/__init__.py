"""The domain: plain Python, one package per capability, no botbuilder, no cards, no settings.

- ``reports/``    a concern becomes a case: routing, the case and its audit trail, reminders, alerts, evidence
- ``questions/``  "Can I ...?": the policy, the rules, the matcher, the understanding step, unanswered questions
- ``campaigns/``  the yearly policy acknowledgement: lifecycle, audience, chasing, digests, the yearly start
- ``people/``     the directory of schools, staff, roles and lead spaces; set-up; personal data and retention
- ``delivery/``   messages, the outbox and the delivery worker
- ``insight/``    the head teacher's and governors' figures
- ``shared/``     the clock, the school calendar, dates and wording, job specs
- ``data/``       what a school can change: rules, lexicon, routing, lead-space readers, vocabularies
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
