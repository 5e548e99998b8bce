"""Staffing data an admin maintains: agents on shift per date and half-hour (the roster),
and the hourly cost of an agent per contract period. Imported by `kpi.models` so the
migrations live in the kpi app."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

SLOTS_PER_DAY = 48


def slot_of(moment: dt.time) -> int:
    """Half-hour index of the day: 09:00 → 18, 09:30 → 19."""
    return moment.hour * 2 + moment.minute // 30


def slot_start(slot: int) -> dt.time:
    return dt.time(slot // 2, 30 * (slot % 2))


class RosterSlot(models.Model):
    """Agents on shift (taking calls) on one date during one half-hour, Asia/Tokyo."""

    class Source(models.TextChoices):
        ADMIN = "admin", "管理画面"
        IMPORT = "import", "CSV取込"

    date = models.DateField()
    slot = models.PositiveSmallIntegerField(help_text="その日の30分枠の番号（0 = 0:00、18 = 9:00、19 = 9:30）")
    agents = models.PositiveSmallIntegerField(help_text="電話を受けるオペレーター数")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "slot"]
        verbose_name = "シフト（30分枠）"
        verbose_name_plural = "シフト（30分枠）"
        constraints = [
            models.UniqueConstraint(fields=["date", "slot"], name="rosterslot_unique_date_slot"),
            models.CheckConstraint(condition=Q(slot__gte=0, slot__lt=SLOTS_PER_DAY), name="rosterslot_slot_range"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {slot_start(self.slot):%H:%M} {self.agents}名"

    @property
    def starts_at(self) -> dt.time:
        return slot_start(self.slot)


class StaffingCost(models.Model):
    """The hourly cost of one agent from `valid_from` on; a month uses the row covering its
    first day (no row: the plan reports hours without a cost)."""

    valid_from = models.DateField()
    hourly_cost_yen = models.PositiveIntegerField(help_text="オペレーター1名1時間あたりの費用（円）")
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = "オペレーター時間単価"
        verbose_name_plural = "オペレーター時間単価"
        constraints = [models.UniqueConstraint(fields=["valid_from"], name="staffingcost_unique_start")]

    def __str__(self) -> str:
        return f"{self.valid_from}〜 {self.hourly_cost_yen}円/時"
