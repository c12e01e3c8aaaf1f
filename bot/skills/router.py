"""Route a question to a skill by similarity to each card's example questions (offline).

A skill's score is the mean of its two best example similarities. Cards marked `declines` hold
examples of questions outside the bot's remit; when one of them wins clearly, the question is
declined before retrieval.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bot.knowledge.embeddings import encode
from bot.skills.cards import Skill, SkillSet


@dataclass
class Route:
    skill: Skill | None
    score: float
    scores: dict[str, float]
    off_topic: bool


class Router:
    def __init__(self, skills: SkillSet, embeddings, *, decline_margin: float = 0.03):
        self.skills = skills
        self.embeddings = embeddings
        self.decline_margin = decline_margin
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
                vecs = encode(self.embeddings, texts) if texts else np.zeros((0, 1), dtype=np.float32)
                self._vectors = {
                    s.name: vecs[[i for i, n in enumerate(names) if n == s.name]] for s in self.skills
                }
            return self._vectors

    def route(self, question_vector: np.ndarray) -> Route:
        vectors = self._examples()
        scores: dict[str, float] = {}
        for name, mat in vectors.items():
            if len(mat) == 0:
                continue
            sims = np.sort(mat @ question_vector)[::-1]
            scores[name] = float(sims[:2].mean())
        answering = {s.name for s in self.skills.answering()}
        best_answer = max((n for n in scores if n in answering), key=lambda n: scores[n], default=None)
        best_decline = max((n for n in scores if n not in answering), key=lambda n: scores[n], default=None)
        off_topic = (
            best_decline is not None
            and (best_answer is None or scores[best_decline] > scores[best_answer] + self.decline_margin)
        )
        skill = self.skills.get(best_answer) if best_answer else None
        return Route(skill=skill, score=scores.get(best_answer, 0.0) if best_answer else 0.0,
                     scores=scores, off_topic=off_topic)
