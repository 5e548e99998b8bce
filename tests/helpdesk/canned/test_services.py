"""Canned responses: variables filled for the inquiry, an unknown one left visible and
reported (never a KeyError or a 500), Japanese era dates; writes by admins only, audited."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from helpdesk.canned.dates import japanese_era_date
from helpdesk.canned.services import (
    canned_render,
    canned_response_create,
    canned_response_delete,
    canned_response_update,
)
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, CannedResponse
from tests.factories import InquiryFactory, UserFactory, tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def inquiry():
    return InquiryFactory(requester_name="山田 太郎", ref="EG-20261001-ABC234", subject="送信エラー")


@time_machine.travel(tokyo(2026, 12, 2, 9, 30), tick=False)
def test_the_variables_are_filled_for_the_inquiry(inquiry):
    agent = UserFactory(username="op01", first_name="花子", last_name="佐藤")
    body = "{citizen_name} 様\n受付番号 {inquiry_ref}（{inquiry_subject}）\n{today}\n{today_iso}\n担当: {agent_name}"

    rendered = canned_render(body, inquiry=inquiry, agent=agent)

    assert rendered.text == (
        "山田 太郎 様\n受付番号 EG-20261001-ABC234（送信エラー）\n令和8年12月2日\n2026-12-02\n担当: 花子 佐藤"
    )
    assert rendered.unknown == [] and rendered.empty == []


def test_an_unknown_variable_stays_visible_and_is_reported(inquiry):
    rendered = canned_render("{citizen_name} 様 {deadline} と {deadline}、{citizen_name}", inquiry=inquiry)

    assert rendered.text == "山田 太郎 様 {deadline} と {deadline}、山田 太郎"
    assert rendered.unknown == ["deadline"]


@pytest.mark.parametrize(
    "body",
    ["{", "}", "{0}", "{}", "{citizen_name.__class__}", "{citizen_name!r}", "{{citizen_name}}", "100%{x", "％｛｝"],
)
def test_stray_braces_and_format_tricks_never_raise(inquiry, body):
    rendered = canned_render(body, inquiry=inquiry)
    assert isinstance(rendered.text, str)
    assert "__class__" not in rendered.text or rendered.text == body


def test_full_width_braces_typed_in_japanese_input_work_too(inquiry):
    assert canned_render("｛citizen_name｝様", inquiry=inquiry).text == "山田 太郎様"


def test_a_variable_with_nothing_to_fill_is_reported_empty():
    rendered = canned_render("{citizen_name} 様", inquiry=InquiryFactory(requester_name=""))
    assert rendered.text == " 様" and rendered.empty == ["citizen_name"]


def test_without_an_inquiry_nothing_fails():
    assert canned_render("{inquiry_ref}/{agent_name}").text == "/"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(2026, 12, 2), "令和8年12月2日"),
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 4, 30), "平成31年4月30日"),
        (dt.date(1989, 1, 8), "平成元年1月8日"),
        (dt.date(1989, 1, 7), "昭和64年1月7日"),
    ],
)
def test_japanese_era_dates(day, text):
    assert japanese_era_date(day) == text


@pytest.fixture
def admin():
    return UserFactory(username="admin9", roles=["admin"])


def test_admins_write_canned_responses_and_each_write_is_audited(admin):
    canned = canned_response_create(
        actor=admin, data={"title": "受付のお礼", "body": "{citizen_name} 様\nお問い合わせありがとうございます。"}
    )
    assert canned.created_by == admin and canned.active
    canned = canned_response_update(canned=canned, actor=admin, data={"active": False})
    assert CannedResponse.objects.get().active is False
    canned_response_delete(canned=canned, actor=admin)
    assert not CannedResponse.objects.exists()
    actions = list(
        AuditEvent.objects.filter(object_type="helpdesk.cannedresponse").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_an_unknown_variable_is_refused_when_saved_naming_the_field(admin):
    with pytest.raises(ValidationError) as error:
        canned_response_create(actor=admin, data={"title": "期限", "body": "{deadline} までにご回答ください。"})
    assert "body" in error.value.message_dict
    assert "{deadline}" in error.value.message_dict["body"][0]


@pytest.mark.parametrize("role", ["agent", "supervisor", "reviewer"])
def test_only_admins_write_them(role):
    with pytest.raises(PermissionDeniedError):
        canned_response_create(actor=UserFactory(username=f"x-{role}", roles=[role]), data={"title": "t", "body": "b"})
