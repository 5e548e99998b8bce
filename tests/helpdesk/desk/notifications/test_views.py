"""The desk's notifications: the list, marking read, the preference, the polled badge; who
may open them; constant query counts."""

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Notification, NotificationPreference
from helpdesk.notifications.services import notify
from helpdesk.roles import user_roles
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


def many(user, n: int) -> list[Notification]:
    return [notify(user, Kind.ASSIGNED, InquiryFactory()) for _ in range(n)]


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


def test_the_list_shows_mine_with_links_to_the_inquiries(signed_in, agent, other_agent):
    inquiry = InquiryFactory(subject="送信エラーについて")
    notify(agent, Kind.CITIZEN_REPLIED, inquiry)
    notify(other_agent, Kind.ASSIGNED, InquiryFactory(subject="他人の件"))

    html = signed_in.get("/desk/notifications/").content.decode()

    assert "問い合わせ者から返信がありました" in html
    assert f'href="/desk/inquiries/{inquiry.ref}/"' in html
    assert "他人の件" not in html


def test_unread_only(signed_in, agent):
    read, unread = many(agent, 2)
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    html = signed_in.get("/desk/notifications/?unread=1").content.decode()
    assert f'id="notification-{unread.pk}"' in html and f'id="notification-{read.pk}"' not in html


def test_marking_one_read(signed_in, agent):
    (note,) = many(agent, 1)
    response = signed_in.post(f"/desk/notifications/{note.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/desk/notifications/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_marking_one_read_with_htmx_swaps_the_row_and_refreshes_the_badge(signed_in, agent):
    (note,) = many(agent, 1)
    response = signed_in.post(f"/desk/notifications/{note.pk}/read/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    assert response.content.decode().strip().startswith(f'<li class="notification" id="notification-{note.pk}"')


def test_someone_else_s_notification_is_not_found(signed_in, other_agent):
    (theirs,) = many(other_agent, 1)
    assert signed_in.post(f"/desk/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_all_read(signed_in, agent, other_agent):
    many(agent, 3)
    many(other_agent, 1)
    assert signed_in.post("/desk/notifications/read-all/").status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_reading_with_get_is_refused(signed_in, agent):
    (note,) = many(agent, 1)
    assert signed_in.get(f"/desk/notifications/{note.pk}/read/").status_code == 405


def test_the_mail_copy_preference(signed_in, agent):
    signed_in.post("/desk/notifications/preferences/", {"email_copy": ["0", "1"]})
    assert NotificationPreference.objects.get(user=agent).email_copy is True
    assert "checked" in signed_in.get("/desk/notifications/").content.decode()
    signed_in.post("/desk/notifications/preferences/", {"email_copy": "0"})
    assert NotificationPreference.objects.get(user=agent).email_copy is False


@pytest.mark.parametrize("who", ["reviewer", "nobody"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/desk/notifications/"),
        ("post", "/desk/notifications/read-all/"),
        ("post", "/desk/notifications/preferences/"),
    ],
)
def test_roles_without_inquiries_get_403(client, request, who, method, url):
    client.force_login(request.getfixturevalue(who))
    assert getattr(client, method)(url).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/desk/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- the badge ---------------------------------------------------------------------------------


def test_the_badge_is_on_every_desk_page_and_polls(signed_in, agent, settings):
    settings.HELPDESK_NOTIFICATION_POLL_SECONDS = 30
    many(agent, 2)
    html = signed_in.get("/desk/").content.decode()
    assert 'id="notification-badge"' in html
    assert 'hx-get="/desk/notifications/badge/"' in html
    assert 'hx-trigger="every 30s' in html
    assert 'data-count="2"' in html


def test_the_badge_endpoint_counts_unread(signed_in, agent):
    notes = many(agent, 3)
    Notification.objects.filter(pk=notes[0].pk).update(read_at=notes[0].created_at)
    response = signed_in.get("/desk/notifications/badge/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-count="2"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("who", ["reviewer", "nobody"])
def test_the_badge_tells_other_roles_to_stop_polling(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get("/desk/notifications/badge/")
    assert response.status_code == 286 and response.content == b""


def test_a_signed_out_badge_stops_polling_instead_of_swapping_in_the_sign_in_page(client, db):
    assert client.get("/desk/notifications/badge/").status_code == 286


@pytest.mark.parametrize("count", [0, 1, 40])
def test_the_badge_costs_one_query(agent, django_assert_num_queries, count):
    many(agent, count)
    request = RequestFactory().get("/desk/")
    request.user = agent
    user_roles(agent)  # the desk page's permission check has read the roles already
    with django_assert_num_queries(1):
        html = render_to_string("desk/notifications/_badge.html", request=request)
    assert f'data-count="{count}"' in html


def test_the_badge_is_not_shown_to_a_reviewer(reviewer):
    request = RequestFactory().get("/desk/")
    request.user = reviewer
    assert render_to_string("desk/notifications/_badge.html", request=request).strip() == ""


def test_the_list_page_query_count_does_not_grow_with_rows(signed_in, agent):
    counts = []
    for added, total in ((1, 1), (29, 30)):
        many(agent, added)
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get("/desk/notifications/")
        assert response.content.decode().count('class="notification unread"') == total
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8, counts
