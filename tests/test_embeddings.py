"""The offline MiniLM: the numpy runtime gives the same vectors as sentence-transformers."""

from __future__ import annotations

import numpy as np

from bot.knowledge.embeddings import NumpyMiniLM, SentenceTransformerMiniLM, minilm_dir

TEXTS = [
    "What is a typical UK day rate for an ML contractor?",
    "",
    "Gebühren für Freelancer in Zürich: 129 € pro Stunde.",
    "GDPR Art 28 requires a written contract whenever a controller uses a processor. " * 12,  # truncated at 256
]


def test_numpy_runtime_matches_sentence_transformers():
    fast = NumpyMiniLM(minilm_dir(), batch_size=2).encode(TEXTS)
    ref = SentenceTransformerMiniLM(minilm_dir()).encode(TEXTS)
    assert fast.shape == ref.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * ref).sum(axis=1).min() > 0.9999


def test_similar_questions_are_close():
    m = NumpyMiniLM(minilm_dir())
    a, b, c = m.encode(["How much should I charge per day?", "What day rate should I ask for?",
                        "The weather in Paris is sunny."])
    assert a @ b > a @ c + 0.2
