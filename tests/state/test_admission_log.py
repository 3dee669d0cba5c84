"""The admission log: framing, torn writes, checkpoints, and no unpickling."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from curator.state.admission_log import AdmissionLog, Batch


def batch(ids: list[str], seed: int) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch(ids, {"near.signature": rng.integers(0, 2**32, (len(ids), 8), dtype=np.uint32)})


def test_roundtrip_and_checkpoint(tmp_path: Path) -> None:
    log = AdmissionLog(tmp_path)
    b1, b2 = batch(["a", "b"], 1), batch(["c"], 2)
    log.append(b1)
    log.append(b2)
    log.close()
    loaded = list(AdmissionLog(tmp_path).load())
    assert [b.ids for b in loaded] == [["a", "b"], ["c"]]
    np.testing.assert_array_equal(loaded[0].columns["near.signature"], b1.columns["near.signature"])

    log = AdmissionLog(tmp_path)
    list(log.load())
    log.checkpoint()
    log.append(batch(["d"], 3))
    log.close()
    reopened = AdmissionLog(tmp_path)
    assert reopened.generation == 1
    assert [i for b in reopened.load() for i in b.ids] == ["a", "b", "c", "d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", "gen-1.log", "gen-1.snap"]


def test_torn_tail_is_cut_and_earlier_batches_survive(tmp_path: Path) -> None:
    log = AdmissionLog(tmp_path)
    log.append(batch(["a"], 1))
    log.append(batch(["b"], 2))
    log.close()
    path = tmp_path / "gen-0.log"
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # a crash in the middle of the second write
    assert [b.ids for b in AdmissionLog(tmp_path).load()] == [["a"]]
    assert path.stat().st_size < len(data) - 5  # the torn frame was cut off
    log = AdmissionLog(tmp_path)
    list(log.load())
    log.append(batch(["c"], 3))
    log.close()
    assert [b.ids for b in AdmissionLog(tmp_path).load()] == [["a"], ["c"]]


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    header = b'{"ids":["a"],"arrays":[["x","|O",[1]]]}'
    forged = struct.pack("<I", len(header)) + header + bytes(8)
    with pytest.raises(ValueError, match="object dtype"):
        Batch.decode(forged)
