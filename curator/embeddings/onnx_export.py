"""Export the sentence-transformers model's encoder to ONNX, locally, with torch alone.

sentence-transformers' own ``backend="onnx"`` needs optimum's onnxruntime part
both to export and to load, so this module does the export with
``torch.onnx.export`` (the TorchScript exporter, which needs neither optimum nor
onnxscript) and :class:`curator.embeddings.onnx_encoder.OnnxEncoder` runs the
file with onnxruntime directly.

The export directory holds:

* ``model.onnx``: the transformer, inputs ``input_ids``, ``attention_mask`` (and
  ``token_type_ids`` when the model takes them), int64 ``(batch, sequence)``;
  output ``last_hidden_state``, float32 ``(batch, sequence, hidden)``; both
  axes dynamic. Pooling and normalisation are done by the encoder in numpy.
* ``model.fused.onnx`` (``fuse=True``): the same graph after onnxruntime's
  transformer fusions (Attention, SkipLayerNormalization, BiasGelu,
  EmbedLayerNormalization), still float32. Those fused kernels assume right
  padding, which is what the encoder does.
* ``model.int8.onnx`` (``quantize=True``): dynamically quantised int8 weights
  (``onnxruntime.quantization.quantize_dynamic``) of the fused graph when there
  is one. Less exact: measure before using it.
* the tokenizer files, ``config.json``, and the sentence-transformers files
  the encoder reads (``modules.json``, ``sentence_bert_config.json``, the
  pooling config), so the directory is self-contained;
* ``export.json``: where it came from, with which versions and opset, when,
  and how far the exported graph is from torch on a check batch.

Each ``.onnx`` file is checked against the torch model on a padded batch of a
shape other than the one it was traced with (the tracer can bake shapes into a
graph) before the export counts as done.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from curator.embeddings.model import ModelUnavailable, require_local_model
from curator.errors import CuratorError

MODEL_FILE = "model.onnx"
FUSED_FILE = "model.fused.onnx"
INT8_FILE = "model.int8.onnx"
EXPORT_INFO = "export.json"
EXPORT_COMMAND = "curator models export-onnx --out DIR"
# curator is not on PyPI under that name, so the hint names the packages themselves (the onnx extra).
ONNX_EXTRA = "pip install 'onnxruntime>=1.31' 'onnx>=1.23'"

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
)
ST_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")
OUTPUT_NAME = "last_hidden_state"
# Largest |torch - onnx| on the check batch's unpadded positions that still counts as the same model.
# float32 kernels differ by ~1e-5 here; a shape baked in by the tracer gives errors of order 1.
EXACT_TOLERANCE = 1e-3


class ExportError(CuratorError):
    """The exported graph does not reproduce the torch model."""


def st_modules(model_path: Path) -> list[dict[str, Any]]:
    """modules.json of a sentence-transformers directory; a bare transformers directory is one module."""
    modules_file = model_path / "modules.json"
    if not modules_file.is_file():
        return [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    modules: list[dict[str, Any]] = json.loads(modules_file.read_text())
    return modules


def module_dir(model_path: Path, modules: Sequence[dict[str, Any]], kind: str) -> Path | None:
    """Directory of the first module whose type ends with ``kind`` (``Transformer``, ``Pooling``)."""
    for module in modules:
        if str(module.get("type", "")).rsplit(".", 1)[-1] == kind:
            return model_path / str(module.get("path", ""))
    return None


def export_onnx(
    model_path: Path,
    out_dir: Path,
    opset: int = 17,
    *,
    fuse: bool = True,
    quantize: bool = False,
    verify: bool = True,
) -> Path:
    """Export the encoder at ``model_path`` into ``out_dir``; returns ``out_dir / "model.onnx"``.

    ``fuse`` also writes ``model.fused.onnx`` and ``quantize`` ``model.int8.onnx`` (both need
    onnxruntime). ``verify`` runs every written graph with onnxruntime against torch and raises
    :class:`ExportError` when the float32 ones drift by more than :data:`EXACT_TOLERANCE`.
    """
    started = time.perf_counter()
    model_path = Path(model_path)
    out_dir = Path(out_dir)
    require_local_model(model_path)
    try:
        import torch
        import transformers
        from transformers import AutoModel
    except ImportError as err:
        raise ModelUnavailable(
            "torch and transformers are needed to export the model: `pip install torch==2.13.0 transformers`"
        ) from err
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    if (fuse or quantize or verify) and not _has_onnxruntime():
        raise ModelUnavailable(f"onnxruntime is needed to check, fuse or quantise the export: `{ONNX_EXTRA}`")

    modules = st_modules(model_path)
    transformer_dir = module_dir(model_path, modules, "Transformer") or model_path
    pooling_dir = module_dir(model_path, modules, "Pooling")
    pooling = _pooling_config(pooling_dir)
    if not pooling.get("pooling_mode_mean_tokens", False) or any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens")
    ):
        raise ModelUnavailable(
            f"only mean-token pooling is supported by the ONNX encoder; {model_path} pools with {pooling}"
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    # eager attention: a plain MatMul/Softmax graph, which onnxruntime's fusions recognise
    model = AutoModel.from_pretrained(
        str(transformer_dir), local_files_only=True, attn_implementation="eager", dtype=torch.float32
    )
    model.eval()
    accepted = inspect.signature(model.forward).parameters
    input_names = ["input_ids", "attention_mask"]
    type_vocab_size: int = getattr(model.config, "type_vocab_size", 0) or 0
    if "token_type_ids" in accepted and type_vocab_size > 0:
        input_names.append("token_type_ids")

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            outputs = self.inner(**dict(zip(input_names, args, strict=True)), return_dict=True)
            return outputs.last_hidden_state  # type: ignore[no-any-return]

    vocab = int(model.config.vocab_size)
    trace_inputs = _check_batch(input_names, vocab, batch=2, seq=16, seed=0)
    target = out_dir / MODEL_FILE
    tmp = out_dir / (MODEL_FILE + ".tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            _Encoder(model),
            tuple(torch.from_numpy(trace_inputs[n]) for n in input_names),
            str(tmp),
            input_names=input_names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*input_names, OUTPUT_NAME]},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,  # the dynamo exporter needs onnxscript; the TorchScript one needs nothing more
        )
    os.replace(tmp, target)
    model.eval()  # the exporter leaves the model in training mode (dropout on): back to eval for the check
    export_s = time.perf_counter() - started

    try:
        import onnx

        onnx.checker.check_model(str(target))
    except ImportError:
        pass

    written = [MODEL_FILE]
    fused_ok = False
    if fuse:
        fused_ok = _fuse(target, out_dir / FUSED_FILE, model.config)
        if fused_ok:
            written.append(FUSED_FILE)
    if quantize:
        _quantize(out_dir / (FUSED_FILE if fused_ok else MODEL_FILE), out_dir / INT8_FILE)
        written.append(INT8_FILE)

    checks: dict[str, float] = {}
    if verify:
        check = _check_batch(input_names, vocab, batch=3, seq=11, seed=1)
        with torch.no_grad():
            reference = model(**{n: torch.from_numpy(v) for n, v in check.items()}).last_hidden_state.numpy()
        mask = check["attention_mask"][..., None].astype(bool)
        for name in written:
            got = _run_onnx(out_dir / name, check)
            checks[name] = float(np.abs(np.where(mask, got - reference, 0.0)).max())
        bad = {n: d for n, d in checks.items() if n != INT8_FILE and d > EXACT_TOLERANCE}
        if bad:
            raise ExportError(f"exported graphs differ from torch by more than {EXACT_TOLERANCE}: {bad}")

    _copy_support_files(model_path, transformer_dir, pooling_dir, out_dir)
    info = {
        "source": str(model_path.resolve()),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
        "opset": opset,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": _version("onnxruntime"),
        "onnx": _version("onnx"),
        "inputs": input_names,
        "output": OUTPUT_NAME,
        "files": written,
        "max_abs_diff_vs_torch": checks,
        "export_s": round(export_s, 2),
        "total_s": round(time.perf_counter() - started, 2),
    }
    (out_dir / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return target


# ---------------------------------------------------------------- helpers


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _version(package: str) -> str | None:
    try:
        module = __import__(package)
    except ImportError:
        return None
    return str(getattr(module, "__version__", "?"))


def _pooling_config(pooling_dir: Path | None) -> dict[str, Any]:
    if pooling_dir is None or not (pooling_dir / "config.json").is_file():
        return {"pooling_mode_mean_tokens": True}  # sentence-transformers' default for a bare model
    config: dict[str, Any] = json.loads((pooling_dir / "config.json").read_text())
    return config


def _check_batch(names: Sequence[str], vocab: int, batch: int, seq: int, seed: int) -> dict[str, np.ndarray]:
    """Token ids with [CLS]/[SEP]-like ends and right padding on every row but the first."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, min(vocab, 20000), size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for row in range(1, batch):
        mask[row, seq - 2 * row - 1 :] = 0
    ids = np.where(mask == 1, ids, 0)
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {n: out[n] for n in names}


def _run_onnx(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    result = session.run([OUTPUT_NAME], {k: v for k, v in feed.items() if k in wanted})
    return np.asarray(result[0], dtype=np.float32)


def _fuse(source: Path, target: Path, config: Any) -> bool:
    """onnxruntime's offline transformer fusions; False (nothing written) when none applied."""
    from onnxruntime.transformers import optimizer

    heads = int(getattr(config, "num_attention_heads", 0))
    hidden = int(getattr(config, "hidden_size", 0))
    model_type = (
        "bert" if getattr(config, "model_type", "bert") in ("bert", "roberta", "xlm-roberta") else None
    )
    if model_type is None or not heads or not hidden:
        return False
    optimized = optimizer.optimize_model(
        str(source), model_type=model_type, num_heads=heads, hidden_size=hidden, opt_level=0
    )
    stats = optimized.get_fused_operator_statistics()
    if not stats.get("Attention"):
        return False
    tmp = target.with_name(target.name + ".tmp")
    optimized.save_model_to_file(str(tmp))
    os.replace(tmp, target)
    return True


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel (per-tensor scales lose far more: cosine ~0.96)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(target.name + ".tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint to the root logger
    try:
        # shape inference cannot type the outputs of the fused contrib ops: they are all float32 (1)
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def _copy_support_files(model_path: Path, transformer_dir: Path, pooling_dir: Path | None, out: Path) -> None:
    """Tokenizer, configs and the sentence-transformers files the encoder reads, at the same paths."""
    for name in TOKENIZER_FILES:
        if (transformer_dir / name).is_file():
            shutil.copy2(transformer_dir / name, out / name)
    if not (out / "tokenizer.json").is_file():  # only a slow tokenizer's files: let transformers convert
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir), local_files_only=True)
        tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    for name in ST_FILES:
        if (model_path / name).is_file():
            shutil.copy2(model_path / name, out / name)
    if (transformer_dir / "sentence_bert_config.json").is_file() and transformer_dir != model_path:
        shutil.copy2(transformer_dir / "sentence_bert_config.json", out / "sentence_bert_config.json")
    if pooling_dir is not None and (pooling_dir / "config.json").is_file():
        rel = pooling_dir.relative_to(model_path)
        (out / rel).mkdir(parents=True, exist_ok=True)
        shutil.copy2(pooling_dir / "config.json", out / rel / "config.json")
