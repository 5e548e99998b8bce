"""Staging of raw Asterisk records (phone import, adapter B).

Every queue_log line and every CDR row is kept once, keyed by a hash of its bytes, so
files can be imported in any order, in overlapping rotated pieces and more than once:
a line already staged is a no-op. Calls are (re)built from these tables by
`helpdesk.phone.importer` (the Asterisk join) whenever a new piece touches them."""

from django.db import models


class AsteriskQueueEvent(models.Model):
    """One queue_log line: `epoch|callid|queuename|agent|event|data1|data2|…`."""

    line_hash = models.CharField(max_length=32)
    time = models.DateTimeField(db_index=True)
    callid = models.CharField(max_length=128)
    queue = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    event = models.CharField(max_length=64)
    # The data fields in order. ENTERQUEUE's second field is the caller's number:
    # personal information, like Call.caller.
    data = models.JSONField(default=list, blank=True)
    source_name = models.CharField(max_length=500, blank=True)
    line = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["time", "id"]
        # Plain b-tree indexes (not `unique=True` / `db_index=True`, which on PostgreSQL add a
        # second, pattern-ops index per column that no query uses): every index is paid for by
        # every staged line.
        constraints = [models.UniqueConstraint(fields=["line_hash"], name="asterisk_event_line_hash_unique")]
        indexes = [models.Index(fields=["callid"], name="asterisk_event_callid")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.callid} {self.event}"


class AsteriskCdr(models.Model):
    """One CDR row of Master.csv (cdr_csv, 17/18/21 columns: with `uniqueid`)."""

    row_hash = models.CharField(max_length=32)
    uniqueid = models.CharField(max_length=128)
    linkedid = models.CharField(max_length=128, blank=True)  # read with its uniqueid's rows: no index
    src = models.CharField(max_length=80, blank=True)  # caller's number: personal information
    dst = models.CharField(max_length=80, blank=True)
    dcontext = models.CharField(max_length=80, blank=True)
    channel = models.CharField(max_length=128, blank=True)
    dstchannel = models.CharField(max_length=128, blank=True)
    lastapp = models.CharField(max_length=80, blank=True)
    start = models.DateTimeField(db_index=True)
    answer = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField()
    duration = models.IntegerField(default=0)
    billsec = models.IntegerField(default=0)
    disposition = models.CharField(max_length=32, blank=True)
    columns = models.PositiveSmallIntegerField()
    source_name = models.CharField(max_length=500, blank=True)
    line = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [models.UniqueConstraint(fields=["row_hash"], name="asterisk_cdr_row_hash_unique")]
        indexes = [models.Index(fields=["uniqueid"], name="asterisk_cdr_uniqueid")]
        verbose_name = "Asterisk CDR"

    def __str__(self) -> str:
        return f"{self.uniqueid} {self.dcontext} {self.disposition}"
