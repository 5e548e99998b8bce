from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Append-only trail of who changed, viewed or exported what.

    Rows are written only by `helpdesk.services.audit.audit_record`; on PostgreSQL a
    trigger refuses UPDATE and DELETE so the trail cannot be rewritten even from SQL."""

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

    at = models.DateTimeField(auto_now_add=True, db_index=True)
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

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
