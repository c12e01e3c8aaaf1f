"""`mlbot eval`: retrieval and answer quality over the question sets in `evals/questions/`.

A question file holds `questions` (question, guide relative to knowledge/, section heading,
must_mention facts) and/or `out_of_scope` (questions the bot must decline). Retrieval is measured
through the same path as `ask` (routing, topic boost, hybrid search); answers through `ask` itself.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError

K = 5


def load_questions(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"no question files in {path}.", hint="Point --questions at a YAML file or a folder of them.")
    questions, oos = [], []
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        for q in data.get("questions", []) or []:
            missing = [k for k in ("id", "question", "guide", "section") if not q.get(k)]
            if missing:
                raise InputError(f"{f.name}: question {q.get('id', '?')} lacks {', '.join(missing)}.")
            questions.append({**q, "file": f.name})
        for q in data.get("out_of_scope", []) or []:
            oos.append({**q, "file": f.name})
    return questions, oos


def _match(source: dict[str, Any], q: dict[str, Any]) -> tuple[bool, bool]:
    guide_ok = str(source.get("source", "")).replace("\\", "/").endswith(str(q["guide"]))
    section_ok = guide_ok and str(q["section"]).strip().lower() in str(source.get("section", "")).lower()
    return guide_ok, section_ok


def _rank(sources: list[dict[str, Any]], q: dict[str, Any], level: int) -> int | None:
    for i, s in enumerate(sources):
        if _match(s, q)[level]:
            return i + 1
    return None


def run(core, kind: str, questions_path: Path) -> dict[str, Any]:
    questions, oos = load_questions(Path(questions_path))
    kb = core.knowledge
    rows = []
    started = time.monotonic()
    for q in questions:
        if kind == "retrieval":
            sources = retrieve_sources(kb, q["question"])
            declined = None
        else:
            res = core.ask(q["question"], user_id="eval")
            sources, declined = res["sources"], res["declined"]
            q = {**q, "answer": res["answer"]}
        row = {"id": q["id"], "topic": q["id"].split("-")[0], "section_rank": _rank(sources, q, 1),
               "guide_rank": _rank(sources, q, 0), "declined": declined}
        if kind == "answers":
            facts = q.get("must_mention") or []
            found = [f for f in facts if str(f).lower() in q["answer"].lower()]
            row.update(facts=len(facts), facts_found=len(found), missing=[f for f in facts if f not in found])
        rows.append(row)
    oos_rows = []
    for q in oos:
        res = core.ask(q["question"], user_id="eval")
        oos_rows.append({"id": q["id"], "declined": res["declined"]})
    summary = _summarise(rows, oos_rows, kind)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return {"kind": kind, "summary": summary, "by_topic": _by_topic(rows, kind), "questions": rows,
            "out_of_scope": oos_rows}


def retrieve_sources(kb, question: str) -> list[dict[str, Any]]:
    """The top-K sources `ask` would consider for a question (routing and topic boost included)."""
    from bot.knowledge.embeddings import encode

    qvec = encode(kb.embeddings, [question])[0]
    route = kb.router.route(qvec)
    topics = route.skill.topics if route.skill else None
    return [h.source_dict() for h in kb.retriever.search(question, topics=topics, k=K, query_vector=qvec)]


def _metrics(rows: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    n = len(rows) or 1
    out = {
        "questions": len(rows),
        "recall@1": sum(1 for r in rows if r["section_rank"] == 1) / n,
        "recall@5": sum(1 for r in rows if r["section_rank"] and r["section_rank"] <= K) / n,
        "mrr": sum(1.0 / r["section_rank"] for r in rows if r["section_rank"]) / n,
        "guide_recall@5": sum(1 for r in rows if r["guide_rank"] and r["guide_rank"] <= K) / n,
    }
    if kind == "answers":
        facts = sum(r["facts"] for r in rows) or 1
        out["must_mention"] = sum(r["facts_found"] for r in rows) / facts
        out["false_declines"] = sum(1 for r in rows if r["declined"]) / n
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def _summarise(rows, oos_rows, kind: str) -> dict[str, Any]:
    out = _metrics(rows, kind)
    out["out_of_scope"] = len(oos_rows)
    out["decline_accuracy"] = round(sum(1 for r in oos_rows if r["declined"]) / (len(oos_rows) or 1), 3)
    return out


def _by_topic(rows, kind: str) -> dict[str, Any]:
    groups = defaultdict(list)
    for r in rows:
        groups[r["topic"]].append(r)
    return {t: _metrics(rs, kind) for t, rs in sorted(groups.items())}


def table(result: dict[str, Any]) -> str:
    kind = result["kind"]
    cols = ["questions", "recall@1", "recall@5", "mrr", "guide_recall@5"]
    if kind == "answers":
        cols += ["must_mention", "false_declines"]
    lines = [f"| set | {' | '.join(cols)} |", "|" + "---|" * (len(cols) + 1)]
    for name, m in [*result["by_topic"].items(), ("all", result["summary"])]:
        lines.append(f"| {name} | " + " | ".join(str(m.get(c, "")) for c in cols) + " |")
    s = result["summary"]
    lines.append("")
    lines.append(f"Out-of-scope questions declined: {s['decline_accuracy']:.3f} of {s['out_of_scope']}. "
                 f"({s['seconds']} s)")
    misses = [r["id"] for r in result["questions"] if not (r["section_rank"] and r["section_rank"] <= K)]
    if misses:
        lines.append(f"Not in the top {K}: {', '.join(misses)}")
    kept = [r["id"] for r in result["out_of_scope"] if not r["declined"]]
    if kept:
        lines.append(f"Answered but should have declined: {', '.join(kept)}")
    return "\n".join(lines)


def feedback_summary(store) -> dict[str, Any]:
    items = store.feedback()
    by_vote = Counter(i["vote"] for i in items)
    by_skill: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, Counter] = defaultdict(Counter)
    for i in items:
        by_skill[i["skill"] or "none"][i["vote"]] += 1
        for s in i["sources"][:1]:
            by_source[s.get("source", "")][i["vote"]] += 1
    worst = sorted(by_source.items(), key=lambda kv: -(kv[1]["not_helpful"] + kv[1]["wrong_source"]))[:10]
    return {"total": len(items), "votes": dict(by_vote), "by_skill": {k: dict(v) for k, v in by_skill.items()},
            "most_flagged_sources": [{"source": s, **dict(v)} for s, v in worst if v["not_helpful"] + v["wrong_source"]]}


def feedback_table(result: dict[str, Any]) -> str:
    votes = result["votes"]
    lines = [f"{result['total']} votes: {votes.get('helpful', 0)} helpful, {votes.get('not_helpful', 0)} not helpful, "
             f"{votes.get('wrong_source', 0)} wrong source."]
    for skill, v in sorted(result["by_skill"].items()):
        lines.append(f"- {skill}: " + ", ".join(f"{k} {n}" for k, n in sorted(v.items())))
    if result["most_flagged_sources"]:
        lines.append("Most flagged first sources:")
        for s in result["most_flagged_sources"]:
            lines.append(f"- {s['source']}: not helpful {s.get('not_helpful', 0)}, wrong source {s.get('wrong_source', 0)}")
    return "\n".join(lines)
