"""The list row and the detail record are built directly (to_representation of
InquiryListSerializer and InquiryDetailSerializer) for speed; they must stay what DRF's generic
serializer makes — the list row from the plain values the list reads, or from an Inquiry."""

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.inquiries.selectors import inquiry_get, inquiry_list, inquiry_list_rows
from helpdesk.inquiries.serializers import InquiryDetailSerializer, InquiryListSerializer
from helpdesk.inquiries.services import inquiry_create
from helpdesk.models import Inquiry
from tests.factories import CallFactory, EmailMessageFactory, InquiryFactory, PhoneInquiryFactory, tokyo

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
    instances = list(inquiry_list())
    with django_assert_num_queries(1):  # nothing the row shows is left out of the one query
        values = list(inquiry_list_rows(queryset=inquiry_list()))
    serializer = InquiryListSerializer()
    with django_assert_num_queries(0):
        fast = [serializer.to_representation(row) for row in values]
        from_instances = [serializer.to_representation(row) for row in instances]
    assert fast == [serializer.generic_representation(row) for row in instances]
    assert from_instances == fast
    assert [list(row) for row in fast] == [InquiryListSerializer.Meta.fields] * 3
    by_ref = {row["ref"]: row for row in fast}
    assert by_ref[mine.ref]["assigned_to"] == {"id": agent.pk, "username": "agent1"}
    assert by_ref[mine.ref]["requester_email"] == "t***@***.jp"
    assert by_ref[mine.ref]["received_at"] == "2026-10-05T09:30:00+09:00"
    assert by_ref[mine.ref]["wrapup_completed_at"] is None
    assert by_ref[nobodys.ref]["assigned_to"] is None
    assert by_ref[nobodys.ref]["received_at"] == "2026-10-05T09:00:00+09:00"


def test_list_rows_in_another_time_zone_and_utc_are_the_generic_rows():
    InquiryFactory(received_at=dt.datetime(2026, 10, 5, 3, 4, 5, 123456, tzinfo=dt.UTC))
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        with timezone.override(zone):  # a serializer serves one request: it reads the zone once
            serializer = InquiryListSerializer()
            fast = [serializer.to_representation(row) for row in inquiry_list_rows(queryset=inquiry_list())]
            generic = [InquiryListSerializer().generic_representation(row) for row in inquiry_list()]
        assert fast == generic
    with timezone.override("UTC"):
        assert InquiryListSerializer().to_representation(inquiry_list().get())["received_at"] == (
            "2026-10-05T03:04:05.123456Z"
        )


def _details() -> list[Inquiry]:
    """Records with every kind of value the detail shows: a call, an assignee, a source mail,
    empty and filled times, a choice as the enum a service leaves on the instance."""
    received = tokyo(2026, 10, 5, 9, 30)
    phone = PhoneInquiryFactory(
        call=CallFactory(arrived_at=received),
        requester_organization="株式会社テスト",
        ministry_guidance=True,
        first_answered_at=received,
        wrapup_completed_at=received + dt.timedelta(minutes=5),
        resolved_at=received + dt.timedelta(minutes=5, microseconds=7),
        resolution="手順を案内した。",
    )
    mail = InquiryFactory(requester_email="", requester_name="", body="")
    EmailMessageFactory(inquiry=mail)
    mail.source_message = mail.messages.get()
    mail.save(update_fields=["source_message"])
    return [phone, mail]


def test_a_detail_record_is_the_generic_serializers_record(agent, django_assert_num_queries):
    refs = [i.ref for i in _details()]
    Inquiry.objects.filter(ref=refs[1]).update(assigned_to=agent)
    for ref in refs:
        inquiry = inquiry_get(ref=ref)
        serializer = InquiryDetailSerializer()
        with django_assert_num_queries(0):  # the call and the assignee come with the record
            fast = serializer.to_representation(inquiry)
        assert fast == serializer.generic_representation(inquiry)
        assert list(fast) == InquiryDetailSerializer.Meta.fields
        assert type(fast["channel"]) is str and type(fast["status"]) is str
    phone = InquiryDetailSerializer(inquiry_get(ref=refs[0])).data
    assert phone["call_id"].startswith("pbx-") and phone["ministry_guidance"] is True
    assert phone["resolved_at"] == "2026-10-05T09:35:00.000007+09:00"
    mail = InquiryDetailSerializer(inquiry_get(ref=refs[1])).data
    assert mail["assigned_to"] == {"id": agent.pk, "username": "agent1"}
    assert mail["source_message_id"] is not None and mail["call_id"] is None


def test_a_detail_record_just_created_is_the_generic_record(agent):
    """A service leaves TextChoices members on the instance; the record shows plain strings."""
    inquiry = inquiry_create(
        channel=Inquiry.Channel.PHONE, subject="件名", received_at=tokyo(2026, 10, 5, 9, 0), created_by=agent
    )
    serializer = InquiryDetailSerializer()
    fast = serializer.to_representation(inquiry)
    assert fast == serializer.generic_representation(inquiry)
    assert type(fast["status"]) is str and type(fast["channel"]) is str
