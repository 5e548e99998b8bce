"""The admin desk's forms: they parse and validate input (a bad value is a form error, HTTP
400, naming the field); every write goes through a service."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from faq.text import content_words
from helpdesk.desk.admin.services import TARGET_FIELDS
from helpdesk.models import CalendarDay, ImportRun, Role
from kpi.models import KpiTarget, PeriodType

REASON_HELP = _("監査ログに残ります。KPIの数値に影響する変更には必須です。")


class FaqEntryForm(forms.Form):
    question = forms.CharField(label=_("質問"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    answer = forms.CharField(label=_("回答"), required=False, widget=forms.Textarea(attrs={"rows": 10}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class InquiryIdsField(forms.Field):
    """A list of inquiry ids (repeated form values: checkboxes, hidden inputs)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(_("問い合わせの指定が正しくありません。"), code="invalid") from exc


class ClusterSplitForm(forms.Form):
    """「別の話題として分ける」: the checked inquiries (`marked`) among those listed (`shown`);
    the listed ones left unchecked are the seeds that stay."""

    marked = InquiryIdsField(label=_("別の話題として分ける問い合わせ"), required=False)
    shown = InquiryIdsField(required=False)
    note = forms.CharField(label=_("メモ（任意）"), max_length=500, required=False)

    @property
    def kept(self) -> list[int]:
        marked = set(self.cleaned_data.get("marked") or [])
        return [pk for pk in self.cleaned_data.get("shown") or [] if pk not in marked]


class SplitSearchForm(forms.Form):
    """「語で絞り込む」 on the split panel: the cluster's members holding these words are listed
    (all of them; the words as the clustering reads them, `faq.text.content_words`)."""

    words = forms.CharField(label=_("語で絞り込む"), max_length=100, required=False)

    def clean_words(self) -> tuple[str, ...]:
        raw = self.cleaned_data["words"].strip()
        words = tuple(dict.fromkeys(content_words(raw))) if raw else ()
        if raw and not words:
            raise forms.ValidationError(
                _("絞り込める語がありません。「マイナンバーカード」のような語で絞り込んでください。"), code="no_words"
            )
        return words


class SplitWithdrawForm(forms.Form):
    """「この分割を取り消す」: why, optionally (kept with the withdrawal and in its audit row)."""

    note = forms.CharField(label=_("取り消す理由（任意）"), max_length=500, required=False)


class IvrApproveForm(forms.Form):
    text = forms.CharField(label=_("案内文"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    starts_at = forms.DateTimeField(
        label=_("開始日時"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("終了日時"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("終了日時は開始日時より後にしてください。"))
        return data


class MonthPeriodForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    month = forms.IntegerField(label=_("月"), min_value=1, max_value=12)
    period_type = forms.ChoiceField(label=_("期区分"), choices=PeriodType.choices)
    reason = forms.CharField(label=_("変更理由"), max_length=200, help_text=REASON_HELP)


class TargetForm(forms.ModelForm):
    reason = forms.CharField(label=_("変更理由"), max_length=200, help_text=REASON_HELP)

    class Meta:
        model = KpiTarget
        fields = list(TARGET_FIELDS)  # the fields the service writes, named once
        labels = {
            "name": _("契約期間の名前"),
            "valid_from": _("開始日"),
            "valid_to": _("終了日（含まない）"),
            "answer_rate_normal": _("応答率目標（通常期）"),
            "answer_rate_busy": _("応答率目標（繁忙期・準繁忙期）"),
            "aht_max_seconds": _("平均処理時間の上限（秒）"),
            "email_max_seconds": _("メール平均回答時間の上限（秒）"),
            "fcr_min": _("一次解決率の目標"),
            "complaints_limit": _("苦情件数（未満）"),
            "incidents_max": _("セキュリティ事故（以下）"),
            "acw_limit_seconds": _("後処理時間の上限（秒）"),
            "email_use_business_hours": _("メール回答時間をサービス時間で数える"),
        }
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
        }


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("日付"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("種類"), choices=CalendarDay.Kind.choices)
    opens_at = forms.TimeField(label=_("開始"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    closes_at = forms.TimeField(label=_("終了"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    note = forms.CharField(label=_("メモ"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("kind") == CalendarDay.Kind.OPEN:
            opens, closes = data.get("opens_at"), data.get("closes_at")
            if opens is None or closes is None:
                self.add_error("opens_at", _("開庁する日は開始・終了時刻を入力してください。"))
            elif closes <= opens:
                self.add_error("closes_at", _("終了時刻は開始時刻より後にしてください。"))
        return data


class CalendarDayRemoveForm(forms.Form):
    date = forms.DateField(label=_("日付"))


# "月" is also the month: the weekday names carry their own context for the translators.
WEEKDAYS = [
    pgettext_lazy("weekday", "月"),
    pgettext_lazy("weekday", "火"),
    pgettext_lazy("weekday", "水"),
    pgettext_lazy("weekday", "木"),
    pgettext_lazy("weekday", "金"),
    pgettext_lazy("weekday", "土"),
    pgettext_lazy("weekday", "日"),
]


class ServiceHoursForm(forms.Form):
    """One opens/closes pair per weekday; a weekday left blank is closed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for wd, name in enumerate(WEEKDAYS):
            time = forms.TimeInput(attrs={"type": "time"})
            self.fields[f"opens_{wd}"] = forms.TimeField(
                label=_("%(d)s 開始") % {"d": name}, required=False, widget=time
            )
            self.fields[f"closes_{wd}"] = forms.TimeField(
                label=_("%(d)s 終了") % {"d": name}, required=False, widget=time
            )

    def clean(self):
        data = super().clean()
        for wd in range(7):
            opens, closes = data.get(f"opens_{wd}"), data.get(f"closes_{wd}")
            if (opens is None) != (closes is None):
                self.add_error(f"opens_{wd}", _("開始と終了の両方を入力するか、両方を空欄（休業）にしてください。"))
            elif opens is not None and closes <= opens:
                self.add_error(f"closes_{wd}", _("終了時刻は開始時刻より後にしてください。"))
        return data

    def weekly(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {"weekday": wd, "opens_at": d[f"opens_{wd}"], "closes_at": d[f"closes_{wd}"]}
            for wd in range(7)
            if d.get(f"opens_{wd}") is not None
        ]

    def rows(self):
        return [(WEEKDAYS[wd], self[f"opens_{wd}"], self[f"closes_{wd}"]) for wd in range(7)]


IMPORT_KINDS = [
    (ImportRun.Kind.CALLS_GENERIC, _("PBX通話CSV（汎用）")),
    (ImportRun.Kind.CALLS_ASTERISK, _("PBX通話CSV（Asterisk）")),
    (ImportRun.Kind.MAIL, _("メールボックス（mbox / .eml）")),
    (ImportRun.Kind.RECORDS, _("引継ぎファイル（JSONL）")),
]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("種類"), choices=IMPORT_KINDS)
    file = forms.FileField(label=_("ファイル"))
    encoding = forms.ChoiceField(
        label=_("文字コード（通話CSV）"), choices=[("utf-8", "UTF-8"), ("cp932", "Shift_JIS (cp932)")], initial="utf-8"
    )


username_validator = RegexValidator(r"^[\w.@+-]+\Z", _("半角英数字と @ . + - _ のみ使えます。"))


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("ユーザー名"), max_length=150, validators=[username_validator])
    email = forms.EmailField(label=_("メールアドレス"), required=False)
    password = forms.CharField(label=_("初期パスワード"), widget=forms.PasswordInput(render_value=False))
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)


class UserActiveForm(forms.Form):
    active = forms.TypedChoiceField(
        label=_("状態"), choices=[("1", _("有効")), ("0", _("無効"))], coerce=lambda v: v == "1"
    )
