import hashlib
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The first row of the trail links to this "previous hash".
GENESIS_HASH = "0" * 64
_HEX64 = r"^[0-9a-f]{64}$"


def audit_canonical(
    *,
    at,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    changes: Any,
    note: str,
) -> str:
    """The text a row's hash covers: its content as compact, key-sorted JSON. Part of the
    stored format — changing it breaks every chain already written (verify_audit, the
    migration 0013_audit_chain and audit_record all hash through here)."""
    return json.dumps(
        {
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "changes": changes,
            "note": note,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def audit_changes_json(changes: Any) -> str:
    """`changes` as `audit_canonical` writes it inside the row's text (and as the bulk writer
    sends it to the jsonb column)."""
    return _dumps(changes)


def audit_canonical_with(
    *,
    at,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    changes_json: str,
    note: str,
) -> str:
    """`audit_canonical`'s text, the changes given already encoded (`audit_changes_json`):
    the same bytes (the keys in sorted order, each value as the encoder writes it nested),
    the changes encoded once for the hash and the insert."""
    return (
        f'{{"action":{_dumps(action)},"actor":{_dumps(actor_id)},"actor_label":{_dumps(actor_label)},'
        f'"at":"{at.astimezone(UTC).isoformat(timespec="microseconds")}","changes":{changes_json},'
        f'"note":{_dumps(note)},"object_id":{_dumps(object_id)},"object_type":{_dumps(object_type)}}}'
    )


def audit_chain_hash(prev_hash: str, canonical: str) -> str:
    """sha256 over the previous row's hash and this row's canonical content."""
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


class AuditEvent(models.Model):
    """Append-only, tamper-evident trail of who changed, viewed or exported what.

    Rows are written only by `helpdesk.audit.audit_record`; a trigger refuses UPDATE
    and DELETE (PostgreSQL and SQLite) so the trail cannot be rewritten through the ORM, and
    each row carries `chain_hash` = sha256(previous row's hash + its own content), so a row
    changed, removed or slipped in from SQL by someone who can lift the trigger shows up in
    `manage.py verify_audit`."""

    class Action(models.TextChoices):
        CREATE = "create", "作成"
        UPDATE = "update", "更新"
        TRANSITION = "transition", "状態変更"
        VIEW_PII = "view_pii", "個人情報の閲覧"
        EXPORT = "export", "エクスポート"
        IMPORT = "import", "インポート"
        SEND = "send", "送信"
        LOGIN = "login", "ログイン"
        DELETE = "delete", "削除"

    # Set by audit_record before the insert (not auto_now_add, which would overwrite it at
    # save time): the hash covers it, so it has to be known before the row is written.
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept as text too, so the trail still reads right after a user is renamed.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=128, blank=True)
    # Field names and old/new values; never personal information itself (only which fields).
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=255, blank=True)
    # The chain: the previous row's chain_hash (GENESIS_HASH for the first row) and this
    # row's own. Rows chain in id order.
    prev_hash = models.CharField(max_length=64, editable=False)
    chain_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            models.CheckConstraint(condition=Q(prev_hash__regex=_HEX64), name="auditevent_prev_hash_sha256"),
            models.CheckConstraint(condition=Q(chain_hash__regex=_HEX64), name="auditevent_chain_hash_sha256"),
            # The chain cannot fork: no two rows link to the same predecessor. audit_record's
            # lock keeps writers from trying; this turns any stale read of the head (a writer
            # in a REPEATABLE READ snapshot, a write around the service) into an error.
            models.UniqueConstraint(fields=["prev_hash"], name="auditevent_one_successor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def canonical(self) -> str:
        return audit_canonical(
            at=self.at,
            actor_id=self.actor_id,
            actor_label=self.actor_label,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            changes=self.changes,
            note=self.note,
        )
