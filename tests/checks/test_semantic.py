"""The semantic check with the real MiniLM model: paraphrases, review band, restart, index switch."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from curator.domain.decision import Verdict
from curator.domain.policy import Policy
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings

PARAPHRASES = [
    ("How do I reset my password if I forgot it?", "How can I reset my password when I have forgotten it?"),
    ("Give three tips for staying healthy.", "Provide three tips to stay healthy."),
]
REVIEW_PAIR = ("Explain photosynthesis in simple terms.", "Describe photosynthesis simply.")  # cosine ~0.93
UNRELATED = [
    "Volcanoes form where magma rises through cracks in the crust of the earth.",
    "Jazz grew out of blues and ragtime in New Orleans early last century.",
    "Compound interest makes savings grow faster the longer they are left alone.",
    "Penguins cannot fly, but they swim fast using their flipper-like wings.",
]


def text(i: str, body: str) -> SampleInput:
    return SampleInput(id=i, text=body)


@pytest.fixture
def curator(tmp_path: Path):
    c = Curator(Settings.load(data_dir=tmp_path))
    c.create_collection("s")
    yield c
    c.close()


def test_paraphrase_is_a_semantic_duplicate_with_matched_id(curator: Curator) -> None:
    (original, paraphrase) = PARAPHRASES[0]
    (kept,) = curator.filter("s", [text("o", original)])
    assert kept.verdict is Verdict.KEEP and kept.scores["diversity"] == pytest.approx(1.0)
    (d,) = curator.filter("s", [text("p", paraphrase)])
    assert d.verdict is Verdict.DROP
    (reason,) = d.reasons
    assert (reason.code, reason.check, reason.matched_id) == ("SEMANTIC_DUPLICATE", "semantic", "o")
    assert d.scores["semantic_similarity"] >= 0.95
    assert d.scores["diversity"] == pytest.approx(1 - d.scores["semantic_similarity"])
    assert d.scores["near_duplicate"] < 0.8  # MinHash alone would have let it through


def test_review_band_between_090_and_095(curator: Curator) -> None:
    curator.filter("s", [text("o", REVIEW_PAIR[0])])
    (d,) = curator.filter("s", [text("p", REVIEW_PAIR[1])])
    assert 0.90 <= d.scores["semantic_similarity"] < 0.95
    assert d.verdict is Verdict.REVIEW
    assert (d.reasons[0].code, d.reasons[0].threshold, d.reasons[0].matched_id) == (
        "SEMANTIC_DUPLICATE",
        0.90,
        "o",
    )


def test_unrelated_samples_are_kept_within_one_request(curator: Curator) -> None:
    decisions = curator.filter("s", [text(str(i), t) for i, t in enumerate(UNRELATED)])
    assert [d.verdict for d in decisions] == [Verdict.KEEP] * len(UNRELATED)
    assert all(d.scores["semantic_similarity"] < 0.5 for d in decisions)


def test_within_one_request_the_second_paraphrase_is_dropped(curator: Curator) -> None:
    a, b = PARAPHRASES[1]
    first, second = curator.filter("s", [text("a", a), text("b", b)])
    assert first.verdict is Verdict.KEEP
    assert second.verdict is Verdict.DROP and second.reasons[0].matched_id == "a"


def test_restart_restores_the_vector_index(tmp_path: Path) -> None:
    c = Curator(Settings.load(data_dir=tmp_path))
    c.create_collection("s")
    c.filter("s", [text("o", PARAPHRASES[0][0])])
    c.close()
    again = Curator(Settings.load(data_dir=tmp_path))
    (d,) = again.filter("s", [text("p", PARAPHRASES[0][1])])
    assert (d.verdict, d.reasons[0].code, d.reasons[0].matched_id) == (
        Verdict.DROP,
        "SEMANTIC_DUPLICATE",
        "o",
    )
    again.close()


def test_switch_to_hnsw_keeps_decisions(tmp_path: Path) -> None:
    """A collection past hnsw_threshold answers like an exact one (the ANN finds these neighbours)."""
    samples = [text(str(i), t) for i, t in enumerate(UNRELATED + [p[0] for p in PARAPHRASES])]
    probes = [text(f"p{i}", p[1]) for i, p in enumerate(PARAPHRASES)] + [text("r", REVIEW_PAIR[1])]
    verdicts = {}
    for threshold in (0, 1_000_000):  # HNSW from the first sample, or exact throughout
        c = Curator(Settings.load(data_dir=tmp_path / str(threshold)))
        c.create_collection(
            "s", Policy.model_validate({"checks": {"semantic": {"params": {"hnsw_threshold": threshold}}}})
        )
        c.filter("s", samples)
        c.filter("s", [text("review-src", REVIEW_PAIR[0])])
        vectors = c._state(c._record("s")).index("semantic").vectors  # type: ignore[attr-defined]
        vectors.wait()  # the HNSW graph is built in the background; decide with it
        kind = vectors.kind
        decisions = c.filter("s", probes, dry_run=True)
        verdicts[kind] = [(d.verdict, [r.matched_id for r in d.reasons]) for d in decisions]
        c.close()
    assert verdicts["hnsw"] == verdicts["flat"]
    assert [v for v, _ in verdicts["flat"]] == [Verdict.DROP, Verdict.DROP, Verdict.REVIEW]


def test_two_racing_paraphrases_keep_exactly_one(tmp_path: Path) -> None:
    c = Curator(Settings.load(data_dir=tmp_path))
    outcomes = []
    for run in range(10):
        c.create_collection(f"r{run}")
        barrier = threading.Barrier(2)
        verdicts: list[Verdict] = []

        def send(
            i: str,
            body: str,
            name: str = f"r{run}",
            barrier: threading.Barrier = barrier,
            verdicts: list[Verdict] = verdicts,
        ) -> None:
            barrier.wait()
            verdicts.append(c.filter(name, [text(i, body)])[0].verdict)

        threads = [threading.Thread(target=send, args=(str(k), p)) for k, p in enumerate(PARAPHRASES[0])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.append(sorted(verdicts))
    c.close()
    assert outcomes == [[Verdict.DROP, Verdict.KEEP]] * 10


def test_restart_of_an_hnsw_collection_loads_the_saved_graph(tmp_path: Path) -> None:
    policy = Policy.model_validate({"checks": {"semantic": {"params": {"hnsw_threshold": 0}}}})
    c = Curator(Settings.load(data_dir=tmp_path))
    c.create_collection("h", policy)
    c.filter("h", [text(str(i), t) for i, t in enumerate(UNRELATED)] + [text("o", PARAPHRASES[0][0])])
    c.close()
    image = tmp_path / "collections" / "h" / "gen-1.semantic.idx"
    assert image.is_file()
    again = Curator(Settings.load(data_dir=tmp_path))
    index = again._state(again._record("h")).index("semantic")
    assert index.vectors.kind == "hnsw" and len(index) == len(UNRELATED) + 1  # type: ignore[attr-defined]
    (d,) = again.filter("h", [text("p", PARAPHRASES[0][1])])
    assert (d.verdict, d.reasons[0].matched_id) == (Verdict.DROP, "o")
    again.close()
