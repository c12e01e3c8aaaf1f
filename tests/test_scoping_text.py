"""The text frame's features and models (bot/scoping/text.py, scope.text in config.yaml), on small tables
made here: which columns get character n-grams, which tokens count as words, one model per configured C."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.config import ConfigError, load_settings
from bot.scoping import baselines as bl
from bot.scoping.report import load
from bot.scoping.text import OrdinalRidge, hash_texts, ordinal_ranks, plan_text
from bot.scoping.worker import ScopeRequest


def _settings(tmp_path, **overrides):
    return load_settings(data_dir=tmp_path / "data", env={}, overrides=overrides)


def _table(tmp_path, df: pd.DataFrame, settings):
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    request = ScopeRequest(path=str(path), data=None, filename="t.csv", chart=False)
    return load(request, settings.scope, lambda stage, info: None, None).table.frame


def _ads(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    long = ("We are hiring for a busy team in a large office; you will work with clients, write reports and keep "
            "records up to date. Requires {y} years of experience. We offer a pension and flexible hours.")
    years = rng.choice(["2", "5"], n)
    return pd.DataFrame({"subject": [f"Invoice {i} overdue" for i in range(n)],
                         "body": [long.format(y=y) for y in years], "band": years})


def test_character_ngrams_only_on_short_text_columns(tmp_path):
    settings = _settings(tmp_path)
    frame = _table(tmp_path, _ads(), settings)
    plan = plan_text(frame, ["subject", "body"], settings.scope.text)
    assert [(c, a) for c, a, _ in plan.blocks] == [("subject", "word"), ("subject", "char_wb"), ("body", "word")]
    assert plan.columns == ["subject", "body"]
    # the cut-off is the configured median length
    everywhere = plan_text(frame, ["subject", "body"], _settings(tmp_path, **{
        "scope.text.char_max_median_chars": 10_000}).scope.text)
    assert [a for _, a, _ in everywhere.blocks].count("char_wb") == 2
    nowhere = plan_text(frame, ["subject", "body"], _settings(tmp_path, **{
        "scope.text.char_max_median_chars": 0}).scope.text)
    assert [a for _, a, _ in nowhere.blocks] == ["word", "word"]


def test_one_character_tokens_are_words(tmp_path):
    """"2 years" and "5 years" differ in the word features (the default sklearn pattern drops one-character
    tokens, so the two ads would hash to the same words)."""
    settings = _settings(tmp_path)
    df = _ads()
    frame = _table(tmp_path, df, settings)
    plan = plan_text(frame, ["body"], settings.scope.text)
    assert [a for _, a, _ in plan.blocks] == ["word"]
    two, five = int(np.flatnonzero(df["band"] == "2")[0]), int(np.flatnonzero(df["band"] == "5")[0])
    hashed = hash_texts(frame, plan, np.array([two, five]))
    assert (hashed[0] != hashed[1]).nnz > 0


def test_one_tfidf_model_per_configured_c(tmp_path):
    text = _settings(tmp_path, **{"scope.text.classify_c": [30.0, 3.0, 0.3], "scope.text.min_df": 3}).scope.text
    specs = [s for s in bl.candidates(500, 4, "binary", text=text) if s.family == "text"]
    assert [(s.name, s.params["C"], s.params["min_df"]) for s in specs] == [
        ("tfidf_linear", 30.0, 3), ("tfidf_linear_c2", 3.0, 3), ("tfidf_linear_c3", 0.3, 3)]
    reg = [s.params["C"] for s in bl.candidates(500, 4, "regression", text=text) if s.family == "text"]
    assert reg == list(text.regress_c)
    assert not [s for s in bl.candidates(500, 4, "binary") if s.family == "text"]


@pytest.mark.parametrize("key,value", [("scope.text.word_ngrams", [2, 1]), ("scope.text.classify_c", [0.0]),
                                       ("scope.text.char_ngrams", [0, 3])])
def test_bad_text_settings_are_refused(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _settings(tmp_path, **{key: value})


def test_a_subject_with_a_ticket_number_is_text_and_a_bare_order_number_an_id(tmp_path):
    """A number in every subject makes each value unique; the words around it still make it text."""
    from bot.scoping.profile import profile_table

    rng = np.random.default_rng(3)
    topics = ["refund", "password reset", "parcel damaged", "charged twice", "login error", "wrong address",
              "invoice copy", "cancel subscription"]  # short: two or three words with the number
    n = 200
    df = pd.DataFrame({"subject": [f"{rng.choice(topics)} #{50_000 + i}" for i in range(n)],
                       "reference": [f"Order {70_000 + i}" for i in range(n)],
                       "queue": rng.choice(["billing", "access", "delivery"], n)})
    settings = _settings(tmp_path)
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    request = ScopeRequest(path=str(path), data=None, filename="t.csv", chart=False)
    profile = profile_table(load(request, settings.scope, lambda stage, info: None, None).table)
    assert profile.columns["subject"].kind == "text"
    assert profile.columns["reference"].kind == "id"


@pytest.mark.parametrize("labels,ranks", [
    (["under 25k", "35k-50k", "50k-70k", "70k+", "25k-35k"], (0, 2, 3, 4, 1)),
    (["5 stars", "1 star", "3 stars", "2 stars", "4 stars"], (4, 0, 2, 1, 3)),
    (["65+", "18-24", "25-44", "45-64"], (3, 0, 1, 2)),
    (["billing", "access", "delivery"], None),      # no numbers: no order
    (["plan 2", "plan 2b", "plan 3"], None),        # two labels tie on their number
    (["1-10", "11+"], None),                        # two classes: binary, nothing to order
])
def test_ordered_classes_are_read_from_the_numbers_in_their_labels(labels, ranks):
    assert ordinal_ranks(labels) == ranks


def _bands(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """A score that is a sum of many small effects, cut into five ordered bands (codes in shuffled order)."""
    X = rng.normal(size=(n, 40))
    score = X @ rng.uniform(0.2, 1.0, 40) + rng.normal(0, 1.0, n)
    band = np.digitize(score, np.quantile(score, [0.2, 0.4, 0.6, 0.8]))
    ranks = (3, 0, 4, 1, 2)                       # code -> rank
    code_of_rank = {r: c for c, r in enumerate(ranks)}
    return X, np.array([code_of_rank[b] for b in band]), ranks


def test_the_ordinal_model_uses_the_order_of_the_classes():
    rng = np.random.default_rng(0)
    X, y, ranks = _bands(rng, 700)
    tr, te = np.arange(500), np.arange(500, 700)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    model = OrdinalRidge(ranks, alpha=1.0).fit(X[tr], y[tr])
    proba = model.predict_proba(X[te])
    assert proba.shape == (200, 5) and np.allclose(proba.sum(axis=1), 1)
    assert list(model.classes_) == [0, 1, 2, 3, 4]
    ordinal = f1_score(y[te], model.predict(X[te]), average="macro")
    multinomial = f1_score(y[te], LogisticRegression(max_iter=2000).fit(X[tr], y[tr]).predict(X[te]), average="macro")
    assert ordinal > multinomial + 0.02  # fixed seed: 0.73 vs 0.68


def test_ordered_classes_add_the_ordinal_text_model(tmp_path):
    text = _settings(tmp_path).scope.text
    names = [s.name for s in bl.candidates(500, 4, "multiclass", 5, text=text, ranks=(0, 2, 3, 4, 1))
             if s.family == "text"]
    assert names == ["tfidf_linear", "tfidf_ordinal", "tfidf_linear_c2"]
    assert "tfidf_ordinal" not in [s.name for s in bl.candidates(500, 4, "multiclass", 5, text=text)]
