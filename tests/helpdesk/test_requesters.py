"""The requester keys: the Python side and the database side of one definition agree."""

import pytest

from helpdesk.models import Inquiry
from helpdesk.requesters import email_key, email_key_expression, is_phone_number, phone_key, phone_key_expression
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db

PHONES = [
    ("03-1234-5678", "0312345678"),
    ("０３－１２３４－５６７８", "0312345678"),
    ("03（1234）5678", "0312345678"),
    ("+81 3 1234 5678", "0312345678"),
    ("＋８１-３-１２３４-５６７８", "0312345678"),
    ("090ー1234ー5678", "09012345678"),
    ("090−1234−5678", "09012345678"),
    ("090.1234.5678", "09012345678"),
    ("  0312345678 ", "0312345678"),
    ("ﾋﾂｳﾁ", "ヒツウチ"),
    ("非通知", "非通知"),
    ("+8", "+8"),
    ("内線1234", "内線1234"),
]
EMAILS = [
    ("Taro.Yamada@Example.JP", "taro.yamada@example.jp"),
    (" taro.yamada@example.jp ", "taro.yamada@example.jp"),
    ("taro.yamada@example.jp", "taro.yamada@example.jp"),
]


@pytest.mark.parametrize(("written", "key"), PHONES)
def test_phone_key(written, key):
    assert phone_key(written) == key


@pytest.mark.parametrize(("written", "key"), EMAILS)
def test_email_key(written, key):
    assert email_key(written) == key


def test_the_database_computes_the_same_keys_as_python():
    for (phone, _), (email, _) in zip(PHONES, EMAILS * len(PHONES), strict=False):
        InquiryFactory(requester_phone=phone, requester_email=email)

    rows = Inquiry.objects.annotate(p=phone_key_expression(), e=email_key_expression()).values_list(
        "requester_phone", "p", "requester_email", "e"
    )

    assert len(rows) == len(PHONES)
    for phone, p, email, e in rows:
        assert (p, e) == (phone_key(phone), email_key(email)), phone


@pytest.mark.parametrize(
    ("key", "number"),
    [("0312345678", True), ("110", False), ("非通知", False), ("123456", True), ("１２３４５６", False)],
)
def test_what_counts_as_a_number(key, number):
    assert is_phone_number(key) is number
