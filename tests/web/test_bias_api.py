"""The dashboard's bias panel data (GET /api/bias): display labels, evidence kinds, the flag's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from curator.bias.annotations import axis_label
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings
from curator.web.app import create_app
from tests.support.fake_encoder import checks_with


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.load(data_dir=tmp_path / "data", bias={"min_drops": 3})
    curator = Curator(settings, checks=checks_with(settings=settings))
    try:
        curator.create_collection("c")
        curator.filter(
            "c",
            [
                SampleInput(id="1", text="Two Sikh brothers opened a bakery on the corner."),
                SampleInput(id="2", text="Several deaf people met at the city gallery."),
                SampleInput(id="3", text="Notes on watering tomatoes in a dry summer."),
            ],
        )
        yield TestClient(create_app(curator))
    finally:
        curator.close()


def test_the_bias_panel_gets_labels_evidence_and_the_flag_settings(client: TestClient) -> None:
    body = client.get("/api/bias", params={"collection": "c"}).json()
    assert (body["min_count"], body["min_drops"], body["drop_factor"]) == (20, 3, 1.5)
    axes = {a["axis"]: a for a in body["axes"]}
    assert {axis: a["label"] for axis, a in axes.items()} == {axis: axis_label(axis) for axis in axes}
    assert axes["ability"]["label"] == "disability" and axes["race_ethnicity"]["label"] == "race / ethnicity"
    assert axes["religion"]["evidence"]["lexicon"] == {"keep": 1, "drop": 0, "review": 0, "total": 1}
    assert axes["ability"]["evidence"]["lexicon"]["keep"] == 1
    assert axes["nonce"]["evidence"] == {} and axes["nonce"]["drop_rate_lower"] is None
    sikh = next(g for g in axes["religion"]["groups"] if g["group"] == "sikh")
    assert sikh["drop_rate"] == 0.0 and sikh["drop_rate_lower"] == 0.0
    assert body["flags"] == []
