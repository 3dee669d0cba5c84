"""Build and run the gRPC server: service, health, reflection, graceful shutdown.

The server is grpc's asyncio server, its event loop on a thread of its own so
that :func:`start` stays a plain function. Curator work (every CuratorService
call, every FilterStream message) runs on a pool of ``server.max_workers``
threads; streams waiting for their next message, health and reflection cost a
coroutine on the loop, so neither many streams nor busy workers starve them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from curator.api.errors import ErrorInterceptor
from curator.api.interceptors import AuthInterceptor, MetricsInterceptor
from curator.api.servicer import CuratorServicer, service_handler
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb

log = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CuratorService"].full_name
T = TypeVar("T")


class EventLoopThread:
    """An asyncio event loop running on a daemon thread; other threads hand it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="curator-grpc-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        return not self.loop.is_closed() and self.thread.is_alive()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (never call it from the loop's own thread)."""
        if not self.alive:
            coro.close()
            raise RuntimeError("the gRPC event loop has stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Cancel what is left on the loop, stop it, and wait for its thread."""
        if not self.alive:
            return

        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        self.run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@dataclass
class Health:
    """The asyncio health servicer, driven from any thread (warm-up, shutdown, tests)."""

    servicer: grpc_health.aio.HealthServicer
    loop: EventLoopThread = field(repr=False)

    def set(self, service: str, status: health_pb2.HealthCheckResponse.ServingStatus) -> None:
        self._run(self.servicer.set(service, status))

    def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING from now on, whatever is set later."""
        self._run(self.servicer.enter_graceful_shutdown())

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        """Once the server has stopped there is no health to set (warm-up may end after a stop)."""
        try:
            self.loop.run(coro, timeout=30)
        except (RuntimeError, concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            if self.loop.alive:
                raise


@dataclass
class RunningServer:
    server: grpc.aio.Server
    curator: Curator
    health: Health
    port: int
    grace: float
    ready: threading.Event  # set once warm-up ended, well or not (see warm_up_errors)
    warm_up_errors: list[BaseException]
    loop: EventLoopThread = field(repr=False)
    workers: ThreadPoolExecutor = field(repr=False)  # server.max_workers threads doing curator work
    http: HttpServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _stopped: bool = field(default=False, init=False, repr=False)

    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish, then flush every collection to disk."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        self.health.enter_graceful_shutdown()
        if self.http is not None:
            self.http.stop()
        self.loop.run(self.server.stop(self.grace if grace is None else grace))
        # Work already on a worker thread ends before the state it writes is flushed; work still
        # queued belongs to calls the grace period cut off, and never starts.
        self.workers.shutdown(wait=True, cancel_futures=True)
        self.loop.close()
        self.curator.close()


@dataclass
class HttpServer:
    """The dashboard, its JSON API and /metrics (uvicorn on its own thread)."""

    server: Any  # uvicorn.Server
    port: int
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_http(settings: Settings, curator: Curator, ready: threading.Event) -> HttpServer:
    import uvicorn

    from curator.web.app import create_app

    app = create_app(curator, ready=ready.is_set)
    tls = settings.tls
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
        ssl_certfile=str(tls.cert_file) if tls.cert_file else None,
        ssl_keyfile=str(tls.key_file) if tls.key_file else None,
    )
    sock = socket.socket(socket.AF_INET6 if ":" in settings.http.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.http.host, settings.http.port))
    except OSError as err:
        sock.close()
        raise RuntimeError(
            f"could not bind the dashboard to {settings.http.host}:{settings.http.port} ({err}); "
            "pick another with --http-port or CURATOR_HTTP__PORT, or turn it off with http.enabled = false"
        ) from err
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="curator-http", daemon=True)
    thread.start()
    # Return only once uvicorn accepts connections, so a caller may connect at once.
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the dashboard on {settings.http.host}:{port} did not start")
        time.sleep(0.01)
    scheme = "https" if settings.tls.enabled else "http"
    log.info("dashboard and /metrics on %s://%s:%d/", scheme, settings.http.host, port)
    return HttpServer(server, port, thread)


def _credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """The TLS credentials of the gRPC port; None for plaintext."""
    if not settings.tls.enabled:
        return None
    assert settings.tls.cert_file is not None and settings.tls.key_file is not None
    for name, path in (("cert_file", settings.tls.cert_file), ("key_file", settings.tls.key_file)):
        if not path.is_file():
            raise RuntimeError(f"tls.{name}: {path} is not a file; point it at a PEM file")
    return grpc.ssl_server_credentials(
        [(settings.tls.key_file.read_bytes(), settings.tls.cert_file.read_bytes())]
    )


async def _start_grpc(
    settings: Settings,
    handler: grpc.GenericRpcHandler,
    credentials: grpc.ServerCredentials | None,
) -> tuple[grpc.aio.Server, grpc_health.aio.HealthServicer, int]:
    """The asyncio server, listening, with health NOT_SERVING (runs on the event loop)."""
    max_bytes = settings.server.max_message_mb * 1024 * 1024
    server = grpc.aio.server(
        interceptors=[MetricsInterceptor(), AuthInterceptor(settings.auth), ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", max_bytes),
            ("grpc.max_send_message_length", max_bytes),
        ],
    )
    server.add_generic_rpc_handlers((handler,))
    health_servicer = grpc_health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    address = f"{settings.server.host}:{settings.server.port}"
    try:
        if credentials is not None:
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as err:
        port = 0
        log.debug("binding %s: %s", address, err)
    if port == 0:
        await server.stop(None)
        raise RuntimeError(f"could not bind {settings.server.host}:{settings.server.port}")
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    return server, health_servicer, port


def start(settings: Settings, curator: Curator | None = None) -> RunningServer:
    owned = curator is None
    curator = curator or Curator(settings)
    credentials = _credentials(settings)
    workers = ThreadPoolExecutor(max_workers=settings.server.max_workers, thread_name_prefix="curator-rpc")
    loop = EventLoopThread()
    try:
        server, health_servicer, port = loop.run(
            _start_grpc(settings, service_handler(CuratorServicer(curator), workers), credentials)
        )
    except BaseException:
        loop.close()
        workers.shutdown(wait=False)
        if owned:
            curator.close()  # gives the data directory up again
        raise
    # A second process that tries this data directory is told where to send its work instead.
    reachable = "localhost" if settings.server.host in ("0.0.0.0", "::", "[::]") else settings.server.host
    curator.announce(server=f"{reachable}:{port}")
    health = Health(health_servicer, loop)
    ready = threading.Event()
    failed: list[BaseException] = []

    def _warm_up() -> None:
        """Health stays NOT_SERVING until the models are loaded; requests meanwhile wait for them."""
        try:
            if settings.embeddings.preload:
                curator.warm_up()
        except Exception as err:
            log.error("could not load the models: %s", err)
            failed.append(err)
            ready.set()
            return

        def _ready() -> None:  # after health was first set from the store, so "ready" implies it
            ready.set()
            log.info("curator ready")

        _watch_store(curator, health, running.stopping, settings.server.store_check_seconds, _ready)

    http = None
    if settings.http.enabled:
        try:
            http = start_http(settings, curator, ready)
        except Exception:
            loop.run(server.stop(0))
            loop.close()
            workers.shutdown(wait=False)
            if owned:
                curator.close()
            raise
    running = RunningServer(
        server, curator, health, port, settings.server.grace_seconds, ready, failed, loop, workers, http
    )
    threading.Thread(target=_warm_up, name="curator-warm-up", daemon=True).start()
    log.info(
        "curator serving on %s:%d%s (data in %s)",
        settings.server.host,
        port,
        " with TLS" if settings.tls.enabled else "",
        settings.data_dir,
    )
    return running


def _watch_store(
    curator: Curator,
    health: Health,
    stopping: threading.Event,
    every: float,
    first: Callable[[], None] = lambda: None,
) -> None:
    """Health follows the store: NOT_SERVING while it cannot be reached (requests would get UNAVAILABLE),
    SERVING again once it answers, so that a load balancer sends the work to replicas that can do it.
    ``first`` runs once the first status is set."""
    serving: bool | None = None
    while True:
        reachable = curator.store_reachable()
        if reachable != serving:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if reachable
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for name in ("", SERVICE_NAME):
                health.set(name, status)
            if serving is not None:
                log.warning("the store is %s", "reachable again" if reachable else "unreachable: NOT_SERVING")
            serving = reachable
        first()
        first = _nothing
        if stopping.wait(every):
            return


def _nothing() -> None:
    pass


def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    running = start(settings)
    done = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down (grace %.0fs)", signum, running.grace)
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    running.ready.wait()
    if (
        running.warm_up_errors
    ):  # e.g. the embedding model is missing: say so and stop, not serve half a service
        running.stop(grace=0)
        raise SystemExit(f"curator: cannot start: {running.warm_up_errors[0]}")
    done.wait()
    running.stop()
    log.info("curator stopped; state flushed")
