"""Drill-down rows. None of them carries personal information (caller numbers, names,
addresses, subjects, bodies, free-text descriptions): the drill-down explains a figure,
and staff who need the person follow the inquiry `ref` into the help desk, where every
view of personal information is audit-logged."""

import datetime as dt
from typing import Any

from rest_framework import serializers

from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident
from kpi import display


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return (a - b).total_seconds() if a and b else None


class AbandonedCallSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(source="outcome")
    reason_display = serializers.CharField(source="get_outcome_display")
    kind = serializers.SerializerMethodField()
    seconds_before_abandon = serializers.SerializerMethodField()
    seconds_in_queue = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "call_id",
            "arrived_at",
            "reason",
            "reason_display",
            "kind",
            "queue",
            "queued_at",
            "ended_at",
            "seconds_before_abandon",
            "seconds_in_queue",
        ]

    def get_kind(self, obj: Call) -> str:
        return "ivr" if obj.outcome == Call.Outcome.IVR_ABANDONED else "queue"

    def get_seconds_before_abandon(self, obj: Call) -> float | None:
        return _seconds(obj.ended_at, obj.arrived_at)

    def get_seconds_in_queue(self, obj: Call) -> float | None:
        return _seconds(obj.ended_at, obj.queued_at)


class AnsweredCallSerializer(serializers.ModelSerializer):
    connected_seconds = serializers.FloatField(source="connected_s")
    acw_seconds = serializers.FloatField(source="acw_s")
    acw_source = serializers.CharField(
        source="acw_end_s",
        help_text="where the ACW ended: pbx (the PBX's figure) / wrapup / next_call (the agent's next answer) / limit",
    )
    wrapup_completed_at = serializers.DateTimeField(source="acw_wrapup_at", allow_null=True)
    next_answered_at = serializers.DateTimeField(source="acw_next_answer_at", allow_null=True)
    acw_capped = serializers.BooleanField()
    handle_seconds = serializers.FloatField(source="handle_s")
    handle_display = serializers.SerializerMethodField()
    missing_wrapup = serializers.BooleanField()
    inquiry_ref = serializers.CharField(allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "call_id",
            "arrived_at",
            "answered_at",
            "ended_at",
            "agent",
            "queue",
            "connected_seconds",
            "acw_seconds",
            "acw_source",
            "wrapup_completed_at",
            "next_answered_at",
            "acw_capped",
            "missing_wrapup",
            "handle_seconds",
            "handle_display",
            "inquiry_ref",
        ]

    # a row carrying the .annotate() values of selectors.drill_answered_calls
    def get_handle_display(self, obj: Any) -> str:
        return display.aht_display(obj.handle_s)


class EmailInquirySerializer(serializers.ModelSerializer):
    handed_to_responsible_section = serializers.BooleanField(source="handed_to_section")
    answer_at = serializers.SerializerMethodField()
    answered_by = serializers.SerializerMethodField()
    response_seconds = serializers.FloatField(source="response_s", allow_null=True)
    response_display = serializers.SerializerMethodField()

    class Meta:
        model = Inquiry
        fields = [
            "id",
            "ref",
            "channel",
            "status",
            "category",
            "received_at",
            "handed_to_responsible_section",
            "answer_at",
            "answered_by",
            "response_seconds",
            "response_display",
        ]

    # a row carrying the .annotate() values of selectors.drill_emails
    def get_answer_at(self, obj: Any) -> str | None:
        if obj.response_s is None:
            return None
        at = obj.received_at + dt.timedelta(seconds=obj.response_s)
        return serializers.DateTimeField().to_representation(at)

    # a row carrying the .annotate() values of selectors.drill_emails
    def get_answered_by(self, obj: Any) -> str | None:
        if obj.response_s is None:
            return None
        return "mail" if obj.answered_by_mail else "other_channel"

    # a row carrying the .annotate() values of selectors.drill_emails
    def get_response_display(self, obj: Any) -> str | None:
        return display.email_time_display(obj.response_s) if obj.response_s is not None else None


class HandoverSerializer(serializers.ModelSerializer):
    inquiry_ref = serializers.CharField(source="inquiry.ref")
    inquiry_channel = serializers.CharField(source="inquiry.channel")
    inquiry_received_at = serializers.DateTimeField(source="inquiry.received_at")
    target_display = serializers.CharField(source="get_target_display")
    excludes_from_email_metric = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "inquiry_ref",
            "inquiry_channel",
            "inquiry_received_at",
            "target",
            "target_display",
            "organization",
            "escalated_at",
            "returned_at",
            "excludes_from_email_metric",
        ]

    def get_excludes_from_email_metric(self, obj: Escalation) -> bool:
        return obj.target in Escalation.RESPONSIBLE_SECTION_TARGETS and obj.inquiry.channel != Inquiry.Channel.PHONE


class ComplaintDrillSerializer(serializers.ModelSerializer):
    inquiry_ref = serializers.CharField(source="inquiry.ref")
    cause_display = serializers.CharField(source="get_cause_display")
    counted = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = ["id", "inquiry_ref", "received_at", "cause", "cause_display", "confirmed_at", "counted"]

    def get_counted(self, obj: Complaint) -> bool:
        return obj.cause == Complaint.Cause.OPERATOR_ERROR and obj.confirmed_at is not None


class IncidentDrillSerializer(serializers.ModelSerializer):
    severity_display = serializers.CharField(source="get_severity_display")
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = SecurityIncident
        fields = ["id", "occurred_at", "detected_at", "severity", "severity_display", "kind", "kind_display"]


class SnapshotSerializer(serializers.Serializer):
    month = serializers.CharField()
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    note = serializers.CharField()


class PublishRequestSerializer(serializers.Serializer):
    """The optional note of a published snapshot."""

    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class MailWaitingSerializer(serializers.ModelSerializer):
    """A mail inquiry waiting for its first answer at the list's `as_of`."""

    waiting_seconds = serializers.SerializerMethodField()
    waiting_display = serializers.SerializerMethodField()

    class Meta:
        model = Inquiry
        fields = ["id", "ref", "channel", "status", "received_at", "waiting_seconds", "waiting_display"]

    def get_waiting_seconds(self, obj: Inquiry) -> float | None:
        return _seconds(self.context["as_of"], obj.received_at)

    def get_waiting_display(self, obj: Inquiry) -> str | None:
        seconds = self.get_waiting_seconds(obj)
        return display.email_time_display(seconds) if seconds is not None else None
