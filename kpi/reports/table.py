"""The evaluation table (参考1): one row per month, the six metrics as the ministry's
report displays them, and the fiscal half-year summary. Pure functions over the KPI
objects of kpi.selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kpi import display

# (column title, KPI key) in the order of the ministry's report.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("情報セキュリティ上の重大障害件数", "security_incidents"),
    ("応答率", "answer_rate"),
    ("電話平均処理時間", "average_handle_time"),
    ("メール平均回答時間", "email_average_response_time"),
    ("一次窓口完結率", "first_contact_resolution"),
    ("苦情発生件数", "complaints"),
)
TARGET_LABELS = {
    "security_incidents": "0件",
    "answer_rate": "90%以上（繁忙期・準繁忙期70%以上）",
    "average_handle_time": "10分以内",
    "email_average_response_time": "24時間未満",
    "first_contact_resolution": "80%以上",
    "complaints": "15件未満",
}
DRILL = {
    "security_incidents": "incidents/?severity=major",
    "answer_rate": "abandoned-calls/",
    "average_handle_time": "answered-calls/",
    "email_average_response_time": "emails/",
    "first_contact_resolution": "handovers/",
    "complaints": "complaints/?counted=true",
}
PERIOD_LABELS = {"normal": "通常期", "semi_busy": "準繁忙期", "busy": "繁忙期"}


# How each metric's number is typed in the XLSX (kpi.reports.exports).
KINDS = {
    "security_incidents": "count",
    "answer_rate": "rate",
    "average_handle_time": "aht",
    "email_average_response_time": "email",
    "first_contact_resolution": "rate",
    "complaints": "count",
}


@dataclass
class Cell:
    key: str
    display: str
    met: bool | None
    drill_url: str
    note: str = ""
    value: float | int | None = None  # the number behind `display` (exact, as in the JSON)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, drill-down URL)

    @property
    def kind(self) -> str:
        return KINDS[self.key]


def _value(key: str, metric: dict[str, Any]) -> float | int | None:
    """The number the cell displays: a rate, seconds or a count. Email takes the contract
    basis (business hours when the target says so), like its `display`."""
    kind = KINDS[key]
    if kind == "rate":
        return metric["value"]
    if kind == "count":
        return metric["count"]
    if key == "email_average_response_time" and metric.get("basis") == "business_hours":
        return metric.get("business_seconds")
    return metric["seconds"]


@dataclass
class Row:
    month: str
    month_display: str
    period_type: str
    period_label: str
    cells: list[Cell]
    restated: bool
    data: dict[str, Any] = field(repr=False)


def evaluation_rows(months: list[dict[str, Any]], *, api_prefix: str = "/api/kpi/months/") -> list[Row]:
    rows = []
    for m in months:
        cells = []
        for _, key in COLUMNS:
            metric = m[key]
            note = ""
            if key == "average_handle_time" and metric.get("failed_by_complaints"):
                note = "苦情発生件数未達のため未達"
            if key == "answer_rate" and metric["value"] is None:
                note = "着信なし"
            links = []
            if key == "average_handle_time":
                drill = f"{api_prefix}{m['month']}/{DRILL[key]}"
                if metric.get("calls_acw_capped"):
                    links.append((f"後処理上限適用 {metric['calls_acw_capped']}件", f"{drill}?acw_capped=true"))
                if metric.get("calls_missing_wrapup"):
                    links.append(
                        (f"ラップアップ未完了 {metric['calls_missing_wrapup']}件", f"{drill}?missing_wrapup=true")
                    )
            cells.append(
                Cell(
                    key,
                    metric["display"],
                    metric["met"],
                    f"{api_prefix}{m['month']}/{DRILL[key]}",
                    note,
                    value=_value(key, metric),
                    links=links,
                )
            )
        rows.append(
            Row(
                month=m["month"],
                month_display=display.month_display(m["month"]),
                period_type=m["period_type"],
                period_label=PERIOD_LABELS.get(m["period_type"], m["period_type"]),
                cells=cells,
                restated=bool(m.get("restated")),
                data=m,
            )
        )
    return rows


def fiscal_half(month: str) -> tuple[int, int]:
    """(fiscal year, 1 for 上期 April–September / 2 for 下期 October–March)."""
    year, mon = (int(p) for p in month.split("-"))
    fy = year if mon >= 4 else year - 1
    return fy, 1 if 4 <= mon <= 9 else 2


def fiscal_half_label(fy: int, half: int) -> str:
    # The fiscal year takes the era in force in its first full month of May: FY2019 is
    # 令和元年度 (as the government styles it), FY1988 昭和63年度.
    era, year = display.era_year(dt.date(fy, 5, 1))
    return f"{era}{year}年度{'上期' if half == 1 else '下期'}"


@dataclass
class SummaryRow:
    label: str
    months: list[str]
    counts: dict[str, dict[str, int]]  # metric → {"met": n, "unmet": n, "na": n}


def half_year_summary(rows: list[Row]) -> list[SummaryRow]:
    """Evaluation-period summary: per fiscal half-year, months met / not met per metric."""
    groups: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        groups.setdefault(fiscal_half(row.month), []).append(row)
    out = []
    for (fy, half), members in sorted(groups.items()):
        counts = {key: {"met": 0, "unmet": 0, "na": 0} for _, key in COLUMNS}
        for row in members:
            for cell in row.cells:
                counts[cell.key]["met" if cell.met else "na" if cell.met is None else "unmet"] += 1
        out.append(SummaryRow(fiscal_half_label(fy, half), [r.month for r in members], counts))
    return out


def table_matrix(rows: list[Row]) -> list[list[str]]:
    """The table as text cells (header first) for CSV/XLSX: value, then 達成/未達."""
    header = ["年月", "期間区分"]
    for title, _ in COLUMNS:
        header += [title, f"{title}（評価）"]
    header.append("公表後の変更")
    matrix = [header]
    for row in rows:
        line = [row.month_display, row.period_label]
        for cell in row.cells:
            line += [cell.display, {True: "達成", False: "未達", None: "対象外"}[cell.met]]
        line.append("あり" if row.restated else "")
        matrix.append(line)
    return matrix
