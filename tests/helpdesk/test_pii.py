"""Masking: every phone number is masked, however short; address lists are masked address by
address."""

import pytest

from helpdesk.pii import mask_addresses, mask_phone


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("03-1234-5678", "******5678"),
        ("090-1234-5678", "*******5678"),
        ("12345678", "****5678"),
        ("1234", "****"),  # short numbers were shown whole
        ("110", "***"),
        ("2001", "****"),
        ("", ""),
    ],
)
def test_every_phone_number_is_masked(number, masked):
    assert mask_phone(number) == masked


def test_address_lists_are_masked_address_by_address():
    assert mask_addresses("taro@example.jp, Hanako.Sato@mail.example.com") == "t***@***.jp, H***@***.com"
    assert mask_addresses("") == ""
