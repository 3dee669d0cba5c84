"""The gRPC edge: protobuf to domain calls and back. Nothing outside this package imports curator.v1."""
