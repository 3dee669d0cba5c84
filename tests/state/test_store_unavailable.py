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


def test_a_store_that_refuses_writes_is_unavailable_and_nothing_half_written(postgres_url: str) -> None:
    """An unwritable store (here: PostgreSQL made read-only) fails the commit retryably, with nothing kept."""
    from sqlalchemy import create_engine, text

    from curator.domain.policy import Policy
    from curator.state.sql import metadata
    from curator.state.store import Admission

    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    metadata.drop_all(engine)
    store = SqlStore(postgres_url)
    store.create_collection("c", Policy())
    database = make_url(postgres_url).database
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on'))
    store.engine.dispose()  # new sessions pick the setting up
    try:
        logged = [LoggedDecision(Decision("a", Verdict.KEEP, [], {}, 1), {})]
        with pytest.raises(Unavailable, match="cannot take the write now"):
            store.commit("c", 0, 1, Admission(1, b"frame"), logged, datetime.now(UTC))
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = off'))
        store.engine.dispose()
        engine.dispose()
    assert store.admitted_seq("c") == 0 and store.admissions_since("c", 0) == []
    assert store.commit("c", 0, 1, Admission(1, b"frame"), logged, datetime.now(UTC)) == 1  # the retry
    store.close()
