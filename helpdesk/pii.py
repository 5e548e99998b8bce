"""Masking of personal information for roles that do not need it. Pure functions."""

import re

MASK = "＊＊＊"


def mask_email(value: str) -> str:
    if not value:
        return ""
    local, _, domain = value.partition("@")
    if not domain:
        return MASK
    return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1]}"


# The last four digits help staff tell two callers apart; a number shorter than this shows
# none (four of a short number, an extension or a 110-style short code, are most of it).
PHONE_SHOWN_DIGITS = 4
PHONE_MIN_DIGITS_TO_SHOW = 8


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    if len(digits) < PHONE_MIN_DIGITS_TO_SHOW:
        return "*" * len(digits)
    return "*" * (len(digits) - PHONE_SHOWN_DIGITS) + digits[-PHONE_SHOWN_DIGITS:]


def mask_addresses(value: str) -> str:
    """A comma-separated address list (To:), each address masked."""
    return ", ".join(mask_email(address.strip()) for address in (value or "").split(",") if address.strip())


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[:1] + "＊＊"


def mask_text(value: str) -> str:
    return MASK if value else ""
