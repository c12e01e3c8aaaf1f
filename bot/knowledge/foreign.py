"""Questions typed partly in German, French or Spanish: the terms read in English, the small words ignored.

A freelancer in Munich or Lyon types "Stundensatz für ML Freelancer in München?" or "combien de TJM
pour un data scientist?". The guides are in English, so the question's domain terms are read as the
English words the guides use (data/terms.txt: "Stundensatz" -> "hourly rate") and its function words
("für", "pour", "combien") are stopwords (`FUNCTION_WORDS`, used by lexical.words, which reads words
without accents): they neither count as subjects no guide knows nor weigh in the word overlap. Words that are also English content words or
names the guides use ("mit" is the MIT licence, "bin" a histogram bin, "plus", "son", "ce") are left out.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

_FUNCTION_TEXT = """
der die das dem den des ein eine einen einem einer eines ist sind bist und oder für fur ohne nach von vom
zum zur bei wie wer wo warum wieso wieviel ich du sie wir ihr mein meine meinen meinem dein deine nicht auch
noch schon aber wenn dass daß soll sollte sollen kann könnte kannst muss müssen gibt viel viele sehr einen
welche welcher welches normaler normale normalen ja nein bzw etwa mir mich uns euch
le la les un une des du de aux et ou est sont suis je tu elle nous vous ils elles mon ma mes ta sa ses
cette ces pour avec sans dans sur par que qui quoi quel quelle quels quelles combien comment pourquoi pas
très ça cela c'est est-ce mais donc aussi faut dois peux leur leurs
el los las una unos unas es soy y o para por del como cómo cuánto cuanto cuál cual qué mi tu su lo
está esta este esto pero muy hago hacer decimos tengo puedo debo
"""
_FUNCTION = frozenset(_FUNCTION_TEXT.split())


def fold(text: str) -> str:
    """Lower case without accents ("Zürich" -> "zurich"); plain ASCII text is only lower-cased (the BM25
    index reads every guide through this at start)."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


# As lexical.words reads them: without accents ("für" -> "fur").
FUNCTION_WORDS = frozenset(fold(w) for w in _FUNCTION)


@lru_cache(maxsize=1)
def _terms() -> tuple[re.Pattern, dict[str, str]]:
    table: dict[str, str] = {}
    text = (resources.files("bot.knowledge") / "data" / "terms.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            term, english = (p.strip() for p in line.split("=", 1))
            table[fold(term)] = english
    alternatives = "|".join(re.escape(t) for t in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<![\w'-])({alternatives})(?![\w'-])"), table


def _fold_each(text: str) -> str:
    """`fold`, one character for one (so positions in the folded text are positions in the text)."""
    return "".join((fold(c) or c)[0] for c in text)


def in_english(text: str) -> str:
    """The text with the German, French and Spanish terms of data/terms.txt replaced by their English
    ("Festpreis oder nach Aufwand?" -> "fixed price oder time and materials?"); a text without any is
    returned as it is."""
    pattern, table = _terms()
    folded = _fold_each(text)
    if not pattern.search(folded):
        return text
    out, last = [], 0
    for m in pattern.finditer(folded):
        out += [text[last: m.start()], table[m.group(1)]]
        last = m.end()
    return "".join(out) + text[last:]
