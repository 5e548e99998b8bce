"""factory_boy factories for the faq app's records: a topic cluster with its run, a surge,
FAQ entries and IVR announcements."""

import datetime as dt

import factory

from faq.models import ClusterRun, FaqEntry, IvrAnnouncement, SurgeAlert, TopicCluster
from tests.factories import tokyo


class ClusterRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterRun

    started_at = factory.LazyFunction(lambda: tokyo(2026, 9, 28, 3, 0))
    window_start = factory.LazyAttribute(lambda r: r.started_at - dt.timedelta(weeks=12))
    window_end = factory.LazyAttribute(lambda r: r.started_at)
    status = ClusterRun.Status.DONE


class TopicClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TopicCluster

    cluster_id = factory.Sequence(lambda n: n + 1)
    keywords = factory.LazyFunction(lambda: ["証明書", "有効期限", "更新"])
    size = 12
    weekly_counts = factory.LazyFunction(lambda: {"2026-09-07": 2, "2026-09-14": 3, "2026-09-21": 9})
    central_inquiries = factory.LazyFunction(list)
    first_run = factory.SubFactory(ClusterRunFactory)
    last_run = factory.SelfAttribute("first_run")


class SurgeAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurgeAlert

    cluster = factory.SubFactory(TopicClusterFactory)
    kind = SurgeAlert.Kind.WEEKLY
    period_start = dt.date(2026, 9, 21)
    period_end = dt.date(2026, 9, 27)
    count = 9
    baseline = 2.5
    ratio = 3.6
    p_value = 0.001
    threshold = 0.05
    explanation = "「証明書・有効期限」の問い合わせが9件（前4週平均2.5件の3.6倍）に急増しました。"
    run = factory.SelfAttribute("cluster.last_run")
    detected_at = factory.LazyFunction(lambda: tokyo(2026, 9, 28, 3, 5))


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    question = "電子証明書の有効期限が切れたらどうすればよいですか。"
    answer = "認証局で証明書を更新してから、e-Govアプリに新しい証明書を登録してください。"
    source_cluster = factory.SubFactory(TopicClusterFactory)


class IvrAnnouncementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IvrAnnouncement

    text = "現在、証明書の有効期限に関するお問い合わせが集中しております。よくある質問ページをご覧ください。"


# Two close topics the clustering merges (issue 15's confused pairs, synthetic): their sentence
# vectors are cosine ≈ 0.99 apart and their words mostly shared, so any cut keeps them in one
# cluster; only an admin's split keeps them apart.
TOPIC_WORDS = {
    "file": ("証明書ファイル", ["電子証明書", "登録", "署名", "エラー", "ファイル"]),
    "card": ("マイナンバーカードの証明書", ["電子証明書", "登録", "署名", "エラー", "マイナンバーカード"]),
}


def two_close_topics(n_each: int = 6, *, seed: int = 0, start=None):
    """(file inquiries, card inquiries), each with a stored embedding and tokens: the vectors
    are the topic's centre plus tiny noise, the two centres cosine ≈ 0.99 apart."""
    import numpy as np

    from faq import clustering
    from faq.models import InquiryEmbedding
    from tests.factories import InquiryFactory

    rng = np.random.default_rng(seed)
    base = rng.normal(size=clustering.EMBEDDING_DIM)
    base /= np.linalg.norm(base)
    start = start or tokyo(2026, 9, 1, 10, 0)
    out = []
    for t, name in enumerate(TOPIC_WORDS):
        subject, words = TOPIC_WORDS[name]
        offset = rng.normal(size=clustering.EMBEDDING_DIM)
        centre = base + 0.1 * offset / np.linalg.norm(offset)
        rows = []
        for i in range(n_each):
            inquiry = InquiryFactory(
                subject=f"{subject}で署名できない（{i + 1}）",
                body=f"{subject}を登録しようとするとエラーになります。",
                received_at=start + dt.timedelta(days=2 * i, hours=t),
            )
            vector = centre + rng.normal(scale=0.002, size=clustering.EMBEDDING_DIM)
            vector /= np.linalg.norm(vector)
            InquiryEmbedding.objects.update_or_create(
                inquiry=inquiry,
                defaults={
                    "model": clustering.EMBEDDING_MODEL,
                    "text_hash": f"synthetic-{name}-{i}",
                    "tokens": " ".join(words),
                    "vector": vector.astype("<f4").tobytes(),
                },
            )
            rows.append(inquiry)
        out.append(rows)
    return out[0], out[1]
