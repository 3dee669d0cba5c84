"""The gRPC edge: translate protobuf to domain calls and back. Nothing outside this package imports curator.v1."""
