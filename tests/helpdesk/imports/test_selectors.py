"""Who sees which import runs: the rule is the selector's, not the API view's."""

import pytest

from helpdesk.imports.selectors import import_run_list_visible
from helpdesk.imports.services import import_run_create_pending
from helpdesk.models import ImportRun

pytestmark = pytest.mark.django_db


def test_admins_see_every_run_other_staff_their_own(admin_user, agent, other_agent):
    mine = import_run_create_pending(kind=ImportRun.Kind.MAIL, source_name="a.mbox", created_by=agent)
    theirs = import_run_create_pending(kind=ImportRun.Kind.MAIL, source_name="b.mbox", created_by=other_agent)

    assert set(import_run_list_visible(user=admin_user)) == {mine, theirs}
    assert list(import_run_list_visible(user=agent)) == [mine]
    assert not import_run_list_visible(user=None).exists()
