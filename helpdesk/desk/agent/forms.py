"""The agent's desk forms: they parse and bound what the browser sends (a bad value is a form
error, answered 400), the services decide the rest."""

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _

from faq.models import FaqEntry
from helpdesk.desk.agent.selectors import QUEUE_VIEWS, QueueFilters
from helpdesk.models import Escalation, Inquiry
from helpdesk.roles import is_supervisor

VIEW_LABELS = {
    "mine": _("自分の担当"),
    "unassigned": _("未割当"),
    "due": _("回答期限間近・超過"),
    "all": _("すべて"),
}


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(choices=[(v, VIEW_LABELS[v]) for v in QUEUE_VIEWS], required=False)
    q = forms.CharField(label=_("検索"), max_length=200, required=False)
    status = forms.MultipleChoiceField(label=_("状態"), choices=Inquiry.Status.choices, required=False)
    channel = forms.MultipleChoiceField(label=_("受付チャネル"), choices=Inquiry.Channel.choices, required=False)
    category = forms.CharField(label=_("分類"), max_length=64, required=False)
    received_from = forms.DateField(label=_("受付日（から）"), required=False)
    received_to = forms.DateField(label=_("受付日（まで）"), required=False)
    cursor = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", _("「まで」は「から」以降の日付にしてください。"))
        return data

    def filters(self) -> QueueFilters:
        d = self.cleaned_data
        return QueueFilters(
            view=d.get("view") or "mine",
            status=d.get("status") or [],
            channel=d.get("channel") or [],
            category=(d.get("category") or "").strip(),
            received_from=d.get("received_from"),
            received_to=d.get("received_to"),
            q=(d.get("q") or "").strip(),
        )


class VersionedForm(forms.Form):
    """Every write on an inquiry names the version the agent read (optimistic concurrency)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ReplyForm(VersionedForm):
    subject = forms.CharField(label=_("件名"), max_length=200, required=False)
    body = forms.CharField(
        label=_("返信本文"),
        max_length=20000,
        strip=False,
        widget=forms.Textarea(attrs={"id": "reply-body", "rows": 10}),
    )
    faq_entry = forms.ModelMultipleChoiceField(
        queryset=FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED),
        required=False,
        widget=forms.MultipleHiddenInput,
    )

    def clean_body(self):
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(_("本文を入力してください。"))
        return body


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("内部メモ（問い合わせ者には送られません）"),
        max_length=10000,
        widget=forms.Textarea(attrs={"id": "note-body", "rows": 3}),
    )


class TransitionForm(VersionedForm):
    status = forms.ChoiceField(label=_("新しい状態"), choices=Inquiry.Status.choices)


class AssignForm(VersionedForm):
    """`me` takes it, `none` releases it; supervisors may name any operator's id."""

    assignee = forms.CharField(label=_("担当者"), max_length=20)

    def clean_assignee(self):
        value = self.cleaned_data["assignee"].strip()
        if value in ("me", "none") or (value.isascii() and value.isdigit() and len(value) <= 10):
            return value
        raise forms.ValidationError(_("担当者の指定が正しくありません。"))


class EscalationForm(forms.Form):
    target = forms.ChoiceField(label=_("エスカレーション先"), choices=Escalation.Target.choices)
    organization = forms.CharField(label=_("組織名（任意）"), max_length=200, required=False)
    note = forms.CharField(
        label=_("依頼内容"), max_length=5000, widget=forms.Textarea(attrs={"id": "escalation-note", "rows": 3})
    )

    user: AbstractBaseUser | AnonymousUser  # set by the view (inquiry_escalate)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and not is_supervisor(user):
            # Agents ask a supervisor; only supervisors hand over outside the contractor.
            self.fields["target"].choices = [(Escalation.Target.INTERNAL, Escalation.Target.INTERNAL.label)]


class WrapupForm(VersionedForm):
    category = forms.CharField(label=_("分類"), max_length=64, required=False)
    subject = forms.CharField(label=_("件名"), max_length=255, required=False)
    resolution = forms.CharField(
        label=_("対応内容"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    resolve = forms.BooleanField(label=_("解決にする"), required=False)


class CallLogForm(forms.Form):
    """The inquiry for the agent's current call, prefilled from the PBX record."""

    call_id = forms.CharField(max_length=128, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("件名"), max_length=255, required=False)
    body = forms.CharField(
        label=_("お問い合わせ内容"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.CharField(label=_("分類"), max_length=64, required=False)
    requester_name = forms.CharField(label=_("お名前"), max_length=200, required=False)
    requester_phone = forms.CharField(label=_("電話番号"), max_length=64, required=False)
    requester_organization = forms.CharField(label=_("所属"), max_length=200, required=False)
    ministry_guidance = forms.BooleanField(label=_("所管府省を案内した"), required=False)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("call_id")
        return data
