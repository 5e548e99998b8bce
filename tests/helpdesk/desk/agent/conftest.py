import datetime as dt

import pytest

from faq import services as faq_services
from faq.models import FaqCategory
from helpdesk.models import AgentProfile, Escalation, Inquiry
from tests.factories import (
    CallFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    tokyo,
)

# Every desk test runs at this moment: the queue's due times are relative to it.
NOW = tokyo(2026, 10, 2, 12, 0)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def mail_inquiry(db, agent):
    """An email inquiry assigned to agent1, received 20 h before NOW, with its inbound mail."""
    inquiry = InquiryFactory(
        received_at=NOW - dt.timedelta(hours=20),
        assigned_to=agent,
        status=Inquiry.Status.IN_PROGRESS,
        subject="e-Govアプリの送信エラー",
        requester_name="山田 太郎",
        requester_email="taro.yamada@example.com",
    )
    EmailMessageFactory(
        inquiry=inquiry,
        received_at=inquiry.received_at,
        from_address="taro.yamada@example.com",
        from_name="山田 太郎",
        body_text="送信すると「送信に失敗しました」と表示されます。",
        body_html="<p>送信すると<b>失敗</b>します<script>alert(1)</script></p>",
    )
    return inquiry


@pytest.fixture
def phone_call(db, agent):
    AgentProfile.objects.create(user=agent, pbx_login="op01")
    return CallFactory(arrived_at=NOW - dt.timedelta(minutes=10), caller="0312345678", agent="op01")


@pytest.fixture
def phone_inquiry(db, agent):
    call = CallFactory(arrived_at=NOW - dt.timedelta(hours=2), caller="0398765432", agent="op01")
    return PhoneInquiryFactory(
        call=call, assigned_to=agent, status=Inquiry.Status.IN_PROGRESS, requester_phone="0398765432"
    )


@pytest.fixture
def published_faq(admin_user):
    cat = FaqCategory.objects.create(name="送信", slug="send", order=1)
    entry = faq_services.faq_entry_create(
        actor=admin_user,
        question="e-Govアプリで送信エラーになります",
        answer="到達番号の有無を確認し、再送信してください。",
        category=cat,
    )
    return faq_services.faq_entry_publish(actor=admin_user, entry=entry)


def section_escalation(inquiry: Inquiry) -> Escalation:
    return EscalationFactory(inquiry=inquiry, target=Escalation.Target.RESPONSIBLE_SECTION)
