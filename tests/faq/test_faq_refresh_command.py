"""`manage.py faq_refresh`: a bad argument is one clear line (exit code 2) and is found before
the clustering job runs."""

import io

import pytest
from django.core.management import CommandError, call_command

from faq.models import ClusterRun

pytestmark = pytest.mark.django_db


def _failure(*args) -> tuple[int, str]:
    with pytest.raises(CommandError) as caught:
        call_command("faq_refresh", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return caught.value.returncode, str(caught.value)


def test_unknown_user_is_a_usage_error_before_the_job():
    assert _failure("--publish-drafts-as", "ghost") == (2, "--publish-drafts-as: no such user: ghost")
    assert not ClusterRun.objects.exists()


def test_a_user_who_is_not_an_admin_is_refused_before_the_job(agent):
    code, message = _failure("--publish-drafts-as", agent.username)
    assert code == 2 and message == "--publish-drafts-as: agent1 is not an admin (only admins publish FAQ)"
    assert not ClusterRun.objects.exists()


@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "2026/09/27"])
def test_bad_as_of_is_a_usage_error(as_of):
    code, message = _failure("--as-of", as_of)
    assert code == 2 and message.startswith("--as-of: ") and message.endswith("(YYYY-MM-DD, e.g. 2026-09-27)")


def test_an_admin_publishes(admin_user):
    out = io.StringIO()
    call_command("faq_refresh", "--as-of", "2026-09-27", "--publish-drafts-as", admin_user.username, stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "published 0 drafts as admin1"
