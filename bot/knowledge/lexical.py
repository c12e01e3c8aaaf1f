"""Words and BM25: the lexical half of hybrid retrieval, and the word overlap used by answers."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from functools import lru_cache

from bot.knowledge.foreign import FUNCTION_WORDS, fold

STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do", "does", "doesn't", "doing", "don't", "down", "during", "each", "few", "for", "from", "further", "get", "got", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself", "just", "let's", "me", "more", "most", "much", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "same", "shall", "she", "should", "shouldn't", "so", "some", "such", "than", "that", "that's", "the", "their", "theirs", "them", "themselves", "then", "there", "there's", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "wasn't", "we", "were", "weren't", "what", "what's", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "won't", "would", "wouldn't", "you", "your", "yours", "yourself", "yourselves", "i'm", "i've", "i'd", "you're", "you've", "ok", "okay", "please", "tell", "thanks", "thank", "hi", "hello", "hey", "know", "want", "need", "like", "really", "right", "now", "anyone", "someone", "something", "anything", "way", "ever"])

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*", re.I)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A tiny suffix stripper: enough to match rate/rates, pricing/price, assigned/assignment."""
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ments", "ment"), ("ment", ""), ("ings", ""),
                         ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                continue
            w = w[: len(w) - len(suffix)] + repl
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-cased content words without accents (stopwords, and the function words of German, French
    and Spanish, dropped), stemmed."""
    out = []
    for tok in _TOKEN.findall(fold(text).replace("’", "'")):
        tok = tok.strip(".'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        if not tok or tok in STOPWORDS or tok in FUNCTION_WORDS:
            continue
        out.append(stem(tok))
    return out


def is_number(token: str) -> bool:
    return bool(re.fullmatch(r"\d[\d.,]*[km]?", token))


class BM25:
    """Okapi BM25 over an inverted index (fast for a few thousand chunks)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / self.n) if self.n else 0.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                postings[term].append((i, tf))
        self.postings = dict(postings)
        self.idf = {t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: list[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(query):
            plist = self.postings.get(term)
            if not plist:
                continue
            idf = self.idf[term]
            for i, tf in plist:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg or 1))
                out[i] += idf * tf * (self.k1 + 1) / norm
        return out

    def top(self, query: list[str], k: int) -> list[tuple[int, float]]:
        scored = self.scores(query)
        return sorted(scored.items(), key=lambda kv: -kv[1])[:k]

    def idf_of(self, term: str) -> float:
        return self.idf.get(term, math.log(1 + (self.n + 0.5) / 0.5) if self.n else 0.0)


# Names a question can quote exactly: code identifiers (cross_val_score, StratifiedKFold, GridSearchCV,
# sklearn.model_selection), statute references (s.80, §31, Article 28(10)), letter-digit names (IR35)
# and acronyms (CDPA). One cheap tokenising pass, then plain string tests per token: the index of a
# corpus is built at every load.
_NAME_TOKEN = re.compile(r"[A-Za-z][\w.]*\w")
_MIXED = re.compile(r"[A-Za-z]{1,6}\d{1,4}")
_STATUTE = re.compile(r"(?=[§sSaA])(§{1,2}|\b(?:[sS]{1,2}|[sS]ec|[aA]rt(?:icle)?)\.?)\s?(\d{1,4}[a-z]?)((?:\(\w{1,3}\))*)")
_STATUTE_KIND = {"§§": "§", "ss": "s", "sec": "s", "article": "art"}


def _is_name(tok: str) -> bool:
    if "_" in tok:
        return True
    rest = tok[1:]
    if rest.islower() or tok.isdigit():  # plain words: the common case, decided first
        return not rest.isalpha() and bool(_MIXED.fullmatch(tok))
    if rest.lower() != rest and tok.upper() != tok:  # StratifiedKFold, KFold, UrhG, ITJobsWatch
        return True
    if tok.isalpha():
        return tok.isupper() and 3 <= len(tok) <= 6  # CDPA, GDPR
    return bool(_MIXED.fullmatch(tok))  # IR35, F1


def identifiers(text: str) -> set[str]:
    """The exact names a text mentions, lower-cased: code identifiers with their dotted parts, CamelCase
    names, letter-digit names, acronyms and statute references in one canonical form ("s.80", "§31",
    "art.28(10)" and "art.28")."""
    out: set[str] = set()
    for tok in _NAME_TOKEN.findall(text):
        if "." in tok:
            parts = [p for p in tok.split(".") if p]
            named = [p for p in parts if _is_name(p)]
            if named and len(parts) > 1:
                out.add(tok.lower())
            out.update(p.lower() for p in named)
        elif _is_name(tok):
            out.add(tok.lower())
    for m in _STATUTE.finditer(text):
        kind = m.group(1).lower().rstrip(".")
        kind = _STATUTE_KIND.get(kind, kind)
        base = f"§{m.group(2).lower()}" if kind == "§" else f"{kind}.{m.group(2).lower()}"
        out.add(base)
        if m.group(3):
            out.add(base + m.group(3).lower())
    return out
