"""The offline MiniLM: the onnx runtime gives the same vectors as sentence-transformers (the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.knowledge.embeddings import OnnxMiniLM, SentenceTransformerMiniLM, minilm_dir

TEXTS = [
    "What is a typical UK day rate for an ML contractor?",
    "",
    "Gebühren für Freelancer in Zürich: 129 € pro Stunde.",
    "GDPR Art 28 requires a written contract whenever a controller uses a processor. " * 12,  # truncated at 256
    "IP",
]


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    return OnnxMiniLM(minilm_dir(), cache_dir=tmp_path_factory.mktemp("cache"), batch_size=2)


def test_onnx_runtime_matches_sentence_transformers(onnx_model):
    fast = onnx_model.encode(TEXTS)
    ref = SentenceTransformerMiniLM(minilm_dir()).encode(TEXTS)
    assert fast.shape == ref.shape == (len(TEXTS), 384)
    assert fast.dtype == np.float32
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * ref).sum(axis=1).min() > 0.99999
    assert np.abs(fast - ref).max() < 1e-5


def test_padding_does_not_change_a_vector(onnx_model):
    """Texts of very different lengths share a padded batch; each must match its vector alone."""
    together = OnnxMiniLM(minilm_dir(), cache_dir=None, batch_size=len(TEXTS)).encode(TEXTS)
    alone = np.stack([onnx_model.encode([t])[0] for t in TEXTS])
    assert np.abs(together - alone).max() < 1e-5
    assert onnx_model.encode([]).shape == (0, 384)


def test_similar_questions_are_close(onnx_model):
    a, b, c = onnx_model.encode(["How much should I charge per day?", "What day rate should I ask for?",
                                 "The weather in Paris is sunny."])
    assert a @ b > a @ c + 0.2


def test_graph_is_built_once_and_reused(tmp_path):
    cache = tmp_path / "cache"
    first = OnnxMiniLM(minilm_dir(), cache_dir=cache)
    files = list(cache.glob("minilm-*.onnx"))
    assert len(files) == 1 and not list(cache.glob(".minilm-*"))  # no temp file left behind
    stamp = files[0].stat().st_mtime_ns
    second = OnnxMiniLM(minilm_dir(), cache_dir=cache)
    assert files[0].stat().st_mtime_ns == stamp
    assert np.array_equal(first.encode(TEXTS[:2]), second.encode(TEXTS[:2]))


def test_unwritable_cache_builds_in_memory(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    model = OnnxMiniLM(minilm_dir(), cache_dir=blocker / "cache")
    assert model.encode(["day rate"]).shape == (1, 384)
    assert blocker.read_text() == "a file where the cache folder should be"
