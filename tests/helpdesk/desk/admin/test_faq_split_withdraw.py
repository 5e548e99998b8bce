"""「この分割を取り消す」 on the FAQ review page: the splits in force on the entry's cluster are
listed (who, when, note) with a withdraw form; the action withdraws the split and shows what
happened (htmx swaps the panel), a split already withdrawn is a 409 and a published entry on the
new cluster a 400, both shown in place; only admins (test_access.py)."""

import pytest
from django.conf import settings
from django.urls import reverse

from faq import services
from faq.models import ClusterMembership, ClusterSplit, FaqEntry, TopicCluster
from tests.factories import tokyo
from tests.factories.faq import FaqEntryFactory, TopicClusterFactory, two_close_topics

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def split(admin_user):
    """A cluster split by an admin: (the split, the cluster's draft, the new cluster's draft)."""
    file, card = two_close_topics()
    services.faq_cluster_run(as_of=tokyo(2026, 9, 30, 3, 0), embed_missing=False)
    (cluster,) = TopicCluster.objects.filter(active=True)
    entry = FaqEntryFactory(source_cluster=cluster, question="証明書について教えてください。")
    made = services.faq_cluster_split(
        actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk], note="カードは別の話題"
    )
    return made.split, entry, made.new_entry


def _url(entry, name="desk:admin:faq-detail"):
    return reverse(name, args=[entry.pk])


def _withdraw_url(entry, split):
    return reverse("desk:admin:faq-split-withdraw", args=[entry.pk, split.pk])


def _members(cluster) -> int:
    return ClusterMembership.objects.filter(cluster=cluster).count()


def test_both_clusters_pages_list_the_split_in_force_with_the_undo(admin_client, split):
    made, entry, new_entry = split
    for page in (entry, new_entry):
        body = admin_client.get(_url(page)).content.decode()
        assert "この分割を取り消す" in body and 'id="cluster-splits"' in body
        assert f'hx-post="{_withdraw_url(page, made)}"' in body and "csrfmiddlewaretoken" in body
        assert f"クラスタ #{made.cluster.cluster_id} から #{made.new_cluster.cluster_id} を分割" in body
        assert "admin1" in body and "カードは別の話題" in body  # who and the note
        assert made.created_at.astimezone().strftime("%Y-%m-%d") in body


def test_no_split_no_panel(admin_client):
    entry = FaqEntryFactory()
    assert "この分割を取り消す" not in admin_client.get(_url(entry)).content.decode()


def test_the_undo_withdraws_and_shows_what_happened(admin_client, admin_user, split):
    made, entry, new_entry = split
    response = admin_client.post(_withdraw_url(entry, made), {"note": "同じ話題だった"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    made.refresh_from_db()
    assert made.withdrawn_by == admin_user and made.withdrawn_note == "同じ話題だった"
    assert _members(made.cluster) == 12 and _members(made.new_cluster) == 0
    assert FaqEntry.objects.get(pk=new_entry.pk).status == FaqEntry.Status.RETIRED
    assert f"クラスタ #{made.new_cluster.cluster_id} の 6 件がクラスタ #{made.cluster.cluster_id} に戻りました" in body
    assert "公開されたものはありません" in body and _url(entry) in body and _url(new_entry) in body
    assert "この下書きも書き直されました" in body  # the editor above is the old version
    assert "<html" not in body and 'id="cluster-splits"' in body and "この分割を取り消す" not in body
    # The page no longer lists it.
    assert "この分割を取り消す" not in admin_client.get(_url(entry)).content.decode()


def test_without_htmx_the_undo_redirects_to_the_page(admin_client, split):
    made, _entry, new_entry = split
    response = admin_client.post(_withdraw_url(new_entry, made), {"note": ""})
    assert response.status_code == 302 and response["Location"] == _url(new_entry)
    assert ClusterSplit.objects.get(pk=made.pk).withdrawn_at is not None
    body = admin_client.get(response["Location"]).content.decode()
    assert "分割を取り消しました" in body and "公開終了" in body  # this draft was not adopted


@pytest.mark.parametrize("htmx", [True, False])
def test_a_second_undo_is_a_409_shown_in_place(admin_client, admin_user, split, htmx):
    made, entry, _new = split
    services.faq_cluster_split_withdraw(actor=admin_user, split=made)
    response = admin_client.post(_withdraw_url(entry, made), {"note": "もう一度"}, **(HTMX if htmx else {}))
    assert response.status_code == 409
    body = response.content.decode()
    assert "この分割は既に取り消されています" in body and "取り消し済み" in body
    assert ("<html" in body) is not htmx
    assert ClusterSplit.objects.get(pk=made.pk).withdrawn_note == ""


@pytest.mark.parametrize("htmx", [True, False])
def test_a_published_entry_on_the_new_cluster_is_a_400_naming_it(admin_client, admin_user, split, htmx):
    made, entry, new_entry = split
    new_entry = services.faq_entry_update(actor=admin_user, entry=new_entry, version=1, answer="市区町村で更新します。")
    services.faq_entry_publish(actor=admin_user, entry=new_entry)
    response = admin_client.post(_withdraw_url(entry, made), {"note": ""}, **(HTMX if htmx else {}))
    assert response.status_code == 400
    body = response.content.decode()
    assert f"#{new_entry.pk}" in body and "公開中のため取り消せません" in body and "この分割を取り消す" in body
    assert ClusterSplit.objects.get(pk=made.pk).withdrawn_at is None and _members(made.new_cluster) == 6


def test_a_too_long_note_is_a_400_on_the_field(admin_client, split):
    made, entry, _new = split
    response = admin_client.post(_withdraw_url(entry, made), {"note": "あ" * 501}, **HTMX)
    assert response.status_code == 400
    assert f'id="err-withdraw-note-{made.pk}"' in response.content.decode()
    assert ClusterSplit.objects.get(pk=made.pk).withdrawn_at is None


def test_a_split_of_another_cluster_is_404(admin_client, split):
    made, _entry, _new = split
    other = FaqEntryFactory(source_cluster=TopicClusterFactory(cluster_id=900))
    assert admin_client.post(_withdraw_url(other, made), {"note": ""}, **HTMX).status_code == 404
    assert admin_client.post(_withdraw_url(FaqEntryFactory(source_cluster=None), made), {}).status_code == 404
    assert ClusterSplit.objects.get(pk=made.pk).withdrawn_at is None


def test_the_undo_is_english_for_an_english_session(admin_client, split):
    made, entry, _new = split
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = admin_client.get(_url(entry)).content.decode()
    assert "Withdraw this split" in body and "Undo a split" in body
    assert "この分割を取り消す" not in body and "分割の取り消し" not in body
    body = admin_client.post(_withdraw_url(entry, made), {"note": ""}, **HTMX).content.decode()
    assert "Split withdrawn" in body and "分割を取り消しました" not in body
