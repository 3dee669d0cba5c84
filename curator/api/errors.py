"""Domain errors → google.rpc.Status, in one place.

The interceptor applies it to every unary handler of the asyncio server;
FilterStream uses :func:`to_status` to fail one response without failing the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from curator.errors import (
    AlreadyExists,
    CuratorError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)

log = logging.getLogger(__name__)

_CODES: list[tuple[type[CuratorError], int]] = [
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (AlreadyExists, code_pb2.ALREADY_EXISTS),
    (FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (Unavailable, code_pb2.UNAVAILABLE),
]


def to_status(err: Exception) -> status_pb2.Status:
    """The google.rpc.Status for an error; unexpected errors become INTERNAL without leaking detail."""
    for kind, code in _CODES:
        if isinstance(err, kind):
            status = status_pb2.Status(code=code, message=str(err))
            if isinstance(err, InvalidArgument):
                detail = any_pb2.Any()
                detail.Pack(
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field=v.field, description=v.description
                            )
                            for v in err.violations
                        ]
                    )
                )
                status.details.append(detail)
            elif isinstance(err, NotFound) and err.resource is not None:
                detail = any_pb2.Any()
                kind_, name = err.resource
                detail.Pack(error_details_pb2.ResourceInfo(resource_type=kind_, resource_name=name))
                status.details.append(detail)
            return status
    log.exception("internal error", exc_info=err)
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the server log")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Wraps unary-response handlers so that domain errors abort with a rich status."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                return await inner(request, context)
            except grpc.aio.AbortError:  # the handler already answered with its own status
                raise
            except Exception as err:
                await context.abort_with_status(rpc_status.to_status(to_status(err)))

        return handler._replace(unary_unary=wrapped)  # type: ignore[attr-defined]
