"""Seams and logging policy: the core never imports discord; logs never carry user content."""

from __future__ import annotations

import re

from bot.logs import setup_logging
from tests.conftest import ROOT, make_core
from tests.openai_stub import OpenAIStub


def test_core_never_imports_discord():
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        if "discord" in path.relative_to(ROOT / "bot").parts[:1]:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(import discord|from discord\b)", text, re.M):
            offenders.append(str(path))
    assert offenders == []


def test_questions_and_answers_never_reach_the_log(kb_data_dir):
    canary = "CANARY-QUESTION-7f3a"
    with OpenAIStub() as stub:
        core = make_core(kb_data_dir, **{"answer.mode": "llm", "llm.base_url": stub.base_url,
                                         "logging.level": "DEBUG"})
        setup_logging(core.settings, verbose=True, stderr=False)
        stub.reply(f"The UK median ML day rate was £570 [1]. {canary}-ANSWER")
        core.ask(f"What is the median UK day rate for ML? {canary}", user_id="log-user")
        core.ask(f"Which cryptocurrency should I buy? {canary}", user_id="log-user")
    log = core.settings.log_file.read_text(encoding="utf-8")
    assert "ask skill=" in log  # the log does record that answers happened
    assert canary not in log and "£570" not in log
    assert all(len(line) < 2000 for line in log.splitlines())


def _discord_imports() -> dict[str, set[str]]:
    """Module -> the bot.discord modules it imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    import ast

    root = ROOT / "bot" / "discord"
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            graph[name].update(t for t in targets if t.startswith("bot.discord"))
    return graph


def test_the_discord_front_has_no_import_circle():
    graph = _discord_imports()
    assert not any("bot.discord.bot" in deps for name, deps in graph.items() if name != "bot.discord")
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, " -> ".join([*trail, node])
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        visit(module, [])
