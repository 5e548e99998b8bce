"""The public inquiry form page (/inquiry-form/): a plain HTML form that works without
JavaScript, calls the same service as POST /api/inquiry-form/, rate-limited per IP."""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

from helpdesk.mail.form import inquiry_form_submit

RATE = "10/h"


class InquiryForm(forms.Form):
    name = forms.CharField(label="お名前", max_length=100)
    email = forms.EmailField(label="メールアドレス", max_length=254)
    phone = forms.RegexField(label="電話番号（任意）", regex=r"^[0-9０-９+\-() ]{0,20}$", required=False, max_length=20)
    organization = forms.CharField(label="会社・団体名（任意）", max_length=200, required=False)
    subject = forms.CharField(label="件名", max_length=200)
    body = forms.CharField(label="お問い合わせ内容", max_length=10000, widget=forms.Textarea(attrs={"rows": 10}))
    website = forms.CharField(label="ウェブサイト", required=False, max_length=200)  # honeypot

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError("送信できませんでした。")
        return ""


def inquiry_form(request):
    if request.method == "POST":
        form = InquiryForm(request.POST)
        limited = is_ratelimited(request, group="inquiry_form", key="ip", rate=RATE, method="POST", increment=True)
        if limited:
            return render(request, "helpdesk/inquiry_form.html", {"form": form, "rate_limited": True}, status=429)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("website", None)
            try:
                inquiry = inquiry_form_submit(**data)
            except ValidationError as exc:  # the service's rules, shown on their fields
                form.add_error(None, exc)
            else:
                return render(request, "helpdesk/inquiry_form_done.html", {"inquiry": inquiry})
        return render(request, "helpdesk/inquiry_form.html", {"form": form}, status=400)
    return render(request, "helpdesk/inquiry_form.html", {"form": InquiryForm()})
