"""Suite-wide test settings."""

from __future__ import annotations

import os

# Servers started by tests (in-process or `curator serve` subprocesses) bind their dashboard and
# /metrics to a free port rather than the default 8080, so tests never collide with each other
# or with a curator already running on the machine.
os.environ.setdefault("CURATOR_HTTP__PORT", "0")
