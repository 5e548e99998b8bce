"""CSV and XLSX of the evaluation table. The CSV carries the report's text; the XLSX carries
numbers with an Excel number format that displays them the report's way, so a reviewer
can sum, average or chart the cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from kpi.reports.table import COLUMNS, Cell, Row, SummaryRow, table_matrix


def table_csv(rows: list[Row]) -> bytes:
    """UTF-8 with BOM so Excel opens the Japanese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(table_matrix(rows))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


UNMET_FILL = PatternFill("solid", fgColor="FDE8E8")
HEAD_FILL = PatternFill("solid", fgColor="EEF2F8")


# Excel number formats reproducing kpi.display: 93.4%, 6分00秒, 208時間47分, 0件.
NUMBER_FORMATS = {
    "rate": "0.0%",
    "aht": '[m]"分"ss"秒"',
    "email": '[h]"時間"mm"分"',
    "count": '0"件"',
}


def _half_up(value: float, step: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(step), rounding=ROUND_HALF_UP)


def xlsx_value(cell: Cell) -> tuple[float | int | dt.timedelta | str, str | None]:
    """(value, number format) of a metric cell. Durations become Excel times (a timedelta),
    rounded half-up the way the report rounds them (AHT to the second, email to the minute)
    so Excel shows exactly the report's figure; rates are the exact ratio (Excel shows one
    decimal); counts are integers. A month without a figure keeps the report's '—'."""
    if cell.value is None:
        return cell.display, None
    kind = cell.kind
    if kind == "aht":
        return dt.timedelta(seconds=int(_half_up(cell.value, "1"))), NUMBER_FORMATS[kind]
    if kind == "email":
        return dt.timedelta(minutes=int(_half_up(cell.value / 60, "1"))), NUMBER_FORMATS[kind]
    if kind == "count":
        return int(cell.value), NUMBER_FORMATS[kind]
    return float(cell.value), NUMBER_FORMATS[kind]


def table_xlsx(rows: list[Row], summary: list[SummaryRow]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "評価表"
    matrix = table_matrix(rows)
    for r, line in enumerate(matrix, start=1):
        for c, value in enumerate(line, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if r == 1:
                cell.font = Font(bold=True)
                cell.fill = HEAD_FILL
                cell.alignment = Alignment(wrap_text=True, vertical="center")
            elif value == "未達":
                cell.fill = UNMET_FILL
                cell.font = Font(bold=True, color="AA0000")
                ws.cell(row=r, column=c - 1).fill = UNMET_FILL
    # The metric values as numbers: table_matrix puts metric i's value in column 3 + 2i.
    for r, row in enumerate(rows, start=2):
        for i, metric in enumerate(row.cells):
            number, number_format = xlsx_value(metric)
            target = ws.cell(row=r, column=3 + 2 * i, value=number)
            if number_format:
                target.number_format = number_format
                target.alignment = Alignment(horizontal="right")
    for col in range(1, len(matrix[0]) + 1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 16
    ws.freeze_panes = "C2"

    ws2 = wb.create_sheet("評価期間集計")
    ws2.append(["評価期間", "指標", "達成月数", "未達月数", "対象外"])
    titles = {k: t for t, k in COLUMNS}
    for s in summary:
        for key, tally in s.counts.items():
            ws2.append([s.label, titles[key], tally["met"], tally["unmet"], tally["na"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
