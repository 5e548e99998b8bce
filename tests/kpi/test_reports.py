import csv
import io

import pytest
from openpyxl import load_workbook

from helpdesk.models import AuditEvent
from kpi import selectors
from kpi.metrics import Month
from kpi.reports import chart, table
from tests.kpi.reports_data import build_report_months

pytestmark = pytest.mark.django_db
RANGE = {"from": "2026-04", "to": "2026-10"}


def _rows():
    build_report_months()
    data = selectors.kpi_months_get(first=Month(2026, 4), last=Month(2026, 10))
    return table.evaluation_rows(data)


def _cells(row):
    return {c.key: (c.display, c.met) for c in row.cells}


def test_evaluation_rows_display_and_met():
    rows = _rows()
    assert [r.month_display for r in rows][:2] == ["令和8年4月", "令和8年5月"]
    apr, may, jun, jul, _, sep, oct_ = rows
    assert _cells(apr)["answer_rate"] == ("80.0%", True)
    assert _cells(may)["email_average_response_time"] == ("30時間00分", False)
    assert _cells(jun)["answer_rate"] == ("60.0%", False)
    assert _cells(jun)["complaints"] == ("15件", False)
    assert _cells(jun)["average_handle_time"] == ("6分00秒", False)  # coupled to complaints
    assert "苦情" in next(c.note for c in jun.cells if c.key == "average_handle_time")
    assert _cells(jul)["security_incidents"] == ("1件", False)
    assert _cells(sep)["answer_rate"] == ("80.0%", False)
    assert _cells(oct_)["email_average_response_time"] == ("4時間09分", True)
    assert _cells(oct_)["first_contact_resolution"] == ("50.0%", False)
    assert oct_.cells[1].drill_url == "/api/kpi/months/2026-10/abandoned-calls/"


def test_half_year_summary():
    summary = table.half_year_summary(_rows())
    assert [s.label for s in summary] == ["令和8年度上期", "令和8年度下期"]
    first = summary[0].counts
    assert first["answer_rate"] == {"met": 4, "unmet": 2, "na": 0}
    assert first["security_incidents"] == {"met": 5, "unmet": 1, "na": 0}
    assert first["average_handle_time"] == {"met": 5, "unmet": 1, "na": 0}
    assert summary[1].months == ["2026-10"]


def test_fiscal_half_labels():
    assert table.fiscal_half_label(2019, 1) == "令和元年度上期"
    assert table.fiscal_half_label(2018, 2) == "平成30年度下期"
    assert table.fiscal_half("2027-03") == (2026, 2)


def test_report_page_renders_table_summary_and_charts(client, reviewer):
    build_report_months()
    client.force_login(reviewer)
    r = client.get("/kpi/", RANGE)
    assert r.status_code == 200
    html = r.content.decode()
    for title, _ in table.COLUMNS:
        assert title in html
    assert "令和8年6月" in html and "60.0%" in html
    assert html.count('class="unmet"') >= 8
    assert "令和8年度上期" in html
    assert html.count("<svg") == 2 and "月別問合せ件数" in html and "目標" in html
    assert "/api/kpi/months/2026-06/abandoned-calls/" in html


def test_report_page_permissions(client, agent):
    assert client.get("/kpi/").status_code == 302
    client.force_login(agent)
    assert client.get("/kpi/").status_code == 403
    assert client.get("/kpi/report.csv").status_code == 403


def test_csv_download(client, supervisor):
    build_report_months()
    client.force_login(supervisor)
    r = client.get("/kpi/report.csv", RANGE)
    assert r["Content-Disposition"] == 'attachment; filename="kpi_2026-04_2026-10.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:4] == [
        "年月",
        "期間区分",
        "情報セキュリティ上の重大障害件数",
        "情報セキュリティ上の重大障害件数（評価）",
    ]
    assert lines[3][:6] == ["令和8年6月", "繁忙期", "0件", "達成", "60.0%", "未達"]
    assert len(lines) == 8
    assert AuditEvent.objects.filter(action="export", object_type="kpi.report").count() == 1


def test_xlsx_download(client, admin_user):
    build_report_months()
    client.force_login(admin_user)
    r = client.get("/kpi/report.xlsx", RANGE)
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["評価表"]
    assert ws["A2"].value == "令和8年4月"
    assert ws["E4"].value == "60.0%" and ws["F4"].value == "未達"
    assert ws["F4"].fill.fgColor.rgb.endswith("FDE8E8")
    summary = list(wb["評価期間集計"].values)
    assert ("令和8年度上期", "応答率", 4, 2, 0) in summary


def test_svg_charts_escape_and_scale():
    svg = chart.inquiries_by_channel_svg(["2026-10"], ["<10月>"], [{"phone": 10, "email": 5, "form": 5}])
    assert "&lt;10月&gt;" in svg and "<10月>" not in svg
    assert "電話" in svg and "メール" in svg
    svg2 = chart.answer_rate_svg(["9月", "10月"], [None, 0.95], [0.9, 0.9])
    assert svg2.count("<circle") == 1  # no point for a month without calls
    assert "95.0%" in svg2


@pytest.mark.parametrize(("value", "top"), [(0, 4), (2, 4), (7, 8), (95, 100), (1234, 2000)])
def test_chart_axis_maximum_gives_whole_ticks(value, top):
    assert chart._nice_max(value) == top
    assert top % 4 == 0
