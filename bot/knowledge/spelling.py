"""Typo tolerance: a misspelt word is corrected against the index's own vocabulary.

Contractions typed without their apostrophe ("dont", "cant", "doesnt", "whats") get it back first, so
"i cant work for a competitor" never becomes "i want work". A word is left alone when the guides use
it, when the embedding model's vocabulary holds it as a whole word, or when it is an English word
(pyspellchecker's English word list, read from the installed package; with an inflection, a
British spelling or a prefix such as re- taken off): ordinary English the guides never use ("banana",
"blames", "invent", "requote") is not "corrected" into a guide's word. Any other word of four letters
or more is replaced by the closest word of the guides within a small edit distance (one edit up to
five letters, two above; a swap of two neighbours is one edit); ties go to a word of the same length,
then the longer shared start, then the commoner word.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections import Counter, defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path

from bot.knowledge.foreign import FUNCTION_WORDS
from bot.knowledge.lexical import stem

log = logging.getLogger(__name__)

# Letters of any alphabet: "expérience" is one word (left as typed), not "exp" and a typo "rience".
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*[^\W\d_]|[^\W\d_]")
# Contractions typed without the apostrophe. Forms that are also words ("its", "were", "well", "ill",
# "id", "hed", "shed", "wed", "lets") are left as they are.
_CONTRACTIONS = {w.replace("'", ""): w for w in (
    "don't", "can't", "won't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "haven't",
    "hasn't", "hadn't", "shouldn't", "wouldn't", "couldn't", "mustn't", "needn't", "what's", "that's",
    "who's", "where's", "there's", "here's", "how's", "when's", "why's", "they're", "you're", "i'm",
    "i've", "you've", "we've", "they've", "it'll", "you'll", "they'll", "you'd", "they'd")}
# Chat spellings of question words, too short for typo correction ("wat day rate", "hw much", "shud i").
_CONTRACTIONS.update({"wat": "what", "wats": "what's", "wot": "what", "hw": "how", "abt": "about", "b4": "before",
                      "shud": "should", "shld": "should", "cud": "could", "wud": "would", "ur": "your",
                      "cuz": "because", "coz": "because", "bc": "because", "rn": "right now", "idk": "i don't know",
                      "tho": "though", "thru": "through", "smth": "something", "sth": "something"})
_CONTRACTED = re.compile(r"\b(" + "|".join(sorted(_CONTRACTIONS, key=len, reverse=True)) + r")\b", re.I)
# Clipped words of work chat ("prod", "perf", "hyperparams"): read as the full word when the guides
# never use the clipping and do use the full word (a guide's own "CV" or "docs" stays as typed). Units
# of time ("2 yrs", "3 hrs") stay as typed: the conversation reads them as durations already.
_CLIPPINGS = {"prod": "production", "perf": "performance", "params": "parameters", "param": "parameter",
              "hyperparams": "hyperparameters", "hyperparam": "hyperparameter", "eval": "evaluation",
              "evals": "evaluations", "val": "validation", "feats": "features", "stats": "statistics",
              "repo": "repository", "repos": "repositories", "impl": "implementation", "approx": "approximately",
              "mgmt": "management", "dept": "department", "biz": "business", "reqs": "requirements",
              "specs": "specifications", "ppl": "people", "infra": "infrastructure", "env": "environment",
              "algo": "algorithm", "algos": "algorithms", "diff": "difference", "num": "number"}
# Slang of freelance work chat ("the client ghosted me", "is that lowballing", "a 3 month gig"), read as
# the plain words when the guides never use the slang and do use every plain word: otherwise a slang word
# counts as a subject the guides do not know, and a covered question is declined.
_CLIPPINGS.update({"ghosted": "went silent", "ghosting": "going silent", "ghosts": "goes silent",
                   "lowball": "underprice", "lowballing": "underpricing", "lowballed": "underpriced",
                   "undercutting": "underpricing", "gig": "contract", "gigs": "contracts",
                   "haggle": "negotiate", "haggling": "negotiating", "haggled": "negotiated",
                   "ballpark": "estimate", "newbie": "beginner", "newbies": "beginners", "noob": "beginner",
                   "stiffed": "unpaid", "deets": "details", "convo": "conversation", "bump": "raise",
                   "bumping": "raising", "bumped": "raised"})
_CLIPPED = re.compile(r"\b(" + "|".join(sorted(_CLIPPINGS, key=len, reverse=True)) + r")\b", re.I)
_SUFFIXES = ("ing", "ed", "es", "s", "d", "ly", "er", "ers")
_PREFIXES = ("re", "pre", "un", "non", "co", "sub", "over", "under", "mis", "multi", "post", "self", "de")
_BRITISH = (("ise", "ize"), ("ising", "izing"), ("ised", "ized"), ("isation", "ization"), ("yse", "yze"),
            ("our", "or"), ("tre", "ter"), ("ogue", "og"), ("ence", "ense"))


def _cased(typed: str, word: str) -> str:
    """`word` with the first letter's case of what was typed ("Hw" -> "How")."""
    return word.capitalize() if typed[0].isupper() else word


class Speller:
    def __init__(self, texts: list[str], known: set[str] | None = None, *, names: list[str] | None = None):
        """`names` (platforms, places) are corrected to only when no word of the guides is close enough."""
        counts: Counter[str] = Counter()
        self._texts = texts  # read again only for a word pair (`_pair_count`)
        for text in texts:
            counts.update(w.lower() for w in _WORD.findall(text))
        self.counts = counts
        self._stream: str | None = None
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
        self._names = Speller(names, known) if names else None

    def correct(self, text: str) -> str:
        """The text with contractions given their apostrophe, clipped words and slang spelt out, misspelt words
        replaced (case of the first letter kept)."""

        def contracted(m: re.Match) -> str:
            return _cased(m.group(0), _CONTRACTIONS[m.group(0).lower()])

        def clipped(m: re.Match) -> str:
            word, full = m.group(0), _CLIPPINGS[m.group(0).lower()]
            if word.lower() in self.counts or any(w not in self.counts for w in full.split()):
                return word
            return _cased(word, full)

        def fix(m: re.Match) -> str:
            better = self.word(m.group(0).lower())
            return m.group(0) if better is None else _cased(m.group(0), better)

        text = _CLIPPED.sub(clipped, _CONTRACTED.sub(contracted, text))
        return _WORD.sub(fix, text)

    def word(self, word: str) -> str | None:
        if len(word) < 4 or not word.isalpha() or not word.isascii() or word in self.counts or word in FUNCTION_WORDS:
            return None
        if word not in self._cache:
            known = self._known(word)  # an English word the guides write as two ("timeseries") is split
            self._cache[word] = self._split(word, known) or (self._near_guide_word(word) if known
                                                             else self._closest(word))
        return self._cache[word]

    def _near_guide_word(self, word: str) -> str | None:
        """A noun of agent known only once its -er/-or is taken off ("controler" -> "control", "processer")
        that is one edit from such a noun the guides use often ("controller", "processor"): the typo of
        that noun. Other inflections stay as typed ("specialises" is no "specialists")."""
        if word in self.known or not _AGENT.search(word):
            return None
        near = [c for c in self._deletes_near(word) if _AGENT.search(c) and self.counts[c] >= _GUIDE_COMMON
                and distance(word, c, 1) <= 1 and stem(c) != stem(word)]
        return max(near, key=lambda c: (self.counts[c], c), default=None)

    def _deletes_near(self, word: str, k: int = 1) -> set[str]:
        """Guide words sharing a string with `word` once up to `k` of its letters (and one of theirs) are deleted."""
        return {c for d in _deletes(word, k) for c in self._deletes.get(d, ())}

    def _split(self, word: str, known: bool) -> str | None:
        """A compound typed as one word, as the guides write it: hyphenated ("crossvalidation" ->
        "cross-validation") or as two words they use together at least twice (three times for a word
        that is an English word as it is: "timeseries" -> "time series")."""
        best, best_n = None, 0
        shortest = 4 if known else 3  # an English word splits only into longer halves ("time series")
        for i in range(shortest, len(word) - shortest + 1):
            a, b = word[:i], word[i:]
            hyphen = f"{a}-{b}"
            n, form = self.counts.get(hyphen, 0), hyphen
            if not n and a in self.counts and b in self.counts:
                n, form = self._pair_count(a, b), f"{a} {b}"
            if n > best_n:
                best, best_n = form, n
        return best if best_n >= (3 if known else 2) else None

    def _pair_count(self, a: str, b: str) -> int:
        """How often word b follows word a in the guides (their words in order, joined on the first
        split whose two halves are both guide words)."""
        if self._stream is None:
            self._stream = " " + " \n ".join(" ".join(w.lower() for w in _WORD.findall(t)) for t in self._texts) + " "
        return self._stream.count(f" {a} {b} ")

    def names_word(self, name: str) -> bool:
        """Do the guides write this one-word name ("Upwork's fee" counts: the possessive is one word here)?"""
        return name in self.counts or f"{name}'s" in self.counts

    def _known(self, word: str) -> bool:
        """An ordinary word: known as it is, or once an inflection, a British spelling or a prefix is
        taken off ("blames", "specialise", "requote")."""
        known = self.known
        if word in known:
            return True
        stems = {word}
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                stems |= {stem, stem + "e"} | ({stem[:-1]} if len(stem) > 3 and stem[-1] == stem[-2] else set())
        for british, american in _BRITISH:
            stems |= {w[: -len(british)] + american for w in list(stems) if w.endswith(british)}
        stems |= {w[len(p):] for w in list(stems) for p in _PREFIXES if w.startswith(p) and len(w) - len(p) >= 4}
        return any(w in known or w in self.counts for w in stems)

    def _closest(self, word: str) -> str | None:
        limit = _limit(word)
        candidates = self._deletes_near(word, limit)
        if len(word) <= _SHORT:  # a short word whose first letter differs is another word, seldom a typo
            candidates = {c for c in candidates if c[0] == word[0]}  # ("yolo" is no "Nolo", "jira" no "kira")
        best, best_key = None, None
        for cand in candidates:
            d = distance(word, cand, limit)
            if d <= limit:  # ties: the same length (a swap), the longer shared start, the commoner word
                key = (d, abs(len(cand) - len(word)), -_shared_start(word, cand), -self.counts[cand], cand)
                if best_key is None or key < best_key:
                    best, best_key = cand, key
        if best is None and self._names is not None and len(word) >= _NAME_MIN:  # "yolo" is no town "Yola"
            return self._names._closest(word)
        return best


_AGENT = re.compile(r"(er|or)s?$")
_GUIDE_COMMON = 3  # uses in the guides: a word this common is what a near-miss of it was meant to be
_SHORT = 5  # letters: a word this short is corrected by one edit, never of its first letter
_NAME_MIN = 5  # letters: a shorter word is never corrected to a name (a platform or a place)


def _limit(word: str) -> int:
    return 1 if len(word) <= _SHORT else 2


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


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of pyspellchecker's English frequency list (about 128,000 of four letters or more are
    alphabetic), read from the installed package, and the everyday tech words it lacks (data/words.txt:
    "wifi", "tiktok", "kubernetes"); only the latter when it is missing (then only those, the guides' and
    the model's words count as known)."""
    listed = (resources.files("bot.knowledge") / "data" / "words.txt").read_text(encoding="utf-8").splitlines()
    extra = frozenset(w.strip() for w in listed if w.strip() and not w.startswith("#"))
    try:
        data = (resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes()
        counts = json.loads(gzip.decompress(data))
    except (ModuleNotFoundError, OSError, ValueError):
        log.warning("pyspellchecker's English word list is missing; typo correction knows fewer words")
        return extra
    return frozenset(w for w, n in counts.items() if n > 0 and w.isalpha() and len(w) >= 4) | extra


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
