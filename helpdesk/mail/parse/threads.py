"""Threading keys, pure: Message-ID lists and the `[EG-…]` reference in a subject.

The services thread a message by, in order: In-Reply-To, References (newest first), the
subject's `[EG-…]` reference, and finally messages already stored that refer to this one
(so an answer imported before its question still lands in the right inquiry)."""

from __future__ import annotations

import re

_MSGID = re.compile(r"<([^<>\s]+)>")
_SUBJECT_REF = re.compile(r"\[\s*(EG-\d{8}-[0-9A-Z]{6})\s*\]", re.I)


def parse_message_ids(value: str | None) -> list[str]:
    """`<a@b> <c@d>` → ['<a@b>', '<c@d>'], in header order, without duplicates. A bare
    id without angle brackets (seen from broken clients) is accepted when it is alone."""
    if not value:
        return []
    value = value.replace("\r", " ").replace("\n", " ")
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if not found:
        bare = value.strip()
        if bare and " " not in bare and "@" in bare:
            found = [f"<{bare.strip('<>')}>"]
    seen: set[str] = set()
    out = []
    for mid in found:
        if mid not in seen:
            seen.add(mid)
            out.append(mid)
    return out


def thread_candidates(*, in_reply_to: str, references: list[str]) -> list[str]:
    """Message-IDs to look up, best first: In-Reply-To, then References newest first."""
    out: list[str] = []
    for mid in [in_reply_to, *reversed(references)]:
        if mid and mid not in out:
            out.append(mid)
    return out


def subject_refs(subject: str) -> list[str]:
    return [m.upper() for m in _SUBJECT_REF.findall(subject or "")]


def subject_with_ref(subject: str, ref: str) -> str:
    """Reply subject: `Re: ` once, and the `[EG-…]` tag unless it is already there."""
    subject = (subject or "").strip()
    if not re.match(r"^\s*(re|aw|返信)\s*[:：]", subject, re.I):
        subject = f"Re: {subject}" if subject else "Re:"
    if ref.upper() not in subject_refs(subject):
        subject = f"{subject} [{ref}]"
    return subject
