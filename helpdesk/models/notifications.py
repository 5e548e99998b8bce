from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something a staff member should look at, shown in the desk's badge and list (and, if
    they asked for it, copied to them by mail). Written only by helpdesk.notifications.services;
    the text is built from `kind` and the inquiry when shown, so it follows the reader's
    language and never holds a citizen's words."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("担当に割り当てられました")
        CITIZEN_REPLIED = "citizen_replied", _("問い合わせ者から返信がありました")
        ESCALATION_RETURNED = "escalation_returned", _("エスカレーションの回答が戻りました")
        REPLY_FAILED = "reply_failed", _("返信メールを送信できませんでした")
        MAIL_DUE_SOON = "mail_due_soon", _("メール回答の目標（24時間）が迫っています")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    inquiry = models.ForeignKey(
        "helpdesk.Inquiry", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # Who caused it (the supervisor who assigned, who recorded the answer); None for the system.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # When the mail copy left (NotificationPreference.email_copy); None: not asked or not sent.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recipient_recent"),
            # The badge's count: only unread rows, so it stays small however long the history.
            models.Index(fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["assigned", "citizen_replied", "escalation_returned", "reply_failed", "mail_due_soon"]
                ),
                name="notification_kind_valid",
            ),
            # The 24-hour reminder is sent once per inquiry, however often the beat task runs.
            models.UniqueConstraint(
                fields=["inquiry"], condition=Q(kind="mail_due_soon"), name="notification_due_soon_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient_id}"


class NotificationPreference(models.Model):
    """A staff member's choices about notifications. No row = the defaults (in-app only)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_copy = models.BooleanField(default=False, help_text="通知をメールでも受け取る")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} (mail: {self.email_copy})"
