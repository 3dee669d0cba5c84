"""A thin gRPC client that speaks domain objects, so callers (the CLI) work the same in-process or remote.

Errors come back as the domain errors the service raised (curator.errors), with
the field violations of INVALID_ARGUMENT rebuilt from google.rpc.BadRequest.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from curator.api import convert
from curator.bias.audit import BiasReport
from curator.domain.decision import Decision
from curator.domain.evalset import ContaminationFinding, EvalItem, EvalSetInfo
from curator.domain.policy import Policy, PolicyPatch, as_patch
from curator.domain.review import ReviewAction
from curator.domain.validation import SampleInput
from curator.errors import (
    AlreadyExists,
    CuratorError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from curator.monitor.coverage import CoverageReport
from curator.service import CollectionInfo, DecisionPage, ServerInfo
from curator.state.store import DecisionQuery, DecisionRecord, Stats, StatsQuery
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

# Batches sent on FilterStream ahead of the responses read back: enough to keep the server busy,
# few enough that a large input is never buffered whole.
STREAM_WINDOW = 4
_MAX_MESSAGE_BYTES = 128 * 1024 * 1024


class RemoteError(CuratorError):
    """A gRPC failure with no domain counterpart (INTERNAL, DEADLINE_EXCEEDED, ...)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


class CuratorClient:
    """Domain-typed access to a remote CuratorService; mirrors :class:`curator.service.Curator`.

    ``timeout`` is the deadline of each unary call; :meth:`filter_stream` has
    none, since a long run is legitimately long.
    """

    def __init__(
        self,
        target: str,
        timeout: float | None = None,
        token: str | None = None,
        tls: bool = False,
        ca_file: Path | str | None = None,
    ) -> None:
        """``tls`` (or a ``ca_file``, the PEM of a private CA) connects over TLS; otherwise plaintext."""
        self.target = target
        self.timeout = timeout
        # Servers with auth.tokens want "authorization: Bearer <token>" on every call.
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        options = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ]
        if tls or ca_file is not None:
            roots = Path(ca_file).read_bytes() if ca_file is not None else None
            credentials = grpc.ssl_channel_credentials(root_certificates=roots)
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = pb_grpc.CuratorServiceStub(self._channel)

    # ---------------------------------------------------------------- filtering

    def filter(
        self,
        collection: str,
        samples: Sequence[SampleInput],
        dry_run: bool = False,
        score_all: bool = False,
    ) -> list[Decision]:
        """One decision per sample, in order; raises InvalidArgument naming every bad field."""
        request = convert.filter_request(collection, samples, dry_run, score_all)
        response = self._unary(self._stub.Filter, request)
        return [convert.decision_in(d) for d in response.decisions]

    def filter_stream(
        self,
        collection: str,
        batches: Iterable[Sequence[SampleInput]],
        dry_run: bool = False,
        score_all: bool = False,
    ) -> Generator[list[Decision] | InvalidArgument, None, None]:
        """One item per batch, in order: its decisions, or the InvalidArgument that rejected it.

        A rejected batch does not end the stream. ``batches`` is consumed on a
        gRPC thread, at most :data:`STREAM_WINDOW` batches ahead of what this
        iterator has handed out. Errors other than INVALID_ARGUMENT are raised.
        """
        window = threading.Semaphore(STREAM_WINDOW)
        closed = threading.Event()
        failed: list[BaseException] = []

        def requests() -> Iterator[pb.FilterRequest]:
            source = iter(batches)
            while True:
                window.acquire()
                if closed.is_set():
                    return
                try:
                    batch = next(source, None)
                except BaseException as err:  # raised again on the caller's thread, not lost in gRPC's
                    failed.append(err)
                    return
                if batch is None:
                    return
                yield convert.filter_request(collection, batch, dry_run, score_all)

        call = self._stub.FilterStream(requests(), metadata=self._metadata)
        try:
            for response in call:
                window.release()
                if response.HasField("error"):
                    err = _from_status(response.error, self.target)
                    if not isinstance(err, InvalidArgument):
                        raise err
                    yield err
                else:
                    yield [convert.decision_in(d) for d in response.decisions]
            if failed:
                raise failed[0]
        except grpc.RpcError as err:
            if failed:
                raise failed[0] from None
            raise _from_rpc_error(err, self.target) from err
        finally:
            closed.set()
            window.release()  # wake a request thread waiting for room, so that it sees ``closed``
            call.cancel()

    # ---------------------------------------------------------------- collections

    def create_collection(self, name: str, policy: Policy | None = None) -> CollectionInfo:
        request = pb.CreateCollectionRequest(name=name)
        if policy is not None:
            request.policy.CopyFrom(convert.policy_out(policy))
        return convert.collection_in(self._unary(self._stub.CreateCollection, request))

    def get_collection(self, name: str) -> CollectionInfo:
        return convert.collection_in(
            self._unary(self._stub.GetCollection, pb.GetCollectionRequest(name=name))
        )

    def list_collections(self) -> list[CollectionInfo]:
        response = self._unary(self._stub.ListCollections, pb.ListCollectionsRequest())
        return [convert.collection_in(c) for c in response.collections]

    def update_policy(self, name: str, change: PolicyPatch | Policy) -> CollectionInfo:
        """Change what ``change`` names (see :class:`PolicyPatch`); a Policy changes the fields it sets."""
        patch = as_patch(change)
        request = pb.UpdatePolicyRequest(name=name, policy=convert.policy_values_out(dict(patch.values)))
        if patch.paths is not None:
            request.update_mask.paths.extend(patch.paths)
        return convert.collection_in(self._unary(self._stub.UpdatePolicy, request))

    # ---------------------------------------------------------------- stats

    def stats(self, query: StatsQuery) -> Stats:
        return convert.stats_in(self._unary(self._stub.GetStats, convert.stats_request(query)))

    def bias_report(self, query: StatsQuery) -> BiasReport:
        request = convert.bias_report_request(query)
        return convert.bias_report_in(self._unary(self._stub.GetBiasReport, request))

    # ---------------------------------------------------------------- decisions and reviews

    def list_decisions(self, query: DecisionQuery, page_token: str = "") -> DecisionPage:
        request = convert.decision_query_request(query, page_token)
        return convert.decision_page_in(self._unary(self._stub.ListDecisions, request))

    def review_decision(
        self, decision_id: int, action: ReviewAction, reviewer: str, note: str = ""
    ) -> DecisionRecord:
        request = convert.review_decision_request(decision_id, action, reviewer, note)
        return convert.logged_decision_in(self._unary(self._stub.ReviewDecision, request))

    # ---------------------------------------------------------------- eval sets

    def add_evalset(self, name: str, items: Sequence[EvalItem], source: str = "") -> EvalSetInfo:
        """The whole set goes in one request: it must fit the server's server.max_message_mb."""
        request = convert.add_eval_set_request(name, items, source)
        return convert.eval_set_in(self._unary(self._stub.AddEvalSet, request))

    def list_evalsets(self) -> list[EvalSetInfo]:
        response = self._unary(self._stub.ListEvalSets, pb.ListEvalSetsRequest())
        return [convert.eval_set_in(e) for e in response.eval_sets]

    def remove_evalset(self, name: str) -> EvalSetInfo:
        return convert.eval_set_in(self._unary(self._stub.RemoveEvalSet, pb.RemoveEvalSetRequest(name=name)))

    def rescan_evalsets(
        self, collection: str | None = None, evalset: str | None = None
    ) -> list[ContaminationFinding]:
        request = pb.RescanEvalSetsRequest(collection=collection or "", eval_set=evalset or "")
        response = self._unary(self._stub.RescanEvalSets, request)
        return [convert.contamination_finding_in(f) for f in response.findings]

    # ---------------------------------------------------------------- real-data reference and coverage

    def add_reference(self, collection: str, items: Sequence[EvalItem]) -> int:
        """Appends ``items`` to the collection's reference and returns its size; one request (it must fit the
        server's server.max_message_mb)."""
        request = convert.add_reference_request(collection, items)
        return int(self._unary(self._stub.AddReference, request).reference_items)

    def report(
        self, collection: str, group_by: str = "source", k: int = 5, clusters: int = 12
    ) -> CoverageReport:
        """The coverage report (see Curator.report); the server compares at most 5,000 points of each side,
        and an empty ``group_by`` means "source" over the API."""
        request = convert.report_request(collection, group_by, k, clusters)
        return convert.coverage_report_in(self._unary(self._stub.GetReport, request))

    # ---------------------------------------------------------------- server

    def server_info(self) -> ServerInfo:
        return convert.server_info_in(self._unary(self._stub.GetServerInfo, pb.GetServerInfoRequest()))

    # ---------------------------------------------------------------- any method, as JSON

    def call_json(self, method: str, body: str = "{}") -> str:
        """Call a unary method of CuratorService (or grpc.health.v1.Health/Check) with a request given as
        proto3 JSON, the same JSON grpcurl takes; the response comes back as JSON. For a machine without
        grpcurl. Raises InvalidArgument for an unknown method or a body that does not parse."""
        request_type, response_type, path = _method(method)
        request = request_type()
        try:
            json_format.Parse(body or "{}", request)
        except json_format.ParseError as err:
            raise InvalidArgument(
                FieldViolation("body", f"not a {request_type.DESCRIPTOR.full_name}: {err}")
            ) from None
        call = self._channel.unary_unary(
            path,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        response = self._unary(call, request)
        return json_format.MessageToJson(response, indent=2)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> CuratorClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _unary(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise _from_rpc_error(err, self.target) from err


def unary_methods() -> list[str]:
    """What :meth:`CuratorClient.call_json` can call, as grpcurl names them."""
    service = pb.DESCRIPTOR.services_by_name["CuratorService"]
    names = [f"{service.full_name}/{m.name}" for m in service.methods if not m.client_streaming]
    return [*names, "grpc.health.v1.Health/Check"]


def _method(name: str) -> tuple[Any, Any, str]:
    """Request class, response class and path of a method: "Filter" or "curator.v1.CuratorService/Filter"."""
    from grpc_health.v1 import health_pb2

    if name in ("grpc.health.v1.Health/Check", "Health/Check"):
        return health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse, "/grpc.health.v1.Health/Check"
    service = pb.DESCRIPTOR.services_by_name["CuratorService"]
    short = name.removeprefix(f"{service.full_name}/")
    method = service.methods_by_name.get(short)
    if method is None or method.client_streaming or method.server_streaming:
        known = ", ".join(m.split("/")[-1] for m in unary_methods())
        raise InvalidArgument(FieldViolation("method", f"{name!r} is not a unary method; use one of {known}"))
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    return request_type, response_type, f"/{service.full_name}/{method.name}"


# ---------------------------------------------------------------- errors


def _from_rpc_error(err: grpc.RpcError, target: str) -> CuratorError:
    """The domain error for a failed call, with BadRequest details when the server sent them."""
    try:
        status = rpc_status.from_call(err) if isinstance(err, grpc.Call) else None
    except ValueError:  # details that contradict the call's own code or message: trust the call
        status = None
    if status is not None:
        return _from_status(status, target)
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
    return _domain_error(code.value[0], details, [], target)


def _from_status(status: status_pb2.Status, target: str) -> CuratorError:
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return _domain_error(status.code, status.message, violations, target)


def _domain_error(code: int, message: str, violations: list[FieldViolation], target: str) -> CuratorError:
    if code == code_pb2.INVALID_ARGUMENT:
        return InvalidArgument(violations or [FieldViolation("", message)])
    if code == code_pb2.NOT_FOUND:
        return NotFound(message)
    if code == code_pb2.ALREADY_EXISTS:
        return AlreadyExists(message)
    if code == code_pb2.FAILED_PRECONDITION:
        return FailedPrecondition(message)
    if code == code_pb2.UNAVAILABLE:
        return Unavailable(f"curator server at {target} is unavailable: {message}")
    return RemoteError(code_pb2.Code.Name(code) if code in code_pb2.Code.values() else str(code), message)
