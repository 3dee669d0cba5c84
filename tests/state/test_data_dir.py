"""One process owns a data directory, and what was acknowledged survives even when that rule is broken.

The defect: a server and an in-process `curator filter` on one data directory each folded their own view
into the same snapshot files; a snapshot ended up 0 bytes and every kept sample was forgotten.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from curator.domain.decision import Verdict
from curator.domain.reasons import ReasonCode
from curator.errors import FailedPrecondition, Unavailable
from curator.service import Curator
from curator.settings import Settings
from curator.state import ownership
from curator.state.admission_log import AdmissionLog
from curator.state.ownership import DataDirBusy
from curator.state.store import StatsQuery
from tests.support.reviews import BASE, OTHER, sample

THIRD = "A sonnet has fourteen lines, usually in iambic pentameter, with a turn of thought near the end."
POLICY = {"checks": {"semantic": {"enabled": False}}}
BIG = " ".join(f"token{i}" for i in range(6000))  # more than the pages a full database has left


def _curator(data: Path) -> Curator:
    return Curator(Settings.load(data_dir=data, default_policy=POLICY))


def _resend_verdicts(data: Path, samples: list) -> list[tuple[str, list[str]]]:
    curator = _curator(data)
    try:
        return [(d.sample_id, [str(r.code) for r in d.reasons]) for d in curator.filter("c", samples)]
    finally:
        curator.close()


def test_a_second_process_is_told_who_owns_the_directory_and_what_to_do(tmp_path: Path) -> None:
    first = _curator(tmp_path / "data")
    first.announce(server="127.0.0.1:50051")
    try:
        with pytest.raises(DataDirBusy) as info:
            _curator(tmp_path / "data")
        message = str(info.value)
        assert f"process {os.getpid()}" in message
        assert "--server 127.0.0.1:50051" in message and "--data-dir" in message
    finally:
        first.close()
    _curator(tmp_path / "data").close()  # released on close


class _NoLock:
    """A bypassed lock (a copy of the directory, NFS, a deleted LOCK file): the safety net must hold."""

    def __init__(self, data_dir: Path) -> None: ...

    def announce(self, **about: str) -> None: ...

    def release(self) -> None: ...


def test_with_the_lock_bypassed_two_writers_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("curator.service.DataDirOwnership", _NoLock)
    data = tmp_path / "data"
    server, cli = _curator(data), _curator(data)
    server.create_collection("c")
    assert [d.verdict for d in server.filter("c", [sample("a", BASE)])] == [Verdict.KEEP]
    assert [d.verdict for d in cli.filter("c", [sample("b", OTHER)])] == [Verdict.KEEP]
    assert [d.verdict for d in server.filter("c", [sample("t", THIRD)])] == [Verdict.KEEP]
    server.close()
    with pytest.raises(FailedPrecondition, match="another process rewrote this collection's files"):
        cli.close()  # folding a stale view over the files the other process wrote is refused
    verdicts = _resend_verdicts(data, [sample("a2", BASE), sample("b2", OTHER), sample("t2", THIRD)])
    assert verdicts == [
        ("a2", ["EXACT_DUPLICATE"]),
        ("b2", ["EXACT_DUPLICATE"]),
        ("t2", ["EXACT_DUPLICATE"]),
    ]


@pytest.mark.parametrize("damage", ["empty-snapshot", "half-snapshot", "no-files"])
def test_a_damaged_snapshot_is_rebuilt_from_the_decision_log(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    curator = _curator(data)
    curator.create_collection("c")
    curator.filter("c", [sample("a", BASE), sample("b", OTHER)])
    curator.close()
    directory = data / "collections" / "c"
    [snapshot] = directory.glob("gen-*.snap")
    if damage == "empty-snapshot":
        snapshot.write_bytes(b"")
    elif damage == "half-snapshot":
        snapshot.write_bytes(snapshot.read_bytes()[: snapshot.stat().st_size // 2])
    else:
        for path in directory.iterdir():
            path.unlink()
    verdicts = _resend_verdicts(data, [sample("a", BASE), sample("b2", OTHER), sample("n", THIRD)])
    assert verdicts == [("a", ["ALREADY_KEPT"]), ("b2", ["EXACT_DUPLICATE"]), ("n", [])]


def test_a_full_store_fails_the_request_retryably_and_loses_nothing(tmp_path: Path) -> None:
    """The defect: a disk that filled mid-append left a torn admission record, and acknowledged KEEPs were
    lost at the next start. Now the store holds admissions and decisions in one transaction: a full disk
    fails the request (UNAVAILABLE) with nothing written, and the retry succeeds once there is room."""
    data = tmp_path / "data"
    curator = _curator(data)
    curator.create_collection("c")
    curator.filter("c", [sample("a", BASE)])
    engine = curator.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    room = {"pages": pages}

    def limit(dbapi_connection: object, _record: object) -> None:  # SQLite's own "database or disk is full"
        dbapi_connection.execute(f"PRAGMA max_page_count = {room['pages']}")  # type: ignore[attr-defined]

    event.listen(engine, "connect", limit)
    engine.dispose()
    with pytest.raises(Unavailable, match="full"):
        curator.filter("c", [sample("b", BIG)])
    room["pages"] = 1_000_000
    engine.dispose()
    [retry] = curator.filter("c", [sample("b", BIG)])  # the client's retry
    assert retry.verdict is Verdict.KEEP and not retry.reasons
    [third] = curator.filter("c", [sample("t", THIRD)])
    assert third.verdict is Verdict.KEEP
    assert curator.stats(StatsQuery(collection="c")).totals.keep == 3
    curator.close()
    again = _resend_verdicts(data, [sample("a", BASE), sample("b", BIG), sample("t", THIRD)])
    assert [codes for _, codes in again] == [[str(ReasonCode.ALREADY_KEPT)]] * 3


def test_a_local_image_that_cannot_be_written_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admission files are a cache of the store: when they cannot be written the request still
    succeeds, and the next start fetches what they missed from the store."""
    data = tmp_path / "data"
    curator = _curator(data)
    curator.create_collection("c")
    curator.filter("c", [sample("a", BASE)])

    def full(self: AdmissionLog, batch: object) -> None:
        raise Unavailable("could not write the admission log: No space left on device")

    monkeypatch.setattr(AdmissionLog, "append", full)
    [kept] = curator.filter("c", [sample("b", OTHER)])
    assert kept.verdict is Verdict.KEEP
    monkeypatch.undo()
    curator.close()
    assert _resend_verdicts(data, [sample("a", BASE), sample("b", OTHER)]) == [
        ("a", ["ALREADY_KEPT"]),
        ("b", ["ALREADY_KEPT"]),
    ]


def test_the_lock_names_the_owner_even_while_a_server_warms_up(tmp_path: Path) -> None:
    claim = ownership.DataDirOwnership(tmp_path)
    try:
        with pytest.raises(DataDirBusy, match="in use by process"):
            ownership.DataDirOwnership(tmp_path)
    finally:
        claim.release()
    ownership.DataDirOwnership(tmp_path).release()


def test_a_request_whose_commit_failed_admits_nothing_so_the_retry_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The defect: samples were admitted, then the decision log refused the batch; the retry got
    ALREADY_KEPT, which is not logged, so the gap was permanent. Admissions and decisions now commit in one
    transaction: when it fails, nothing is kept and the retry is decided afresh, and logged."""
    data = tmp_path / "data"
    curator = _curator(data)
    curator.create_collection("c")
    real = curator.store.commit

    def refuse(*args: object, **kwargs: object) -> int:
        raise Unavailable("the decision store is unavailable: connection refused")

    monkeypatch.setattr(curator.store, "commit", refuse)
    with pytest.raises(Unavailable):
        curator.filter("c", [sample("a", BASE)])
    monkeypatch.setattr(curator.store, "commit", real)
    [retry] = curator.filter("c", [sample("a", BASE)])
    assert retry.verdict is Verdict.KEEP and not retry.reasons  # decided afresh, and logged this time
    stats = curator.stats(StatsQuery(collection="c"))
    assert stats.totals.keep == 1 and curator.get_collection("c").kept_count == 1
    curator.close()
    assert _resend_verdicts(data, [sample("a", BASE)]) == [("a", ["ALREADY_KEPT"])]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB tmpfs, so the disk really fills (needs root or CAP_SYS_ADMIN; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; deleting the returned file gives the room back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1):  # big blocks, then the last partial block
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_really_full_disk_fails_the_request_retryably_and_keeps_every_acknowledgement(
    small_disk: Path,
) -> None:
    """The data directory (SQLite store and local image) on a tmpfs that fills up: the request gets
    UNAVAILABLE with nothing admitted; once there is room the retry is decided afresh, and after a restart
    every acknowledged KEEP is still kept."""
    data = small_disk / "data"
    curator = _curator(data)
    curator.create_collection("c")
    [first] = curator.filter("c", [sample("a", BASE)])
    assert first.verdict is Verdict.KEEP
    filler = _fill(small_disk)
    with pytest.raises(Unavailable):
        curator.filter("c", [sample("b", BIG)])
    assert curator.get_collection("c").kept_count == 1
    filler.unlink()
    [retry] = curator.filter("c", [sample("b", BIG)])  # the client's retry
    assert retry.verdict is Verdict.KEEP and not retry.reasons
    curator.close()
    again = _resend_verdicts(data, [sample("a", BASE), sample("b", BIG), sample("t", THIRD)])
    assert again == [("a", ["ALREADY_KEPT"]), ("b", ["ALREADY_KEPT"]), ("t", [])]
