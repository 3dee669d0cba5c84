"""The web dashboard and its JSON API, served by ``curator serve`` beside gRPC (see app.py)."""
