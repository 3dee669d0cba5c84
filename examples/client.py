"""Call a running curator server with the generated stubs (start one with `make serve`).

The server's address comes from CURATOR_SERVER_ADDRESS (default localhost:50051), as for the CLI.
"""

import os

import grpc

from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

with grpc.insecure_channel(os.environ.get("CURATOR_SERVER_ADDRESS", "localhost:50051")) as channel:
    stub = pb_grpc.CuratorServiceStub(channel)
    try:
        stub.CreateCollection(pb.CreateCollectionRequest(name="demo"))
    except grpc.RpcError as err:
        if err.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    text = "Curator keeps one copy of every training sample and explains each decision it takes."
    samples = [pb.Sample(id="py-1", text=text), pb.Sample(id="py-2", text=text.upper())]
    for d in stub.Filter(pb.FilterRequest(collection="demo", samples=samples)).decisions:
        print(d.sample_id, pb.Verdict.Name(d.verdict), [(r.code, r.matched_id, r.message) for r in d.reasons])
