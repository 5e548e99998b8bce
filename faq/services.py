"""Writes of the faq app: embeddings, cluster runs, surge alerts, FAQ entries, usages, IVR.

faq never writes helpdesk records. Every state change writes an AuditEvent."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.utils import timezone

from faq import clustering, drafts, pipeline, privacy, surges, text
from faq.models import (
    ClusterMembership,
    ClusterRun,
    ClusterSplit,
    ClusterSplitSeed,
    FaqCategory,
    FaqEntry,
    FaqSettings,
    FaqUsage,
    InquiryEmbedding,
    IvrAnnouncement,
    SurgeAlert,
    TopicCluster,
)
from faq.selectors import faq_settings_get
from helpdesk.audit import audit_record, diff_fields
from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.models import AuditEvent, EmailMessage, Inquiry
from helpdesk.roles import is_admin, is_staff_operator

logger = logging.getLogger(__name__)

IVR_TEMPLATE = "現在、{topic}に関するお問い合わせが集中しております。よくある質問ページをご覧ください。"
DRAFT_ANSWER_PLACEHOLDER = ""
SYSTEM = "faq"


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("FAQ・IVRの編集と公開は管理者のみ行えます。")


# --- settings ---------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "window_weeks",
    "tfidf_weight",
    "auto_cut",
    "distance_threshold",
    "min_cluster_size",
    "max_sample",
    "surge_min_count",
    "surge_min_ratio",
    "surge_alpha",
    "surge_baseline_weeks",
    "draft_min_cluster_size",
)


@transaction.atomic
def faq_settings_update(*, actor, **data) -> FaqSettings:
    _require_admin(actor)
    obj = faq_settings_get()
    data = {k: v for k, v in data.items() if k in SETTINGS_FIELDS}
    changes = diff_fields(obj, data)
    for k, v in data.items():
        setattr(obj, k, v)
    obj.full_clean()
    obj.save()
    if changes:
        audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=obj, changes=changes)
    return obj


def cluster_params_from(s: FaqSettings) -> clustering.ClusterParams:
    return clustering.ClusterParams(
        tfidf_weight=s.tfidf_weight,
        auto_cut=s.auto_cut,
        distance_threshold=s.distance_threshold,
        min_cluster_size=s.min_cluster_size,
        max_sample=s.max_sample,
    )


def surge_params_from(s: FaqSettings) -> surges.SurgeParams:
    return surges.SurgeParams(
        min_count=s.surge_min_count,
        min_ratio=s.surge_min_ratio,
        alpha=s.surge_alpha,
        baseline_weeks=s.surge_baseline_weeks,
    )


# --- embeddings -------------------------------------------------------------------------------


def _text_hash(cleaned: str) -> str:
    return hashlib.sha256(cleaned.encode()).hexdigest()


def inquiry_embeddings_compute(*, inquiry_ids: Iterable[int], batch_size: int = 500) -> int:
    """Compute (or refresh, when the text changed or the model was unavailable before) the
    stored tokens and embedding of each inquiry. Returns how many rows were written."""
    ids = list(inquiry_ids)
    written = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        rows = list(Inquiry.objects.filter(id__in=chunk).values_list("id", "subject", "body"))
        stored = {
            r[0]: (r[1], r[2])
            for r in InquiryEmbedding.objects.filter(inquiry_id__in=chunk).values_list(
                "inquiry_id", "text_hash", "model"
            )
        }
        todo = []
        for pk, subject, body in rows:
            cleaned = text.inquiry_text(subject, body)
            h = _text_hash(cleaned)
            if stored.get(pk) == (h, clustering.EMBEDDING_MODEL):
                continue
            todo.append((pk, cleaned, h, subject, body))
        if not todo:
            continue
        try:
            vectors: np.ndarray | None = clustering.embed_texts([t[1] for t in todo])
            model = clustering.EMBEDDING_MODEL
        except clustering.EmbeddingUnavailable:
            vectors, model = None, ""
        objs = [
            InquiryEmbedding(
                inquiry_id=pk,
                model=model,
                text_hash=h,
                tokens=" ".join(text.content_words(subject) + text.content_words(body)),
                vector=None if vectors is None else vectors[i].astype("<f4").tobytes(),
            )
            for i, (pk, _c, h, subject, body) in enumerate(todo)
        ]
        InquiryEmbedding.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["inquiry"],
            update_fields=["model", "text_hash", "tokens", "vector", "computed_at"],
        )
        written += len(objs)
    return written


def inquiry_embeddings_missing(*, since: dt.datetime) -> list[int]:
    """Inquiries received since `since` that have no embedding with the current model."""
    have = InquiryEmbedding.objects.filter(model=clustering.EMBEDDING_MODEL).values("inquiry_id")
    return list(Inquiry.objects.filter(received_at__gte=since).exclude(id__in=have).values_list("id", flat=True))


def inquiry_embeddings_backfill_chunks(*, since: dt.datetime | None = None, chunk_size: int = 500) -> list[list[int]]:
    """Ids of the inquiries (received since `since`, or all) without a current embedding, in
    chunks of `chunk_size` for a fan-out across workers (`faq_embed_backfill`)."""
    if chunk_size < 1:
        raise ValidationError({"chunk_size": "1以上を指定してください。"})
    have = InquiryEmbedding.objects.filter(model=clustering.EMBEDDING_MODEL).values("inquiry_id")
    qs = Inquiry.objects.exclude(id__in=have)
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    ids = list(qs.order_by("id").values_list("id", flat=True))
    return [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]


def inquiry_embeddings_progress(*, since: dt.datetime | None = None) -> dict[str, int]:
    """{"inquiries", "embedded", "missing"}: how far a backfill has come (read from the table, so
    it holds whichever workers did the work and across restarts)."""
    qs = Inquiry.objects.all() if since is None else Inquiry.objects.filter(received_at__gte=since)
    total = qs.count()
    done = InquiryEmbedding.objects.filter(model=clustering.EMBEDDING_MODEL, inquiry__in=qs).count()
    return {"inquiries": total, "embedded": done, "missing": total - done}


# --- the periodic run -------------------------------------------------------------------------


def _window(as_of: dt.datetime, weeks: int) -> tuple[dt.datetime, dt.datetime]:
    local = timezone.localtime(as_of)
    end = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return end - dt.timedelta(weeks=weeks), end


def faq_cluster_run(*, as_of: dt.datetime | None = None, embed_missing: bool = True) -> ClusterRun:
    """Cluster the inquiries of the window ending on `as_of`'s day, explain the clusters,
    detect surges and propose FAQ drafts and IVR announcements for new ones."""
    as_of = as_of or timezone.now()
    cfg = faq_settings_get()
    start, end = _window(as_of, cfg.window_weeks)
    run = ClusterRun.objects.create(started_at=timezone.now(), window_start=start, window_end=end)
    try:
        if embed_missing:
            missing = list(
                Inquiry.objects.filter(received_at__gte=start, received_at__lt=end)
                .exclude(id__in=InquiryEmbedding.objects.filter(model=clustering.EMBEDDING_MODEL).values("inquiry_id"))
                .values_list("id", flat=True)
            )
            inquiry_embeddings_compute(inquiry_ids=missing)
        docs, tokens, vectors, ids = _load_window(start, end)
        previous = [
            clustering.PreviousCluster(
                id=c.cluster_id,
                centroid=None if not c.centroid else np.frombuffer(bytes(c.centroid), dtype="<f4"),
                term_weights=c.term_weights,
            )
            for c in TopicCluster.objects.filter(active=True)
        ]
        next_id = (TopicCluster.objects.aggregate(m=Max("cluster_id"))["m"] or 0) + 1
        in_force = set(ClusterSplit.objects.filter(withdrawn_at__isnull=True).values_list("pk", flat=True))
        seed_splits = _recorded_splits(ids, in_force)
        result = pipeline.run(
            docs,
            tokens=tokens,
            embeddings=vectors,
            embed=False,
            cluster_params=cluster_params_from(cfg),
            surge_params=surge_params_from(cfg),
            previous=previous,
            next_id=next_id,
            as_of=timezone.localtime(as_of).date(),
            seed_splits=seed_splits,
        )
        if vectors is None and not result.clustering.fallback_reason:
            result.clustering.fallback_reason = "embedding model unavailable when the inquiries were saved"
        _store_result(run, result, ids, cfg)
        _reunite_splits_withdrawn_during(run, in_force)
    except Exception:
        ClusterRun.objects.filter(pk=run.pk).update(status=ClusterRun.Status.FAILED, finished_at=timezone.now())
        raise
    run.refresh_from_db()
    return run


def _load_window(start, end):
    """Ids, refs and times of the window's inquiries with their stored tokens and vectors (one
    join query, streamed). Texts are read only for inquiries that have no stored tokens."""
    rows = list(_window_rows(start, end))
    ids = [r[0] for r in rows]
    tokens: list[list[str] | None] = [None if r[3] is None else r[3].split() for r in rows]
    # The vectors arrive as 100 k separate 2 KB byte strings: joined once and read by one
    # np.frombuffer (not one small array per row).
    with_vector = [i for i, r in enumerate(rows) if r[4]]
    vectors = np.zeros((len(ids), clustering.EMBEDDING_DIM), dtype=np.float32)
    if with_vector:
        vectors[with_vector] = np.frombuffer(b"".join(rows[i][5] for i in with_vector), dtype="<f4").reshape(
            len(with_vector), clustering.EMBEDDING_DIM
        )
    missing = [ids[i] for i, t in enumerate(tokens) if t is None]
    texts = {}
    for chunk_start in range(0, len(missing), 5000):
        chunk = missing[chunk_start : chunk_start + 5000]
        texts.update(
            {
                pk: (sub, body)
                for pk, sub, body in Inquiry.objects.filter(id__in=chunk).values_list("id", "subject", "body")
            }
        )
    docs = []
    for i, (pk, ref, received_at, *_rest) in enumerate(rows):
        subject, body = texts.get(pk, ("", ""))
        doc = pipeline.Document(id=ref, subject=subject, body=body, received_at=received_at)
        if tokens[i] is None:
            tokens[i] = pipeline.document_tokens(doc)
        docs.append(doc)
    have_all = len(ids) > 0 and len(with_vector) == len(ids)
    return docs, tokens, (vectors if have_all else None), ids


def _window_rows(start, end):
    """(inquiry id, ref, received_at, tokens or None, has a current vector, vector bytes or None)
    of the window's inquiries in received order: one LEFT JOIN query. On PostgreSQL the rows come
    in binary format: 100 k vectors are 200 MB as bytes but twice that as hex text to decode, and
    binary timestamps are read without parsing ISO text (the text path spent more time in
    100 k timestamp parses than in the clustering's TF-IDF)."""
    current = Q(faq_embedding__model=clustering.EMBEDDING_MODEL) & Q(faq_embedding__vector__isnull=False)
    qs = (
        Inquiry.objects.filter(received_at__gte=start, received_at__lt=end)
        .order_by("received_at", "id")
        .annotate(has_vector=ExpressionWrapper(current, output_field=BooleanField()))
        .values_list("id", "ref", "received_at", "faq_embedding__tokens", "has_vector", "faq_embedding__vector")
    )
    if connection.vendor != "postgresql":
        for pk, ref, received_at, toks, has_vector, vec in qs.iterator(chunk_size=5000):
            yield pk, ref, received_at, toks, bool(has_vector) and bool(vec), (bytes(vec) if vec else None)
        return
    sql, params = qs.query.sql_with_params()
    connection.ensure_connection()
    # Django's connections bind parameters client-side, which cannot return binary rows;
    # a plain (server-binding) psycopg cursor on the same connection can.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        while batch := cursor.fetchmany(5000):
            for pk, ref, received_at, toks, has_vector, vec in batch:
                yield pk, ref, received_at, toks, bool(has_vector) and bool(vec), vec


def _insert_memberships(run: ClusterRun, cluster_pks: Sequence[int], members: Sequence[Sequence[int]], ids) -> None:
    """This run's memberships: `members[k]` (positions into `ids`) are in cluster `cluster_pks[k]`.
    COPY on PostgreSQL as one text block (100 k `write_row` calls were ~1 s of the job's CPU); bulk_create elsewhere."""
    ids = np.asarray(ids, dtype=np.int64)
    if not members:
        return
    cluster_col = np.concatenate(
        [np.full(len(m), pk, dtype=np.int64) for pk, m in zip(cluster_pks, members, strict=True)]
    )
    inquiry_col = np.concatenate([ids[np.asarray(m, dtype=np.int64)] for m in members])
    if connection.vendor == "postgresql":
        block = "".join(
            f"{run.pk}\t{c}\t{i}\n" for c, i in zip(cluster_col.tolist(), inquiry_col.tolist(), strict=True)
        )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy("COPY faq_clustermembership (run_id, cluster_id, inquiry_id) FROM STDIN") as copy,
        ):
            copy.write(block)
        return
    ClusterMembership.objects.bulk_create(
        (
            ClusterMembership(run_id=run.pk, cluster_id=int(c), inquiry_id=int(i))
            for c, i in zip(cluster_col, inquiry_col, strict=True)
        ),
        batch_size=2000,
    )


@transaction.atomic
def _store_result(run: ClusterRun, result: pipeline.PipelineResult, ids: Sequence[int], cfg: FaqSettings) -> None:
    cres = result.clustering
    now = timezone.now()
    by_cid: dict[int, TopicCluster] = {}
    seen = []
    for c in cres.clusters:
        values = {
            "keywords": c.keywords,
            "term_weights": c.term_weights,
            "centroid": None if c.centroid is None else c.centroid.astype("<f4").tobytes(),
            "size": c.size,
            "weekly_counts": result.weekly_counts(c),
            "central_inquiries": [ids[i] for i in c.central],
            "active": True,
            "last_run": run,
        }
        obj, _ = TopicCluster.objects.update_or_create(
            cluster_id=c.id, defaults=values, create_defaults={**values, "first_run": run}
        )
        by_cid[c.id] = obj
        seen.append(obj.pk)
    TopicCluster.objects.exclude(pk__in=seen).update(active=False)
    ClusterMembership.objects.exclude(run=run).delete()
    _insert_memberships(run, [by_cid[c.id].pk for c in cres.clusters], [c.members for c in cres.clusters], ids)
    new_surges: list[SurgeAlert] = []
    for s in result.surges:
        cluster = by_cid[s.cluster]
        alert, created = SurgeAlert.objects.get_or_create(
            cluster=cluster,
            kind=s.kind,
            period_start=s.start,
            defaults={
                "period_end": s.end,
                "count": s.count,
                "baseline": s.baseline,
                "ratio": s.ratio,
                "p_value": s.p_value,
                "threshold": s.threshold,
                "explanation": s.explanation(cluster.label)[:500],
                "run": run,
                "detected_at": now,
            },
        )
        if created:
            audit_record(
                actor=None,
                action=AuditEvent.Action.CREATE,
                obj=alert,
                changes={"cluster": cluster.cluster_id, "count": s.count, "p_value": s.p_value},
                note=SYSTEM,
            )
            new_surges.append(alert)
    for alert in new_surges:
        faq_entry_propose(cluster=alert.cluster, surge=alert)
        ivr_announcement_propose(surge=alert)
    for obj in by_cid.values():
        if obj.size >= cfg.draft_min_cluster_size and not obj.faq_entries.exists():
            faq_entry_propose(cluster=obj)
    ClusterRun.objects.filter(pk=run.pk).update(
        status=ClusterRun.Status.DONE,
        finished_at=timezone.now(),
        method=cres.method,
        fallback_reason=cres.fallback_reason[:255],
        inquiries=len(ids),
        clusters=len(cres.clusters),
        unclustered=len(cres.unclustered),
        surges=len(result.surges),
        sampled=cres.sampled,
        cut=cres.cut,
        merges=cres.merges,
        splits=cres.splits,
        admin_splits=cres.admin_splits,
    )
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=run,
        changes={
            "method": cres.method,
            "clusters": len(cres.clusters),
            "surges": len(new_surges),
            "cut": cres.cut,
            "merges": cres.merges,
            "splits": cres.splits,
            "admin_splits": cres.admin_splits,
        },
        note=SYSTEM,
    )


def _recorded_splits(ids: Sequence[int], in_force: Iterable[int]) -> list[clustering.SeedSplit]:
    """The admins' recorded splits in force (`in_force`: read once, at the run's start) as
    positions into this run's documents (seeds outside the window dropped), oldest first: the
    run applies each to a cluster holding both sides."""
    rows = (
        ClusterSplitSeed.objects.filter(split__in=list(in_force))  # withdrawn splits are not applied
        .order_by("split_id", "id")
        .values_list("split_id", "inquiry_id", "side")
    )
    position = {pk: i for i, pk in enumerate(ids)}
    sides: dict[int, tuple[list[int], list[int]]] = {}
    for split_id, inquiry_id, side in rows:
        at = position.get(inquiry_id)
        if at is None:
            continue
        marked, kept = sides.setdefault(split_id, ([], []))
        (marked if side == ClusterSplitSeed.Side.MARKED else kept).append(at)
    return [
        clustering.SeedSplit(marked=np.array(m, dtype=np.int64), kept=np.array(k, dtype=np.int64))
        for m, k in sides.values()
        if m and k
    ]


# --- an admin's "split this cluster" ---------------------------------------------------------


@dataclass
class SplitOutcome:
    split: ClusterSplit
    kept_entry: FaqEntry | None  # the cluster's draft, regenerated (or proposed); None if published only
    new_entry: FaqEntry | None  # the new cluster's draft


def _member_vectors(inquiry_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Stored embeddings of these inquiries (current model) as rows in their order, zeros where
    none is stored, and which rows have one."""
    position = {pk: i for i, pk in enumerate(inquiry_ids)}
    vectors = np.zeros((len(inquiry_ids), clustering.EMBEDDING_DIM), dtype=np.float32)
    has = np.zeros(len(inquiry_ids), dtype=bool)
    rows = InquiryEmbedding.objects.filter(
        inquiry_id__in=inquiry_ids, model=clustering.EMBEDDING_MODEL, vector__isnull=False
    ).values_list("inquiry_id", "vector")
    found = [(position[pk], bytes(vec)) for pk, vec in rows if vec]
    if found:
        at = [i for i, _v in found]
        vectors[at] = np.frombuffer(b"".join(v for _i, v in found), dtype="<f4").reshape(
            len(found), clustering.EMBEDDING_DIM
        )
        has[at] = True
    return vectors, has


def _member_tokens(inquiry_ids: Sequence[int]) -> list[list[str]]:
    stored = dict(InquiryEmbedding.objects.filter(inquiry_id__in=inquiry_ids).values_list("inquiry_id", "tokens"))
    missing = [pk for pk in inquiry_ids if pk not in stored]
    texts = {
        pk: (sub, body) for pk, sub, body in Inquiry.objects.filter(id__in=missing).values_list("id", "subject", "body")
    }
    out = []
    for pk in inquiry_ids:
        if pk in stored:
            out.append(stored[pk].split())
        else:
            subject, body = texts.get(pk, ("", ""))
            out.append(text.content_words(subject) + text.content_words(body))
    return out


def _refs(inquiry_ids: Iterable[int]) -> str:
    return "、".join(Inquiry.objects.filter(id__in=list(inquiry_ids)).order_by("ref").values_list("ref", flat=True))


def _split_seeds(
    cluster: TopicCluster, marked: Iterable[int], kept: Iterable[int]
) -> tuple[list[int], list[int], list[int]]:
    """(members, marked, kept) after checking the admin's choice; ValidationError naming the field."""
    marked_ids = sorted({int(i) for i in marked})
    kept_ids = sorted({int(i) for i in kept} - set(marked_ids))
    if not marked_ids:
        raise ValidationError({"marked": "別の話題として分ける問い合わせを1件以上選んでください。"})
    if not kept_ids:
        raise ValidationError({"kept": "残す問い合わせ（選ばない問い合わせ）を1件以上残してください。"})
    if not cluster.active:
        raise ValidationError({"cluster": "このクラスタは最新の集計にないため分けられません。"})
    members = list(cluster.memberships.order_by("inquiry_id").values_list("inquiry_id", flat=True))
    inside = set(members)
    for name, ids in (("marked", marked_ids), ("kept", kept_ids)):
        outside = [pk for pk in ids if pk not in inside]
        if outside:
            raise ValidationError(
                {name: f"このクラスタの問い合わせではありません: {_refs(outside) or ', '.join(map(str, outside))}"}
            )
    return members, marked_ids, kept_ids


# What `_describe` sets on a cluster: saved after a split and after its withdrawal.
CLUSTER_DESCRIPTION_FIELDS = ["keywords", "term_weights", "centroid", "central_inquiries", "size", "weekly_counts"]


def _describe(
    clusters: Sequence[TopicCluster],
    members: Sequence[int],
    groups: Sequence[np.ndarray],
    vectors: np.ndarray,
    has: np.ndarray,
) -> None:
    """Set the clusters' keywords (c-TF-IDF over these groups), weights, centroids, central
    inquiries, sizes and weekly counts from their members (not saved): `clusters[k]` gets the
    members at positions `groups[k]` of `members` — a split's two sides, or a withdrawn split's
    reunited cluster alone."""
    tokens = _member_tokens(members)
    embeddings = vectors if has.all() else None
    described = clustering.describe_groups(
        tokens, embeddings, [g.tolist() for g in groups], cluster_params_from(faq_settings_get())
    )
    received = dict(Inquiry.objects.filter(id__in=members).values_list("id", "received_at"))
    for cluster, group, d in zip(clusters, groups, described, strict=True):
        centroid = d.centroid
        if centroid is None and has[group].any():  # some members without a stored vector
            centroid = clustering._unit(vectors[group[has[group]]].mean(axis=0)[None, :])[0]
        cluster.keywords = d.keywords
        cluster.term_weights = d.term_weights
        cluster.centroid = None if centroid is None else centroid.astype("<f4").tobytes()
        cluster.central_inquiries = [members[i] for i in d.central]
        cluster.size = len(group)
        ids = [members[i] for i in group.tolist()]
        cluster.weekly_counts = pipeline.weekly_counts_of([received[pk] for pk in ids if pk in received])


@transaction.atomic
def faq_cluster_split(
    *, actor, cluster: TopicCluster, marked: Iterable[int], kept: Iterable[int], note: str = ""
) -> SplitOutcome:
    """An admin's "split this cluster": `marked` (members the admin marked as another topic)
    and `kept` (members that stay) are recorded as the two sides' seeds, and applied at once —
    every member goes to the side whose seeds' centroid its stored embedding is closer to
    (`clustering.seed_partition`); the marked side becomes a new cluster with its own
    memberships, keywords and draft, the cluster's own draft is written again from what stays.
    Nothing is published. Every nightly run applies the split again while it is in force (until
    `faq_cluster_split_withdraw`; docs/faq.md)."""
    _require_admin(actor)
    cluster = TopicCluster.objects.select_for_update().get(pk=cluster.pk)
    members, marked_ids, kept_ids = _split_seeds(cluster, marked, kept)
    vectors, has = _member_vectors(members)
    position = {pk: i for i, pk in enumerate(members)}
    marked_at = np.array([position[pk] for pk in marked_ids], dtype=np.int64)
    kept_at = np.array([position[pk] for pk in kept_ids], dtype=np.int64)
    for name, at in (("marked", marked_at), ("kept", kept_at)):
        if not has[at].any():
            raise ValidationError(
                {
                    name: "選んだ問い合わせの埋め込みがまだ計算されていないため分けられません（夜間の集計後にお試しください）。"
                }
            )
    side = clustering.seed_partition(vectors, np.arange(len(members)), marked_at, kept_at)
    moved = [pk for pk, s in zip(members, side.tolist(), strict=True) if s]
    stayed = [pk for pk, s in zip(members, side.tolist(), strict=True) if not s]
    new = TopicCluster(
        cluster_id=(TopicCluster.objects.aggregate(m=Max("cluster_id"))["m"] or 0) + 1,
        active=True,
        first_run_id=cluster.last_run_id,
        last_run_id=cluster.last_run_id,
    )
    _describe([cluster, new], members, [np.flatnonzero(~side), np.flatnonzero(side)], vectors, has)
    new.save()
    ClusterMembership.objects.filter(cluster=cluster, inquiry_id__in=moved).update(cluster=new)
    cluster.save(update_fields=CLUSTER_DESCRIPTION_FIELDS)
    split = ClusterSplit(
        cluster=cluster,
        new_cluster=new,
        note=note,
        created_by=actor,
        created_at=timezone.now(),
        moved=len(moved),
        stayed=len(stayed),
    )
    split.full_clean()
    split.save()
    ClusterSplitSeed.objects.bulk_create(
        [ClusterSplitSeed(split=split, inquiry_id=pk, side=ClusterSplitSeed.Side.MARKED) for pk in marked_ids]
        + [ClusterSplitSeed(split=split, inquiry_id=pk, side=ClusterSplitSeed.Side.KEPT) for pk in kept_ids]
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=split,
        changes={
            "cluster": cluster.cluster_id,
            "new_cluster": new.cluster_id,
            "marked": marked_ids,
            "kept": kept_ids,
            "moved": len(moved),
            "stayed": len(stayed),
            "keywords": {"cluster": cluster.keywords[:5], "new_cluster": new.keywords[:5]},
        },
        note=note,
    )
    kept_entry = _redraft(cluster, note=f"redrafted after split {split.pk} of cluster {cluster.cluster_id}")
    new_entry = faq_entry_propose(cluster=new)
    return SplitOutcome(split=split, kept_entry=kept_entry, new_entry=new_entry)


def _redraft(cluster: TopicCluster, *, note: str) -> FaqEntry | None:
    """The cluster's drafts written again from its members after a split (a draft about two
    topics) or a split's withdrawal (the topics together again); a published entry is left
    alone. Without a draft or published entry: a new draft."""
    entries = list(cluster.faq_entries.select_for_update().filter(status=FaqEntry.Status.DRAFT).order_by("id"))
    if not entries:
        return faq_entry_propose(cluster=cluster)
    draft = _draft(cluster)
    for entry in entries:
        data = {
            "question": draft.question or f"{cluster.label}について",
            "answer": draft.answer or DRAFT_ANSWER_PLACEHOLDER,
            "pii_removed": draft.pii_removed,
            "answer_source": draft.answer_source,
        }
        changes = diff_fields(entry, data)
        for k, v in data.items():
            setattr(entry, k, v)
        entry.version += 1
        entry.full_clean()
        entry.save(update_fields=[*data.keys(), "version", "updated_at"])
        audit_record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            obj=entry,
            changes=changes,
            note=note,
        )
    return entries[0]


def _split_clusters_locked(split: ClusterSplit) -> tuple[TopicCluster, TopicCluster]:
    """The split's cluster and the cluster it made, locked (in primary-key order: two locks taken
    the same way by every caller)."""
    locked = {
        c.pk: c
        for c in TopicCluster.objects.select_for_update()
        .filter(pk__in=[split.cluster_id, split.new_cluster_id])
        .order_by("pk")
    }
    return locked[split.cluster_id], locked[split.new_cluster_id]


def _reunite(cluster: TopicCluster, new: TopicCluster) -> list[int]:
    """The members of a split's new cluster back in the split's cluster (both rows locked by
    the caller), the cluster described again from all its members as the split described it,
    the new cluster emptied and out of the latest run; returns the members moved back."""
    moved_back = list(new.memberships.order_by("inquiry_id").values_list("inquiry_id", flat=True))
    ClusterMembership.objects.filter(cluster=new).update(cluster=cluster)
    members = list(cluster.memberships.order_by("inquiry_id").values_list("inquiry_id", flat=True))
    vectors, has = _member_vectors(members)
    _describe([cluster], members, [np.arange(len(members))], vectors, has)
    cluster.save(update_fields=CLUSTER_DESCRIPTION_FIELDS)
    new.size, new.central_inquiries, new.weekly_counts, new.active = 0, [], {}, False
    new.save(update_fields=["size", "central_inquiries", "weekly_counts", "active"])
    return moved_back


def _reunite_splits_withdrawn_during(run: ClusterRun, applied: Iterable[int]) -> None:
    """Splits this run read in force at its start and an admin withdrew while it ran: the run
    applied them, so its result keeps their two clusters apart. Put them back together now, as
    the withdrawal does when both clusters are in the latest run: members back, the cluster
    described and redrafted; the new cluster's drafts retired by the admin who withdrew (left
    as drafts when that account is gone or no longer an admin). A new cluster with a published
    entry is left as it is (the withdrawal would have refused)."""
    for split in ClusterSplit.objects.filter(pk__in=list(applied), withdrawn_at__isnull=False).order_by("pk"):
        with transaction.atomic():
            cluster, new = _split_clusters_locked(split)
            if not (cluster.active and new.active) or new.faq_entries.filter(status=FaqEntry.Status.PUBLISHED).exists():
                continue
            moved_back = _reunite(cluster, new)
            audit_record(
                actor=None,
                action=AuditEvent.Action.UPDATE,
                obj=split,
                changes={
                    "reunited_after_run": run.pk,
                    "cluster": cluster.cluster_id,
                    "new_cluster": new.cluster_id,
                    "moved_back": len(moved_back),
                },
                note=f"{SYSTEM}: split withdrawn while run {run.pk} ran",
            )
            _redraft(cluster, note=f"redrafted after withdrawal of split {split.pk} (during run {run.pk})")
            admin = split.withdrawn_by
            if admin is not None and is_admin(admin):
                for entry in new.faq_entries.filter(status=FaqEntry.Status.DRAFT).order_by("id"):
                    faq_entry_retire(
                        actor=admin,
                        entry=entry,
                        note=f"split {split.pk} withdrawn: cluster {new.cluster_id} merged back",
                    )


@dataclass
class WithdrawOutcome:
    split: ClusterSplit
    reunited: bool  # both clusters were in the latest run: the members went back at once
    moved_back: int  # members that went back to the split's cluster (0 if not reunited)
    kept_entry: FaqEntry | None  # the cluster's draft, written again (None if not reunited / published only)
    withdrawn_entries: list[FaqEntry]  # the new cluster's drafts, retired


@transaction.atomic
def faq_cluster_split_withdraw(*, actor, split: ClusterSplit, note: str = "") -> WithdrawOutcome:
    """An admin's undo of "split this cluster": the split is marked withdrawn (who, when, note),
    so no later nightly run applies it. If its two clusters are both in the latest run, the new
    cluster's members go back to the split's cluster at once (keywords, centroid, central
    inquiries and weekly counts recomputed as the split computed them), the cluster's draft is
    written again from the reunited members and the new cluster's drafts are retired (the state
    the FAQ workflow gives a draft taken back); the new cluster leaves the latest run. Nothing is
    published; surges and IVR proposals stay where they are. Refused: a split already withdrawn
    (InvalidTransitionError, 409) and a new cluster with a published entry (its public text
    would lose its topic; ValidationError naming `new_cluster`)."""
    _require_admin(actor)
    split = ClusterSplit.objects.select_for_update().get(pk=split.pk)
    if split.withdrawn_at is not None:
        who = split.withdrawn_by.get_username() if split.withdrawn_by else "—"
        when = timezone.localtime(split.withdrawn_at).strftime("%Y-%m-%d %H:%M")
        raise InvalidTransitionError(f"この分割は既に取り消されています（{when}、{who}）。")
    cluster, new = _split_clusters_locked(split)
    published = list(new.faq_entries.filter(status=FaqEntry.Status.PUBLISHED).order_by("id"))
    if published:
        names = "、".join(f"#{e.pk}「{e.question[:40]}」" for e in published)
        raise ValidationError(
            {
                "new_cluster": f"分けてできたクラスタ #{new.cluster_id} のFAQ {names} が公開中のため取り消せません"
                "（戻すと公開中のFAQの話題がなくなります）。先に公開を終了してください。"
            }
        )
    split.withdrawn_at = timezone.now()
    split.withdrawn_by = actor
    split.withdrawn_note = note
    split.full_clean()
    split.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_note"])
    reunited = cluster.active and new.active
    moved_back = _reunite(cluster, new) if reunited else []
    kept_entry: FaqEntry | None = None
    withdrawn: list[FaqEntry] = []
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        obj=split,
        changes={
            "withdrawn": {"old": False, "new": True},
            "cluster": cluster.cluster_id,
            "new_cluster": new.cluster_id,
            "reunited": reunited,
            "moved_back": len(moved_back),
            "keywords": cluster.keywords[:5] if reunited else [],
        },
        note=note,
    )
    if reunited:
        kept_entry = _redraft(
            cluster, note=f"redrafted after withdrawal of split {split.pk} (cluster {new.cluster_id} merged back)"
        )
        for entry in new.faq_entries.filter(status=FaqEntry.Status.DRAFT).order_by("id"):
            withdrawn.append(
                faq_entry_retire(
                    actor=actor, entry=entry, note=f"split {split.pk} withdrawn: cluster {new.cluster_id} merged back"
                )
            )
    return WithdrawOutcome(
        split=split, reunited=reunited, moved_back=len(moved_back), kept_entry=kept_entry, withdrawn_entries=withdrawn
    )


# --- FAQ entries ------------------------------------------------------------------------------


def _draft_resolutions(cluster: TopicCluster, source_ids: Sequence[int]) -> list[str]:
    """The agents' resolutions a draft's answer is taken from, best first: those shared by two
    or more members of the cluster (most common first, counted in the database), then those of
    the draft's source inquiries, most central first. (Resolutions are free text and mostly
    unique: without the second part a cluster's answer was the alphabetically first of its
    members' — any member's, the central ones no likelier than the rest.)"""
    shared = list(
        Inquiry.objects.filter(id__in=cluster.memberships.values("inquiry_id"))
        .exclude(resolution="")
        .values("resolution")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("-n", "resolution")
        .values_list("resolution", flat=True)[:3]
    )
    own = dict(Inquiry.objects.filter(id__in=source_ids).exclude(resolution="").values_list("id", "resolution"))
    return list(dict.fromkeys([*shared, *(own[pk] for pk in source_ids if pk in own)]))


def _pii_allowed() -> list[str]:
    """Contact details published on purpose (the help desk's own number), never flagged."""
    return list(settings.FAQ_PII_ALLOWED)


DRAFT_SOURCE_INQUIRIES = 30


def _draft(cluster: TopicCluster) -> drafts.Draft:
    """Question from the central inquiries (then other members), answer from the agents'
    resolutions or written replies; personal information scrubbed (faq/drafts.py)."""
    central = list(cluster.central_inquiries)
    others = list(
        cluster.memberships.exclude(inquiry_id__in=central)
        .order_by("inquiry_id")
        .values_list("inquiry_id", flat=True)[: DRAFT_SOURCE_INQUIRIES - len(central)]
    )
    order = {pk: i for i, pk in enumerate(central + others)}
    rows = sorted(
        Inquiry.objects.filter(id__in=order).values_list(
            "id", "subject", "body", "requester_name", "requester_email", "requester_phone", "requester_organization"
        ),
        key=lambda r: order[r[0]],
    )
    known = {v for r in rows for v in r[3:] if v}
    replies = sorted(
        EmailMessage.objects.filter(inquiry_id__in=order, direction=EmailMessage.Direction.OUTBOUND)
        .exclude(body_text="")
        .values_list("inquiry_id", "body_text"),
        key=lambda r: order[r[0]],
    )
    return drafts.build(
        [(r[1], r[2]) for r in rows],
        resolutions=_draft_resolutions(cluster, [pk for pk, *_ in rows]),
        replies=[body for _pk, body in replies],
        known=known,
        allowed=_pii_allowed(),
        fallback_question=f"{cluster.label}について",
        keywords=cluster.keywords,
    )


class PersonalDataError(ValidationError):
    """The text to publish still carries personal information (faq/privacy.py)."""


def faq_text_pii(text: str) -> list[privacy.Finding]:
    """What in `text` still looks personal, by the rule publishing enforces (the help desk's
    own published contact details allowed): the review page warns with it before publishing."""
    return privacy.find(text, allowed=_pii_allowed())


def _check_publishable(entry: FaqEntry) -> None:
    errors = {}
    for name in ("question", "answer"):
        found = faq_text_pii(getattr(entry, name))
        if found:
            errors[name] = (
                f"個人情報と思われる記載があるため公開できません: {privacy.describe(found)}。削除してから公開してください。"
            )
    if errors:
        raise PersonalDataError(errors)


@transaction.atomic
def faq_entry_propose(*, cluster: TopicCluster, surge: SurgeAlert | None = None) -> FaqEntry | None:
    """A draft from a cluster (question a citizen asked, answer from the agents' replies, personal
    information scrubbed and flagged in `pii_removed`). None if the cluster already has a draft
    or published entry."""
    if cluster.faq_entries.filter(status__in=[FaqEntry.Status.DRAFT, FaqEntry.Status.PUBLISHED]).exists():
        return None
    draft = _draft(cluster)
    entry = FaqEntry(
        question=draft.question or f"{cluster.label}について",
        answer=draft.answer or DRAFT_ANSWER_PLACEHOLDER,
        pii_removed=draft.pii_removed,
        answer_source=draft.answer_source,
        source_cluster=cluster,
        source_surge=surge,
    )
    entry.full_clean()
    entry.save()
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=entry,
        changes={
            "status": entry.status,
            "source_cluster": cluster.cluster_id,
            "surge": surge.pk if surge else None,
            "pii_removed": entry.pii_removed,
            "answer_source": entry.answer_source,
        },
        note="proposed by faq clustering",
    )
    return entry


ENTRY_FIELDS = ("question", "answer", "category")


@transaction.atomic
def faq_entry_create(*, actor, question: str, answer: str = "", category: FaqCategory | None = None) -> FaqEntry:
    _require_admin(actor)
    entry = FaqEntry(question=question, answer=answer, category=category, created_by=actor)
    entry.full_clean()
    entry.save()
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=entry, changes={"status": entry.status})
    return entry


def _locked(entry: FaqEntry) -> FaqEntry:
    return FaqEntry.objects.select_for_update().get(pk=entry.pk)


@transaction.atomic
def faq_entry_update(*, actor, entry: FaqEntry, version: int, **data) -> FaqEntry:
    _require_admin(actor)
    entry = _locked(entry)
    if version != entry.version:
        raise ConflictError("他の管理者が更新済みです。読み直してください。", extra={"version": entry.version})
    data = {k: v for k, v in data.items() if k in ENTRY_FIELDS}
    changes = diff_fields(entry, data)
    if not changes:
        return entry
    for k, v in data.items():
        setattr(entry, k, v)
    if entry.status == FaqEntry.Status.PUBLISHED:
        _check_publishable(entry)  # an edit of a published entry is public at once
    entry.version += 1
    entry.full_clean()
    entry.save(update_fields=[*data.keys(), "version", "updated_at"])
    audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=entry, changes=changes)
    return entry


@transaction.atomic
def faq_entry_publish(*, actor, entry: FaqEntry) -> FaqEntry:
    _require_admin(actor)
    entry = _locked(entry)
    if entry.status == FaqEntry.Status.PUBLISHED:
        raise InvalidTransitionError("既に公開中です。")
    if not entry.answer.strip():
        raise ValidationError({"answer": "回答を入力してから公開してください。"})
    _check_publishable(entry)
    old = entry.status
    entry.status = FaqEntry.Status.PUBLISHED
    entry.published_at = timezone.now()
    entry.published_by = actor
    entry.retired_at = None
    entry.retired_by = None
    entry.version += 1
    entry.full_clean()
    entry.save(
        update_fields=["status", "published_at", "published_by", "retired_at", "retired_by", "version", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        obj=entry,
        changes={"status": {"old": old, "new": "published"}},
    )
    return entry


@transaction.atomic
def faq_entry_retire(*, actor, entry: FaqEntry, note: str = "") -> FaqEntry:
    _require_admin(actor)
    entry = _locked(entry)
    if entry.status == FaqEntry.Status.RETIRED:
        raise InvalidTransitionError("既に公開終了しています。")
    old = entry.status
    entry.status = FaqEntry.Status.RETIRED
    entry.retired_at = timezone.now()
    entry.retired_by = actor
    entry.version += 1
    entry.full_clean()
    entry.save(update_fields=["status", "retired_at", "retired_by", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        obj=entry,
        changes={"status": {"old": old, "new": "retired"}},
        note=note,
    )
    return entry


@transaction.atomic
def faq_category_create(*, actor, name: str, slug: str, order: int = 0) -> FaqCategory:
    _require_admin(actor)
    cat = FaqCategory(name=name, slug=slug, order=order)
    cat.full_clean()
    cat.save()
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=cat, changes={"name": name, "slug": slug})
    return cat


@transaction.atomic
def faq_usage_record(*, actor, inquiry: Inquiry, entry: FaqEntry) -> tuple[FaqUsage, bool]:
    """Record that `inquiry` was answered with `entry`. Idempotent: (usage, created)."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("FAQ利用の記録はオペレーター・SV・管理者のみ行えます。")
    if entry.status != FaqEntry.Status.PUBLISHED:
        raise ValidationError({"entry": "公開中のFAQのみ記録できます。"})
    usage, created = FaqUsage.objects.get_or_create(inquiry=inquiry, entry=entry, defaults={"recorded_by": actor})
    if created:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=usage,
            changes={"inquiry": inquiry.ref, "entry": entry.pk},
        )
    return usage, created


# --- IVR announcements ------------------------------------------------------------------------


@transaction.atomic
def ivr_announcement_propose(*, surge: SurgeAlert) -> IvrAnnouncement | None:
    """One proposal per surging cluster at a time (none while one is proposed or running)."""
    open_for_cluster = IvrAnnouncement.objects.filter(
        source_surge__cluster=surge.cluster,
        status__in=[IvrAnnouncement.Status.PROPOSED, IvrAnnouncement.Status.APPROVED],
    ).exclude(status=IvrAnnouncement.Status.APPROVED, ends_at__lte=timezone.now())
    if open_for_cluster.exists():
        return None
    topic = surge.cluster.label or "特定の手続"
    ann = IvrAnnouncement(text=IVR_TEMPLATE.format(topic=topic), source_surge=surge)
    ann.full_clean()
    ann.save()
    audit_record(
        actor=None, action=AuditEvent.Action.CREATE, obj=ann, changes={"status": ann.status}, note="proposed by surge"
    )
    return ann


@transaction.atomic
def ivr_announcement_approve(
    *, actor, announcement: IvrAnnouncement, starts_at: dt.datetime, ends_at: dt.datetime, text: str | None = None
) -> IvrAnnouncement:
    _require_admin(actor)
    ann = IvrAnnouncement.objects.select_for_update().get(pk=announcement.pk)
    if ann.status not in (IvrAnnouncement.Status.PROPOSED, IvrAnnouncement.Status.APPROVED):
        raise InvalidTransitionError("この案内は承認できません。")
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError("開始・終了日時にはタイムゾーンが必要です。")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "終了日時は開始日時より後にしてください。"})
    data = {"status": IvrAnnouncement.Status.APPROVED, "starts_at": starts_at, "ends_at": ends_at}
    if text is not None:
        data["text"] = text
    changes = diff_fields(ann, data)
    for k, v in data.items():
        setattr(ann, k, v)
    ann.approved_by = actor
    ann.approved_at = timezone.now()
    ann.full_clean()
    ann.save()
    audit_record(actor=actor, action=AuditEvent.Action.TRANSITION, obj=ann, changes=changes)
    return ann


@transaction.atomic
def ivr_announcement_create(*, actor, text: str) -> IvrAnnouncement:
    _require_admin(actor)
    ann = IvrAnnouncement(text=text)
    ann.full_clean()
    ann.save()
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=ann, changes={"status": ann.status})
    return ann


@transaction.atomic
def ivr_announcement_close(*, actor, announcement: IvrAnnouncement) -> IvrAnnouncement:
    """Reject a proposal, or withdraw an approved announcement (it stops playing now)."""
    _require_admin(actor)
    ann = IvrAnnouncement.objects.select_for_update().get(pk=announcement.pk)
    if ann.status == IvrAnnouncement.Status.PROPOSED:
        new = IvrAnnouncement.Status.REJECTED
    elif ann.status == IvrAnnouncement.Status.APPROVED:
        new = IvrAnnouncement.Status.WITHDRAWN
        now = timezone.now()
        if ann.ends_at and ann.ends_at > now:
            assert ann.starts_at is not None  # an approved announcement has its window (DB constraint)
            ann.ends_at = max(now, ann.starts_at + dt.timedelta(microseconds=1))
    else:
        raise InvalidTransitionError("この案内は既に終了しています。")
    old = ann.status
    ann.status = new
    ann.full_clean()
    ann.save()
    audit_record(
        actor=actor, action=AuditEvent.Action.TRANSITION, obj=ann, changes={"status": {"old": old, "new": new}}
    )
    return ann
