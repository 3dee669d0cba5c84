"""Cross-cutting gRPC concerns on the asyncio server, outermost first: metrics, then authentication.

(Domain errors become ``google.rpc.Status`` in :mod:`curator.api.errors`.)

Every handler on this server is async: a coroutine function, or an async
generator function for streamed responses. A wrapper keeps the kind of what it
wraps, because grpc tells the reader/writer API (a coroutine, e.g. health
Watch) from the generator API by it.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from curator.observability import metrics
from curator.settings import AuthSettings

Behavior = Callable[[Any, Any], Any]  # (request or request iterator, context) -> awaitable or async iterator
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]

# Services anyone may call: load balancers and grpcurl need them before they hold a token.
PUBLIC_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("curator_caller", default=None)


def authenticated_caller() -> str | None:
    """The name of the token the current call presented; None when authentication is off."""
    return _caller.get()


def wrap_behavior(
    behavior: Behavior,
    before: Callable[[Any], Any],
    after: Callable[[Any, BaseException | None], None] = lambda context, error: None,
) -> Behavior:
    """``behavior`` with ``before(context)`` run first (it may swap the context) and ``after`` run last.

    ``after(context, error)`` gets the exception that ended the call, or None.
    """
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            context = before(context) or context
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as err:
                after(context, err)
                raise
            after(context, None)

        return stream

    async def call(request: Any, context: Any) -> Any:
        context = before(context) or context
        try:
            response = await behavior(request, context)
        except BaseException as err:
            after(context, err)
            raise
        after(context, None)
        return response

    return call


def wrap_handler(
    handler: grpc.RpcMethodHandler, make: Callable[[Behavior], Behavior]
) -> grpc.RpcMethodHandler:
    """The handler with its one behaviour replaced by ``make(behaviour)``."""
    for attr in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        behavior = getattr(handler, attr)
        if behavior is not None:
            return handler._replace(**{attr: make(behavior)})  # type: ignore[attr-defined]
    return handler


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Bearer-token authentication for every method but health and reflection (when tokens are set)."""

    def __init__(self, auth: AuthSettings) -> None:
        self.auth = auth

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or not self.auth.tokens or details.method.startswith(PUBLIC_SERVICES):
            return handler
        header = dict(details.invocation_metadata or ()).get("authorization", "")
        caller = self.auth.who(self.auth.bearer(str(header)))
        if caller is None:

            async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing or unknown token: send metadata 'authorization: Bearer <token>' "
                    "with a token from auth.tokens",
                )

            return wrap_handler(handler, lambda behavior: refuse)

        def name_caller(context: Any) -> None:
            # Each RPC runs in its own asyncio task, hence its own context: the value ends with the call.
            _caller.set(caller)

        return wrap_handler(handler, lambda behavior: wrap_behavior(behavior, name_caller))


class _MeteredContext:
    """A servicer context that counts and times its call once, before the status goes out.

    The asyncio server sends an abort's status from within ``abort`` (and its own
    ``context.code()`` does not report it), so the count is taken there; a call
    that ends otherwise is counted when its handler returns.
    """

    def __init__(self, inner: grpc.aio.ServicerContext[Any, Any], method: str) -> None:
        self._inner = inner
        self._method = method
        self._started = time.perf_counter()
        self._code: grpc.StatusCode | None = None
        self._counted = False

    def count(self, error: BaseException | None = None) -> None:
        if self._counted:
            return
        self._counted = True
        code = self._code
        if code is None:
            if error is None:
                code = grpc.StatusCode.OK
            elif isinstance(error, asyncio.CancelledError | GeneratorExit):  # the client went away
                code = grpc.StatusCode.CANCELLED
            else:
                code = grpc.StatusCode.UNKNOWN
        metrics.GRPC_REQUESTS.labels(self._method, code.name).inc()
        metrics.GRPC_SECONDS.labels(self._method).observe(time.perf_counter() - self._started)

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: tuple[Any, ...] = ()
    ) -> None:
        self._code = code
        self.count()
        await self._inner.abort(code, details, trailing_metadata)

    async def abort_with_status(self, status: grpc.Status) -> None:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code
        self._inner.set_code(code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts calls by method and status code, and times them (a stream: from open to close)."""

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method

        def begin(context: grpc.aio.ServicerContext[Any, Any]) -> _MeteredContext:
            return _MeteredContext(context, method)

        def end(context: _MeteredContext, error: BaseException | None) -> None:
            context.count(error)

        return wrap_handler(handler, lambda behavior: wrap_behavior(behavior, begin, end))
