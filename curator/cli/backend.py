"""Where a command's work happens: an in-process Curator on a data dir, or a server via CuratorClient.

Both speak domain objects, so every command is written once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from curator.api.client import CuratorClient, RemoteError
from curator.domain.decision import Decision
from curator.domain.evalset import ContaminationFinding, EvalItem, EvalSetInfo
from curator.domain.policy import Policy, PolicyPatch
from curator.domain.review import ReviewAction
from curator.domain.validation import Limits, SampleInput
from curator.errors import AlreadyExists, InvalidArgument, NotFound
from curator.monitor.coverage import CoverageReport
from curator.service import CollectionInfo, Curator, DecisionPage, ServerInfo
from curator.settings import Settings
from curator.state.store import DecisionQuery, DecisionRecord, Stats, StatsQuery


class Backend(Protocol):
    """What the CLI needs of curator; both :class:`Curator` and :class:`CuratorClient` provide it."""

    def create_collection(self, name: str, policy: Policy | None = None) -> CollectionInfo: ...

    def get_collection(self, name: str) -> CollectionInfo: ...

    def list_collections(self) -> list[CollectionInfo]: ...

    def filter(
        self,
        collection: str,
        samples: Sequence[SampleInput],
        *,
        dry_run: bool = False,
        score_all: bool = False,
    ) -> list[Decision]: ...

    def stats(self, query: StatsQuery) -> Stats: ...

    def list_decisions(self, query: DecisionQuery, page_token: str = "") -> DecisionPage: ...

    def review_decision(
        self, decision_id: int, action: ReviewAction, reviewer: str, note: str = ""
    ) -> DecisionRecord: ...

    def update_policy(self, name: str, change: PolicyPatch | Policy) -> CollectionInfo: ...

    def add_evalset(self, name: str, items: Sequence[EvalItem], source: str = "") -> EvalSetInfo: ...

    def list_evalsets(self) -> list[EvalSetInfo]: ...

    def remove_evalset(self, name: str) -> EvalSetInfo: ...

    def rescan_evalsets(
        self, collection: str | None = None, evalset: str | None = None
    ) -> list[ContaminationFinding]: ...

    def add_reference(self, collection: str, items: Sequence[EvalItem]) -> int: ...

    def report(
        self, collection: str, group_by: str = "source", k: int = 5, clusters: int = 12
    ) -> CoverageReport: ...

    def server_info(self) -> ServerInfo: ...

    def close(self) -> None: ...


def load_settings(config: Path | None, data_dir: Path | None) -> Settings:
    """Settings with only the flags that were given as overrides (None ones are dropped by Settings.load)."""
    return Settings.load(config, data_dir=data_dir)


@contextmanager
def open_backend(settings: Settings, server: str | None) -> Iterator[Backend]:
    """A client for ``server``, else a Curator on ``settings.data_dir``; closed (state flushed) on exit."""
    backend: Backend = client_for(server) if server else Curator(settings)
    try:
        yield backend
    finally:
        _close_shielded(backend.close)


def client_for(server: str) -> CuratorClient:
    """A client for ``--server``. CURATOR_TOKEN: the bearer token for servers with auth.tokens;
    CURATOR_TLS=1 connects over TLS (system roots), CURATOR_CA_FILE over TLS with a private CA."""
    return CuratorClient(
        server,
        token=os.environ.get("CURATOR_TOKEN"),
        tls=os.environ.get("CURATOR_TLS", "") not in ("", "0"),
        ca_file=os.environ.get("CURATOR_CA_FILE") or None,
    )


def server_limits(backend: Backend) -> Limits | None:
    """What one request to ``backend`` may hold; None for a server too old to say (UNIMPLEMENTED)."""
    try:
        return backend.server_info().limits
    except RemoteError as err:
        if err.code == "UNIMPLEMENTED":
            return None
        raise


def _close_shielded(close: Callable[[], None]) -> None:
    """Close with Ctrl-C ignored, so a second Ctrl-C cannot cut a state flush short."""
    if threading.current_thread() is not threading.main_thread():
        close()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        close()
    finally:
        signal.signal(signal.SIGINT, previous)


def filter_batches(
    backend: Backend,
    collection: str,
    batches: Iterable[Sequence[SampleInput]],
    *,
    dry_run: bool,
    score_all: bool,
) -> Generator[list[Decision] | InvalidArgument, None, None]:
    """One result per batch, in order; a rejected batch yields its InvalidArgument and the run goes on.

    Against a server this is one FilterStream; in-process, one Curator.filter call per batch, on a worker
    thread one batch ahead of the caller: while the service decides a batch (much of it in numpy, SQLite and
    fsync, which release the GIL), the caller reads and validates the next and writes the last one's output.
    Batches are still decided one after the other, in order.
    """
    if isinstance(backend, CuratorClient):
        yield from backend.filter_stream(collection, batches, dry_run=dry_run, score_all=score_all)
        return

    def decide(batch: Sequence[SampleInput]) -> list[Decision] | InvalidArgument:
        try:
            return backend.filter(collection, batch, dry_run=dry_run, score_all=score_all)
        except InvalidArgument as err:
            return err

    source = iter(batches)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curator-filter") as worker:
        first = next(source, None)
        deciding = worker.submit(decide, first) if first is not None else None
        while deciding is not None:
            upcoming = next(source, None)  # read and validated while the service decides
            result = deciding.result()  # a failure ends the run here, before the next batch is sent
            if isinstance(result, InvalidArgument):  # the caller may stop the run on it: ask first
                yield result
                deciding = worker.submit(decide, upcoming) if upcoming is not None else None
                continue
            deciding = worker.submit(decide, upcoming) if upcoming is not None else None
            yield result  # its output is written while the next batch is decided


def ensure_collection(backend: Backend, name: str, create: bool) -> tuple[CollectionInfo, bool]:
    """The collection, created with the default policy when missing and ``create``; True if it was created."""
    try:
        return backend.get_collection(name), False
    except NotFound:
        if not create:
            raise
    try:
        return backend.create_collection(name), True
    except AlreadyExists:  # created concurrently by someone else: fine
        return backend.get_collection(name), False
