from django.conf import settings
from django.db import models
from django.db.models import Q


class InquiryNote(models.Model):
    """An internal note on an inquiry: staff only, never sent to the citizen, never shown
    outside the desk. Append-only (a wrong note is corrected by a new one), so the thread
    reads as it happened; written by helpdesk.inquiries.notes.inquiry_note_add."""

    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["inquiry", "created_at"], name="inquiry_note_thread")]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="inquiry_note_body_required")]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.inquiry_id}"
