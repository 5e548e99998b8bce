"""helpdesk.api.filters.FilterSet: the form class is built once per FilterSet class, the form
(and so each request's input and errors) once per request; a filter that depends on the
request keeps the per-request class."""

import django_filters as df
import pytest
from django.contrib.auth import get_user_model
from django.http import QueryDict

from helpdesk.api.filters import FilterSet, InFilter
from helpdesk.inquiries.filters import InquiryFilter
from helpdesk.models import Inquiry

pytestmark = pytest.mark.django_db


def test_the_form_class_is_built_once_and_the_form_per_request():
    good = InquiryFilter(QueryDict("status=new&channel=email"), queryset=Inquiry.objects.all())
    bad = InquiryFilter(QueryDict("status=bogus&received_after=yesterday"), queryset=Inquiry.objects.all())

    assert type(good.form) is type(bad.form)
    assert good.form is not bad.form and good.form.fields["status"] is not bad.form.fields["status"]
    assert good.is_valid() and good.form.cleaned_data["status"] == ["new"]
    assert not bad.is_valid() and set(bad.errors) == {"status", "received_after"}
    assert InquiryFilter(QueryDict("status=new"), queryset=Inquiry.objects.all()).is_valid()


def _staff(request):
    return get_user_model().objects.filter(is_staff=True)


class _RequestDependent(FilterSet):
    status = InFilter(choices=Inquiry.Status.choices)
    assigned_to = df.ModelChoiceFilter(queryset=_staff)

    class Meta:
        model = Inquiry
        fields: list[str] = []


def test_a_filter_depending_on_the_request_keeps_a_class_per_request():
    one = _RequestDependent(QueryDict(""), queryset=Inquiry.objects.all())
    two = _RequestDependent(QueryDict(""), queryset=Inquiry.objects.all())

    assert type(one.form) is not type(two.form)
    assert "_form_class_built" not in _RequestDependent.__dict__
