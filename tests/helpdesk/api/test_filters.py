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


class _Request:
    def __init__(self, user):
        self.user = user


def test_the_signed_in_users_own_id_is_not_read_again(agent, other_agent, django_assert_num_queries):
    """`assigned_to=<my id>` takes the request's user (read by its authentication); any other id,
    or mine written another way, is validated by the query ModelChoiceField makes."""
    mine = Inquiry.objects.all()

    def cleaned(query: str, user=agent):
        filterset = InquiryFilter(QueryDict(query), queryset=mine, request=_Request(user))
        return filterset.is_valid(), filterset.form.cleaned_data.get("assigned_to"), dict(filterset.errors)

    with django_assert_num_queries(0):
        assert cleaned(f"assigned_to={agent.pk}") == (True, agent, {})
    assert cleaned(f"assigned_to={agent.pk}")[1] is agent  # the request's own instance
    with django_assert_num_queries(1):
        ok, other, errors = cleaned(f"assigned_to={other_agent.pk}")
    assert ok and other == other_agent and other is not other_agent and errors == {}
    with django_assert_num_queries(1):
        assert cleaned(f"assigned_to=0{agent.pk}")[:2] == (True, agent)  # "0<id>": as before, by the query
    with django_assert_num_queries(1):
        ok, _, errors = cleaned("assigned_to=987654")
    assert not ok and list(errors) == ["assigned_to"]
    missing = InquiryFilter(QueryDict("assigned_to=987654"), queryset=mine)  # no request: as before
    assert not missing.is_valid() and list(missing.errors) == ["assigned_to"]


def test_my_queue_through_the_api_is_the_same_rows_with_one_query_less(api, agent, other_agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import InquiryFactory

    for _ in range(3):
        InquiryFactory(assigned_to=agent, status=Inquiry.Status.IN_PROGRESS)
    InquiryFactory(assigned_to=other_agent, status=Inquiry.Status.IN_PROGRESS)
    client = api.as_user(agent)
    client.get("/api/inquiries/")  # warm: the user's roles are read once per user
    users = agent._meta.db_table

    with CaptureQueriesContext(connection) as mine:
        own = client.get("/api/inquiries/", {"assigned_to": agent.pk, "status": "in_progress"})
    with CaptureQueriesContext(connection) as theirs:
        other = client.get("/api/inquiries/", {"assigned_to": other_agent.pk, "status": "in_progress"})

    assert own.status_code == other.status_code == 200
    assert {r["assigned_to"]["id"] for r in own.json()["results"]} == {agent.pk} and len(own.json()["results"]) == 3
    assert [r["assigned_to"]["id"] for r in other.json()["results"]] == [other_agent.pk]
    by_user = [q for q in mine.captured_queries if f'FROM "{users}"' in q["sql"].split("WHERE")[0]]
    assert len(theirs.captured_queries) == len(mine.captured_queries) + 1 and not by_user
