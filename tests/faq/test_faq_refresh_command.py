"""`manage.py faq_refresh`: a bad argument is one clear line (exit code 2) and is found before
the clustering job runs; the job proposes drafts and never publishes them."""

import io

import pytest
from django.core.management import CommandError, call_command

from faq.models import ClusterRun, FaqEntry

pytestmark = pytest.mark.django_db


def _failure(*args) -> tuple[int, str]:
    with pytest.raises(CommandError) as caught:
        call_command("faq_refresh", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return caught.value.returncode, str(caught.value)


def test_publishing_drafts_from_the_command_line_is_gone():
    # Drafts are published only by an admin on the desk (issue 13), never by a job or make demo.
    code, message = _failure("--publish-drafts-as", "admin")
    assert code == 2 and "unrecognized arguments: --publish-drafts-as admin" in message
    assert not ClusterRun.objects.exists()


@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "2026/09/27"])
def test_bad_as_of_is_a_usage_error(as_of):
    code, message = _failure("--as-of", as_of)
    assert code == 2 and message.startswith("--as-of: ") and message.endswith("(YYYY-MM-DD, e.g. 2026-09-27)")


def test_the_job_proposes_drafts_and_publishes_none():
    out = io.StringIO()
    call_command("faq_refresh", "--as-of", "2026-09-27", stdout=out)
    assert out.getvalue().startswith("clusters: ")
    assert not FaqEntry.objects.exclude(status=FaqEntry.Status.DRAFT).exists()
