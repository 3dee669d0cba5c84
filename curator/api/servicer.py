"""CuratorService over gRPC: proto in → domain call → proto out, nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from curator.api import convert
from curator.api.errors import to_status
from curator.api.interceptors import authenticated_caller
from curator.service import Curator
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc


class CuratorServicer(pb_grpc.CuratorServiceServicer):
    def __init__(self, curator: Curator) -> None:
        self.curator = curator

    def Filter(self, request: pb.FilterRequest, context: grpc.ServicerContext) -> pb.FilterResponse:
        decisions = self.curator.filter(
            request.collection,
            [convert.sample_input(s) for s in request.samples],
            dry_run=request.dry_run,
            score_all=request.score_all,
        )
        return pb.FilterResponse(decisions=[convert.decision(d) for d in decisions])

    def FilterStream(
        self, request_iterator: Iterator[pb.FilterRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.FilterResponse]:
        for request in request_iterator:
            try:
                yield self.Filter(request, context)
            except Exception as err:  # one bad message fails its own response, not the stream
                yield pb.FilterResponse(error=to_status(err))

    def GetStats(self, request: pb.GetStatsRequest, context: grpc.ServicerContext) -> pb.GetStatsResponse:
        return convert.stats(self.curator.stats(convert.stats_query(request)))

    def GetBiasReport(self, request: pb.GetBiasReportRequest, context: grpc.ServicerContext) -> pb.BiasReport:
        return convert.bias_report(self.curator.bias_report(convert.bias_report_query(request)))

    def CreateCollection(
        self, request: pb.CreateCollectionRequest, context: grpc.ServicerContext
    ) -> pb.Collection:
        policy = convert.policy_in(request.policy) if request.HasField("policy") else None
        return convert.collection(self.curator.create_collection(request.name, policy))

    def GetCollection(self, request: pb.GetCollectionRequest, context: grpc.ServicerContext) -> pb.Collection:
        return convert.collection(self.curator.get_collection(request.name))

    def ListCollections(
        self, request: pb.ListCollectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListCollectionsResponse:
        return pb.ListCollectionsResponse(
            collections=[convert.collection(c) for c in self.curator.list_collections()]
        )

    def ListDecisions(
        self, request: pb.ListDecisionsRequest, context: grpc.ServicerContext
    ) -> pb.ListDecisionsResponse:
        query, page_token = convert.decision_query(request)
        return convert.decision_page(self.curator.list_decisions(query, page_token))

    def ReviewDecision(
        self, request: pb.ReviewDecisionRequest, context: grpc.ServicerContext
    ) -> pb.LoggedDecision:
        decision_id, action = convert.review_request(request)
        # An authenticated caller is who the token says, whatever the request claims.
        reviewer = authenticated_caller() or request.reviewer
        return convert.logged_decision(
            self.curator.review_decision(decision_id, action, reviewer, request.note)
        )

    def UpdatePolicy(self, request: pb.UpdatePolicyRequest, context: grpc.ServicerContext) -> pb.Collection:
        return convert.collection(self.curator.update_policy(request.name, convert.policy_patch_in(request)))

    def GetServerInfo(self, request: pb.GetServerInfoRequest, context: grpc.ServicerContext) -> pb.ServerInfo:
        return convert.server_info(self.curator.server_info())
