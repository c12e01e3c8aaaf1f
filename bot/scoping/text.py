"""The text frame's models: TF-IDF on each free-text column joined with the tabular features, then a
linear model. Every text column gets word n-grams (one-character tokens kept: "5+ years", "4g", "a/b");
a short-text column (subjects, titles: median length under `scope.text.char_max_median_chars`) also gets
character n-grams within word boundaries, which catch spelling variants where a document has few words.
On long documents character n-grams add cost and noise rather than evidence. The n-gram ranges, the
token pattern, min_df and the models' C live in config.yaml (scope.text).

Counting n-grams is done once per row by feature hashing (`hash_texts`): a fixed function of the
row's own text, which learns nothing from other rows, so it may run before the folds. Everything
learnt (the idf weights, the imputer, the scaler, the one-hot categories, the model) is fitted inside
each training fold by the pipeline `make_text_estimator` builds. The matrix these models take is
sparse: the float features first (as `features.build_matrix` makes them, NaN kept), then the hashed
counts (`with_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from bot.scoping.convert import Table, codes_of, is_categorical

HASH_BITS = 18           # 262,144 buckets per analyser and column
ONE_HOT_MAX = 20


@dataclass(frozen=True)
class TextPlan:
    """Which analysers run on which text column: decided once on the whole table, so every sample of rows
    (selection, the check on more rows, the score with leaks) gets the same feature layout."""

    blocks: tuple[tuple[str, str, tuple[int, int]], ...]   # (column, analyser, n-gram range)
    token_pattern: str

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for c, _, _ in self.blocks))


def plan_text(frame: Table, columns: list[str], cfg: Any) -> TextPlan:
    """Word n-grams on every text column; character n-grams too on short-text columns (see the module doc)."""
    blocks: list[tuple[str, str, tuple[int, int]]] = []
    for col in columns:
        blocks.append((col, "word", tuple(cfg.word_ngrams)))
        if _median_length(frame, col) < cfg.char_max_median_chars:
            blocks.append((col, "char_wb", tuple(cfg.char_ngrams)))
    return TextPlan(tuple(blocks), cfg.token_pattern)


def _median_length(frame: Table, column: str) -> float:
    docs = text_values(frame, column, np.arange(len(frame[column])))
    lengths = [len(d) for d in docs if d]
    return float(np.median(lengths)) if lengths else 0.0


def text_values(frame: Table, column: str, rows: np.ndarray) -> np.ndarray:
    """The strings of a text column for `rows` ('' where missing)."""
    s = frame[column]
    out = np.full(len(rows), "", dtype=object)
    if is_categorical(s):
        codes = codes_of(s)[rows]
        cats = np.asarray(s.categories, dtype=object)
        ok = codes >= 0
        out[ok] = [str(v) for v in cats[codes[ok]]]
    return out


def hash_texts(frame: Table, plan: TextPlan, rows: np.ndarray) -> sparse.csr_matrix:
    """The n-gram counts the plan names, hashed (no vocabulary, nothing fitted)."""
    blocks = []
    docs_of: dict[str, np.ndarray] = {}
    for col, analyzer, ngrams in plan.blocks:
        if col not in docs_of:
            docs_of[col] = text_values(frame, col, rows)
        docs = docs_of[col]
        extra = {"token_pattern": plan.token_pattern} if analyzer == "word" else {}
        hv = HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=2 ** HASH_BITS,
                               alternate_sign=False, norm=None, dtype=np.float32, **extra)
        blocks.append(hv.transform(docs))
    return sparse.hstack(blocks, format="csr", dtype=np.float64)


def with_text(X: np.ndarray, hashed: sparse.csr_matrix) -> sparse.csr_matrix:
    """Float features (NaN kept) then the hashed text counts, as one sparse matrix (the text models' input)."""
    return sparse.hstack([sparse.csr_matrix(X), hashed], format="csr")


class MinDocFrequency(TransformerMixin, BaseEstimator):
    """Keeps the hashed n-grams seen in at least `min_df` training documents (learnt in the fold)."""

    def __init__(self, min_df: int = 2):
        self.min_df = min_df

    def fit(self, X: Any, y: Any = None) -> MinDocFrequency:
        df = np.asarray((sparse.csr_matrix(X) > 0).sum(axis=0)).ravel()
        self.keep_ = np.flatnonzero(df >= self.min_df)
        return self

    def transform(self, X: Any) -> sparse.csr_matrix:
        return sparse.csr_matrix(X)[:, self.keep_]


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_BELOW = re.compile(r"^\s*(under|below|less than|up to|<)", re.IGNORECASE)
_ABOVE = re.compile(r"(\+|\bplus|\bover|\bor more|\babove)\s*$|^\s*(over|above|more than|>)", re.IGNORECASE)


def ordinal_ranks(classes: list[Any]) -> tuple[int, ...] | None:
    """The rank of each class when every label names a number ("under 25k", "25k-35k", "70k+"; "1 star" to
    "5 stars"; "18-24", "65+"): ordered by its first number, "under N" before and "N+" after a range from N.
    None when a label has no number, two labels tie, or there are fewer than three classes."""
    if len(classes) < 3:
        return None
    keys = []
    for c in classes:
        label = str(c)
        m = _NUMBER.search(label)
        if m is None:
            return None
        side = -1 if _BELOW.search(label) else 1 if _ABOVE.search(label) else 0
        keys.append((float(m.group().replace(",", ".")), side))
    if len(set(keys)) < len(keys):
        return None
    order = sorted(range(len(keys)), key=keys.__getitem__)
    ranks = [0] * len(keys)
    for r, i in enumerate(order):
        ranks[i] = r
    return tuple(ranks)


class OrdinalRidge(ClassifierMixin, BaseEstimator):
    """Ordered classes: a ridge regression on the class rank (one weight vector for all classes, where a
    multinomial model learns one per class), then a logistic model on that score gives each class its
    probability. `ranks[code]` is the rank of class `code`."""

    def __init__(self, ranks: tuple[int, ...] = (), alpha: float = 1.0, random_state: int = 0):
        self.ranks = ranks
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X: Any, y: np.ndarray) -> OrdinalRidge:
        rank = np.asarray(self.ranks, dtype=np.float64)[np.asarray(y, dtype=np.int64)]
        self.ridge_ = Ridge(alpha=self.alpha).fit(X, rank)
        self.link_ = LogisticRegression(C=100.0, max_iter=1000, random_state=self.random_state)
        self.link_.fit(self.ridge_.predict(X)[:, None], y)
        self.classes_ = self.link_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.link_.predict_proba(self.ridge_.predict(X)[:, None])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _dense(a: Any) -> np.ndarray:
    return a.toarray() if sparse.issparse(a) else np.asarray(a, dtype=np.float64)


def make_text_estimator(params: dict[str, Any], task: str, categorical: np.ndarray, random_state: int):
    """TF-IDF weights on the hashed counts, scaled numbers and one-hot categories, then a linear model."""
    n_tab = len(categorical)
    num_idx = [j for j in range(n_tab) if not categorical[j]]
    cat_idx = [j for j in range(n_tab) if categorical[j]]
    parts: list[tuple[str, Any, Any]] = []
    if num_idx:
        parts.append(("num", Pipeline([("dense", FunctionTransformer(_dense, accept_sparse=True)),
                                       ("impute", SimpleImputer(strategy="median", add_indicator=True,
                                                                keep_empty_features=True)),
                                       ("scale", StandardScaler())]), num_idx))
    if cat_idx:
        parts.append(("cat", Pipeline([("dense", FunctionTransformer(_dense, accept_sparse=True)),
                                       ("onehot", OneHotEncoder(max_categories=ONE_HOT_MAX,
                                                                handle_unknown="infrequent_if_exist",
                                                                min_frequency=2))]), cat_idx))
    parts.append(("text", Pipeline([("min_df", MinDocFrequency(params.get("min_df", 2))),
                                    ("tfidf", TfidfTransformer(sublinear_tf=True))]), slice(n_tab, None)))
    c = params.get("C", 1.0)
    if params.get("ranks"):
        model: Any = OrdinalRidge(tuple(params["ranks"]), alpha=1.0 / max(c, 1e-6), random_state=random_state)
    elif task != "regression":
        model = LogisticRegression(C=c, solver="saga", max_iter=200, tol=1e-2, random_state=random_state)
    else:
        model = Ridge(alpha=1.0 / max(c, 1e-6))
    return Pipeline([("prep", ColumnTransformer(parts, sparse_threshold=1.0)), ("model", model)])
