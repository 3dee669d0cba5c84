"""A data directory written by the previous release opens under this one and loses nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curator.domain.reasons import ReasonCode
from curator.service import Curator
from curator.settings import Settings
from curator.state import collection as collection_module
from curator.state.store import StatsQuery
from tests.support.reviews import BASE, OTHER, VARIANT, sample

FIXTURE = Path(__file__).parent / "fixtures" / "release-273febb"
THIRD = "A sonnet has fourteen lines, usually in iambic pentameter, with a turn of thought near the end."


def _codes(curator: Curator, samples: list) -> list[list[str]]:
    return [[str(r.code) for r in d.reasons] for d in curator.filter("c", samples)]


@pytest.mark.parametrize("rows_per_frame", [10_000, 3])
def test_the_previous_release_s_data_directory_is_imported_into_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_per_frame: int
) -> None:
    monkeypatch.setattr(collection_module, "IMPORT_ROWS", rows_per_frame)  # large imports: several frames
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    curator = Curator(Settings.load(data_dir=data))
    try:
        before = curator.stats(StatsQuery(collection="c"))
        assert (before.totals.keep, before.totals.drop, before.reviews.approved) == (3, 1, 1)
        assert curator.get_collection("c").kept_count == 4  # a, o, t and the approved v
        assert curator.store.admitted_seq("c") == 4
        assert [c.name for c in curator.list_collections()] == ["c", "empty"]
        resent = _codes(
            curator, [sample("a", BASE), sample("o", OTHER), sample("v", VARIANT), sample("t", THIRD)]
        )
        assert resent == [[str(ReasonCode.ALREADY_KEPT)]] * 4
        [copy] = curator.filter("c", [sample("copy2", BASE.upper())])
        assert [(r.code, r.matched_id) for r in copy.reasons] == [(ReasonCode.EXACT_DUPLICATE, "a")]
        after = curator.stats(StatsQuery(collection="c"))
        assert after.totals.drop == before.totals.drop + 1 and after.totals.keep == before.totals.keep
    finally:
        curator.close()
    # Imported once: a second start reads the store and the local image, and imports nothing more.
    again = Curator(Settings.load(data_dir=data))
    try:
        assert len(again.store.admissions_since("c", 0)) == -(-4 // rows_per_frame)
        assert _codes(again, [sample("t", THIRD)]) == [[str(ReasonCode.ALREADY_KEPT)]]
    finally:
        again.close()
