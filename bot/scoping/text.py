"""The text frame's models: TF-IDF on each free-text column (word 1-2-grams and character 2-5-grams
within word boundaries) joined with the tabular features, then a linear model.

Counting n-grams is done once per row by feature hashing (`hash_texts`): a fixed function of the
row's own text, which learns nothing from other rows, so it may run before the folds. Everything
learnt (the idf weights, the imputer, the scaler, the one-hot categories, the model) is fitted inside
each training fold by the pipeline `make_text_estimator` builds. The matrix these models take is
sparse: the float features first (as `features.build_matrix` makes them, NaN kept), then the hashed
counts (`with_text`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from bot.scoping.convert import Table, codes_of, is_categorical

HASH_BITS = 18           # 262,144 buckets per analyser and column
ONE_HOT_MAX = 20


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


def hash_texts(frame: Table, columns: list[str], rows: np.ndarray) -> sparse.csr_matrix:
    """Word and character n-gram counts of each text column, hashed (no vocabulary, nothing fitted)."""
    blocks = []
    for col in columns:
        docs = text_values(frame, col, rows)
        for analyzer, ngrams in (("word", (1, 2)), ("char_wb", (2, 5))):
            hv = HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=2 ** HASH_BITS,
                                   alternate_sign=False, norm=None, dtype=np.float32)
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
    parts.append(("text", Pipeline([("min_df", MinDocFrequency(2)), ("tfidf", TfidfTransformer(sublinear_tf=True))]),
                  slice(n_tab, None)))
    c = params.get("C", 1.0)
    model = (LogisticRegression(C=c, solver="saga", max_iter=200, tol=1e-2, random_state=random_state)
             if task != "regression" else Ridge(alpha=1.0 / max(c, 1e-6)))
    return Pipeline([("prep", ColumnTransformer(parts, sparse_threshold=1.0)), ("model", model)])
