"""Extractive answers: the most relevant sentences of the best chunks, diverse, each cited.

Nothing is invented: the answer is sentences copied from the guides (markup removed, mentions made
inert), each followed by its citation number, plus the skill's disclaimer. Selection scores each
sentence by meaning (cosine to the question), by words (idf-weighted overlap) and by the rank of
its chunk, then picks with maximal marginal relevance so the sentences do not repeat each other.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.knowledge.embeddings import encode
from bot.knowledge.lexical import BM25, words
from bot.knowledge.retrieve import Hit
from bot.textsafe import safe_user_text

_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "v", "No", "no", "Art", "art", "approx", "cf", "s", "ss", "U.S", "U.S.C",
                  "U.K", "Inc", "Ltd", "Co", "Dr", "St", "para", "p", "pp", "Mr", "Ms", "Mrs", "Fig", "al", "Jan",
                  "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Corp", "approx")
_ABBREV = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in sorted(set(_ABBREVIATIONS), key=len))
_SENT_END = re.compile(_ABBREV + r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9£$€\"'(\[*])")
_MD_INLINE = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_CACHE_SIZE = 4096
# Sentences about the guide itself, or its legal note, answer nothing (the footer carries disclaimers).
_META = re.compile(r"^(this|the present|our) (guide|note|page|article)\b|^it is written for\b|^note:|"
                   r"\bnot (legal|tax|financial)(, tax| or tax| or legal)? advice\b", re.I)


@dataclass
class Sentence:
    text: str
    hit: int  # index in hits
    pos: int  # position within the chunk


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Sentences and list items of a chunk, with markup removed; tables, code and headings skipped."""
    out: list[str] = []
    in_code = False
    paragraph: list[str] = []

    def flush():
        if paragraph:
            para = " ".join(paragraph)
            paragraph.clear()
            out.extend(s.strip() for s in _SENT_END.split(para) if s.strip())

    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            flush()
            in_code = not in_code
            continue
        if in_code or line.startswith(("|", "#")) or re.fullmatch(r"[-=*_ ]{3,}", line or "x"):
            flush()
            continue
        if not line:
            flush()
            continue
        item = re.match(r"^(?:[-*+]|\d+[.)])\s+(.*)$", line)
        if item:
            flush()
            out.extend(s.strip() for s in _SENT_END.split(item.group(1)) if s.strip())
            continue
        paragraph.append(line.lstrip("> ").strip())
    flush()
    cleaned = []
    for i, s in enumerate(out):
        s = _LINK.sub(r"\1", s)
        s = _MD_INLINE.sub("", s)
        s = re.sub(r"\s+", " ", s).strip()
        if 25 <= len(s) <= 700 and re.search(r"[A-Za-z]{3,}", s) and not _META.search(s):
            cleaned.append((i, s))
    return cleaned


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


# Selection weights (meaning, words, chunk rank), the bonus of a section's opening sentence (guides tend
# to open a section with its answer), the redundancy penalty and the cut-off relative to the best sentence.
WEIGHTS = {"sem": 0.55, "lex": 0.30, "prior": 0.50, "first": 0.10, "mmr": 0.15, "cutoff": 0.55}


def extract(question: str, question_vector: np.ndarray, hits: list[Hit], vectors: SentenceVectors, bm25: BM25,
            *, max_sentences: int, max_chars: int, chunks: int = 4) -> list[Sentence]:
    """Pick the sentences that answer the question, in reading order."""
    sentences: list[Sentence] = []
    mats = []
    for h_i, hit in enumerate(hits[:chunks]):
        parts = split_sentences(hit.text)
        if not parts:
            continue
        mats.append(vectors.get(hit.id, [s for _, s in parts]))
        sentences.extend(Sentence(text=s, hit=h_i, pos=p) for p, s in parts)
    if not sentences:
        return []
    mat = np.vstack(mats)
    sem = mat @ question_vector
    qwords = set(words(question))
    total = sum(bm25.idf_of(w) for w in qwords) or 1.0
    lex = np.array([sum(bm25.idf_of(w) for w in qwords & set(words(s.text))) / total for s in sentences])
    top_hit = hits[0].score or 1.0
    w = WEIGHTS
    prior = np.array([hits[s.hit].score / top_hit for s in sentences])
    first = np.array([1.0 if s.pos == 0 else 0.0 for s in sentences])
    relevance = w["sem"] * sem + w["lex"] * lex + w["prior"] * prior + w["first"] * first
    chosen: list[int] = []
    used = 0
    best = float(relevance.max())
    while len(chosen) < max_sentences:
        if chosen:
            redundancy = (mat @ mat[chosen].T).max(axis=1)
            mmr = (1 - w["mmr"]) * relevance - w["mmr"] * redundancy
            mmr[chosen] = -np.inf
        else:
            mmr = relevance.copy()
        i = int(np.argmax(mmr))
        if mmr[i] == -np.inf:
            break
        if chosen and (relevance[i] < w["cutoff"] * best or (mat[chosen] @ mat[i]).max() > 0.92):
            break
        length = len(sentences[i].text) + 6
        if used + length > max_chars:
            if chosen:
                break
            sentences[i].text = sentences[i].text[: max_chars - 8].rstrip() + "…"
            length = max_chars
        chosen.append(i)
        used += length
    chosen.sort(key=lambda i: (sentences[i].hit, sentences[i].pos))
    return [sentences[i] for i in chosen]


def compose(picked: list[Sentence], hits: list[Hit]) -> tuple[str, list[Hit]]:
    """Join the sentences with citation numbers; return the text and the cited hits in order."""
    cited: list[int] = []
    paragraphs: list[list[str]] = []
    last_hit = None
    for s in picked:
        if s.hit not in cited:
            cited.append(s.hit)
        n = cited.index(s.hit) + 1
        text = safe_user_text(s.text, 700)
        if s.hit != last_hit:
            paragraphs.append([])
            last_hit = s.hit
        paragraphs[-1].append(f"{text} [{n}]")
    body = "\n\n".join(" ".join(p) for p in paragraphs)
    return body, [hits[i] for i in cited]


def footer(card, hits: list[Hit]) -> str:
    """The skill's disclaimer and, for IP and rates, the jurisdictions of the cited guides."""
    parts = []
    if card and card.disclaimer:
        parts.append(card.disclaimer.strip())
    jurisdictions = sorted({str(h.meta.get("jurisdiction")) for h in hits
                            if h.meta.get("jurisdiction") and str(h.meta.get("jurisdiction")).lower() != "any"})
    if jurisdictions and card and card.name in ("ip", "rates"):
        parts.append(f"Jurisdiction of the cited guides: {'; '.join(jurisdictions)[:200]}.")
    return ("\n\n_" + " ".join(parts) + "_") if parts else ""
