"""The list row is built directly (InquiryListSerializer.to_representation) for speed; it must
stay the row DRF's generic serializer makes, from the columns the list selector loads."""

import datetime as dt

import pytest

from helpdesk.inquiries.selectors import inquiry_list
from helpdesk.inquiries.serializers import InquiryListSerializer
from tests.factories import InquiryFactory, PhoneInquiryFactory, tokyo

pytestmark = pytest.mark.django_db


def test_a_list_row_is_the_generic_serializers_row(agent, django_assert_num_queries):
    received = tokyo(2026, 10, 5, 9, 30)
    mine = InquiryFactory(
        received_at=received,
        requester_name="山田 太郎",
        requester_email="taro@example.jp",
        requester_phone="03-1234-5678",
        assigned_to=agent,
        first_answered_at=received + dt.timedelta(hours=2),
        resolved_at=received + dt.timedelta(days=1, microseconds=250),
    )
    nobodys = InquiryFactory(
        received_at=dt.datetime(2026, 10, 5, 0, 0, tzinfo=dt.UTC), requester_email="", requester_name=""
    )
    PhoneInquiryFactory(received_at=received, requester_phone="110")
    rows = list(inquiry_list())
    serializer = InquiryListSerializer()
    with django_assert_num_queries(0):  # nothing the row shows was left out of the query
        fast = [serializer.to_representation(row) for row in rows]
    assert fast == [serializer.generic_representation(row) for row in rows]
    assert [list(row) for row in fast] == [InquiryListSerializer.Meta.fields] * 3
    by_ref = {row["ref"]: row for row in fast}
    assert by_ref[mine.ref]["assigned_to"] == {"id": agent.pk, "username": "agent1"}
    assert by_ref[mine.ref]["requester_email"] == "t***@***.jp"
    assert by_ref[mine.ref]["received_at"] == "2026-10-05T09:30:00+09:00"
    assert by_ref[mine.ref]["wrapup_completed_at"] is None
    assert by_ref[nobodys.ref]["assigned_to"] is None
    assert by_ref[nobodys.ref]["received_at"] == "2026-10-05T09:00:00+09:00"
