"""Cross-cutting gRPC concerns, outermost first: metrics, then authentication.

(Domain errors become ``google.rpc.Status`` in :mod:`curator.api.errors`.)
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from curator.observability import metrics
from curator.settings import AuthSettings

Behavior = Callable[[Any, grpc.ServicerContext], Any]

# Services anyone may call: load balancers and grpcurl need them before they hold a token.
PUBLIC_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("curator_caller", default=None)


def authenticated_caller() -> str | None:
    """The name of the token the current call presented; None when authentication is off."""
    return _caller.get()


def _wrap(
    handler: grpc.RpcMethodHandler, make: Callable[[Behavior, bool], Behavior]
) -> grpc.RpcMethodHandler:
    """The handler with its behaviour wrapped by ``make(behaviour, streams_responses)``."""
    for attr, streaming in (
        ("unary_unary", False),
        ("unary_stream", True),
        ("stream_unary", False),
        ("stream_stream", True),
    ):
        behavior = getattr(handler, attr)
        if behavior is not None:
            return handler._replace(**{attr: make(behavior, streaming)})
    return handler


class AuthInterceptor(grpc.ServerInterceptor):
    """Bearer-token authentication for every method but health and reflection (when tokens are set)."""

    def __init__(self, auth: AuthSettings) -> None:
        self.auth = auth

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or not self.auth.tokens or details.method.startswith(PUBLIC_SERVICES):
            return handler
        header = dict(details.invocation_metadata or ()).get("authorization", "")
        caller = self.auth.who(self.auth.bearer(str(header)))

        def make(behavior: Behavior, streaming: bool) -> Behavior:
            if caller is None:

                def refuse(request: Any, context: grpc.ServicerContext) -> Any:
                    context.abort(
                        grpc.StatusCode.UNAUTHENTICATED,
                        "missing or unknown token: send metadata 'authorization: Bearer <token>' "
                        "with a token from auth.tokens",
                    )

                return refuse
            if streaming:

                def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    token_ = _caller.set(caller)
                    try:
                        yield from behavior(request, context)
                    finally:
                        _caller.reset(token_)

                return stream

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                token_ = _caller.set(caller)
                try:
                    return behavior(request, context)
                finally:
                    _caller.reset(token_)

            return unary

        return _wrap(handler, make)


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts calls by method and status code, and times them (a stream: from open to close)."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return handler
        method = details.method

        def record(context: grpc.ServicerContext, started: float, failed: bool) -> None:
            code = context.code() if hasattr(context, "code") else None
            if code is None:
                code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
            metrics.GRPC_REQUESTS.labels(method, code.name).inc()
            metrics.GRPC_SECONDS.labels(method).observe(time.perf_counter() - started)

        def make(behavior: Behavior, streaming: bool) -> Behavior:
            if streaming:

                def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    started, failed = time.perf_counter(), True
                    try:
                        yield from behavior(request, context)
                        failed = False
                    finally:
                        record(context, started, failed)

                return stream

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                started, failed = time.perf_counter(), True
                try:
                    response = behavior(request, context)
                    failed = False
                    return response
                finally:
                    record(context, started, failed)

            return unary

        return _wrap(handler, make)
