"""CuratorService over gRPC: proto in → domain call → proto out, nothing else.

:class:`CuratorServicer` translates, synchronously, on a worker thread (Curator
is synchronous). :func:`service_handler` puts it on the asyncio server: every
call's work goes to the bounded worker pool, while the event loop only awaits,
so an idle or slow stream costs a coroutine rather than a thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message

from curator.api import convert
from curator.api.errors import to_status
from curator.api.interceptors import authenticated_caller
from curator.errors import FieldViolation, InvalidArgument
from curator.service import Curator
from curator.v1 import curator_service_pb2 as pb

log = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["CuratorService"]
MALFORMED_LOG_INTERVAL_S = 10.0


class CuratorServicer:
    """One method per unary RPC, each a plain translation; called on a worker thread."""

    def __init__(self, curator: Curator) -> None:
        self.curator = curator

    def Filter(self, request: pb.FilterRequest) -> pb.FilterResponse:
        decisions = self.curator.filter(
            request.collection,
            [convert.sample_input(s) for s in request.samples],
            dry_run=request.dry_run,
            score_all=request.score_all,
        )
        return pb.FilterResponse(decisions=[convert.decision(d) for d in decisions])

    def GetStats(self, request: pb.GetStatsRequest) -> pb.GetStatsResponse:
        return convert.stats(self.curator.stats(convert.stats_query(request)))

    def GetBiasReport(self, request: pb.GetBiasReportRequest) -> pb.BiasReport:
        return convert.bias_report(self.curator.bias_report(convert.bias_report_query(request)))

    def CreateCollection(self, request: pb.CreateCollectionRequest) -> pb.Collection:
        policy = convert.policy_in(request.policy) if request.HasField("policy") else None
        return convert.collection(self.curator.create_collection(request.name, policy))

    def GetCollection(self, request: pb.GetCollectionRequest) -> pb.Collection:
        return convert.collection(self.curator.get_collection(request.name))

    def ListCollections(self, request: pb.ListCollectionsRequest) -> pb.ListCollectionsResponse:
        return pb.ListCollectionsResponse(
            collections=[convert.collection(c) for c in self.curator.list_collections()]
        )

    def ListDecisions(self, request: pb.ListDecisionsRequest) -> pb.ListDecisionsResponse:
        query, page_token = convert.decision_query(request)
        return convert.decision_page(self.curator.list_decisions(query, page_token))

    def ReviewDecision(self, request: pb.ReviewDecisionRequest) -> pb.LoggedDecision:
        decision_id, action = convert.review_request(request)
        # An authenticated caller is who the token says, whatever the request claims.
        reviewer = authenticated_caller() or request.reviewer
        return convert.logged_decision(
            self.curator.review_decision(decision_id, action, reviewer, request.note)
        )

    def UpdatePolicy(self, request: pb.UpdatePolicyRequest) -> pb.Collection:
        return convert.collection(self.curator.update_policy(request.name, convert.policy_patch_in(request)))

    def AddEvalSet(self, request: pb.AddEvalSetRequest) -> pb.EvalSet:
        items = convert.eval_items_in(request.items)
        return convert.eval_set(self.curator.add_evalset(request.name, items, source=request.source))

    def ListEvalSets(self, request: pb.ListEvalSetsRequest) -> pb.ListEvalSetsResponse:
        return pb.ListEvalSetsResponse(eval_sets=[convert.eval_set(e) for e in self.curator.list_evalsets()])

    def RemoveEvalSet(self, request: pb.RemoveEvalSetRequest) -> pb.EvalSet:
        return convert.eval_set(self.curator.remove_evalset(request.name))

    def RescanEvalSets(self, request: pb.RescanEvalSetsRequest) -> pb.RescanEvalSetsResponse:
        findings = self.curator.rescan_evalsets(
            collection=request.collection or None, evalset=request.eval_set or None
        )
        return pb.RescanEvalSetsResponse(findings=[convert.contamination_finding(f) for f in findings])

    def AddReference(self, request: pb.AddReferenceRequest) -> pb.AddReferenceResponse:
        size = self.curator.add_reference(request.collection, convert.eval_items_in(request.items))
        return pb.AddReferenceResponse(reference_items=size)

    def GetReport(self, request: pb.GetReportRequest) -> pb.CoverageReport:
        return convert.coverage_report(
            self.curator.report(request.collection, **convert.report_query(request))
        )

    def GetServerInfo(self, request: pb.GetServerInfoRequest) -> pb.ServerInfo:
        return convert.server_info(self.curator.server_info())


# ---------------------------------------------------------------- malformed frames


class ThrottledWarning:
    """A warning logged at most once per interval, the next one counting those left out.

    A client can send bad frames as fast as it likes; the log must not grow with them.
    """

    def __init__(
        self, logger: logging.Logger, interval_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._next = float("-inf")
        self._left_out = 0
        self._lock = threading.Lock()

    def __call__(self, msg: str, *args: object) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self._left_out += 1
                return
            left_out, self._left_out, self._next = self._left_out, 0, now + self.interval_s
        if left_out:
            msg += f" ({left_out} more like it in the last {self.interval_s:.0f}s were not logged)"
        self.logger.warning(msg, *args)


_malformed_warning = ThrottledWarning(log, MALFORMED_LOG_INTERVAL_S)


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """What the lenient deserializer hands on in place of a message it could not parse."""

    message_type: str  # full name, e.g. curator.v1.FilterRequest
    size: int  # bytes received
    problem: str  # the parser's own words, for the log

    def error(self) -> InvalidArgument:
        return InvalidArgument(
            FieldViolation(
                "",
                f"the {self.size} bytes received are not a valid {self.message_type} message; "
                "send a serialized protobuf message of that type",
            )
        )


def lenient_deserializer(message_type: type[Message]) -> Callable[[bytes], Message | MalformedFrame]:
    """A request deserializer that never raises: bad bytes become a MalformedFrame.

    grpc turns a raising deserializer into INTERNAL with a logged traceback, and
    in a stream it ends the whole call; the handler instead answers the one frame.
    """
    full_name = message_type.DESCRIPTOR.full_name

    def parse(data: bytes) -> Message | MalformedFrame:
        try:
            return message_type.FromString(data)
        except Exception as err:  # whatever the parser raises, the bytes are the client's mistake
            return MalformedFrame(full_name, len(data), str(err) or type(err).__name__)

    return parse


def _rejected(
    method: str, frame: MalformedFrame, context: grpc.aio.ServicerContext[Any, Any]
) -> InvalidArgument:
    """The error for a malformed frame, logged (throttled, one line, no traceback)."""
    _malformed_warning(
        "%s from %s: %d bytes are not a valid %s (%s); answered INVALID_ARGUMENT",
        method,
        context.peer(),
        frame.size,
        frame.message_type,
        frame.problem,
    )
    return frame.error()


# ---------------------------------------------------------------- the asyncio face


class AsyncCuratorService:
    """Runs each request's translation and Curator call on the worker pool; the loop only waits.

    One job per unary call or per stream message, queued first in, first out, so
    messages from many streams take turns on the pool.
    """

    def __init__(self, servicer: CuratorServicer, executor: Executor) -> None:
        self.servicer = servicer
        self.executor = executor

    async def run(self, fn: Callable[[Any], Message], request: Message) -> Message:
        """``fn(request)`` on a worker thread, in this call's context (the authenticated caller)."""
        call = functools.partial(contextvars.copy_context().run, fn, request)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def unary(self, method: descriptor.MethodDescriptor) -> Callable[..., Any]:
        name = method.name
        path = f"/{SERVICE.full_name}/{name}"

        async def handle(
            request: Message | MalformedFrame, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            if isinstance(request, MalformedFrame):
                raise _rejected(path, request, context)  # curator.api.errors maps it, as for any call
            return await self.run(getattr(self.servicer, name), request)

        return handle

    async def FilterStream(
        self,
        requests: AsyncIterator[pb.FilterRequest | MalformedFrame],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.FilterResponse]:
        """One response per request, in order; a bad message fails its own response, not the stream."""
        path = f"/{SERVICE.full_name}/FilterStream"
        async for request in requests:
            try:
                if isinstance(request, MalformedFrame):
                    raise _rejected(path, request, context)
                response = await self.run(self.servicer.Filter, request)
            except Exception as err:
                response = pb.FilterResponse(error=to_status(err))
            yield response


def service_handler(servicer: CuratorServicer, executor: Executor) -> grpc.GenericRpcHandler:
    """CuratorService's handlers, built from its descriptor with lenient request deserializers.

    (The generated ``add_CuratorServiceServicer_to_server`` would parse with
    ``FromString``, which raises on a malformed frame.)
    """
    service = AsyncCuratorService(servicer, executor)
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in SERVICE.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)
        kwargs: dict[str, Any] = {
            "request_deserializer": lenient_deserializer(request_type),
            "response_serializer": response_type.SerializeToString,
        }
        if not method.client_streaming and not method.server_streaming:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(service.unary(method), **kwargs)
        elif method.client_streaming and method.server_streaming:
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(
                getattr(service, method.name), **kwargs
            )
        else:  # no such method today; one added to the proto needs its handler written here
            raise NotImplementedError(f"{method.full_name}: only unary and bidi-streaming methods are served")
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)
