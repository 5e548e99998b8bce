import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from helpdesk.clock import Month
from helpdesk.models import AuditEvent
from kpi import selectors
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
    assert ws["F4"].value == "未達"
    assert ws["F4"].fill.fgColor.rgb.endswith("FDE8E8")
    summary = list(wb["評価期間集計"].values)
    assert ("令和8年度上期", "応答率", 4, 2, 0) in summary


def test_xlsx_cells_hold_formatted_numbers_not_text(client, admin_user):
    build_report_months()
    client.force_login(admin_user)
    ws = load_workbook(io.BytesIO(client.get("/kpi/report.xlsx", RANGE).content))["評価表"]
    jun, oct_ = 4, 8  # rows: header, April … October
    # C incidents, E answer rate, G AHT, I email, K FCR, M complaints
    assert (ws[f"C{jun}"].data_type, ws[f"C{jun}"].value, ws[f"C{jun}"].number_format) == ("n", 0, '0"件"')
    assert (ws[f"E{jun}"].data_type, ws[f"E{jun}"].value, ws[f"E{jun}"].number_format) == ("n", 0.6, "0.0%")
    assert (ws[f"M{jun}"].value, ws[f"M{jun}"].number_format) == (15, '0"件"')
    assert ws[f"K{oct_}"].value == 0.5 and ws[f"K{oct_}"].number_format == "0.0%"
    # durations are Excel times (stored as numbers of days) with a Japanese format
    aht, email = ws[f"G{jun}"], ws[f"I{oct_}"]
    assert aht.value == dt.timedelta(minutes=6) and aht.number_format == '[m]"分"ss"秒"'
    assert email.value == dt.timedelta(hours=4, minutes=9) and email.number_format == '[h]"時間"mm"分"'
    for cell in (aht, email):
        assert not isinstance(cell.value, str)
    # nothing but labels is text in the metric columns
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=13):
        for cell in row[::2]:
            assert cell.data_type in ("n", "d"), (cell.coordinate, cell.value)


def test_xlsx_durations_round_like_the_report():
    from kpi.reports.exports import xlsx_value
    from kpi.reports.table import Cell

    assert xlsx_value(Cell("average_handle_time", "8分02秒", True, "", value=481.5))[0] == dt.timedelta(seconds=482)
    assert xlsx_value(Cell("email_average_response_time", "", True, "", value=89.99))[0] == dt.timedelta(minutes=1)
    assert xlsx_value(Cell("answer_rate", "—", None, "", value=None)) == ("—", None)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13", "to": "2026-10"}, "from", "2026-13"),
        ({"from": "2026-04", "to": "2026-13"}, "to", "2026-13"),
        ({"from": "2026-4", "to": "2026-10"}, "from", "YYYY-MM"),
        ({"from": "0000-01", "to": "2026-10"}, "from", "0000-01"),
        ({"from": "2026-10", "to": "2026-04"}, "to", "より前"),
        ({"from": "2020-01", "to": "2026-10"}, "to", "60か月"),
    ],
)
def test_report_page_says_what_is_wrong_with_the_months(client, reviewer, params, field, message):
    build_report_months()
    client.force_login(reviewer)
    r = client.get("/kpi/", params)
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="range-error"' in html and message in html
    assert f'name="{field}" value="{params[field]}" aria-invalid="true"' in html
    # never another range instead
    assert 'id="evaluation-table"' not in html and "令和8年" not in html
    for export in ("/kpi/report.csv", "/kpi/report.xlsx"):
        r = client.get(export, params)
        assert r.status_code == 400 and message in r.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_report_page_explains_capped_and_missing_wrapups(client, reviewer):
    from tests.factories import CallFactory, PhoneInquiryFactory, tokyo

    late = PhoneInquiryFactory(call=CallFactory(arrived_at=tokyo(2026, 10, 5, 10)))
    late.wrapup_completed_at = late.call.ended_at + dt.timedelta(days=70)
    late.save()
    CallFactory(arrived_at=tokyo(2026, 10, 6, 10), agent="op02")  # never wrapped up
    client.force_login(reviewer)
    html = client.get("/kpi/", {"from": "2026-10", "to": "2026-10"}).content.decode()
    assert 'id="acw-note"' in html
    assert "ラップアップ" in html and "上限（1800秒）" in html
    assert "後処理上限適用 1件" in html and "ラップアップ未完了 1件" in html
    assert "/api/kpi/months/2026-10/answered-calls/?acw_capped=true" in html
    assert "/api/kpi/months/2026-10/answered-calls/?missing_wrapup=true" in html


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
