"""Who an inquiry came from, as a key that matches however it was written.

Citizens and agents write the same number as 03-1234-5678, ０３（１２３４）５６７８ or
+81 3 1234 5678, and the same address with different capitals. The desk's requester history
matches on these keys. Each key is defined once — NFKC, then a list of removals — and built
from that definition both in Python (`phone_key`, `email_key`: the value looked for) and as a
database expression (`phone_key_expression`, `email_key_expression`: the column side, which
the functional indexes `inquiry_requester_phone_key` / `inquiry_requester_email_key` index),
so the two cannot disagree (tests/helpdesk/test_requesters.py checks them on both databases).
"""

from __future__ import annotations

import unicodedata

from django.db.models import Case, CharField, F, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, Lower, Replace, Substr, Trim
from django.db.models.lookups import Exact

from helpdesk.models.functions import Nfkc

# What a phone number is written with besides its digits, after NFKC (which folds full-width
# digits, brackets, spaces and the full-width hyphen): hyphens and dashes, the long-vowel mark
# typed for a dash, the minus sign, spaces, brackets and dots.
PHONE_SEPARATORS: tuple[str, ...] = ("-", "‐", "–", "—", "−", "ー", " ", "(", ")", ".")
# +81 (Japan's country code) stands for the trunk prefix 0: +81 3… is 03….
COUNTRY_PREFIX, TRUNK_PREFIX = "+81", "0"
# The shortest number that names one line: 110/119-style short numbers and extensions do not.
MIN_PHONE_DIGITS = 6


def phone_key(text: str) -> str:
    """The number in NFKC without separators, +81 written as 0."""
    key = unicodedata.normalize("NFKC", text)
    for separator in PHONE_SEPARATORS:
        key = key.replace(separator, "")
    if key[: len(COUNTRY_PREFIX)] == COUNTRY_PREFIX:
        key = TRUNK_PREFIX + key[len(COUNTRY_PREFIX) :]
    return key


def is_phone_number(key: str) -> bool:
    """A phone key that can name one line: digits only, at least `MIN_PHONE_DIGITS` of them
    (not 非通知, 不明 or an extension)."""
    return len(key) >= MIN_PHONE_DIGITS and key.isascii() and key.isdigit()


def phone_key_expression(field: str = "requester_phone") -> Combinable:
    """`phone_key` of a column, in SQL (PostgreSQL and SQLite)."""
    key: Combinable = Nfkc(F(field))
    for separator in PHONE_SEPARATORS:
        key = Replace(key, Value(separator), Value(""))
    return Case(
        When(
            Exact(Substr(key, 1, len(COUNTRY_PREFIX)), Value(COUNTRY_PREFIX)),
            then=Concat(Value(TRUNK_PREFIX), Substr(key, len(COUNTRY_PREFIX) + 1), output_field=CharField()),
        ),
        default=key,
        output_field=CharField(),
    )


def email_key(text: str) -> str:
    """The address in NFKC, without surrounding spaces, its ASCII letters in lower case
    (SQLite's lower() folds no others; stored addresses are validated ASCII)."""
    return unicodedata.normalize("NFKC", text).strip(" ").translate(_ASCII_LOWER)


def email_key_expression(field: str = "requester_email") -> Combinable:
    """`email_key` of a column, in SQL."""
    return Lower(Trim(Nfkc(F(field))))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
