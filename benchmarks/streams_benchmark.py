"""Many concurrent FilterStreams against a real ``curator serve``, with a health prober (defect 13).

Run from the repository root::

    .venv/bin/python benchmarks/streams_benchmark.py                     # 64 streams, 60 s, semantic off
    .venv/bin/python benchmarks/streams_benchmark.py --baseline 157a80d  # and the server of git 157a80d
    .venv/bin/python benchmarks/streams_benchmark.py --streams 16 --seconds 10 --all-checks

It starts ``curator serve`` in a subprocess (loopback, port 0, no dashboard, a
fresh data directory), waits for gRPC health SERVING, warms each collection up
with one request (not counted), then opens ``--streams`` FilterStreams at once
(one channel each, like that many clients). Each stream sends a message of
``--batch`` real Alpaca samples, waits for its response, and sends the next
(closed loop) until ``--seconds`` have passed, then closes. Meanwhile a prober
on its own channel and thread calls grpc.health.v1 Check every
``--probe-interval`` seconds with a ``--probe-timeout`` deadline, as a liveness
probe would. Finally the server gets SIGTERM and must exit 0.

``--baseline REF`` runs the same load first against the server of git REF
(``git archive REF curator`` into a temporary directory, put first on the
server's PYTHONPATH; the client stays this worktree's), so that one run shows
both. One JSON line per server goes to stdout (and ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
SERVING_LINE = re.compile(r"curator serving on [^:]+:(\d+)")


# --------------------------------------------------------------------------- pure helpers


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by the nearest-rank method; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max in milliseconds, rounded."""

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {
        "p50": ms(percentile(seconds, 50)),
        "p99": ms(percentile(seconds, 99)),
        "max": ms(max(seconds) if seconds else None),
    }


def serving_port(line: str) -> int | None:
    """The port in the server's "curator serving on host:port" log line, or None for any other line."""
    m = SERVING_LINE.search(line)
    return int(m.group(1)) if m else None


class RecordCycle:
    """The records in order, shared by every stream, starting over at the end.

    Every message takes the next records, so the first pass over the data sends
    each record once; later passes send exact duplicates (decided as such).
    """

    def __init__(self, records: Sequence[dict[str, str]]) -> None:
        if not records:
            raise ValueError("no records")
        self.records = records
        self.next = 0

    def take(self, n: int) -> list[dict[str, str]]:
        out = [self.records[(self.next + k) % len(self.records)] for k in range(n)]
        self.next = (self.next + n) % len(self.records)
        return out


@dataclass
class StreamResult:
    sent: int = 0
    answered: int = 0
    answered_in_window: int = 0  # answers that arrived before the sending window closed
    response_errors: int = 0  # FilterResponse.error set
    rpc_error: str | None = None  # the code that ended the stream, when not OK
    latencies: list[float] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)


@dataclass
class ProbeResult:
    latency: float | None  # None: no answer within the deadline
    status: str  # SERVING, NOT_SERVING, or the gRPC code of the failure


def summarise(
    results: Sequence[StreamResult], probes: Sequence[ProbeResult], seconds: float, batch: int
) -> dict[str, Any]:
    """The figures of one run: messages, errors, latency, throughput, health."""
    latencies = [x for r in results for x in r.latencies]
    answered = sum(r.answered for r in results)
    in_window = sum(r.answered_in_window for r in results)
    sent = sum(r.sent for r in results)
    rpc_errors = Counter(r.rpc_error for r in results if r.rpc_error)
    response_errors = sum(r.response_errors for r in results)
    verdicts: Counter[str] = Counter()
    for r in results:
        verdicts.update(r.verdicts)
    answered_probes = [p for p in probes if p.latency is not None]
    serving = sum(1 for p in probes if p.status == "SERVING")
    return {
        "messages_sent": sent,
        "messages_answered": answered,
        "errors": sent - answered + response_errors + sum(rpc_errors.values()),
        "unanswered_messages": sent - answered,
        "response_errors": response_errors,
        "stream_errors": dict(rpc_errors),
        "streams_answered_at_least_once": sum(1 for r in results if r.answered),
        # Fairness: how many answers each stream got (a starved stream gets one at most).
        "answers_per_stream": {
            "min": min((r.answered for r in results), default=0),
            "median": percentile([float(r.answered) for r in results], 50),
            "max": max((r.answered for r in results), default=0),
        },
        "latency_ms": latency_summary(latencies),
        "messages_per_s": round(in_window / seconds, 1) if seconds else None,
        "samples_per_s": round(in_window * batch / seconds, 1) if seconds else None,
        "verdicts": dict(sorted(verdicts.items())),
        "health": {
            "probes": len(probes),
            "answered": len(answered_probes),
            "serving": serving,
            "failed": len(probes) - serving,
            "failures": dict(Counter(p.status for p in probes if p.status != "SERVING")),
            "latency_ms": latency_summary([p.latency for p in answered_probes if p.latency is not None]),
        },
    }


# --------------------------------------------------------------------------- the server


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline_source(ref: str, into: Path) -> Path:
    """The ``curator`` package of git ``ref``, extracted under ``into`` (a PYTHONPATH entry).

    The package finds its models (bias lexicon, quality models) at ``../models``:
    a link to this worktree's, the same data for both servers.
    """
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "curator"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "models").symlink_to(ROOT / "models", target_is_directory=True)
    return into


def server_env(pythonpath: Path | None) -> dict[str, str]:
    """The server's environment: offline model hub, and ``pythonpath`` first when given."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), env.get("PYTHONPATH", "")) if p)
    return env


def code_location(env: dict[str, str], cwd: Path) -> str:
    """The file curator.api.server is imported from in that environment (which server really runs)."""
    return subprocess.run(
        [sys.executable, "-c", "import curator.api.server as s; print(s.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    ).stdout.strip()


class Server:
    """``curator serve`` in a subprocess, its log drained and counted."""

    def __init__(self, data_dir: Path, config: Path, pythonpath: Path | None) -> None:
        env = server_env(pythonpath)
        self.code = code_location(env, cwd=data_dir)
        cmd = [sys.executable, "-m", "curator.cli.main", "serve", "--port", "0", "--no-http"]
        cmd += ["--data-dir", str(data_dir), "--config", str(config)]
        # Not the repository root as cwd: `-m` puts the cwd first on sys.path, ahead of PYTHONPATH.
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=data_dir)
        self.lines: list[str] = []
        self.port = self._wait_for_port()
        self._drain = threading.Thread(target=self._read_rest, name="bench-server-log", daemon=True)
        self._drain.start()

    def _wait_for_port(self, timeout: float = 300) -> int:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if (port := serving_port(line)) is not None:
                return port
        self.proc.kill()
        raise SystemExit("curator serve did not start:\n" + "".join(self.lines[-30:]))

    def _read_rest(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def log_counts(self) -> dict[str, int]:
        text = "".join(self.lines)
        return {
            "warning_lines": sum(1 for line in self.lines if " WARNING " in line),
            "error_lines": sum(1 for line in self.lines if " ERROR " in line),
            "tracebacks": text.count("Traceback (most recent call last)"),
        }

    def stop(self, timeout: float = 120) -> int | None:
        """SIGTERM, then the exit code (None if it had to be killed)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        self._drain.join(timeout=10)
        return code


# --------------------------------------------------------------------------- the load


def policy(all_checks: bool) -> Any:
    """The collections' policy: every check but the semantic one (cheap), or every registered check."""
    from curator.api import convert
    from curator.checks import REGISTRY
    from curator.domain.policy import CheckPolicy, Policy

    if all_checks:
        return convert.policy_out(Policy(checks={c.name: CheckPolicy(enabled=True) for c in REGISTRY}))
    return convert.policy_out(Policy(checks={"semantic": CheckPolicy(enabled=False)}))


def to_request(
    collection: str, stream: int, message: int, records: Sequence[dict[str, str]], dry_run: bool = False
) -> Any:
    from curator.v1 import curator_service_pb2 as pb

    return pb.FilterRequest(
        collection=collection,
        dry_run=dry_run,
        samples=[
            pb.Sample(
                id=f"s{stream}-m{message}-{k}",
                instruction=r["instruction"],
                input=r.get("input", ""),
                output=r["output"],
                metadata={"generator": f"stream-{stream % 8}"},
            )
            for k, r in enumerate(records)
        ],
    )


def wait_serving(port: int, timeout: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
    raise SystemExit(f"the server on port {port} was not SERVING within {timeout:.0f}s")


def prober(port: int, interval: float, timeout: float, stop: threading.Event, out: list[ProbeResult]) -> None:
    """grpc.health.v1 Check every ``interval`` seconds, each with a ``timeout`` deadline."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        next_at = time.monotonic()
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout).status
                out.append(
                    ProbeResult(
                        time.monotonic() - t0, health_pb2.HealthCheckResponse.ServingStatus.Name(status)
                    )
                )
            except grpc.RpcError as err:
                out.append(ProbeResult(None, err.code().name))
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))


async def run_streams(
    args: argparse.Namespace, port: int, records: Sequence[dict[str, str]], on_start: Callable[[], None]
) -> tuple[list[StreamResult], float]:
    """``args.streams`` closed-loop FilterStreams for ``args.seconds``; their results and the window.

    ``on_start`` is called as the clock starts, after the collections are warm.
    """
    import grpc

    from curator.v1 import curator_service_pb2 as pb
    from curator.v1 import curator_service_pb2_grpc as pb_grpc

    collections = [f"bench-{i}" for i in range(args.collections)]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(args.streams)]
    try:
        setup = pb_grpc.CuratorServiceStub(channels[0])
        for i, name in enumerate(collections):
            await setup.CreateCollection(
                pb.CreateCollectionRequest(name=name, policy=policy(args.all_checks)), timeout=60
            )
            warm = to_request(name, -1 - i, 0, records[-args.batch :])
            warm_response = await setup.Filter(warm, timeout=600)  # loads every enabled check's resources
            assert len(warm_response.decisions) == len(warm.samples)
        for ch in channels:  # connect before the clock starts
            await asyncio.wait_for(ch.channel_ready(), 60)
        results = [StreamResult() for _ in range(args.streams)]
        cycle = RecordCycle(records)
        on_start()
        t0 = time.monotonic()
        end = t0 + args.seconds

        async def one(stream: int) -> None:
            result = results[stream]
            call = pb_grpc.CuratorServiceStub(channels[stream]).FilterStream()
            try:
                message = 0
                while time.monotonic() < end:
                    collection = collections[stream % len(collections)]
                    request = to_request(collection, stream, message, cycle.take(args.batch), args.dry_run)
                    sent_at = time.monotonic()
                    await call.write(request)
                    result.sent += 1
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        break
                    answered_at = time.monotonic()
                    result.latencies.append(answered_at - sent_at)
                    result.answered += 1
                    result.answered_in_window += answered_at <= end
                    if response.HasField("error"):
                        result.response_errors += 1
                    result.verdicts.update(pb.Verdict.Name(d.verdict) for d in response.decisions)
                    message += 1
                await call.done_writing()
                await call.read()  # EOF
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    result.rpc_error = code.name
            except grpc.RpcError as err:
                result.rpc_error = err.code().name
            finally:
                call.cancel()

        tasks = [asyncio.create_task(one(s)) for s in range(args.streams)]
        done, pending = await asyncio.wait(tasks, timeout=args.seconds + args.drain_seconds)
        for task in pending:  # a stream still waiting for an answer after the drain: it counts as unanswered
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return results, min(time.monotonic(), end) - t0
    finally:
        for ch in channels:
            await ch.close()


def run_one(
    args: argparse.Namespace, records: Sequence[dict[str, str]], label: str, source: Path | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="curator-bench-streams-", dir=args.state_dir) as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        config = Path(tmp) / "curator.toml"
        config.write_text(f"[server]\nmax_workers = {args.max_workers}\n" if args.max_workers else "")
        server = Server(data, config, source)
        try:
            wait_serving(server.port, timeout=300)
            stop = threading.Event()
            probes: list[ProbeResult] = []
            probe_thread = threading.Thread(
                target=prober,
                args=(server.port, args.probe_interval, args.probe_timeout, stop, probes),
                name="bench-prober",
                daemon=True,
            )
            started: list[Any] = []

            def on_start() -> None:
                started.extend(
                    (time.monotonic(), machine_busy_seconds(), process_cpu_seconds(server.proc.pid))
                )
                started.append(os.times())
                probe_thread.start()

            try:
                results, window = asyncio.run(run_streams(args, server.port, records, on_start))
            finally:
                stop.set()
                if probe_thread.is_alive():
                    probe_thread.join()
            wall = time.monotonic() - started[0]
            cpu0 = started[1:]
            machine = machine_busy_seconds() - cpu0[0]
            server_cpu = process_cpu_seconds(server.proc.pid) - cpu0[1]
            t1 = os.times()
            client_cpu = (t1.user + t1.system) - (cpu0[2].user + cpu0[2].system)
        finally:
            exit_code = server.stop()
        return {
            "benchmark": "streams",
            "server": label,
            "server_code": server.code,
            "streams": args.streams,
            "seconds": args.seconds,
            "samples_per_message": args.batch,
            "collections": args.collections,
            "policy": "all checks" if args.all_checks else "every default check but semantic",
            "dry_run": args.dry_run,
            "max_workers": args.max_workers or "default (16)",
            "window_s": round(window, 1),
            **summarise(results, probes, window, args.batch),
            "probe_interval_s": args.probe_interval,
            "probe_timeout_s": args.probe_timeout,
            "cpu_cores": {
                "server": round(server_cpu / wall, 2),
                "benchmark_client": round(client_cpu / wall, 2),
                "other_processes": round(max(0.0, machine - server_cpu - client_cpu) / wall, 2),
                "machine": os.cpu_count(),
            },
            "server_exit_code": exit_code,
            "server_log": server.log_counts(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the streams send")
    parser.add_argument("--batch", type=int, default=4, help="samples per message")
    parser.add_argument("--collections", type=int, default=1, help="streams are spread over this many")
    parser.add_argument("--all-checks", action="store_true", help="every registered check, opt-in ones too")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="FilterRequest.dry_run: decide, admit nothing (no embedding of kept samples, no fsync)",
    )
    parser.add_argument(
        "--max-workers", type=int, default=None, help="server.max_workers (default: the server's)"
    )
    parser.add_argument("--probe-interval", type=float, default=1.0)
    parser.add_argument("--probe-timeout", type=float, default=1.0, help="a liveness probe's usual deadline")
    parser.add_argument(
        "--drain-seconds", type=float, default=120.0, help="after the window, how long to wait for answers"
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="also run the server of git REF first, for comparison"
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--state-dir", default=None, help="where the temporary data directories go")
    parser.add_argument("--out", type=Path, default=None, help="append the JSON lines here too")
    args = parser.parse_args(argv)
    records = json.loads(args.data.read_text())
    runs: list[tuple[str, Path | None]] = [("this worktree", None)]
    with tempfile.TemporaryDirectory(prefix="curator-baseline-") as tmp:
        if args.baseline:
            commit = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            runs.insert(0, (f"git {commit}", baseline_source(args.baseline, Path(tmp))))
        for label, source in runs:
            line = json.dumps(run_one(args, records, label, source))
            print(line, flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
