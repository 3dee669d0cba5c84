"""Generated wire code for the curator.v1 API. Do not edit: run `make proto`.

Only curator.api imports from here; the core never sees protobuf types.
"""
