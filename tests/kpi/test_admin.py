import pytest

from kpi.models import KpiSnapshot
from tests.factories import CallFactory, UserFactory
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiSnapshotFactory, KpiTargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_admin_pages_for_targets_calendar_and_snapshots(client, superuser):
    KpiTargetFactory()
    FiscalMonthPeriodFactory()
    snap = KpiSnapshotFactory()
    client.force_login(superuser)
    for url in (
        "/admin/kpi/kpitarget/",
        "/admin/kpi/fiscalmonthperiod/",
        "/admin/kpi/kpisnapshot/",
        "/admin/kpi/kpitarget/add/",
        f"/admin/kpi/kpisnapshot/{snap.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/kpi/kpisnapshot/add/").status_code == 403  # published only by the service


def test_admin_action_publishes_a_new_version(client, superuser):
    CallFactory()
    snap = KpiSnapshotFactory(month="2026-10", version=1)
    client.force_login(superuser)
    r = client.post("/admin/kpi/kpisnapshot/", {"action": "republish", "_selected_action": [snap.pk]}, follow=True)
    assert r.status_code == 200
    latest = KpiSnapshot.objects.filter(month="2026-10").order_by("-version").first()
    assert latest.version == 2 and latest.data["answer_rate"]["total_calls"] == 1
    assert latest.published_by == superuser
