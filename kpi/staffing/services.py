"""Writes for staffing: the roster, from the admin or from a roster CSV (docs/staffing.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from kpi.staffing.models import SLOTS_PER_DAY, RosterSlot, slot_of

REQUIRED_COLUMNS = ("date", "start", "agents")
MAX_AGENTS = 10_000


class RosterFileError(ValueError):
    """The file as a whole cannot be read (missing, not UTF-8, wrong header, empty)."""


@dataclass
class RosterImportResult:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _time(value: str, column: str) -> dt.time:
    try:
        t = dt.time.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{column} は HH:MM で書いてください: {value!r}") from exc
    if t.minute not in (0, 30) or t.second:
        raise ValueError(f"{column} は 30分単位（:00 か :30）にしてください: {value!r}")
    return t


def _parse_row(row: dict[str, str]) -> list[tuple[dt.date, int, int]]:
    try:
        day = dt.date.fromisoformat((row.get("date") or "").strip())
    except ValueError as exc:
        raise ValueError(f"date は YYYY-MM-DD で書いてください: {row.get('date')!r}") from exc
    first = slot_of(_time(row.get("start") or "", "start"))
    end_text = (row.get("end") or "").strip()
    if end_text:
        end = _time(end_text, "end")
        last = SLOTS_PER_DAY if end == dt.time(0, 0) else slot_of(end)  # end 00:00 = midnight
        if last <= first:
            raise ValueError("end は start より後にしてください")
    else:
        last = first + 1
    try:
        agents = int((row.get("agents") or "").strip())
    except ValueError as exc:
        raise ValueError(f"agents は 0 以上の整数にしてください: {row.get('agents')!r}") from exc
    if not 0 <= agents <= MAX_AGENTS:
        raise ValueError(f"agents は 0〜{MAX_AGENTS} にしてください: {agents}")
    return [(day, s, agents) for s in range(first, last)]


def roster_import_csv(*, path: Path | str | None = None, text: str | None = None) -> RosterImportResult:
    """Upsert roster half-hours from a CSV with columns date,start,agents (and optionally end:
    one row then covers every half-hour from start up to end). Bad rows are rejected with
    their line number; the good ones are stored in one transaction. A later row for the same
    date and half-hour wins."""
    if text is None:
        if path is None:
            raise RosterFileError("ファイルを指定してください。")
        p = Path(path)
        if not p.is_file():
            raise RosterFileError(f"ファイルがありません: {p}")
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RosterFileError(f"UTF-8 で読めません: {p}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RosterFileError(f"見出し行に {', '.join(missing)} がありません（必要: date,start,agents[,end]）。")
    reader.fieldnames = header
    result = RosterImportResult()
    cells: dict[tuple[dt.date, int], int] = {}
    rows = 0
    for row in reader:
        rows += 1
        try:
            for day, slot, agents in _parse_row(row):
                cells[(day, slot)] = agents
        except ValueError as exc:
            result.rejected.append((reader.line_num, str(exc)))
    if rows == 0:
        raise RosterFileError("データ行がありません。")
    if cells:
        _upsert(cells, result)
    return result


@transaction.atomic
def _upsert(cells: dict[tuple[dt.date, int], int], result: RosterImportResult) -> None:
    days = {d for d, _ in cells}
    existing = {(r.date, r.slot): r for r in RosterSlot.objects.select_for_update().filter(date__in=days)}
    to_create, to_update = [], []
    now = timezone.now()  # bulk_update skips auto_now
    for (day, slot), agents in cells.items():
        row = existing.get((day, slot))
        if row is None:
            to_create.append(RosterSlot(date=day, slot=slot, agents=agents, source=RosterSlot.Source.IMPORT))
        else:
            row.agents, row.source, row.updated_at = agents, RosterSlot.Source.IMPORT, now
            to_update.append(row)
    RosterSlot.objects.bulk_create(to_create, batch_size=1000)
    RosterSlot.objects.bulk_update(to_update, ["agents", "source", "updated_at"], batch_size=1000)
    result.created, result.updated = len(to_create), len(to_update)


def roster_set(*, day: dt.date, slot: int, agents: int) -> RosterSlot:
    """One half-hour, as an admin sets it."""
    row, _ = RosterSlot.objects.update_or_create(
        date=day, slot=slot, defaults={"agents": agents, "source": RosterSlot.Source.ADMIN}
    )
    return row
