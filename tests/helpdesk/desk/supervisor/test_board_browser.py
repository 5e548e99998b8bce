"""The supervisor's main path in a real browser on a live server: the board changes while a
call file is imported, an agent's request is escalated to 主管係 and its answer recorded.
axe-core finds nothing serious; screenshots go to tests/artifacts/."""

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import expect

from helpdesk.models import Escalation, Inquiry
from tests.conftest import axe_violations, sign_in
from tests.factories import EscalationFactory, InquiryFactory, tokyo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A Tuesday in service hours. The clock ticks from here, in the live server's thread too; the
# session cookie (two weeks from then) stays valid for the browser's real clock.
NOW = tokyo(2030, 10, 1, 14)


def test_supervisor_watches_the_live_board_escalates_and_records_the_answer(
    desk_page, live_server, supervisor, agent, settings, screenshot_dir, test_data
):
    settings.DESK_SUPERVISOR_POLL_SECONDS = 1
    settings.DESK_SUPERVISOR_CACHE_SECONDS = 15  # as in production: an import shows at once anyway
    page = desk_page
    with time_machine.travel(NOW, tick=True):
        inquiry = InquiryFactory(
            received_at=tokyo(2030, 10, 1, 9, 30), status=Inquiry.Status.ESCALATED, assigned_to=agent
        )
        request = EscalationFactory(
            inquiry=inquiry,
            target=Escalation.Target.INTERNAL,
            requested_by=agent,
            escalated_at=tokyo(2030, 10, 1, 10),
            note="制度の解釈について主管係の確認が必要です。",
        )
        sign_in(page, live_server, "sv1")
        assert page.url == f"{live_server.url}/desk/supervisor/"
        expect(page.locator("#sv-calls")).to_have_text("0")
        expect(page.locator("#sv-staffing")).not_to_contain_text("読み込み中")
        expect(page.locator("#sv-wrapups")).not_to_contain_text("読み込み中")
        assert axe_violations(page) == []
        page.screenshot(path=str(screenshot_dir / "supervisor-board-before-import.png"), full_page=True)

        # the PBX file comes in: the board refreshes itself, no reload
        call_command("import_calls", str(test_data / "calls" / "supervisor_board_day.csv"), verbosity=0)
        expect(page.locator("#sv-calls")).to_have_text("6", timeout=15_000)
        expect(page.locator("#sv-answer-rate")).to_have_text("50.0%")
        expect(page.locator("#sv-ivr")).to_have_text("1")
        expect(page.locator("#sv-queue")).to_have_text("2")
        expect(page.locator("#sv-wait")).to_have_text("5分00秒")  # sv-006 waited out its timeout
        expect(page.locator("#sv-missing")).to_have_text("1")  # sv-002: no PBX ACW, no wrap-up
        page.screenshot(path=str(screenshot_dir / "supervisor-board-after-import.png"), full_page=True)

        # the agent's request goes to 主管係
        card = page.locator(f"#sv-esc-{request.pk}")
        expect(card).to_contain_text("制度の解釈")
        card.locator("select[name=target]").select_option("responsible_section")
        card.locator("input[name=organization]").fill("デジタル庁 e-Gov担当")
        card.get_by_role("button", name="エスカレーション").click()
        # (the panel's own refresh may already have replaced the "記録しました" note)
        expect(page.locator("#sv-escalations")).to_contain_text("（デジタル庁 e-Gov担当）", timeout=15_000)
        handover = Escalation.objects.get(target=Escalation.Target.RESPONSIBLE_SECTION)
        returned = page.locator(f"#sv-esc-{handover.pk}")
        expect(returned).to_contain_text("主管係")
        expect(page.locator(f"#sv-esc-{request.pk}")).to_have_count(0)
        page.screenshot(path=str(screenshot_dir / "supervisor-board-escalated.png"), full_page=True)

        # 主管係 answers: the supervisor records it and the inquiry moves on to its agent
        returned.locator("input[name=answer]").fill("申請様式は改正後のものをご利用ください。")
        returned.get_by_role("button", name="回答を記録").click()
        expect(page.locator("#sv-escalations")).to_contain_text("回答待ちはありません。", timeout=15_000)
        inquiry.refresh_from_db()
        handover.refresh_from_db()
        assert inquiry.status == Inquiry.Status.IN_PROGRESS
        assert handover.answer == "申請様式は改正後のものをご利用ください。"
        assert axe_violations(page) == []
        page.screenshot(path=str(screenshot_dir / "supervisor-board-answer-recorded.png"), full_page=True)
        # stop the polling before the database is flushed (a request in flight would block it)
        page.goto("about:blank")
        page.wait_for_timeout(300)


def test_a_poll_answered_while_the_supervisor_types_does_not_wipe_the_answer(
    desk_page, live_server, supervisor, agent, settings
):
    # The panel's poll was sent before they started typing and answers after: its HTML must
    # not replace the form being filled (the flake this test replaced: an empty answer sent).
    settings.DESK_SUPERVISOR_POLL_SECONDS = 1
    page = desk_page
    held = []
    with time_machine.travel(NOW, tick=True):
        inquiry = InquiryFactory(received_at=tokyo(2030, 10, 1, 9), status=Inquiry.Status.ESCALATED, assigned_to=agent)
        handover = EscalationFactory(
            inquiry=inquiry,
            target=Escalation.Target.RESPONSIBLE_SECTION,
            requested_by=agent,
            escalated_at=tokyo(2030, 10, 1, 10),
        )
        sign_in(page, live_server, "sv1")
        answer = page.locator(f"#sv-esc-{handover.pk} input[name=answer]")
        expect(answer).to_have_count(1)
        holding = [True]
        page.route(
            "**/desk/supervisor/escalations/?*",
            lambda route: held.append(route) if holding[0] else route.continue_(),
        )
        for _ in range(100):  # the next poll, held in flight
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the escalations panel never polled"

        answer.fill("改正後の様式をご利用ください。")
        holding[0] = False
        for route in held:
            route.continue_()
        page.wait_for_timeout(1500)  # the held answer arrives; later polls are skipped while typed in

        expect(answer).to_have_value("改正後の様式をご利用ください。")
        page.locator(f"#sv-esc-{handover.pk}").get_by_role("button", name="回答を記録").click()
        expect(page.locator("#sv-escalations")).to_contain_text("回答待ちはありません。", timeout=15_000)
        handover.refresh_from_db()
        assert handover.answer == "改正後の様式をご利用ください。"
        page.goto("about:blank")
        page.wait_for_timeout(300)


def test_a_reviewer_is_refused_the_board(desk_page, live_server, reviewer):
    sign_in(desk_page, live_server, "reviewer1")
    response = desk_page.goto(f"{live_server.url}/desk/supervisor/")
    assert response.status == 403


def test_a_past_day_with_its_staffing_short_half_hours(desk_page, live_server, supervisor, screenshot_dir):
    import datetime as dt

    import numpy as np

    from helpdesk.models import Call
    from kpi.staffing.models import RosterSlot
    from tests.kpi.staffing import synth

    day = dt.date(2026, 9, 15)
    calls = synth.make_day(
        day, rate=synth.per_slot(14.0), aht=300.0, patience=150.0, agents=lambda s: 3, rng=np.random.default_rng(1)
    ).calls
    Call.objects.bulk_create(calls)
    RosterSlot.objects.bulk_create([RosterSlot(date=day, slot=s, agents=2) for s in range(18, 34)])
    with time_machine.travel(tokyo(2026, 10, 20, 12), tick=True):
        sign_in(desk_page, live_server, "sv1")
        desk_page.goto(f"{live_server.url}/desk/supervisor/?date=2026-09-15")
        expect(desk_page.locator("#sv-staffing-table")).to_be_visible(timeout=30_000)
        assert desk_page.locator("#sv-staffing-table td.sv-short").count() > 0
        # A past day's panels do not poll (the navigation's notification badge still does).
        assert 'hx-get="/desk/supervisor/live/' not in desk_page.content()
        assert axe_violations(desk_page) == []
        desk_page.screenshot(path=str(screenshot_dir / "supervisor-board-past-day-staffing.png"), full_page=True)
