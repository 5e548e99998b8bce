"""「別の話題として分ける」 on the FAQ review page: the cluster's inquiries listed (personal
information masked) with checkboxes, or those holding the words an admin filters by; the action
splits the cluster and shows the two drafts (htmx swaps the panel), a bad choice is a 400 naming
the field; only admins (test_access.py)."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faq import services
from faq.models import ClusterMembership, ClusterSplit, FaqEntry, TopicCluster
from tests.factories import InquiryFactory, tokyo
from tests.factories.faq import FaqEntryFactory, two_close_topics

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def draft():
    file, card = two_close_topics()
    services.faq_cluster_run(as_of=tokyo(2026, 9, 30, 3, 0), embed_missing=False)
    (cluster,) = TopicCluster.objects.filter(active=True)
    entry = FaqEntryFactory(source_cluster=cluster, question="証明書について教えてください。")
    return entry, file, card


def _url(entry, name="desk:admin:faq-detail"):
    return reverse(name, args=[entry.pk])


def _split(client, entry, marked, shown, **extra):
    return client.post(
        _url(entry, "desk:admin:faq-split"), {"marked": marked, "shown": shown, "note": "二つの話題"}, **extra
    )


def test_the_review_page_lists_the_clusters_inquiries_with_checkboxes(admin_client, draft):
    entry, file, card = draft
    body = admin_client.get(_url(entry)).content.decode()
    assert "別の話題として分ける" in body and 'hx-post="' + _url(entry, "desk:admin:faq-split") in body
    for inquiry in file + card:
        assert f'name="marked" value="{inquiry.pk}"' in body and inquiry.ref in body
    assert "（代表）" in body and "csrfmiddlewaretoken" in body


def test_personal_information_in_the_listed_subjects_is_masked(admin_client, draft):
    entry, file, _card = draft
    secret = InquiryFactory(subject="090-1234-5678まで折り返し（鈴木）", requester_name="鈴木 一郎")
    ClusterMembership.objects.create(run=entry.source_cluster.last_run, cluster=entry.source_cluster, inquiry=secret)
    body = admin_client.get(_url(entry)).content.decode()
    assert secret.ref in body and "090-1234-5678" not in body and "鈴木" not in body
    (line,) = [line for line in body.splitlines() if secret.ref in line]
    assert "まで折り返し(〔氏名〕)" in line and line.count("〔") == 2  # replaced as a draft's text is


def test_the_action_splits_and_shows_the_two_drafts(admin_client, admin_user, draft):
    entry, file, card = draft
    # Listed but not checked: the seeds that stay. The rest go by their vectors.
    shown = [i.pk for i in file[:3] + card[:2]]
    response = _split(admin_client, entry, [card[0].pk, card[1].pk], shown, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    split = ClusterSplit.objects.get()
    assert split.created_by == admin_user and split.note == "二つの話題" and (split.moved, split.stayed) == (6, 6)
    assert set(split.seeds.filter(side="kept").values_list("inquiry_id", flat=True)) == {i.pk for i in file[:3]}
    assert set(ClusterMembership.objects.filter(cluster=split.new_cluster).values_list("inquiry_id", flat=True)) == {
        i.pk for i in card
    }
    drafts = list(FaqEntry.objects.order_by("pk"))
    assert len(drafts) == 2 and {d.status for d in drafts} == {FaqEntry.Status.DRAFT}
    assert {d.source_cluster_id for d in drafts} == {split.cluster_id, split.new_cluster_id}
    for d in drafts:
        assert _url(d) in body
    assert "下書きは公開されていません" in body and 'id="cluster-split"' in body
    assert "この下書きも書き直されました" in body  # the editor above is the old version (a save is a 409)
    assert "<html" not in body  # the panel alone, swapped by htmx


def test_without_htmx_the_action_redirects_to_the_page(admin_client, draft):
    entry, file, card = draft
    response = _split(admin_client, entry, [card[0].pk], [file[0].pk, card[0].pk])
    assert response.status_code == 302 and response["Location"] == _url(entry)
    assert ClusterSplit.objects.count() == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_a_bad_choice_is_a_400_naming_the_field(admin_client, draft, htmx):
    entry, file, card = draft
    extra = HTMX if htmx else {}
    cases = [
        ([], [file[0].pk, card[0].pk], "別の話題として分ける問い合わせを1件以上選んでください"),
        (
            [card[0].pk, file[0].pk],
            [file[0].pk, card[0].pk],
            "残す問い合わせ（選ばない問い合わせ）を1件以上残してください",
        ),
        (["x"], [file[0].pk], "問い合わせの指定が正しくありません"),
    ]
    for marked, shown, message in cases:
        response = _split(admin_client, entry, marked, shown, **extra)
        assert response.status_code == 400, marked
        body = response.content.decode()
        assert message in body and 'id="err-marked"' in body, marked
    assert not ClusterSplit.objects.exists()


def test_a_published_entry_or_one_without_a_cluster_is_not_split(admin_client, draft):
    entry, file, card = draft
    by_hand = FaqEntryFactory(source_cluster=None)
    assert "別の話題として分ける" not in admin_client.get(_url(by_hand)).content.decode()
    response = _split(admin_client, by_hand, [card[0].pk], [file[0].pk], **HTMX)
    assert response.status_code == 400 and "最新の集計にあるクラスタだけを分けられます" in response.content.decode()
    response = _split(admin_client, by_hand, [card[0].pk], [file[0].pk])
    assert response.status_code == 400 and "最新の集計にあるクラスタだけを分けられます" in response.content.decode()
    assert not ClusterSplit.objects.exists()


def test_the_panel_is_english_for_an_english_session(admin_client, draft):
    entry, _file, _card = draft
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = admin_client.get(_url(entry)).content.decode()
    assert "Split off as another topic" in body and "Split the topic" in body and "(central)" in body
    assert "別の話題として分ける" not in body


def _bigger_cluster(entry, card, n=25):
    """`n` more certificate-file members, newer than the card's: the default list (the central
    inquiries, then the 20 most recent members) then shows none of the card's inquiries but the
    central ones."""
    from faq.models import InquiryEmbedding

    cluster = entry.source_cluster
    cluster.central_inquiries = [card[0].pk]
    cluster.save(update_fields=["central_inquiries"])
    newer = []
    for i in range(n):
        inquiry = InquiryFactory(subject=f"証明書ファイルの登録（{i}）")
        InquiryEmbedding.objects.create(
            inquiry=inquiry, model="x", text_hash=f"h{i}", tokens="電子証明書 登録 署名 エラー ファイル"
        )
        ClusterMembership.objects.create(run=cluster.last_run, cluster=cluster, inquiry=inquiry)
        newer.append(inquiry)
    return newer


def _search(client, entry, words, **extra):
    return client.get(_url(entry, "desk:admin:faq-split-search"), {"words": words}, **extra)


def test_filtering_by_a_word_lists_every_member_holding_it(admin_client, draft):
    entry, file, card = draft
    newer = _bigger_cluster(entry, card)
    default = admin_client.get(_url(entry)).content.decode()
    assert [i for i in card[1:] if f'value="{i.pk}"' in default] == []  # out of the default list
    response = _search(admin_client, entry, "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ", **HTMX)  # half-width: the words as the clustering reads them
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="cluster-split"' in body
    for inquiry in card:
        assert f'name="marked" value="{inquiry.pk}"' in body
    assert "6 件" in body and 'value="ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ"' in body
    # Beside them, under their own heading, to keep: members without the word (the central one
    # holds it: the most recent).
    assert [i for i in file + newer if f'value="{i.pk}"' in body] == newer[-3:]
    beside = "残す候補（その語を含まない問い合わせ）"
    assert body.count(beside) == 1
    assert body.index(f'id="split-{card[-1].pk}"') < body.index(beside) < body.index(f'id="split-{newer[-1].pk}"')
    # Two words: every one must be held.
    body = _search(admin_client, entry, "ファイル 署名", **HTMX).content.decode()
    assert "31 件" in body and sum(f'name="marked" value="{i.pk}"' in body for i in file + newer) == 20


def test_the_filtered_members_are_split_off(admin_client, admin_user, draft):
    entry, file, card = draft
    _bigger_cluster(entry, card)
    cluster = entry.source_cluster
    cluster.central_inquiries = [file[0].pk]
    cluster.save(update_fields=["central_inquiries"])
    body = _search(admin_client, entry, "マイナンバーカード", **HTMX).content.decode()
    (line,) = [line for line in body.splitlines() if f'for="split-{file[0].pk}"' in line]
    assert "（代表）" in line  # a central inquiry without the word, listed first to keep
    response = admin_client.post(
        _url(entry, "desk:admin:faq-split"),
        {"marked": [i.pk for i in card], "shown": [i.pk for i in card] + [file[0].pk], "words": "マイナンバーカード"},
        **HTMX,
    )
    assert response.status_code == 200
    split = ClusterSplit.objects.get()
    assert split.created_by == admin_user and split.moved == 6
    assert set(ClusterMembership.objects.filter(cluster=split.new_cluster).values_list("inquiry_id", flat=True)) == {
        i.pk for i in card
    }


def test_a_refused_split_keeps_the_filtered_list(admin_client, draft):
    entry, file, card = draft
    _bigger_cluster(entry, card)
    # Every listed inquiry checked: refused, and the panel lists the same filtered inquiries.
    response = admin_client.post(
        _url(entry, "desk:admin:faq-split"),
        {"marked": [i.pk for i in card], "shown": [i.pk for i in card], "words": "マイナンバーカード"},
        **HTMX,
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "残す問い合わせ" in body and 'value="マイナンバーカード"' in body
    assert all(f'name="marked" value="{i.pk}" id="split-{i.pk}" checked' in body for i in card)
    assert not ClusterSplit.objects.exists()


@pytest.mark.parametrize("htmx", [True, False])
def test_a_filter_with_no_word_to_search_is_a_400_naming_the_field(admin_client, draft, htmx):
    entry, _file, _card = draft
    for words in ("の", "。、", "x" * 101):
        response = _search(admin_client, entry, words, **(HTMX if htmx else {}))
        assert response.status_code == 400, words
        body = response.content.decode()
        assert 'id="err-words"' in body and 'aria-invalid="true"' in body, words
        assert ("<html" in body) is not htmx
    assert "絞り込める語がありません" in _search(admin_client, entry, "の").content.decode()


@pytest.mark.parametrize("htmx", [True, False])
def test_a_filter_on_an_entry_without_a_cluster_is_refused(admin_client, draft, htmx):
    by_hand = FaqEntryFactory(source_cluster=None)
    response = _search(admin_client, by_hand, "証明書", **(HTMX if htmx else {}))
    assert response.status_code == 400 and "最新の集計にあるクラスタだけを分けられます" in response.content.decode()


def test_the_filter_is_english_for_an_english_session(admin_client, draft):
    entry, _file, card = draft
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Filter by words" in admin_client.get(_url(entry)).content.decode()
    body = _search(admin_client, entry, "マイナンバーカード", **HTMX).content.decode()
    assert "Inquiries holding every word of" in body and "Clear the filter" in body and "To keep" in body
    assert "件" not in body


def test_the_filter_reads_a_constant_number_of_queries(admin_client, draft):
    """At most four reads for the list whatever the cluster's size: the count with 25 more
    members holding the words (the count query then runs) is the count with the 12."""
    entry, _file, card = draft

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _search(admin_client, entry, "署名", **HTMX).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    _bigger_cluster(entry, card)
    assert count() == few + 1  # the matching members' count, read only when more than 20 match
