"""`curator train quality` is reproducible: same data and seed, same artefacts (on tiny generated data)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from typer.testing import CliRunner

from curator.cli.main import app
from curator.quality import default_model_dir
from curator.quality.models import QualityModels
from curator.quality.train import IDENTITY_AXES, MODEL_FILES, TrainConfig, file_sha256, train_quality
from tests.support.fake_encoder import FakeEncoder

TOPICS = ["volcanoes", "jazz", "penguins", "tides", "bread", "comets", "bees", "glaciers", "chess", "tea"]


def write_data(root: Path) -> Path:
    rng = random.Random(0)
    data = root / "data"
    (data / "holistic_bias").mkdir(parents=True)
    general = []
    for i in range(60):
        topic = TOPICS[i % len(TOPICS)]
        hallucinated = i % 3 == 0
        year = rng.randint(1700, 2000)
        response = (
            f"As an AI language model, I think {topic} were discovered in {year} by Professor Smith."
            if hallucinated
            else f"{topic.capitalize()} are well studied. Here is a short, careful overview of {topic}."
        )
        general.append(
            {
                "ID": str(i),
                "user_query": f"Tell me about {topic}.",
                "chatgpt_response": response,
                "hallucination": "yes" if hallucinated else "no",
                "hallucination_spans": [],
            }
        )
    qa = [
        {
            "knowledge": f"The {topic} museum opened in {1900 + i}. It is in the town of Arden.",
            "question": f"When did the {topic} museum open?",
            "right_answer": str(1900 + i),
            "hallucinated_answer": f"The {topic} museum opened in {1950 + i} in the city of Paris.",
        }
        for i, topic in enumerate(TOPICS)
    ]
    instruct = [
        {
            "id": str(i),
            "instruction": f"Name a fact about {t}.",
            "instances": [{"input": "", "output": f"{t} exist."}],
        }
        for i, t in enumerate(TOPICS[:5])
    ]
    descriptors = {axis: {"group": [{"descriptor": f"{axis}-term"}]} for axis in IDENTITY_AXES}
    for name, rows in (("halueval_general_dev.jsonl", general), ("halueval_qa_dev.jsonl", qa)):
        (data / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "self_instruct_user_oriented.jsonl").write_text("".join(json.dumps(r) + "\n" for r in instruct))
    (data / "holistic_bias" / "descriptors.json").write_text(json.dumps(descriptors))
    (data / "holistic_bias" / "nouns.json").write_text(
        json.dumps({"female": [["woman", "women"]], "male": [["man", "men"]]})
    )
    return data


def build(data: Path, out: Path) -> dict[str, str]:
    shutil.copytree(default_model_dir() / "langid_seed", out / "langid_seed")
    config = TrainConfig(data_dir=data, out_dir=out, seed=7, quantize_cutoff=1000)
    train_quality(config, encode=FakeEncoder().encode, report=lambda _: None)
    return {name: file_sha256(out / name) for name in MODEL_FILES}


def test_same_data_and_seed_give_the_same_artefacts_which_load(tmp_path: Path) -> None:
    data = write_data(tmp_path)
    first = build(data, tmp_path / "a")
    assert first == build(data, tmp_path / "b")
    models = QualityModels(tmp_path / "a")
    models.load()
    assert models.hallucination.predict([("Tell me about tea.", "Tea is a drink.")]).shape == (1, 3)
    report = json.loads((tmp_path / "a" / "training_report.json").read_text())
    assert report["training_examples"]["hallucination_model"] == {"good": 40, "hallucinated": 20}


def test_the_train_command_is_documented() -> None:
    result = CliRunner().invoke(app, ["train", "quality", "--help"])
    assert result.exit_code == 0
    assert "--data" in result.output and "--seed" in result.output
