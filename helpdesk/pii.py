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


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[:1] + "＊＊"


def mask_text(value: str) -> str:
    return MASK if value else ""
