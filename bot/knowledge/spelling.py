"""Typo tolerance: a misspelt word is corrected against the index's own vocabulary.

A word is left alone when the guides use it or when the embedding model's vocabulary holds it as a
whole word (so ordinary English that the guides never use, like "banana", is not "corrected" into a
guide's word). Any other word of four letters or more is replaced by the closest word of the guides
within a small edit distance (one edit up to five letters, two above; a swap of two neighbours is
one edit); ties go to a word of the same length, then the longer shared start, then the commoner word.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")


class Speller:
    def __init__(self, texts: list[str], known: set[str] | None = None):
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in _WORD.findall(text))
        self.counts = counts
        self.known = known or set()
        # Deletes: a word and a typo of it share a string made by deleting letters from each, so the
        # candidates are found by dictionary look-ups, not by a scan. The guides' words are indexed with
        # one letter deleted and the typo is looked up with up to two: this finds every typo of one edit
        # and those of two that delete or swap letters, in a small index.
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for w in counts:
            if len(w) >= 3 and w.isalpha():
                for d in _deletes(w, 1):
                    self._deletes[d].append(w)
        self._cache: dict[str, str | None] = {}

    def correct(self, text: str) -> str:
        """The text with misspelt words replaced (case of the first letter kept)."""

        def fix(m: re.Match) -> str:
            word = m.group(0)
            better = self.word(word.lower())
            if better is None:
                return word
            return better.capitalize() if word[0].isupper() else better

        return _WORD.sub(fix, text)

    def word(self, word: str) -> str | None:
        if len(word) < 4 or not word.isalpha() or word in self.counts or word in self.known:
            return None
        if word not in self._cache:
            self._cache[word] = self._closest(word)
        return self._cache[word]

    def _closest(self, word: str) -> str | None:
        limit = _limit(word)
        candidates = {c for d in _deletes(word, limit) for c in self._deletes.get(d, ())}
        best, best_key = None, None
        for cand in candidates:
            d = distance(word, cand, limit)
            if d <= limit:  # ties: the same length (a swap), the longer shared start, the commoner word
                key = (d, abs(len(cand) - len(word)), -_shared_start(word, cand), -self.counts[cand], cand)
                if best_key is None or key < best_key:
                    best, best_key = cand, key
        return best


def _limit(word: str) -> int:
    return 1 if len(word) <= 5 else 2


def _deletes(word: str, k: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(k):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _shared_start(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition is one edit), stopped above `limit`."""
    prev2: list[int] | None = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def model_words(model_dir: Path | None) -> set[str]:
    """Whole words of a WordPiece vocabulary (`vocab.txt` beside the model), if there is one."""
    if model_dir is None:
        return set()
    path = Path(model_dir) / "vocab.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    return {w for w in lines if w.isalpha() and len(w) >= 4}
