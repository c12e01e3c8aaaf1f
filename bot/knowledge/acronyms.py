"""Acronyms the guides define, spelt out in a question: "what goes in an SOW" also reads "statement of work".

A guide defines an acronym the usual way, "statement of work (SOW)": the words before the bracket
whose initials spell it (small words such as "of" and "and" may be skipped). A question that uses
the acronym gets the long form after it, so retrieval (words and meaning) finds the passage that
spells it out as well as the one that abbreviates it. Typed in lower case ("nda", "sow"), an acronym
is spelt out only when it is not also an ordinary English word ("sow", "us" stay as they are).
"""

from __future__ import annotations

import re
from collections import Counter

_BRACKETED = re.compile(r"\(([A-Z][A-Za-z&]{1,7})\)")  # "(SOW)": the words before it may spell it out
_WORDS_BEFORE = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SMALL = frozenset(["of", "and", "the", "for", "a", "an", "in", "on", "to", "&"])
_TOKEN = re.compile(r"[A-Za-z][A-Za-z&]*")


def _spells(words: list[str], acronym: str) -> str | None:
    """The shortest run of words ending at the bracket whose initials spell the acronym, else None."""
    letters = [c.lower() for c in acronym if c.isalpha() and (c.isupper() or acronym.islower())]
    if len(letters) < 2:
        return None
    for start in range(len(words) - 1, -1, -1):
        run = words[start:]
        every = [w[0].lower() for w in run]
        initials = [w[0].lower() for w in run if w.lower() not in _SMALL]
        if letters in (every, initials) and run[0].lower() not in _SMALL:
            return " ".join(run)
        if len(initials) > len(letters):
            return None
    return None


class Acronyms:
    def __init__(self, long_forms: dict[str, str], english: frozenset[str] | set[str] = frozenset()):
        self.long = long_forms  # "SOW" -> "statement of work"
        self._lower = {a.lower(): a for a in long_forms if a.lower() not in english}

    @classmethod
    def from_texts(cls, texts: list[str], english: frozenset[str] | set[str] = frozenset()) -> Acronyms:
        seen: dict[str, Counter] = {}
        for text in texts:
            for m in _BRACKETED.finditer(text):
                acronym = m.group(1)
                before = _WORDS_BEFORE.findall(text[max(0, m.start() - 120) : m.start()].replace("-", " "))
                long_form = _spells(before[-8:], acronym)
                if long_form:
                    seen.setdefault(acronym, Counter())[long_form.lower()] += 1
        # Spelt out only when the guides spell it out at least as often as they abbreviate it: "ML",
        # abbreviated everywhere, already finds its passages.
        # (Plain substring counts: one pass in C per acronym; an acronym inside a longer word only makes
        # it rarer to be spelt out.)
        raw = "\n".join(texts)
        low = raw.lower()
        long_forms = {}
        for acronym, counts in seen.items():
            long_form = counts.most_common(1)[0][0]
            if low.count(long_form) >= raw.count(acronym):
                long_forms[acronym] = long_form
        return cls(long_forms, english)

    def expand(self, text: str) -> str:
        """The text with each acronym the guides define followed by its long form (once each), unless
        the long form is in the text already; an acronym in capitals that the text itself spells out
        ("... as 'work made for hire'. can old code be WMFH?") is read as that phrase too."""
        low = text.lower()
        done: set[str] = set()
        own = _spelt_in(text)

        def spell(m: re.Match) -> str:
            token = m.group(0)
            if token in own and token not in done and token not in self.long:
                done.add(token)
                return f"{token} ({own[token]})"
            acronym = token if token in self.long else self._lower.get(token if token.islower() else "")
            if not acronym or acronym in done or self.long[acronym] in low:
                return token
            done.add(acronym)
            return f"{token} ({self.long[acronym]})"

        return _TOKEN.sub(spell, text)


def _spelt_in(text: str) -> dict[str, str]:
    """Acronyms in capitals (three letters or more) whose letters are the initials of a run of the
    text's own words: acronym -> that run, as written."""
    words = [w.strip("'-") for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)]
    out: dict[str, str] = {}
    for token in {t for t in words if t.isupper() and 3 <= len(t) <= 6 and t.isalpha()}:
        n = len(token)
        for start in range(len(words)):
            found = next((words[start:end] for end in range(start + n, min(len(words), start + 2 * n) + 1)
                          if words[end - 1].lower() not in _SMALL and token not in words[start:end]
                          and _spells(words[start:end], token) == " ".join(words[start:end])), None)
            if found:
                out[token] = " ".join(found)
                break
    return out
