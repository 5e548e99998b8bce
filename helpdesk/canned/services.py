"""Writes on canned responses (admins only, audited through helpdesk.corrections)
and their rendering for an inquiry.

Rendering is a plain substitution of `{name}` (or full-width `｛name｝`) by the known
variables below — never `str.format`, so a stray brace, an attribute access or an unknown
name in an admin's text cannot raise: an unknown variable stays visible as written and is
reported, so the agent sees it before sending."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from helpdesk import corrections
from helpdesk.canned.dates import japanese_era_date
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import CannedResponse, Inquiry
from helpdesk.roles import is_admin

VARIABLE = re.compile(r"[{｛]\s*([A-Za-z_][A-Za-z0-9_]*)\s*[}｝]")


def _agent_name(agent) -> str:
    if agent is None:
        return ""
    return (agent.get_full_name() or "").strip() or agent.get_username()


def _today(_inquiry, _agent) -> str:
    return japanese_era_date(timezone.localdate())


# name → (what it is, for the admin's help text; how it is filled)
VARIABLES: dict[str, tuple[str, Callable[[Inquiry | None, Any], str]]] = {
    "citizen_name": ("問い合わせ者の氏名", lambda i, a: (i.requester_name if i else "") or ""),
    "inquiry_ref": ("受付番号（EG-…）", lambda i, a: i.ref if i else ""),
    "inquiry_subject": ("問い合わせの件名", lambda i, a: (i.subject if i else "") or ""),
    "agent_name": ("回答する担当者の氏名", lambda i, a: _agent_name(a)),
    "today": ("今日の日付（和暦: 令和8年12月2日）", _today),
    "today_iso": ("今日の日付（2026-12-02）", lambda i, a: timezone.localdate().isoformat()),
}


@dataclass(frozen=True)
class RenderedCanned:
    text: str
    unknown: list[str] = field(default_factory=list)  # variables left as written
    empty: list[str] = field(default_factory=list)  # known, but nothing to fill in (no name on file)


def canned_variables(body: str) -> list[str]:
    return list(dict.fromkeys(VARIABLE.findall(body or "")))


def canned_render(body: str, *, inquiry: Inquiry | None = None, agent=None) -> RenderedCanned:
    """Fill the variables of `body` for `inquiry` answered by `agent`."""
    unknown: list[str] = []
    empty: list[str] = []
    values: dict[str, str] = {}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            if name not in unknown:
                unknown.append(name)
            return match.group(0)
        if name not in values:
            values[name] = VARIABLES[name][1](inquiry, agent)
            if not values[name]:
                empty.append(name)
        return values[name]

    return RenderedCanned(text=VARIABLE.sub(substitute, body or ""), unknown=unknown, empty=empty)


# --- writes (admins; every change leaves an audit row) ---------------------------------------

FIELDS = frozenset({"title", "body", "category", "active", "order"})


def _check(data: dict[str, Any]) -> None:
    if "body" in data:
        unknown = [v for v in canned_variables(data["body"]) if v not in VARIABLES]
        if unknown:
            known = "、".join("{" + v + "}" for v in VARIABLES)
            raise ValidationError(
                {"body": f"使えない変数です: {'、'.join('{' + v + '}' for v in unknown)}（使える変数: {known}）"}
            )
    extra = set(data) - FIELDS
    if extra:
        raise ValidationError(f"指定できない項目です: {', '.join(sorted(extra))}")


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("定型文を管理できるのは管理者のみです。")


@transaction.atomic
def canned_response_create(*, actor, data: dict[str, Any]) -> CannedResponse:
    _require_admin(actor)
    _check(data)
    return corrections.record_create(model=CannedResponse, actor=actor, data={**data, "created_by": actor})


@transaction.atomic
def canned_response_update(*, canned: CannedResponse, actor, data: dict[str, Any]) -> CannedResponse:
    _require_admin(actor)
    _check(data)
    return corrections.record_correct(obj=canned, actor=actor, data=dict(data))


@transaction.atomic
def canned_response_delete(*, canned: CannedResponse, actor) -> None:
    _require_admin(actor)
    corrections.record_delete(obj=canned, actor=actor)
