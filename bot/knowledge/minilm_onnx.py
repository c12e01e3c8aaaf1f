"""all-MiniLM-L6-v2 as an ONNX graph, written from the packaged safetensors (no torch, no download).

The graph is the BERT encoder of the model card in standard ONNX ops (opset 20: LayerNormalization
and the exact erf Gelu), then mean pooling over the attention mask and L2 normalisation, so
onnxruntime returns the sentence vectors themselves. Inputs: `input_ids` and `attention_mask`
(int64, batch x tokens); output: `embeddings` (float32, batch x 384).

`model_source` writes the graph once into a cache folder (the data dir's `cache/`) and reuses it;
the file name carries a hash of the weights file's identity and of `GRAPH_VERSION`, so a new
package or a changed graph gets a new file and the old one is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

GRAPH_VERSION = 1  # change when the graph below changes: cached files are rebuilt
_OPSET = 20
_EPS = 1e-12


def model_source(model_dir: Path, cache_dir: Path) -> str | bytes:
    """What onnxruntime loads for the weights in `model_dir`: the cached file's path (written now on
    first use), or the model's bytes when the cache folder cannot be written."""
    weights = model_dir / "model.safetensors"
    st = weights.stat()
    key = hashlib.sha256(f"{GRAPH_VERSION}:{weights.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    path = cache_dir / f"minilm-{key[:16]}.onnx"
    if path.is_file():
        return str(path)
    model = build_model(model_dir)
    tmp = cache_dir / f".minilm-{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(model)
        os.replace(tmp, path)  # atomic: a concurrent first use writes the same bytes
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        log.warning("onnx model not cached (%s): loaded from memory", exc.__class__.__name__)
        return model
    for old in cache_dir.glob("minilm-*.onnx"):
        if old != path:
            old.unlink(missing_ok=True)
    log.info("onnx model built from %s into %s", weights.name, path.name)
    return str(path)


def build_model(model_dir: Path) -> bytes:
    """The serialised ONNX model of the BERT encoder + mean pooling + L2 norm in `model_dir`."""
    from onnx import TensorProto, helper
    from safetensors.numpy import load_file

    w = load_file(str(model_dir / "model.safetensors"))
    g = _Graph()
    dim = w["embeddings.word_embeddings.weight"].shape[1]
    heads = _heads(model_dir)
    hd = dim // heads

    # Embeddings: word + position (the first n rows) + token type 0, then LayerNorm.
    n = g.op("Gather", g.op("Shape", "input_ids"), g.const([1]), axis=0)
    pos = g.op("Slice", g.const(w["embeddings.position_embeddings.weight"]), g.const([0]), n, g.const([0]))
    x = g.op("Add", g.op("Gather", g.const(w["embeddings.word_embeddings.weight"]), "input_ids"), pos)
    x = g.op("Add", x, g.const(w["embeddings.token_type_embeddings.weight"][0]))
    x = g.layer_norm(x, w, "embeddings.LayerNorm")
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    # Additive attention bias: 0 for tokens, -1e9 for padding; shape b x 1 x 1 x n.
    bias = g.op("Mul", g.op("Sub", g.const(np.float32(1.0)), mask), g.const(np.float32(-1e9)))
    bias = g.op("Unsqueeze", bias, g.const([1, 2]))
    split_heads, merge_heads = g.const([0, 0, heads, hd]), g.const([0, 0, dim])
    scale = g.const(np.float32(math.sqrt(hd)))

    i = 0
    while f"encoder.layer.{i}.attention.self.query.weight" in w:
        p = f"encoder.layer.{i}."
        q, k, v = (g.op("Reshape", g.linear(x, w, p + f"attention.self.{name}"), split_heads)
                   for name in ("query", "key", "value"))
        q = g.op("Transpose", q, perm=[0, 2, 1, 3])
        k = g.op("Transpose", k, perm=[0, 2, 3, 1])
        v = g.op("Transpose", v, perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Div", g.op("MatMul", q, k), scale), bias)
        ctx = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        ctx = g.op("Reshape", g.op("Transpose", ctx, perm=[0, 2, 1, 3]), merge_heads)
        x = g.layer_norm(g.op("Add", g.linear(ctx, w, p + "attention.output.dense"), x), w,
                         p + "attention.output.LayerNorm")
        h = g.op("Gelu", g.linear(x, w, p + "intermediate.dense"), approximate="none")
        x = g.layer_norm(g.op("Add", g.linear(h, w, p + "output.dense"), x), w, p + "output.LayerNorm")
        i += 1

    # Mean pooling over real tokens, then unit length.
    summed = g.op("ReduceSum", g.op("Mul", x, g.op("Unsqueeze", mask, g.const([2]))), g.const([1]), keepdims=0)
    count = g.op("Max", g.op("ReduceSum", mask, g.const([1]), keepdims=1), g.const(np.float32(1e-9)))
    g.op("LpNormalization", g.op("Div", summed, count), axis=1, p=2, out="embeddings")

    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
         for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", dim])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], ir_version=9,
                              producer_name="mlbot")
    return model.SerializeToString()


def _heads(model_dir: Path) -> int:
    import json

    return int(json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["num_attention_heads"])


class _Graph:
    """Nodes and initializers of a graph under construction, each output named once."""

    def __init__(self):
        self.nodes: list = []
        self.initializers: list = []

    def const(self, value) -> str:
        from onnx import numpy_helper

        arr = np.asarray(value)
        if arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
        name = f"c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, kind: str, *inputs: str, out: str | None = None, **attrs) -> str:
        from onnx import helper

        out = out or f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, w: dict, prefix: str) -> str:
        """x @ W.T + b for a torch Linear layer's weights."""
        return self.op("Add", self.op("MatMul", x, self.const(w[prefix + ".weight"].T)), self.const(w[prefix + ".bias"]))

    def layer_norm(self, x: str, w: dict, prefix: str) -> str:
        return self.op("LayerNormalization", x, self.const(w[prefix + ".weight"]), self.const(w[prefix + ".bias"]),
                       axis=-1, epsilon=_EPS)
