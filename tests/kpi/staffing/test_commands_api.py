"""The public surfaces: `staffing_what_if`, `staffing_plan`, `import_roster` and
GET /api/staffing/plans/YYYY-MM/, on a forecast built from 17 weeks of records."""

import datetime as dt
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import time_machine
from django.core.management import CommandError, call_command

from helpdesk.clock import TOKYO
from helpdesk.models import Call
from kpi.staffing.erlang import erlang_a, erlang_c
from kpi.staffing.models import RosterSlot
from tests.kpi.staffing import synth

ROOT = Path(__file__).resolve().parents[3]
FEB_1 = dt.datetime(2026, 2, 1, 10, tzinfo=TOKYO)
PLAN_URL = "/api/staffing/plans/2026-02/"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def history(db):
    """17 weeks of calls (Oct 2025 – Jan 2026, 10 per half-hour on average, Mondays busier)."""
    rng = np.random.default_rng(3)
    calls, d = [], dt.date(2025, 10, 6)
    while d <= dt.date(2026, 1, 30):
        if d.weekday() < 5:
            calls += synth.counts_only_day(d, rate=synth.per_slot(13.0 if d.weekday() == 0 else 10.0), rng=rng)
        d += dt.timedelta(days=1)
    Call.objects.bulk_create(calls, batch_size=2000)
    return calls


# --- staffing_what_if ---------------------------------------------------------------------


@pytest.mark.parametrize("patience", [120, None])
def test_what_if_prints_the_documented_keys(patience):
    args = ["staffing_what_if", "--arrivals-per-hour", "100", "--aht-seconds", "300", "--agents", "10", "--json"]
    if patience:
        args += ["--patience-seconds", str(patience)]
    data = json.loads(run(*args))
    assert {"answer_rate", "p_wait", "mean_queue_wait_seconds", "occupancy"} <= set(data)
    ref = (
        erlang_a(arrivals_per_second=100 / 3600, aht_seconds=300, patience_seconds=120, agents=10)
        if patience
        else erlang_c(arrivals_per_second=100 / 3600, aht_seconds=300, agents=10)
    )
    assert data == pytest.approx(ref.as_dict())
    assert data["model"] == ("erlang_a" if patience else "erlang_c")


def test_what_if_text_output_is_japanese():
    out = run("staffing_what_if", "--arrivals-per-hour", "100", "--aht-seconds", "300", "--agents", "10")
    assert "応答率" in out and "Erlang C" in out


@pytest.mark.slow  # a child process each
@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--aht-seconds", "0"),
        ("--patience-seconds", "-5"),
        ("--arrivals-per-hour", "nan"),
        ("--agents", "1000000000"),
    ],
)
def test_what_if_bad_input_is_one_line_and_non_zero(flag, value):
    args = {"--arrivals-per-hour": "100", "--aht-seconds": "300", "--agents": "10"} | {flag: value}
    proc = subprocess.run(
        [sys.executable, "manage.py", "staffing_what_if", *[x for kv in args.items() for x in kv]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert flag.lstrip("-").split("-")[0] in proc.stderr  # names the option or its quantity


# --- import_roster ------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_roster_expands_ranges_and_later_rows_win(test_data):
    out = run("import_roster", str(test_data / "staffing" / "roster_2026-02.csv"))
    assert "32 half-hours added" in out  # 16 on the 2nd + 6 + 10 on the 3rd (10:00 overwritten)
    rows = {(r.date.day, r.slot): r.agents for r in RosterSlot.objects.all()}
    assert rows[(2, 18)] == rows[(2, 33)] == 6 and (2, 34) not in rows
    assert rows[(3, 19)] == 7 and rows[(3, 20)] == 9 and rows[(3, 24)] == 5
    assert {r.source for r in RosterSlot.objects.all()} == {"import"}
    again = run("import_roster", str(test_data / "staffing" / "roster_2026-02.csv"))
    assert "0 half-hours added, 32 updated" in again


@pytest.mark.django_db
def test_import_roster_reports_rejected_rows_with_their_line(test_data):
    err = StringIO()
    out = StringIO()
    call_command("import_roster", str(test_data / "staffing" / "roster_mixed.csv"), stdout=out, stderr=err)
    assert "2 half-hours added" in out.getvalue() and "4 rows rejected" in out.getvalue()
    lines = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["line 3", "line 4", "line 5", "line 6"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.csv", "ファイルがありません"),
        ("roster_wrong_header.csv", "date, start, agents"),
        ("roster_all_bad.csv", "no roster row was stored"),
    ],
)
def test_import_roster_fails_when_nothing_is_stored(test_data, name, message):
    with pytest.raises(CommandError, match=message):
        run("import_roster", str(test_data / "staffing" / name))
    assert not RosterSlot.objects.exists()


# --- staffing_plan ------------------------------------------------------------------------


def test_plan_forecasts_a_coming_month_with_its_backtest(history, test_data):
    run("import_roster", str(test_data / "staffing" / "roster_2026-02.csv"))
    with time_machine.travel(FEB_1, tick=False):
        plan = json.loads(
            run("staffing_plan", "2026-02", "--json", "--what-if-agents", "2", "--what-if-from", "2026-02-16")
        )
    assert plan["basis"] == "forecast"
    assert (plan["period_type"], plan["target"], plan["target_source"]) == ("normal", 0.9, "contract")
    f = plan["forecast"]
    assert f["backtest"]["weeks"] == 8
    assert set(f["backtest"]["mae_per_half_hour"]) == {"seasonal_naive", "profile", "holt_winters"}
    assert f["method"] == f["backtest"]["chosen"] != "seasonal_naive"
    days = {d["date"]: d for d in plan["days"]}
    assert "2026-02-11" not in days and "2026-02-23" not in days  # 建国記念の日, 天皇誕生日
    assert len(days) == 18
    # Mondays were 30 % busier: the forecast knows
    assert days["2026-02-02"]["arrivals"] > 1.2 * days["2026-02-03"]["arrivals"]
    assert days["2026-02-04"]["arrivals"] == pytest.approx(160, rel=0.15)
    slot = days["2026-02-04"]["slots"][0]
    assert set(slot) >= {
        "start",
        "arrivals",
        "aht_seconds",
        "patience_seconds",
        "agents_needed",
        "expected_answer_rate",
    }
    assert slot["aht_seconds"] == pytest.approx(300, abs=1)  # 240 s talk + 60 s ACW
    assert all(r["expected_answer_rate"] >= plan["parameters"]["queue_target"] for r in days["2026-02-04"]["slots"])
    assert plan["summary"]["expected_answer_rate_needed"] >= 0.9
    # the roster covers two days only: every other day is short
    assert days["2026-02-02"]["agent_hours_rostered"] == 48 and days["2026-02-05"]["agent_hours_rostered"] == 0
    assert days["2026-02-13"]["agent_hours_what_if"] == 0 and days["2026-02-16"]["agent_hours_what_if"] == 16


def test_plan_text_output(history):
    with time_machine.travel(FEB_1, tick=False):
        out = run("staffing_plan", "2026-02", "--target", "0.8")
    assert "目標応答率 80%" in out and "バックテスト8週" in out and "2026-02-27" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2026-13"], "month must be YYYY-MM"),
        (["0000-01"], "month out of range"),
        (["2026-02", "--target", "1.2"], "target"),
        (["2026-02", "--what-if-from", "2026-03-01"], "what_if_from"),
        (["2026-02", "--what-if-from", "soon"], "--what-if-from"),
        (["2026-02"], "month: "),  # no records to forecast from
    ],
)
def test_plan_bad_input_is_a_command_error(args, message):
    with time_machine.travel(FEB_1, tick=False), pytest.raises(CommandError, match=message):
        run("staffing_plan", *args)


# --- the API ------------------------------------------------------------------------------


def test_api_plan_for_supervisors_and_admins(history, api, supervisor, admin_user):
    with time_machine.travel(FEB_1, tick=False):
        r = api.as_user(supervisor).get(PLAN_URL, {"target": "0.8", "what_if_agents": "1"})
        assert r.status_code == 200
        assert r.json()["target"] == 0.8 and r.json()["what_if"] == {
            "agents": 1,
            "from": "2026-02-01",
            "base": "needed",
        }
        assert api.as_user(admin_user).get(PLAN_URL).status_code == 200


@pytest.mark.django_db
def test_api_plan_is_not_for_reviewers_agents_or_anonymous(api, reviewer, agent):
    assert api.as_user(reviewer).get(PLAN_URL).status_code == 403
    assert api.as_user(agent).get(PLAN_URL).status_code == 403
    assert api.get(PLAN_URL).status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/staffing/plans/2026-13/", {}, "month"),
        ("/api/staffing/plans/0000-01/", {}, "month"),
        (PLAN_URL, {"target": "abc"}, "target"),
        (PLAN_URL, {"target": "0"}, "target"),
        (PLAN_URL, {"basis": "guess"}, "basis"),
        (PLAN_URL, {"what_if_agents": "x"}, "what_if_agents"),
        (PLAN_URL, {"what_if_agents": "99999999"}, "what_if_agents"),
        (PLAN_URL, {"what_if_from": "2026-01-31"}, "what_if_from"),
        (PLAN_URL, {}, "month"),  # nothing to forecast from
    ],
)
def test_api_bad_input_is_400_naming_the_field(api, supervisor, url, params, field):
    with time_machine.travel(FEB_1, tick=False):
        r = api.as_user(supervisor).get(url, params)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [field]
