"""Route a question to a skill by similarity to each card's example questions (offline).

A skill's score is the mean of its two best example similarities. Cards marked `declines` hold
examples of questions outside the bot's remit; the route carries the best of them too, and
`decide.outside_remit` declines the question when one of them wins clearly.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.embeddings import encode
from bot.skills.cards import Skill, SkillSet


@dataclass
class Route:
    skill: Skill | None
    score: float
    scores: dict[str, float]
    decline_skill: str | None = None  # the closest card of questions to decline
    decline_score: float = -1.0


class Router:
    def __init__(self, skills: SkillSet, embeddings, *, cache_dir: Path | None = None, model_id: str = ""):
        self.skills = skills
        self.embeddings = embeddings
        self.cache_dir = cache_dir
        self.model_id = model_id
        self._vectors: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _examples(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._vectors is None:
                names, texts = [], []
                for skill in self.skills:
                    for ex in skill.examples:
                        names.append(skill.name)
                        texts.append(ex)
                vecs = self._cached_encode(texts)
                self._vectors = {
                    s.name: vecs[[i for i, n in enumerate(names) if n == s.name]] for s in self.skills
                }
            return self._vectors

    def _cached_encode(self, texts: list[str]) -> np.ndarray:
        """Example vectors, cached on disk by model and card content (a fresh process skips ~80 encodes)."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        key = hashlib.sha256("\n".join([self.model_id, *texts]).encode("utf-8")).hexdigest()[:24]
        path = self.cache_dir / f"skill-examples-{key}.npy" if self.cache_dir else None
        if path is not None and path.is_file():
            try:
                vecs = np.load(path)
                if vecs.shape[0] == len(texts):
                    return vecs
            except (OSError, ValueError):
                pass
        vecs = encode(self.embeddings, texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vecs)
                os.replace(tmp, path)
            except OSError:
                pass
        return vecs

    def route(self, question_vector: np.ndarray, line: str | None = None) -> Route:
        """The closest answering skill, and the closest declining card; with `line`, only a declining card
        that addresses what the line does (`Skill.addresses`) counts."""
        vectors = self._examples()
        scores: dict[str, float] = {}
        for name, mat in vectors.items():
            if len(mat) == 0:
                continue
            sims = np.sort(mat @ question_vector)[::-1]
            scores[name] = float(sims[:2].mean())
        answering = {s.name for s in self.skills.answering()}
        best_answer = max((n for n in scores if n in answering), key=lambda n: scores[n], default=None)
        declining = [n for n in scores if n not in answering and (line is None or self.skills.get(n).addresses(line))]
        best_decline = max(declining, key=lambda n: scores[n], default=None)
        skill = self.skills.get(best_answer) if best_answer else None
        return Route(skill=skill, score=scores.get(best_answer, 0.0) if best_answer else 0.0, scores=scores,
                     decline_skill=best_decline, decline_score=scores[best_decline] if best_decline else -1.0)
