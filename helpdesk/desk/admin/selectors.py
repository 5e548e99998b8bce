"""Reads of the admin's desk pages (a constant number of queries per page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from faq import privacy
from faq.models import ClusterMembership, ClusterSplit, FaqEntry, IvrAnnouncement, SurgeAlert, TopicCluster
from faq.services import faq_text_pii
from helpdesk.clock import Month
from helpdesk.models import CalendarDay, ImportReject, ImportRun, Inquiry, Role, ServiceHours
from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget
from kpi.selectors import DEFAULT_PERIODS

LIST_LIMIT = 200
REJECTS_SHOWN = 500


def faq_entries(*, status: str) -> QuerySet[FaqEntry]:
    return (
        FaqEntry.objects.filter(status=status)
        .select_related("source_cluster", "source_surge", "published_by", "retired_by", "category")
        .order_by("-updated_at", "-id")[:LIST_LIMIT]
    )


def faq_status_counts() -> dict[str, int]:
    rows = FaqEntry.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
    return {s: 0 for s in FaqEntry.Status.values} | dict(rows)


@dataclass(frozen=True)
class PiiWarning:
    field: str
    label: str
    text: str


def faq_pii_warnings(*, question: str, answer: str) -> list[PiiWarning]:
    return [
        PiiWarning(name, f.label, f.text)
        for name, value in (("question", question), ("answer", answer))
        for f in faq_text_pii(value)
    ]


@dataclass(frozen=True)
class Evidence:
    keywords: list[str]
    weekly: list[tuple[str, int]]
    weekly_max: int
    central: list[Inquiry]
    surges: list[SurgeAlert]


def faq_evidence(entry: FaqEntry) -> Evidence | None:
    cluster = entry.source_cluster
    if cluster is None:
        return None
    weekly = sorted((str(k), int(v)) for k, v in (cluster.weekly_counts or {}).items())
    ids = [int(i) for i in (cluster.central_inquiries or [])[:5]]
    found = {i.pk: i for i in Inquiry.objects.filter(pk__in=ids).only("id", "ref", "subject", "received_at")}
    surges = list(SurgeAlert.objects.filter(cluster=cluster).order_by("-period_start")[:5])
    if entry.source_surge_id and all(s.pk != entry.source_surge_id for s in surges):
        surges.insert(0, entry.source_surge)
    return Evidence(
        keywords=list(cluster.keywords or []),
        weekly=weekly,
        weekly_max=max([n for _w, n in weekly] or [1]) or 1,
        central=[found[i] for i in ids if i in found],
        surges=surges,
    )


SPLIT_CANDIDATES = 20
# Listed beside the members a search found, to keep: members without the words (central first).
SPLIT_BESIDE = 3


@dataclass(frozen=True)
class SplitCandidate:
    pk: int
    ref: str
    received_at: dt.datetime
    subject: str  # personal information replaced (faq.privacy.scrub, as drafts are)
    central: bool
    matched: bool = False  # holds the words searched for


@dataclass(frozen=True)
class SplitCandidates:
    listed: list[SplitCandidate]
    words: tuple[str, ...]  # the content words searched for; () for the default list
    matching: int | None  # how many members hold them all (None: no search)


def faq_splits_in_force(cluster: TopicCluster | None) -> list[ClusterSplit]:
    """The splits in force that made this cluster or were made on it, oldest first: what an
    admin can withdraw from the FAQ review page (who, when, note). One query."""
    if cluster is None:
        return []
    return list(
        ClusterSplit.objects.filter(Q(cluster=cluster) | Q(new_cluster=cluster), withdrawn_at__isnull=True)
        .select_related("cluster", "new_cluster", "created_by")
        .order_by("created_at", "id")
    )


def _holding_every(words: Sequence[str]) -> Q:
    """Members whose stored content words (`InquiryEmbedding.tokens`, space-separated: the words
    the clustering saw) include every one of `words`."""
    condition, field = Q(), "inquiry__faq_embedding__tokens"
    for word in words:
        condition &= (
            Q(**{field: word})
            | Q(**{f"{field}__startswith": f"{word} "})
            | Q(**{f"{field}__endswith": f" {word}"})
            | Q(**{f"{field}__contains": f" {word} "})
        )
    return condition


def faq_split_candidates(cluster: TopicCluster | None, *, words: Sequence[str] = ()) -> SplitCandidates:
    """The inquiries an admin marks to split a cluster: its central inquiries, then its most
    recent other members (up to SPLIT_CANDIDATES); with `words` (content words, as
    `faq.text.content_words` gives them), the members holding every one of them, most recent
    first (up to SPLIT_CANDIDATES), then up to SPLIT_BESIDE members that do not (central ones
    first, then the most recent), so that some listed inquiry can stay. Subjects with personal
    information replaced by the rule drafts are scrubbed with. At most four queries, whatever the
    cluster's size."""
    if cluster is None:
        return SplitCandidates([], tuple(words), None)
    central_all = [int(i) for i in (cluster.central_inquiries or [])]
    matching: int | None = None
    if words:
        holding = _holding_every(words)
        members = ClusterMembership.objects.filter(cluster=cluster).filter(holding)
        matched = list(members.order_by("-inquiry_id").values_list("inquiry_id", flat=True)[:SPLIT_CANDIDATES])
        matching = len(matched) if len(matched) < SPLIT_CANDIDATES else members.count()
        shown_matched = set(matched)
        beside = [i for i in central_all if i not in shown_matched][:SPLIT_BESIDE]
        if len(beside) < SPLIT_BESIDE:  # the central ones all hold the words: recent members that do not
            beside += list(
                ClusterMembership.objects.filter(cluster=cluster)
                .exclude(holding)
                .exclude(inquiry_id__in=beside)
                .order_by("-inquiry_id")
                .values_list("inquiry_id", flat=True)[: SPLIT_BESIDE - len(beside)]
            )
        ids = matched + beside
    else:
        central = central_all[:SPLIT_CANDIDATES]
        others = list(
            ClusterMembership.objects.filter(cluster=cluster)
            .exclude(inquiry_id__in=central)
            .order_by("-inquiry_id")
            .values_list("inquiry_id", flat=True)[: SPLIT_CANDIDATES - len(central)]
        )
        ids, shown_matched = central + others, set()
    rows = {
        r[0]: r
        for r in Inquiry.objects.filter(pk__in=ids).values_list(
            "id",
            "ref",
            "received_at",
            "subject",
            "requester_name",
            "requester_email",
            "requester_phone",
            "requester_organization",
        )
    }
    allowed = list(settings.FAQ_PII_ALLOWED)
    central_set = set(central_all)
    out = []
    for pk in ids:
        if pk not in rows:
            continue
        _pk, ref, received_at, subject, *known = rows[pk]
        masked = privacy.scrub(subject, known=[k for k in known if k], allowed=allowed).text
        out.append(SplitCandidate(pk, ref, received_at, masked, pk in central_set, pk in shown_matched))
    return SplitCandidates(out, tuple(words), matching)


# --- IVR --------------------------------------------------------------------------------------


@dataclass
class IvrBoard:
    active: IvrAnnouncement | None
    proposed: list[IvrAnnouncement]
    scheduled: list[IvrAnnouncement]
    past: list[IvrAnnouncement]


def ivr_board(*, now: dt.datetime | None = None) -> IvrBoard:
    now = now or timezone.now()
    rows = list(
        IvrAnnouncement.objects.select_related("approved_by", "source_surge").order_by("-created_at")[:LIST_LIMIT]
    )
    approved = [a for a in rows if a.status == IvrAnnouncement.Status.APPROVED]
    running = sorted((a for a in approved if a.starts_at <= now < a.ends_at), key=lambda a: (a.starts_at, a.pk))
    return IvrBoard(
        active=running[-1] if running else None,
        proposed=[a for a in rows if a.status == IvrAnnouncement.Status.PROPOSED],
        scheduled=sorted((a for a in approved if a.starts_at > now), key=lambda a: a.starts_at),
        past=[
            a
            for a in rows
            if a.status in (IvrAnnouncement.Status.REJECTED, IvrAnnouncement.Status.WITHDRAWN)
            or (a.status == IvrAnnouncement.Status.APPROVED and a.ends_at <= now)
        ],
    )


# --- calendar and targets ---------------------------------------------------------------------

FISCAL_MONTHS = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]


@dataclass(frozen=True)
class FiscalMonth:
    fiscal_year: int
    month: int
    period_type: str
    default: bool  # no row: the contract's default for the month
    published: bool

    @property
    def calendar(self) -> Month:
        return Month(self.fiscal_year if self.month >= 4 else self.fiscal_year + 1, self.month)


def fiscal_year_months(fiscal_year: int) -> list[FiscalMonth]:
    rows = {r.month: r.period_type for r in FiscalMonthPeriod.objects.filter(fiscal_year=fiscal_year)}
    names = [str(Month(fiscal_year if m >= 4 else fiscal_year + 1, m)) for m in FISCAL_MONTHS]
    published = set(KpiSnapshot.objects.filter(month__in=names).values_list("month", flat=True))
    return [
        FiscalMonth(
            fiscal_year,
            m,
            rows.get(m, str(DEFAULT_PERIODS.get(m, "normal"))),
            m not in rows,
            name in published,
        )
        for m, name in zip(FISCAL_MONTHS, names, strict=True)
    ]


def targets() -> list[KpiTarget]:
    return list(KpiTarget.objects.order_by("-valid_from"))


def service_hours() -> list[ServiceHours]:
    return list(ServiceHours.objects.order_by("weekday"))


def calendar_days(*, fiscal_year: int) -> list[CalendarDay]:
    start, end = dt.date(fiscal_year, 4, 1), dt.date(fiscal_year + 1, 4, 1)
    return list(CalendarDay.objects.filter(date__gte=start, date__lt=end).order_by("date"))


def current_fiscal_year(today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return today.year if today.month >= 4 else today.year - 1


# --- imports ----------------------------------------------------------------------------------


def import_runs() -> QuerySet[ImportRun]:
    return ImportRun.objects.select_related("created_by").order_by("-created_at", "-id")[:50]


def import_rejects(run: ImportRun) -> QuerySet[ImportReject]:
    return run.rejects.order_by("line", "id").only("id", "run_id", "source_name", "line", "reason")[:REJECTS_SHOWN]


def import_percent(run: ImportRun) -> int:
    if run.status == ImportRun.Status.DONE:
        return 100
    if not run.total:
        return 0
    return max(0, min(100, int(run.done * 100 / run.total)))


# --- users ------------------------------------------------------------------------------------


def staff_users() -> list:
    users = list(
        get_user_model()
        ._default_manager.order_by("username")
        .prefetch_related(Prefetch("groups", queryset=Group.objects.filter(name__in=Role.values)))[:LIST_LIMIT]
    )
    labels = dict(Role.choices)
    for u in users:
        names = sorted(g.name for g in u.groups.all())
        u.desk_role = names[0] if names else ""
        u.desk_role_label = "・".join(str(labels[n]) for n in names)
    return users
