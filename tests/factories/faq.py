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
