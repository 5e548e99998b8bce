"""CSV and XLSX of the evaluation table."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from kpi.reports.table import COLUMNS, Row, SummaryRow, table_matrix


def table_csv(rows: list[Row]) -> bytes:
    """UTF-8 with BOM so Excel opens the Japanese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(table_matrix(rows))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


UNMET_FILL = PatternFill("solid", fgColor="FDE8E8")
HEAD_FILL = PatternFill("solid", fgColor="EEF2F8")


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
    for col in range(1, len(matrix[0]) + 1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 16
    ws.freeze_panes = "C2"

    ws2 = wb.create_sheet("評価期間集計")
    ws2.append(["評価期間", "指標", "達成月数", "未達月数", "対象外"])
    titles = {k: t for t, k in COLUMNS}
    for s in summary:
        for key, c in s.counts.items():
            ws2.append([s.label, titles[key], c["met"], c["unmet"], c["na"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
