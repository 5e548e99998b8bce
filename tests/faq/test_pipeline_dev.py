"""The whole pipeline on the dev set (296 inquiries, 15 topics, a planted `browser` surge in
weeks 6–7): quality on the set the parameters were tuned on — not a measure of generalisation,
see tests/faq/test_evaluation.py for held-out topics and the unseen set — and the surge flagged in
its onset week and the next only."""

import collections
import json

import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from faq import pipeline


@pytest.fixture(scope="module")
def dev(request):
    from tests.conftest import DATA

    lines = (DATA / "faq" / "inquiries_dev.jsonl").read_text(encoding="utf-8").splitlines()
    docs = pipeline.read_jsonl(lines)
    topics = [json.loads(line)["topic"] for line in lines if line.strip()]
    return docs, topics, pipeline.run(docs)


def test_quality_on_tuning_set(dev):
    docs, topics, result = dev
    labels = result.clustering.labels(len(docs))
    labels = [lab if lab >= 0 else -1000 - i for i, lab in enumerate(labels)]  # unclustered: singletons
    assert adjusted_rand_score(topics, labels) >= 0.70
    assert normalized_mutual_info_score(topics, labels) >= 0.80
    assert 15 <= len(result.clustering.clusters) <= 45
    assert result.clustering.method == "hybrid"


def test_dev_set_flags_the_planted_browser_surge_in_weeks_6_and_7_only(dev):
    docs, topics, result = dev
    assert [(s.start.isoformat(), s.kind) for s in result.surges] == [
        ("2026-09-07", "weekly"),
        ("2026-09-14", "weekly"),
    ]
    cluster = next(c for c in result.clustering.clusters if c.id == result.surges[0].cluster)
    assert result.surges[1].cluster == cluster.id
    top_topic, n = collections.Counter(topics[i] for i in cluster.members).most_common(1)[0]
    assert top_topic == "browser" and n / cluster.size > 0.9


def test_explanations_keywords_central_and_weekly_counts(dev):
    docs, topics, result = dev
    data = result.as_json()
    browser = next(c for c in data["clusters"] if c["id"] == result.surges[0].cluster)
    assert {"ブラウザ", "chrome"} & set(browser["keywords"][:3])
    assert len(browser["central"]) == 3 and set(browser["central"]) <= set(browser["members"])
    assert sum(browser["weekly_counts"].values()) == browser["size"] == len(browser["members"])
    assert browser["weekly_counts"]["2026-09-07"] == data["surges"][0]["count"]
    assert "2026-09-07の週" in data["surges"][0]["explanation"]
