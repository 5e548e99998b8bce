"""The admin's main path in a real browser on a live server: review a draft with a phone
number in it, edit it out, publish it and find it on the public /faq/; approve an IVR
announcement; change a calendar month and see the restated KPI month before saving; import
a call file; split a draft about two topics and withdraw the split. axe-core finds nothing
serious on any page;
screenshots go to tests/artifacts/."""

import pytest

from faq import services
from faq.models import ClusterSplit, FaqEntry, IvrAnnouncement, TopicCluster
from helpdesk.models import Call
from kpi.models import FiscalMonthPeriod
from tests.conftest import axe_violations, sign_in
from tests.factories import CallFactory, InquiryFactory, tokyo
from tests.factories.faq import (
    FaqEntryFactory,
    IvrAnnouncementFactory,
    SurgeAlertFactory,
    TopicClusterFactory,
    two_close_topics,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "090-1234-5678"
QUESTION = f"証明書の期限が切れました。{PHONE}まで折り返しください。"
EDITED = "電子証明書の期限が切れたときはどうすればよいですか。"


@pytest.fixture
def desk_data(db):
    inquiry = InquiryFactory(subject="証明書の期限切れで署名できない", received_at=tokyo(2026, 9, 22, 10, 0))
    cluster = TopicClusterFactory(central_inquiries=[inquiry.pk])
    surge = SurgeAlertFactory(cluster=cluster)
    entry = FaqEntryFactory(question=QUESTION, source_cluster=cluster, source_surge=surge)
    ann = IvrAnnouncementFactory(source_surge=surge)
    for i in range(9):
        CallFactory(arrived_at=tokyo(2026, 9, 15, 10, i))
    CallFactory(arrived_at=tokyo(2026, 9, 15, 11, 0), outcome=Call.Outcome.QUEUE_ABANDONED, agent="")
    return {"entry": entry, "ann": ann}


def _check(page, shots, name):
    assert axe_violations(page) == [], name
    page.screenshot(path=str(shots / f"desk-admin-{name}.png"), full_page=True)


def test_the_admin_reviews_publishes_approves_and_restates(
    desk_page, live_server, admin_user, desk_data, screenshot_dir, test_data
):
    page = desk_page
    sign_in(page, live_server, "admin1")
    assert page.url == f"{live_server.url}/desk/admin/"
    _check(page, screenshot_dir, "home")

    # FAQ review: the draft's phone number is flagged; edited out, it is published.
    page.goto(f"{live_server.url}/desk/admin/faq/")
    _check(page, screenshot_dir, "faq-list")
    page.click(f"text={QUESTION[:20]}")
    warning = page.locator("#pii-warnings")
    assert "電話番号" in warning.inner_text() and PHONE in warning.inner_text()
    assert "急増" in page.locator("#h-evidence").locator("..").inner_text()
    _check(page, screenshot_dir, "faq-review-warning")
    page.fill("#id_question", EDITED)
    page.wait_for_function("() => document.querySelector('#pii-warnings .pii-ok') !== null")
    page.click("button[value=publish]")
    page.wait_for_load_state("networkidle")
    assert "公開しました" in page.inner_text(".admin-messages")
    _check(page, screenshot_dir, "faq-published")
    entry = FaqEntry.objects.get(pk=desk_data["entry"].pk)
    assert entry.status == FaqEntry.Status.PUBLISHED and entry.published_by_id == admin_user.pk
    page.goto(f"{live_server.url}/faq/")
    assert EDITED in page.inner_text("main")

    # IVR: approve the proposal; it is the active announcement.
    page.goto(f"{live_server.url}/desk/admin/ivr/")
    assert "放送中の案内はありません" in page.inner_text(".ivr-active")
    _check(page, screenshot_dir, "ivr-proposed")
    page.click(f"#ivr-{desk_data['ann'].pk}-h ~ form button.primary")
    page.wait_for_load_state("networkidle")
    assert desk_data["ann"].text in page.inner_text("#ivr-active-text")
    assert IvrAnnouncement.objects.get(pk=desk_data["ann"].pk).status == IvrAnnouncement.Status.APPROVED
    _check(page, screenshot_dir, "ivr-active")

    # Calendar: September becomes a busy month; the confirm step lists 2026-09 restated.
    page.goto(f"{live_server.url}/desk/admin/calendar/?fy=2026")
    _check(page, screenshot_dir, "calendar")
    page.select_option("#pt-9", "busy")
    page.fill("#reason-9", "契約変更で9月を繁忙期に")
    page.click("#month-9 button")
    page.wait_for_load_state("networkidle")
    restated = page.inner_text("#restated-months")
    assert "2026-09" in restated and "応答率の目標" in restated
    assert not FiscalMonthPeriod.objects.exists()
    _check(page, screenshot_dir, "calendar-confirm")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert "期区分を保存しました" in page.inner_text(".admin-messages")
    assert FiscalMonthPeriod.objects.get(fiscal_year=2026, month=9).period_type == "busy"

    # Imports: a PBX file, its progress and counts.
    page.goto(f"{live_server.url}/desk/admin/imports/")
    _check(page, screenshot_dir, "imports")
    page.select_option("#id_kind", "calls_generic")
    page.set_input_files("#id_file", str(test_data / "commands" / "calls_ok.csv"))
    page.click("button.primary")
    page.wait_for_selector("#count-created")
    page.wait_for_function("() => document.querySelector('#import-bar').value === 100")
    assert page.inner_text("#count-created") == "2"
    _check(page, screenshot_dir, "import-run")

    page.goto(f"{live_server.url}/desk/admin/users/")
    _check(page, screenshot_dir, "users")


def test_the_admin_splits_a_draft_about_two_topics(desk_page, live_server, admin_user, screenshot_dir):
    """「別の話題として分ける」 in the browser: nothing checked is refused in place (the panel
    swapped with its error); filtered by a word, the card inquiries checked, the panel shows the
    two drafts."""
    file, card = two_close_topics()
    services.faq_cluster_run(as_of=tokyo(2026, 9, 30, 3, 0), embed_missing=False)
    (cluster,) = TopicCluster.objects.filter(active=True)
    entry = FaqEntryFactory(source_cluster=cluster, question="証明書の登録でエラーになります。")
    page = desk_page
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    sign_in(page, live_server, "admin1")
    page.goto(f"{live_server.url}/desk/admin/faq/{entry.pk}/")
    _check(page, screenshot_dir, "faq-split")

    page.click("#cluster-split button[value=split]")
    page.wait_for_selector("#err-marked")
    assert "1件以上選んでください" in page.inner_text("#err-marked")
    assert not ClusterSplit.objects.exists()
    _check(page, screenshot_dir, "faq-split-refused")

    # Filtered by a word: the members holding it, then some without it to keep.
    page.fill("#id_split_words", "マイナンバーカード")
    page.click(".split-search button")
    page.wait_for_selector("#split-found")
    assert "6 件" in page.inner_text("#split-found")
    assert page.locator(".split-candidates li.matched").count() == 6
    _check(page, screenshot_dir, "faq-split-filtered")
    for inquiry in card:
        page.check(f"#split-{inquiry.pk}")
    page.fill("#id_split_note", "証明書ファイルとマイナンバーカードは別の話題")
    page.click("#cluster-split button[value=split]")
    page.wait_for_selector(".split-done")
    split = ClusterSplit.objects.get()
    assert (split.moved, split.stayed) == (6, 6) and split.created_by_id == admin_user.pk
    links = page.locator(".split-drafts a")
    assert links.count() == 2
    assert {e.status for e in FaqEntry.objects.all()} == {FaqEntry.Status.DRAFT}
    _check(page, screenshot_dir, "faq-split-done")

    # The undo: the page lists the split in force (who, when, note); withdrawn, the members are
    # back in one cluster and the new cluster's draft is not adopted. A second tab that still
    # shows the split is refused in place (409, the panel swapped with its error).
    other = desk_page.context.new_page()
    other.on("dialog", lambda dialog: dialog.accept())
    new_entry = FaqEntry.objects.get(source_cluster=split.new_cluster)
    other.goto(f"{live_server.url}/desk/admin/faq/{new_entry.pk}/")
    page.goto(f"{live_server.url}/desk/admin/faq/{entry.pk}/")
    listed = page.inner_text("#cluster-splits")
    assert "admin1" in listed and "証明書ファイルとマイナンバーカードは別の話題" in listed
    _check(page, screenshot_dir, "faq-split-undo")
    page.fill(f"#id_withdraw_note_{split.pk}", "同じ話題だった")
    page.click(f"#split-row-{split.pk} button[value=withdraw]")
    page.wait_for_selector(".split-withdrawn")
    assert "公開されたものはありません" in page.inner_text(".split-withdrawn")
    split.refresh_from_db()
    assert split.withdrawn_by_id == admin_user.pk and split.withdrawn_note == "同じ話題だった"
    (together,) = TopicCluster.objects.filter(active=True)
    assert together.pk == cluster.pk and together.size == 12
    assert FaqEntry.objects.get(pk=new_entry.pk).status == FaqEntry.Status.RETIRED
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()
    _check(page, screenshot_dir, "faq-split-undone")

    other.click(f"#split-row-{split.pk} button[value=withdraw]")
    other.wait_for_selector("#cluster-splits .form-errors")
    assert "既に取り消されています" in other.inner_text("#cluster-splits .form-errors")
    _check(other, screenshot_dir, "faq-split-undo-refused")
    assert page.csp_violations == [] and other.url.endswith(f"/faq/{new_entry.pk}/")
