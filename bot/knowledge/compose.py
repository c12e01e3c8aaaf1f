"""Extractive answers: the best section's direct answer first, then what supports it, each cited.

Nothing is invented: the answer is sentences copied from the guides (markup removed, mentions made
inert), each followed by its citation number, plus the skill's disclaimer. Every sentence is scored by
meaning (cosine to the question), by words (idf-weighted overlap) and by the rank of its passage. The
best sentence names the section that answers; that section's opening sentence leads when it is close
to the best (guides open each section with its direct answer), its other relevant sentences follow,
and another section joins only with a sentence that covers words of the question the answer has not
covered yet. Sentences about the guide itself, list lead-ins without their items, repeats (by
meaning, or the same figure from another section) are never chosen. Weights live in `config.yaml`
(`compose`), calibrated by `evals/calibrate_compose.py`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from bot.config import Compose
from bot.knowledge.embeddings import encode
from bot.knowledge.lexical import BM25, words
from bot.knowledge.retrieve import Hit
from bot.textsafe import safe_user_text

_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "v", "No", "no", "Art", "art", "approx", "cf", "s", "ss", "U.S", "U.S.C",
                  "U.K", "Inc", "Ltd", "Co", "Dr", "St", "para", "p", "pp", "Mr", "Ms", "Mrs", "Fig", "al", "Jan",
                  "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Corp", "approx",
                  "Prof", "Sr", "Jr", "Nr", "Abs", "Rn", "ca", "resp", "incl", "min", "max", "Eq", "eq", "Ch", "Sec")
_ABBREV = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in sorted(set(_ABBREVIATIONS), key=len))
# A sentence ends at . ! ? before a capital, digit or opening mark; never after an abbreviation or an
# initial ("J. Smith", "U. S."), and never inside a parenthesis that is still open (handled below).
_SENT_END = re.compile(_ABBREV + r"(?<!\b[A-Z]\.)(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9£$€\"'(\[*§])")
_MD_INLINE = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`)")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_REF_LINK = re.compile(r"!?\[([^\[\]]+)\]\[[^\[\]]*\]")
_ITEM = re.compile(r"^(?:[-*+•]|\d+[.)])\s+(.*)$")
_FIGURE = re.compile(r"[£$€]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn)\b)?|\d[\d,]*(?:\.\d+)?\s?%")
_CACHE_SIZE = 4096
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
        if _keep(s):
            units.append((pos, s, items))
    return units


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Sentences of a chunk with markup removed (a lead-in rendered with its items)."""
    return [(pos, s + "".join(f"\n- {i}" for i in items)) for pos, s, items in split_units(text)]


class SentenceVectors:
    """An LRU cache of sentence vectors per chunk, so repeated answers cost no re-embedding."""

    def __init__(self, embeddings):
        self.embeddings = embeddings
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, chunk_id: str, sentences: list[str]) -> np.ndarray:
        vec = self._cache.get(chunk_id)
        if vec is None or len(vec) != len(sentences):
            vec = encode(self.embeddings, sentences)
            self._cache[chunk_id] = vec
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(chunk_id)
        return vec


def figures(text: str) -> set[str]:
    """Amounts and percentages a sentence states ("£570", "10%")."""
    return {f.replace(" ", "") for f in _FIGURE.findall(text)}


@dataclass
class _Scored:
    sentences: list[Sentence]
    mat: np.ndarray
    relevance: np.ndarray
    section: list[tuple[str, str]]  # (source, section) of each sentence
    words: list[set[str]]


def _score(question: str, question_vector: np.ndarray, hits: list[Hit], vectors: SentenceVectors, bm25: BM25,
           w: Compose) -> _Scored | None:
    sentences: list[Sentence] = []
    mats = []
    for h_i, hit in enumerate(hits[: w.chunks]):
        units = split_units(hit.text, max_list_chars=w.max_list_chars)
        if not units:
            continue
        batch = [Sentence(text=s, hit=h_i, pos=p, items=items) for p, s, items in units]
        mats.append(vectors.get(hit.id, [s.render for s in batch]))
        sentences.extend(batch)
    if not sentences:
        return None
    mat = np.vstack(mats)
    qwords = set(words(question))
    total = sum(bm25.idf_of(t) for t in qwords) or 1.0
    sent_words = [set(words(s.render)) for s in sentences]
    lex = np.array([sum(bm25.idf_of(t) for t in qwords & sw) / total for sw in sent_words])
    top_hit = hits[0].score or 1.0
    prior = np.array([hits[s.hit].score / top_hit for s in sentences])
    opening = np.array([1.0 if s.pos == 0 and hits[s.hit].opens_section else 0.0 for s in sentences])
    relevance = w.sem * (mat @ question_vector) + w.lex * lex + w.prior * prior + w.lead * opening
    section = [(str(hits[s.hit].meta.get("source", "")), hits[s.hit].section) for s in sentences]
    return _Scored(sentences, mat, relevance, section, sent_words)


def extract(question: str, question_vector: np.ndarray, hits: list[Hit], vectors: SentenceVectors, bm25: BM25,
            *, max_sentences: int, max_chars: int, weights: Compose | None = None) -> list[Sentence]:
    """Pick the sentences that answer the question: the lead, then its section, then other sections."""
    w = weights or Compose()
    scored = _score(question, question_vector, hits, vectors, bm25, w)
    if scored is None:
        return []
    sents, rel, mat = scored.sentences, scored.relevance, scored.mat
    best = int(np.argmax(rel))
    home = scored.section[best]
    # The lead: the home section's opening sentence when it is nearly as relevant as the best one.
    lead = best
    for i, s in enumerate(sents):
        if scored.section[i] == home and s.pos == 0 and i != best and sents[best].hit == s.hit \
                and rel[i] >= w.lead_share * rel[best]:
            lead = i
            break
    qwords = set(words(question))
    chosen: list[int] = []
    shown_figures: dict[str, tuple[str, str]] = {}
    covered: set[str] = set()
    used = 0

    def take(i: int) -> bool:
        nonlocal used
        length = len(sents[i].render) + 6
        if used + length > max_chars:
            if chosen:
                return False
            sents[i].text, sents[i].items = sents[i].render[: max(20, max_chars - 8)].rstrip(), []
            sents[i].text = re.sub(r"\s+\S*$", "", sents[i].text) + " …"
            length = max_chars
        chosen.append(i)
        used += length
        covered.update(scored.words[i] & qwords)
        for f in figures(sents[i].render):
            shown_figures.setdefault(f, scored.section[i])
        return True

    def repeats(i: int) -> bool:
        if (mat[chosen] @ mat[i]).max() > w.duplicate:
            return True
        return any(f in shown_figures and shown_figures[f] != scored.section[i] for f in figures(sents[i].render))

    def pool(same_section: bool) -> list[int]:
        order = np.argsort(-rel)
        return [int(i) for i in order if int(i) not in chosen and (scored.section[int(i)] == home) == same_section]

    take(lead)
    # Supporting sentences from the home section, best first, while they stay relevant.
    for i in pool(True):
        if len(chosen) >= max_sentences:
            break
        if rel[i] < w.support * rel[lead] or repeats(i):
            continue
        if not take(i):
            break
    # Another section only for a sentence nearly as relevant as the lead, where covering question words
    # the answer has not covered yet counts in its favour.
    idf = {t: bm25.idf_of(t) for t in qwords}
    total = sum(idf.values()) or 1.0
    per_section: dict[tuple[str, str], int] = {}
    for i in pool(False):
        if len(chosen) >= max_sentences:
            break
        gain = sum(idf[t] for t in (scored.words[i] & qwords) - covered) / total
        if rel[i] + w.other_gain * gain < w.other * rel[lead] or repeats(i) \
                or per_section.get(scored.section[i], 0) >= w.other_max:
            continue
        per_section[scored.section[i]] = per_section.get(scored.section[i], 0) + 1
        if not take(i):
            break
    first, rest = chosen[0], chosen[1:]
    rest.sort(key=lambda i: (scored.section[i] != home, sents[i].hit, sents[i].pos))
    return [sents[i] for i in [first, *rest]]


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
