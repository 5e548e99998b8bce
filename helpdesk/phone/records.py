"""The normalised call record every phone adapter produces (pure data, no ORM)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from helpdesk.phone.rules import row_digest

OUTCOMES = frozenset(
    {"answered", "ivr_abandoned", "queue_abandoned", "queue_timeout", "queue_exit_key", "queue_empty", "out_of_hours"}
)
QUEUE_OUTCOMES = frozenset({"queue_abandoned", "queue_timeout", "queue_exit_key", "queue_empty"})
# Asterisk: a CDR inbound call that never entered a queue is an IVR abandon inside service
# hours and an out-of-hours call outside them; the calendar decides at import time.
IVR_OR_OUT_OF_HOURS = "ivr_or_out_of_hours"


class RowError(ValueError):
    """A line that cannot become a call; the message is the reject reason (no personal data)."""


@dataclass(slots=True)
class CallRecord:
    call_id: str
    arrived_at: dt.datetime
    outcome: str  # a Call.Outcome value, or IVR_OR_OUT_OF_HOURS
    caller: str = ""
    queue: str = ""
    queued_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    agent: str = ""
    acw_seconds: int | None = None
    source: str = "generic"

    @property
    def pbx_verdict(self) -> bool | None:
        """In service hours according to the PBX itself, or None when only the calendar can
        tell (kpi.md §1: the PBX's verdict wins)."""
        if self.outcome == "out_of_hours":
            return False
        if self.queued_at is not None or self.outcome == "answered" or self.outcome in QUEUE_OUTCOMES:
            return True
        return None

    def content_hash(self) -> str:
        """Digest of what the PBX said (before any calendar decision), so a re-import of the
        same data is "unchanged" even after the calendar changed (`rules.row_digest`)."""
        return row_digest(self)
