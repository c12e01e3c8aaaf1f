"""Extractive answers: the best section's direct answer first, then what supports it, each cited.

Nothing is invented: the answer is sentences copied from the guides (markup removed, mentions made
inert), each followed by its citation number, plus the skill's disclaimer. Every sentence is scored by
words (idf-weighted overlap with the question), by the rank of its passage, by whether it opens its
section and, when `compose.sem` > 0, by meaning (cosine to the question; off by default, because
embedding the sentences is most of an answer's time). The best sentence names the section that answers;
that section's opening sentence leads when it is close to the best (guides open each section with
its direct answer), its other relevant sentences follow, another section of the same guide joins with
a sentence relevant enough (`same_guide`), and another guide's section only with a sentence nearly as
relevant as the lead (`other`), one per section. A sentence that points back ("The same survey ...") is
taken as the sentence before it, which it needs. Sentences about the guide itself, list
lead-ins without their items and repeats (the same content words, or a figure another section
already gave) are never chosen. Weights live in `config.yaml` (`compose`), calibrated by
`evals/calibrate_compose.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from bot.config import Compose
from bot.knowledge.lexical import BM25, words
from bot.knowledge.retrieve import Hit
from bot.textsafe import safe_user_text

if TYPE_CHECKING:
    from bot.knowledge.sentences import SentenceVectors

_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "v", "No", "no", "Art", "art", "approx", "cf", "s", "ss", "U.S", "U.S.C",
                  "U.K", "Inc", "Ltd", "Co", "Dr", "St", "para", "p", "pp", "Mr", "Ms", "Mrs", "Fig", "al", "Jan",
                  "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Corp", "approx",
                  "Prof", "Sr", "Jr", "Nr", "Abs", "Rn", "ca", "c", "circa", "resp", "incl", "min", "max", "Eq", "eq", "Ch", "Sec")
_ABBREV = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in sorted(set(_ABBREVIATIONS), key=len))
# A sentence ends at . ! ? before a capital, digit or opening mark, or a lower-case name of code
# ("scikit-learn's ...", "roc_auc_score ..."); never after an abbreviation ("c. 2017") or an initial
# ("J. K. Smith").
# The punctuation is checked first: the abbreviation look-behinds then run at sentence ends only.
_SENT_END = re.compile(r"(?<=[.!?])" + _ABBREV + r"(?<!\b[A-Z]\.)[\"')\]]*\s+(?=[A-Z0-9£$€\"'(\[*§]|[a-z][a-z0-9]*[-_][a-z0-9])")
_MD_INLINE = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`)")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_REF_LINK = re.compile(r"!?\[([^\[\]]+)\]\[[^\[\]]*\]")
_ITEM = re.compile(r"^(?:[-*+•]|\d+[.)])\s+(.*)$")
_FIGURE = re.compile(r"[£$€]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn)\b)?|\d[\d,]*(?:\.\d+)?\s?%")
# Sentences about the guide itself, or its legal note, answer nothing (the footer carries disclaimers).
_META = re.compile(r"^(this|the present|our) (guide|note|page|article|section|document)\b|"
                   r"^it (covers|explains|describes|sets out|looks at|summari[sz]es|is (written )?for)\b|"
                   r"^(below|here),? (we|you)\b|^in this (guide|section|page)\b|^note:|"
                   r"^the (following|next) sections?\b|^see (also|the section)\b|"
                   r"\b(the|this) (\w+ )?(list|table|section|order|steps|checklist|template) (below|above)\b|"
                   r"\b(checked|reviewed) by a (qualified )?(lawyer|solicitor|accountant|tax adviser)\b|"
                   r"\bnot (legal|tax|financial)(, tax| or tax| or legal)? advice\b", re.I)
_LEAD_IN = re.compile(r"(:|\b(the following|as follows))$", re.I)


@dataclass
class Sentence:
    text: str
    hit: int  # index in hits
    pos: int  # position within the chunk
    items: list[str] = field(default_factory=list)  # the list a lead-in introduces (shown with it)

    @property
    def render(self) -> str:
        return self.text + "".join(f"\n- {item}" for item in self.items)


def clean_inline(text: str) -> str:
    """Plain text of a markdown line: emphasis and code marks first, then links (innermost first,
    until none is left), so removing marks can never join `[text]` and `(url)` into a masked link."""
    text = _MD_INLINE.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _REF_LINK.sub(r"\1", _LINK.sub(r"\1", text))
    text = text.replace("](", "] (")  # whatever is left (unbalanced brackets) cannot parse as a link
    return re.sub(r"\s+", " ", text).strip()


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENT_END.split(paragraph) if s.strip()]


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """A chunk as blocks in reading order: ("p", [paragraph]) and ("list", [items]); code, tables,
    headings and rules are skipped."""
    blocks: list[tuple[str, list[str]]] = []
    in_code = False
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_code = not in_code
            blocks.append(("break", []))
            continue
        if in_code or not line or line.startswith(("|", "#")) or re.fullmatch(r"[-=*_ ]{3,}", line):
            blocks.append(("break", []))
            continue
        item = _ITEM.match(line)
        if item:
            if not blocks or blocks[-1][0] != "list":
                blocks.append(("list", []))
            blocks[-1][1].append(item.group(1))
        elif blocks and blocks[-1][0] == "p":
            blocks[-1][1].append(line.lstrip("> ").strip())
        elif blocks and blocks[-1][0] == "list" and raw[:1].isspace():
            blocks[-1][1][-1] += " " + line  # an item's continuation line
        else:
            blocks.append(("p", [line.lstrip("> ").strip()]))
    return [(kind, lines) for kind, lines in blocks if kind != "break"]


def _keep(text: str) -> bool:
    return 25 <= len(text) <= 700 and bool(re.search(r"[A-Za-z]{3,}", text)) and not _META.search(text)


def split_units(text: str, *, max_list_chars: int = 700) -> list[tuple[int, str, list[str]]]:
    """(position, sentence, list items) of a chunk, markup removed. A sentence that introduces a list
    carries the list's items (up to `max_list_chars` in all; a longer list drops its lead-in and keeps
    the items as sentences); a lead-in with no list after it, and sentences about the guide, are dropped."""
    out: list[tuple[str, list[str]]] = []
    blocks = _blocks(text)
    for b, (kind, lines) in enumerate(blocks):
        if kind == "list":
            items = [clean_inline(i) for i in lines]
            items = [i for i in items if len(i) >= 3]
            lead = out[-1] if out and _LEAD_IN.search(out[-1][0]) and blocks[b - 1][0] == "p" else None
            if lead is not None and not lead[1] and len(lead[0]) + sum(len(i) + 3 for i in items) <= max_list_chars:
                lead[1].extend(items)
                continue
            if lead is not None and not lead[1]:
                out.pop()
            out.extend((s, []) for i in items for s in _sentences(i))
            continue
        for s in _sentences(clean_inline(" ".join(lines))):
            out.append((s, []))
    units = []
    for pos, (s, items) in enumerate(out):
        if _LEAD_IN.search(s) and not items:
            continue  # a lead-in whose list is missing (or was too long) says nothing alone
        if _keep(s) or (items and not _META.search(s)):  # a short lead-in ("Useful points:") travels with its list
            units.append((pos, s, items))
    return units


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Sentences of a chunk with markup removed (a lead-in rendered with its items)."""
    return [(pos, s + "".join(f"\n- {i}" for i in items)) for pos, s, items in split_units(text)]


def figures(text: str) -> set[str]:
    """Amounts and percentages a sentence states ("£570", "10%")."""
    return {f.replace(" ", "") for f in _FIGURE.findall(text)}


@dataclass
class _Scored:
    sentences: list[Sentence]
    mat: np.ndarray | None  # sentence vectors, only when meaning is weighted (`compose.sem` > 0)
    relevance: np.ndarray
    section: list[tuple[str, str]]  # (source, section) of each sentence
    words: list[set[str]]

    @cached_property
    def at(self) -> dict[tuple[int, int], int]:
        """(passage, position) -> the sentence there."""
        return {(s.hit, s.pos): i for i, s in enumerate(self.sentences)}


def _score(question: str, question_vector: np.ndarray, hits: list[Hit], vectors: SentenceVectors, bm25: BM25,
           w: Compose) -> _Scored | None:
    sentences: list[Sentence] = []
    mats = []
    for h_i, hit in enumerate(hits[: w.chunks]):
        units = split_units(hit.text, max_list_chars=w.max_list_chars)
        if not units:
            continue
        batch = [Sentence(text=s, hit=h_i, pos=p, items=items) for p, s, items in units]
        if w.sem:  # embedding the sentences is most of an answer's time: only when meaning is weighted
            mats.append(vectors.get([s.render for s in batch]))
        sentences.extend(batch)
    if not sentences:
        return None
    mat = np.vstack(mats) if mats else None
    qwords = set(words(question))
    total = sum(bm25.idf_of(t) for t in qwords) or 1.0
    sent_words = [set(words(s.render)) for s in sentences]
    lex = np.array([sum(bm25.idf_of(t) for t in qwords & sw) / total for sw in sent_words])
    top_hit = hits[0].score or 1.0
    prior = np.array([hits[s.hit].score / top_hit for s in sentences])
    opening = np.array([1.0 if s.pos == 0 and hits[s.hit].opens_section else 0.0 for s in sentences])
    relevance = w.lex * lex + w.prior * prior + w.lead * opening
    if mat is not None:
        relevance = relevance + w.sem * (mat @ question_vector)
    section = [(str(hits[s.hit].meta.get("source", "")), hits[s.hit].section) for s in sentences]
    return _Scored(sentences, mat, relevance, section, sent_words)


def _lead(scored: _Scored, hits: list[Hit], w: Compose, *, first: bool = False) -> int:
    """The best sentence (of the first passage, with `first`, when it has one), or its section's opening
    sentence when that is nearly as relevant (the guides open each section with its direct answer)."""
    rel, sents = scored.relevance, scored.sentences
    own = [i for i, s in enumerate(sents) if s.hit == 0] if first else []
    best = max(own, key=lambda i: rel[i]) if own else int(np.argmax(rel))
    for i, s in enumerate(sents):
        if s.pos == 0 and i != best and s.hit == sents[best].hit and hits[s.hit].opens_section \
                and rel[i] >= w.lead_share * rel[best]:
            return i
    return best


class _Picked:
    """The sentences chosen so far: their length, the question words and the figures they cover."""

    def __init__(self, scored: _Scored, qwords: set[str], max_chars: int, duplicate_words: float):
        self.scored, self.qwords, self.max_chars = scored, qwords, max_chars
        self.duplicate_words = duplicate_words
        self.order: list[int] = []
        self.used = 0
        self.covered: set[str] = set()
        self.figures: dict[str, tuple[str, str]] = {}  # figure -> the section that stated it first
        self.per_section: dict[tuple[str, str], int] = {}

    def take(self, i: int) -> bool:
        """Add sentence i if it fits (the first one always does, cut at a word if it must)."""
        s = self.scored.sentences[i]
        length = len(s.render) + 6
        if self.used + length > self.max_chars:
            if self.order:
                return False
            s.text, s.items = re.sub(r"\s+\S*$", "", s.render[: max(20, self.max_chars - 8)]) + " …", []
            length = self.max_chars
        self.order.append(i)
        self.used += length
        self.covered |= self.scored.words[i] & self.qwords
        section = self.scored.section[i]
        self.per_section[section] = self.per_section.get(section, 0) + 1
        for f in figures(s.render):
            self.figures.setdefault(f, section)
        return True

    def repeats(self, i: int, duplicate: float) -> bool:
        """Says again what a chosen sentence says: by meaning, by giving only figures the answer already
        gives, or by a figure another section gave (the same figure never appears twice from two sections)."""
        mat, mine = self.scored.mat, self.scored.words[i]
        if mat is not None and (mat[self.order] @ mat[i]).max() > duplicate:
            return True
        for j in self.order:  # the same content words, mostly: a repeat whatever the wording around them
            theirs = self.scored.words[j]
            if mine and len(mine & theirs) >= self.duplicate_words * len(mine | theirs):
                return True
        section, stated = self.scored.section[i], figures(self.scored.sentences[i].render)
        if stated and stated <= self.figures.keys():
            return True  # every figure it gives is in the answer already (a section's lead, restated)
        return any(self.figures.get(f, section) != section for f in stated)


# A sentence that points back ("The same survey ...", "This means ...") says little without the one before.
_ANAPHOR = re.compile(r"^(the same|this|these|that|those|it|its|they|their|such|both)\b|"
                     r"^(so|thus|hence|as a result|in that case)\b|^([\w'’-]+\s+){1,5}(therefore|thus|hence)\b", re.I)


def _antecedents_first(ranked: list[int], scored: _Scored, picked: _Picked) -> list[tuple[int, int]]:
    """(candidate, sentence to take) in the candidates' order: a sentence that points back is taken as
    the one it points back to (the sentence before it in its passage, at the candidate's relevance),
    unless that one is in the answer already."""
    out: list[tuple[int, int]] = []
    seen = set(picked.order)
    for i in ranked:
        j = _antecedent(i, scored)
        k = j if j is not None and j not in seen else i
        if k not in seen:
            out.append((i, k))
            seen.add(k)
    return out


def _antecedent(i: int, scored: _Scored) -> int | None:
    """The sentence that sentence i points back to (the one before it in its passage), if it points back."""
    s = scored.sentences[i]
    return scored.at.get((s.hit, s.pos - 1)) if _ANAPHOR.match(s.text) else None


def _orphan(i: int, scored: _Scored, picked: _Picked) -> bool:
    """Sentence i points back to a sentence the answer does not show ("The same survey ..." whose
    survey was left out as a repeat): alone it would name what the reader never saw."""
    j = _antecedent(i, scored)
    return j is not None and j not in picked.order


def extract(question: str, question_vector: np.ndarray, hits: list[Hit], vectors: SentenceVectors, bm25: BM25,
            *, max_sentences: int, max_chars: int, weights: Compose | None = None,
            lead_first: bool = False) -> list[Sentence]:
    """Pick the sentences that answer the question: the lead (from the first passage with `lead_first`),
    then its section, then other sections."""
    w = weights or Compose()
    scored = _score(question, question_vector, hits, vectors, bm25, w)
    if scored is None:
        return []
    rel = scored.relevance
    lead = _lead(scored, hits, w, first=lead_first)
    home = scored.section[lead]
    qwords = set(words(question))
    idf = {t: bm25.idf_of(t) for t in qwords}
    total = sum(idf.values()) or 1.0
    picked = _Picked(scored, qwords, max_chars, w.duplicate_words)
    before = _antecedent(lead, scored)  # a lead that points back ("The Swiss average was therefore ...")
    if before is not None:  # comes after the sentence it points back to
        picked.take(before)
    picked.take(lead)
    ranked = _antecedents_first([int(i) for i in np.argsort(-rel) if int(i) != lead], scored, picked)
    # Supporting sentences from the lead's section, best first, while they stay relevant.
    for i, take in ((i, k) for i, k in ranked if scored.section[i] == home):
        if len(picked.order) >= max_sentences or rel[i] < w.support * rel[lead]:
            break
        if picked.repeats(take, w.duplicate) or _orphan(take, scored, picked):
            continue
        if not picked.take(take):
            break
    # Another guide's section only with a sentence nearly as relevant as the lead (`other`; covering
    # question words the answer has not covered yet counts in its favour), at most `other_max` from each.
    # Another section of the lead's own guide (the same subject, often the rest of the answer) joins at
    # `same_guide` of the lead's relevance, at most `same_guide_max` from each.
    for i, take in ((i, k) for i, k in ranked if scored.section[i] != home):
        if len(picked.order) >= max_sentences:
            break
        gain = sum(idf[t] for t in (scored.words[i] & qwords) - picked.covered) / total
        kin = scored.section[i][0] == home[0]
        share, most = (w.same_guide, w.same_guide_max) if kin else (w.other, w.other_max)
        if rel[i] + w.other_gain * gain < share * rel[lead] or picked.per_section.get(scored.section[i], 0) >= \
                most or picked.repeats(take, w.duplicate) or _orphan(take, scored, picked):
            continue
        if not picked.take(take):
            break
    first, rest = picked.order[0], picked.order[1:]
    rest.sort(key=lambda i: (scored.section[i] != home, scored.sentences[i].hit, scored.sentences[i].pos))
    return [scored.sentences[i] for i in [first, *rest]]


def compose(picked: list[Sentence], hits: list[Hit]) -> tuple[str, list[Hit]]:
    """Join the sentences with citation numbers; return the text and the cited hits in order."""
    cited: list[int] = []
    paragraphs: list[list[str]] = []
    last_hit = None
    for s in picked:
        if s.hit not in cited:
            cited.append(s.hit)
        n = cited.index(s.hit) + 1
        if s.hit != last_hit:
            paragraphs.append([])
            last_hit = s.hit
        items = "".join(f"\n- {safe_user_text(i, 300)}" for i in s.items)
        paragraphs[-1].append(f"{safe_user_text(s.text, 700)}{items} [{n}]" + ("\n" if items else ""))
    body = "\n\n".join(" ".join(p).replace("\n ", "\n").strip() for p in paragraphs)
    return body, [hits[i] for i in cited]


def footer(card, hits: list[Hit], limit: int = 200) -> str:
    """The skill's disclaimer and, for IP and rates, the jurisdictions of the cited guides (whole
    entries only: what does not fit is counted, never cut mid-word)."""
    parts = []
    if card and card.disclaimer:
        parts.append(card.disclaimer.strip())
    names = []
    for h in hits:
        name = re.sub(r"\s+", " ", str(h.meta.get("jurisdiction") or "")).strip().rstrip(".")
        if name and name.lower() != "any" and name not in names:
            names.append(name)
    if names and card and card.name in ("ip", "rates"):
        shown: list[str] = []
        for name in sorted(names):
            if sum(len(n) + 2 for n in shown) + len(name) > limit:
                break
            shown.append(name)
        more = len(names) - len(shown)
        if shown:
            tail = f" and {more} more" if more else ""
            parts.append(f"Jurisdiction of the cited guides: {'; '.join(shown)}{tail}.")
    return ("\n\n_" + " ".join(parts) + "_") if parts else ""
