from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    """One run of an import (command, API upload or Celery task), with its counts and
    progress. The report line every import prints comes from here."""

    class Kind(models.TextChoices):
        CALLS_GENERIC = "calls_generic", "通話CSV"
        CALLS_ASTERISK = "calls_asterisk", "Asterisk"
        MAIL = "mail", "メール"
        RECORDS = "records", "引継ぎJSONL"

    class Status(models.TextChoices):
        PENDING = "pending", "待機"
        RUNNING = "running", "実行中"
        DONE = "done", "完了"
        FAILED = "failed", "失敗"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    source_name = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveBigIntegerField(null=True, blank=True)  # rows/bytes expected, if known
    done = models.PositiveBigIntegerField(default=0)
    read = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    unchanged = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Liveness: set when the task begins and on every progress update. A `running` run whose
    # heartbeat is older than HELPDESK_IMPORT_STALE_MINUTES lost its worker (the sweeper,
    # helpdesk/services/imports.py `import_runs_sweep`, marks it failed).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # What was queued for this run ({"task": name, "args": [...], "kwargs": {...}}), so the
    # sweeper can queue a `pending` run again once; empty for runs not queued through
    # `import_run_enqueue`.
    queued_task = models.JSONField(default=dict, blank=True)
    # Uploaded files waiting for the task (personal data: removed when the run ends).
    upload_paths = models.JSONField(default=list, blank=True)
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_name}"

    def summary(self) -> str:
        return (
            f"{self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )


class ImportReject(models.Model):
    """A line or message an import could not read: kept with where it was and why."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejects")
    source_name = models.CharField(max_length=500, blank=True)
    line = models.PositiveBigIntegerField(null=True, blank=True)
    offset = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField()
    raw = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "line", "id"]

    def __str__(self) -> str:
        return f"{self.source_name}:{self.line} {self.reason}"


class DeferredIndex(models.Model):
    """A secondary index a first handover import dropped, to build it once at the end
    (helpdesk.handover.indexes): kept here so that a run that dies half-way leaves the
    definition behind, and the next import builds it."""

    name = models.CharField(max_length=200, unique=True)
    table = models.CharField(max_length=200)
    definition = models.TextField()
    dropped_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
