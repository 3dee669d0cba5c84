"""Build and run the gRPC server: service, health, reflection, graceful shutdown."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from curator.api.errors import ErrorInterceptor
from curator.api.interceptors import AuthInterceptor, MetricsInterceptor
from curator.api.servicer import CuratorServicer
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CuratorService"].full_name


@dataclass
class RunningServer:
    server: grpc.Server
    curator: Curator
    health: health.HealthServicer
    port: int
    grace: float
    ready: threading.Event  # set once warm-up ended, well or not (see warm_up_errors)
    warm_up_errors: list[BaseException]
    http: HttpServer | None = None

    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish, then flush every collection to disk."""
        self.health.enter_graceful_shutdown()
        if self.http is not None:
            self.http.stop()
        self.server.stop(self.grace if grace is None else grace).wait()
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


def start(settings: Settings, curator: Curator | None = None) -> RunningServer:
    curator = curator or Curator(settings)
    max_bytes = settings.server.max_message_mb * 1024 * 1024
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.server.max_workers, thread_name_prefix="curator-rpc"),
        interceptors=[MetricsInterceptor(), AuthInterceptor(settings.auth), ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", max_bytes),
            ("grpc.max_send_message_length", max_bytes),
        ],
    )
    pb_grpc.add_CuratorServiceServicer_to_server(CuratorServicer(curator), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    address = f"{settings.server.host}:{settings.server.port}"
    if settings.tls.enabled:
        assert settings.tls.cert_file is not None and settings.tls.key_file is not None
        for name, path in (("cert_file", settings.tls.cert_file), ("key_file", settings.tls.key_file)):
            if not path.is_file():
                raise RuntimeError(f"tls.{name}: {path} is not a file; point it at a PEM file")
        credentials = grpc.ssl_server_credentials(
            [(settings.tls.key_file.read_bytes(), settings.tls.cert_file.read_bytes())]
        )
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind {settings.server.host}:{settings.server.port}")
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    server.start()
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
        for name in ("", SERVICE_NAME):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        ready.set()
        log.info("curator ready")

    http = None
    if settings.http.enabled:
        try:
            http = start_http(settings, curator, ready)
        except Exception:
            server.stop(0)
            raise
    threading.Thread(target=_warm_up, name="curator-warm-up", daemon=True).start()
    log.info(
        "curator serving on %s:%d%s (data in %s)",
        settings.server.host,
        port,
        " with TLS" if settings.tls.enabled else "",
        settings.data_dir,
    )
    return RunningServer(
        server, curator, health_servicer, port, settings.server.grace_seconds, ready, failed, http
    )


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
