"""Other real backends: a Chroma server over HTTP, and OpenAI-style embeddings from a loopback server."""

from __future__ import annotations

import pytest

from bot.errors import KnowledgeIndexError
from tests.conftest import make_core
from tests.openai_stub import OpenAIStub
from tests.services import free_port  # the chroma_server fixture comes from tests.services too


def test_http_mode_shares_one_index_between_processes(tmp_path, small_guides, chroma_server):
    http = {"vectorstore.mode": "http", "vectorstore.host": "127.0.0.1", "vectorstore.port": chroma_server}
    writer = make_core(tmp_path / "a", **http)
    writer.ingest([small_guides / "ip"])
    reader = make_core(tmp_path / "b", **http)  # another bot process with its own data dir
    r = reader.ask("Is my contractor code a work made for hire in the US?")
    assert not r["declined"] and any(s["source"].endswith("us-work-made-for-hire.md") for s in r["sources"])
    assert reader.kb_list()["chunks_total"] == writer.kb_list()["chunks_total"] > 0


def test_http_mode_a_change_reaches_every_process_at_its_next_question(tmp_path, small_guides, chroma_server):
    http = {"vectorstore.mode": "http", "vectorstore.host": "127.0.0.1", "vectorstore.port": chroma_server}
    writer = make_core(tmp_path / "a", **http)
    writer.ingest([small_guides / "ip"])
    reader = make_core(tmp_path / "b", **http)
    question = "What is data leakage and how do I avoid it in cross-validation?"
    assert not any(s["source"].endswith("data-leakage.md") for s in reader.ask(question)["sources"])
    writer.ingest([small_guides / "methodology"])  # no pause: the very next question sees it
    assert any(s["source"].endswith("data-leakage.md") for s in reader.ask(question)["sources"][:3])
    writer.kb_remove("data-leakage.md")
    assert not any(s["source"].endswith("data-leakage.md") for s in reader.ask(question)["sources"])


def test_http_mode_unreachable_server_is_clear(tmp_path):
    core = make_core(tmp_path / "d", **{"vectorstore.mode": "http", "vectorstore.host": "127.0.0.1",
                                        "vectorstore.port": free_port()})
    with pytest.raises(KnowledgeIndexError, match="cannot reach the Chroma server"):
        core.kb_list()


def test_openai_embeddings_provider(tmp_path, small_guides):
    with OpenAIStub() as stub:
        core = make_core(tmp_path / "d", **{"embeddings.provider": "openai", "llm.base_url": stub.base_url})
        core.settings.openai_api_key = __import__("pydantic").SecretStr("sk-test-not-real")
        result = core.ingest([small_guides / "methodology"])
        assert result["model"] == "openai:text-embedding-3-small" and result["chunks_total"] > 0
        assert any(r["path"].endswith("/embeddings") for r in stub.requests)
        before = len(stub.requests)
        r = core.ask("What is data leakage in machine learning?")
        asked = stub.requests[before:]
        assert asked and all(q["path"].endswith("/embeddings") for q in asked)  # the question was embedded
        assert asked[0]["auth"] == "Bearer sk-test-not-real" and isinstance(r["declined"], bool)
