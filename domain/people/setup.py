"""The set-up audit trail: who changed ThinkFirst's set-up, or decided about campaigns, and when.

Set-up changes are audited like case changes: who, when, what, in order (``setup_audit``, one document per entry,
numbered). Admins' commands (bot/commands.py) and campaign decisions (domain/campaigns/) write here, through this
one class.
"""

from __future__ import annotations

from typing import Any

from domain.shared.clock import Clock, iso
from store.base import RecordStore

SETUP_AUDIT = "setup_audit"


class SetupAudit:
    """Appends entries to the set-up audit trail."""

    def __init__(self, store: RecordStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(self, *, actor_id: str, actor_name: str, school_id: str, action: str, detail: dict[str, Any]) -> None:
        """Add one entry: who did what, where, and when."""
        seq = self.store.next_sequence(SETUP_AUDIT)
        self.store.put(SETUP_AUDIT, f"{seq:08d}", {
            "seq": seq, "at": iso(self.clock.now()), "actor_id": actor_id, "actor_name": actor_name,
            "action": action, "detail": detail, "school_id": school_id})

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first."""
        return sorted(self.store.all(SETUP_AUDIT), key=lambda d: int(d.get("seq", 0)))
