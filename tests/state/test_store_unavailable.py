"""A store that cannot be reached is UNAVAILABLE (retryable), not an internal error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from curator.domain.decision import Decision, Verdict
from curator.errors import Unavailable
from curator.state.sql import SqlStore
from curator.state.store import LoggedDecision, StatsQuery
from tests.support.postgres import free_port, start_or_skip


def test_a_server_nobody_listens_on_is_unavailable(postgres_url: str) -> None:
    nowhere = make_url(postgres_url).set(port=free_port()).render_as_string(hide_password=False)
    with pytest.raises(Unavailable, match=r"decision store .* is unavailable"):
        SqlStore(nowhere)


def test_a_store_that_goes_away_is_unavailable_then_nothing_half_written() -> None:
    server = start_or_skip()
    try:
        store = SqlStore(server.create_database("outage"))
        store.stats(StatsQuery())
    finally:
        server.stop()
    logged = [LoggedDecision(Decision("a", Verdict.KEEP, [], {}, 1), {})]
    with pytest.raises(Unavailable):
        store.record_decisions("c", logged, datetime.now(UTC))
    with pytest.raises(Unavailable):
        store.stats(StatsQuery())
    store.close()
