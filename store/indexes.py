"""The declared query fields of each collection: what ``RecordStore.find_where`` may filter and sort on.

Every backend indexes exactly these: PostgreSQL builds one partial expression index per field (``python app.py
migrate`` creates any that are missing, so adding a field here is the whole change); memory and TinyDB keep a hash
index per field in memory. A query on a field not listed here is refused (UndeclaredQueryError), so a new query
cannot quietly scan a whole collection on a trust's database.

Rare whole-store reads (subject access, retention sweeps, admin exports) may still use ``all`` or ``find``.
"""

from __future__ import annotations

from collections.abc import Mapping

DECLARED_INDEXES: Mapping[str, tuple[str, ...]] = {
    # The delivery worker's queue: what is due (status, then the time), urgent first, safeguarding overdue checks,
    # subject access (who a message went to), and the older updates of a card that a newer one supersedes.
    "outbox": ("status", "next_attempt_at", "priority", "created_at", "message.to_user", "message.meta.safeguarding",
               "message.replaces"),
    "cases": ("status", "school_id", "report.draft_id", "report.reporter_id"),
    "campaign_acks": ("campaign_id", "user_id", "version_hash"),
    "campaign_members": ("campaign_id", "user_id"),
    "campaign_exemptions": ("user_id",),
    "people": ("user_id", "aad_object_id", "school_id"),
    "role_assignments": ("user_id", "role", "school_id"),
    "channel_bindings": ("conversation_id", "school_id", "role"),
    "conversations": ("kind", "user_id", "team_id", "installed"),
    "questions": ("asker_id", "answered_by_id", "school_id", "status"),
    "answered_questions": ("school_id",),
    "evidence": ("case_ref", "status"),
    "posts": ("conversation_id",),  # the local chat's record of what the bot posted where (cli/chat.py)
}
