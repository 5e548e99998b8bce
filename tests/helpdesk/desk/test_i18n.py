"""The desk in Japanese and English: one language switch, English chrome for an English
session, and the committed catalogue (.mo) compiled from the .po as it stands."""

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from helpdesk.models import Notification
from helpdesk.notifications.services import notify
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"


def test_japanese_is_the_default(client, agent):
    client.force_login(agent)
    html = client.get("/desk/notifications/").content.decode()
    assert '<html lang="ja">' in html
    assert "<h1>通知</h1>" in html and "すべて既読にする" in html


def test_the_switch_turns_the_desk_english(client, agent):
    client.force_login(agent)
    notify(agent, Notification.Kind.ASSIGNED, InquiryFactory())
    page = client.get("/desk/notifications/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'name="language"' in page

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/desk/notifications/"})
    assert response.status_code == 302 and response["Location"] == "/desk/notifications/"

    html = client.get("/desk/notifications/").content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Notifications</h1>" in html
    for english in ("Mark all as read", "Assigned to you", "Mark as read", ">Desk<", "Language"):
        assert english in html, english
    assert "すべて既読にする" not in html and "担当に割り当てられました" not in html


def test_the_queue_s_chrome_is_english_too(client, agent):
    client.force_login(agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/desk/").content.decode()
    assert ">Desk<" in html and "Notifications" in html and "Sign out" in html
    assert "デスク" not in html and "ログアウト" not in html


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext (msgfmt) is not installed")
def test_the_committed_mo_is_the_po_compiled(tmp_path):
    for po in LOCALE.glob("*/LC_MESSAGES/*.po"):
        fresh = tmp_path / "fresh.mo"
        subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], check=True)
        with fresh.open("rb") as f1, po.with_suffix(".mo").open("rb") as f2:
            assert gettext.GNUTranslations(f1)._catalog == gettext.GNUTranslations(f2)._catalog, (
                f"{po.relative_to(LOCALE)} changed: run `python manage.py compilemessages` (docs/i18n.md)"
            )


def test_every_english_entry_is_translated():
    po = (LOCALE / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = po.split("\n\n")[1:]
    assert entries
    untranslated = [e for e in entries if e.rstrip().endswith('msgstr ""') or "#, fuzzy" in e]
    assert untranslated == []
