"""The admin's pages read with a constant number of queries: the count for many rows is the
count for one."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.imports.services import import_run_create_pending
from helpdesk.models import ImportReject, ImportRun
from tests.factories import InquiryFactory, UserFactory
from tests.factories.faq import FaqEntryFactory, IvrAnnouncementFactory, SurgeAlertFactory, TopicClusterFactory
from tests.factories.kpi import KpiTargetFactory

pytestmark = pytest.mark.django_db


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _drafts(n):
    for _ in range(n):
        surge = SurgeAlertFactory()
        FaqEntryFactory(source_cluster=surge.cluster, source_surge=surge, published_by=None)


def _ivr(n):
    for _ in range(n):
        IvrAnnouncementFactory(source_surge=SurgeAlertFactory())


def _users(n):
    from django.contrib.auth.models import Group

    group = Group.objects.get_or_create(name="agent")[0]
    for _ in range(n):
        UserFactory().groups.add(group)


def _runs(n):
    for _ in range(n):
        import_run_create_pending(kind=ImportRun.Kind.CALLS_GENERIC, source_name="a.csv")


def _targets(n):
    from kpi.models import KpiTarget

    start = 2000 + KpiTarget.objects.count()
    for i in range(start, start + n):
        KpiTargetFactory(valid_from=dt.date(i, 4, 1), valid_to=dt.date(i + 1, 4, 1))


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("desk:admin:faq", _drafts),
        ("desk:admin:home", _runs),
        ("desk:admin:ivr", _ivr),
        ("desk:admin:users", _users),
        ("desk:admin:imports", _runs),
        ("desk:admin:calendar", _targets),
    ],
)
def test_a_page_reads_with_a_constant_number_of_queries(admin_client, name, make, django_assert_max_num_queries):
    make(1)
    one = _count(admin_client, reverse(name))
    make(15)
    with django_assert_max_num_queries(one):
        admin_client.get(reverse(name))


def test_the_review_page_does_not_grow_with_the_evidence(admin_client, django_assert_max_num_queries):
    few = TopicClusterFactory(central_inquiries=[InquiryFactory().pk])
    entry = FaqEntryFactory(source_cluster=few, source_surge=SurgeAlertFactory(cluster=few))
    one = _count(admin_client, reverse("desk:admin:faq-detail", args=[entry.pk]))
    many = TopicClusterFactory(central_inquiries=[InquiryFactory().pk for _ in range(10)])
    for week in range(4):
        SurgeAlertFactory(cluster=many, period_start=dt.date(2026, 8, 3) + dt.timedelta(weeks=week))
    big = FaqEntryFactory(source_cluster=many)
    with django_assert_max_num_queries(one):
        admin_client.get(reverse("desk:admin:faq-detail", args=[big.pk]))


def test_the_run_page_does_not_grow_with_rejects(admin_client, django_assert_max_num_queries):
    run = import_run_create_pending(kind=ImportRun.Kind.CALLS_GENERIC, source_name="a.csv")
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.DONE)
    run.refresh_from_db()
    ImportReject.objects.create(run=run, source_name="a.csv", line=1, reason="bad")
    url = reverse("desk:admin:import-run", args=[run.pk])
    one = _count(admin_client, url)
    for line in range(2, 40):
        ImportReject.objects.create(run=run, source_name="a.csv", line=line, reason="bad")
    with django_assert_max_num_queries(one):
        admin_client.get(url)
