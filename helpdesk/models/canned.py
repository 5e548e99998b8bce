from django.conf import settings
from django.db import models
from django.db.models import Q


class CannedResponse(models.Model):
    """A reply text admins maintain, inserted into the reply box from the desk. The body may
    hold variables (`{citizen_name}`, `{inquiry_ref}`, `{agent_name}`, `{today}` …, see
    helpdesk.canned.services.VARIABLES) filled in for the inquiry at hand. Written only by
    helpdesk.canned.services (audited)."""

    title = models.CharField("タイトル", max_length=100)
    body = models.TextField("本文")
    # An inquiry category (Inquiry.category) it suits, shown first for those; blank = any.
    category = models.CharField("カテゴリ", max_length=64, blank=True, db_index=True)
    active = models.BooleanField("有効", default=True)
    order = models.PositiveIntegerField("表示順", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "title", "id"]
        verbose_name = "定型文"
        verbose_name_plural = "定型文"
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="canned_title_not_blank"),
            models.CheckConstraint(condition=~Q(body=""), name="canned_body_not_blank"),
        ]

    def __str__(self) -> str:
        return self.title
