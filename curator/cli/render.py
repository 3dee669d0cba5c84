"""How the CLI shows things: the filter summary, stats as tables or JSON, collections, time arguments."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from curator.cli.filtering import Counts
from curator.domain.policy import Policy
from curator.formats import diversity_json
from curator.service import CollectionInfo
from curator.state.store import DecisionRecord, Stats, VerdictCounts

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EIGHTHS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 10


# ---------------------------------------------------------------- time arguments


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w``; raises ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration: use a number and one of s, m, h, d, w (e.g. 24h, 7d)")
    return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])


def parse_when(text: str, now: datetime) -> datetime:
    """A duration ago (``24h``), or an ISO 8601 time (UTC when it names no zone)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (24h, 7d) nor an ISO time (2024-05-01T12:00:00Z)"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# ---------------------------------------------------------------- filter summary


def summary_table(counts: Counts, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("read", "kept", "dropped", "review", "invalid", "samples/s"):
        table.add_column(name, justify="right")
    table.add_row(
        str(counts.read),
        str(counts.kept),
        str(counts.dropped),
        str(counts.review),
        str(counts.invalid),
        f"{counts.rate:,.0f}",
    )
    return table


# ---------------------------------------------------------------- policies


def policy_fields(policy: Policy) -> dict[str, Any]:
    """Every field of a resolved policy, by the path `curator collections update --set` uses for it:
    ``CHECK.enabled``, ``CHECK.CODE.threshold`` (``.action``, ``.review_threshold``), ``CHECK.params.N``;
    checks, rules and parameters sorted by name (a server sends them in no particular order)."""
    data = policy.model_dump(mode="json")
    out: dict[str, Any] = {"dedup_key": data["dedup_key"]}
    for name, check in sorted(data["checks"].items()):
        out[f"{name}.enabled"] = check["enabled"]
        for code, rule in sorted(check["rules"].items()):
            for field in ("threshold", "action", "review_threshold"):
                out[f"{name}.{code}.{field}"] = rule.get(field)
        for key, value in sorted(check["params"].items()):
            out[f"{name}.params.{key}"] = value
    return out


def policy_changes(before: Policy, after: Policy) -> list[str]:
    """``PATH: old -> new`` for every field that differs, in :func:`policy_fields` order."""
    old, new = policy_fields(before), policy_fields(after)
    paths = [*new, *(p for p in old if p not in new)]
    return [
        f"{path}: {policy_value(old.get(path))} -> {policy_value(new.get(path))}"
        for path in paths
        if old.get(path) != new.get(path) or (path in old) != (path in new)
    ]


def policy_value(value: Any) -> str:
    """A policy value as --set takes it: true/false, none, 0.85, drop."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- stats


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``fraction`` of ``width`` cells in block characters, to an eighth of a cell."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


def _rate(c: VerdictCounts) -> float:
    return c.drop / c.total if c.total else 0.0


def _counts_json(c: VerdictCounts) -> dict[str, int]:
    return {"keep": c.keep, "drop": c.drop, "review": c.review, "total": c.total}


def stats_json(s: Stats) -> dict[str, Any]:
    """Stats as plain JSON: counts per verdict everywhere, series buckets by their ISO start time."""
    return {
        "totals": _counts_json(s.totals),
        "by_reason": dict(sorted(s.by_reason.items())),
        "by_check": dict(sorted(s.by_check.items())),
        "by_group": {k: _counts_json(v) for k, v in sorted(s.by_group.items())},
        "series": [{"start": start.astimezone(UTC).isoformat(), **_counts_json(c)} for start, c in s.series],
        "bucket_seconds": s.bucket_seconds,
        "reviews": {
            "pending": s.reviews.pending,
            "approved": s.reviews.approved,
            "rejected": s.reviews.rejected,
        },
        "diversity": [diversity_json(w) for w in s.diversity],
    }


def stats_tables(s: Stats, group_by: str | None) -> list[Table]:
    """Totals, by reason, by check, by group (when asked) and the time series, each as a table."""
    totals = Table(title="totals", title_justify="left")
    for name in ("keep", "drop", "review", "total", "drop rate"):
        totals.add_column(name, justify="right")
    c = s.totals
    totals.add_row(str(c.keep), str(c.drop), str(c.review), str(c.total), f"{_rate(c):.1%}")
    tables = [totals]
    if c.review:
        reviews = Table(title="reviews", title_justify="left")
        for name in ("pending", "approved", "rejected"):
            reviews.add_column(name, justify="right")
        reviews.add_row(str(s.reviews.pending), str(s.reviews.approved), str(s.reviews.rejected))
        tables.append(reviews)

    for title, counts in (("by reason", s.by_reason), ("by check", s.by_check)):
        t = Table(title=title, title_justify="left")
        t.add_column("reason" if title == "by reason" else "check")
        t.add_column("count", justify="right")
        t.add_column("of decisions", justify="right")
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            t.add_row(key, str(n), f"{n / c.total:.1%}" if c.total else "-")
        tables.append(t)

    if group_by is not None:
        t = Table(title=f"by {group_by}", title_justify="left")
        t.add_column(group_by)
        for name in ("keep", "drop", "review", "total", "drop rate"):
            t.add_column(name, justify="right")
        for key, g in sorted(s.by_group.items()):
            t.add_row(
                key or "(none)", str(g.keep), str(g.drop), str(g.review), str(g.total), f"{_rate(g):.1%}"
            )
        tables.append(t)

    series = Table(title=f"series ({_bucket_label(s.bucket_seconds)} buckets, UTC)", title_justify="left")
    series.add_column("start", no_wrap=True)
    for name in ("keep", "drop", "review", "total"):
        series.add_column(name, justify="right")
    series.add_column("drop rate", justify="right")
    series.add_column("", no_wrap=True)
    for start, b in s.series:
        series.add_row(
            start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            str(b.keep),
            str(b.drop),
            str(b.review),
            str(b.total),
            f"{_rate(b):.1%}",
            bar(_rate(b)),
        )
    tables.append(series)
    if s.diversity:
        tables.append(diversity_table(s, group_by))
    return tables


def _metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# Flag column: which metrics fell (NN distance, cluster entropy, distinct 3-grams).
_SHORT = {"mean_nn_distance": "NN", "cluster_entropy": "H", "distinct_3": "d3"}


def diversity_table(s: Stats, group_by: str | None) -> Table:
    """The collapse monitor: one row per window (and group), COLLAPSE where a metric fell too far."""
    t = Table(title=f"diversity ({_bucket_label(s.bucket_seconds)} windows, UTC)", title_justify="left")
    t.add_column("start", min_width=8, no_wrap=True)
    if group_by is not None:
        t.add_column(group_by, min_width=10, no_wrap=True)
    t.add_column("kept", justify="right", min_width=4, no_wrap=True)
    for name in ("NN dist", "entropy", "dist-3"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("collapse", no_wrap=True)
    for w in s.diversity:
        cells = [w.start.astimezone(UTC).strftime("%H:%M:%S" if s.bucket_seconds < 60 else "%m-%d %H:%M")]
        if group_by is not None:
            cells.append(w.group or "(none)")
        cells += [str(w.kept), _metric(w.mean_nn_distance), _metric(w.cluster_entropy), _metric(w.distinct_3)]
        cells.append(
            f"[bold red]COLLAPSE[/] {','.join(_SHORT[m] for m in w.collapsed)}" if w.collapsed else ""
        )
        t.add_row(*cells)
    return t


def _bucket_label(seconds: int) -> str:
    for unit, n in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


# ---------------------------------------------------------------- collections


def collections_table(infos: list[CollectionInfo]) -> Table:
    table = Table(title="collections", title_justify="left")
    table.add_column("name")
    table.add_column("policy version", justify="right")
    table.add_column("kept", justify="right")
    table.add_column("dedup key")
    table.add_column("created (UTC)")
    for info in sorted(infos, key=lambda i: i.name):
        table.add_row(
            info.name,
            str(info.policy_version),
            str(info.kept_count),
            str(info.policy.dedup_key),
            info.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
    return table


def decisions_table(records: list[DecisionRecord]) -> Table:
    """One row per logged decision: id (for ``curator review``), time, sample, verdict, reasons, review."""
    t = Table(title=f"{len(records)} decisions, newest first", title_justify="left")
    for name in ("id", "time (UTC)", "collection", "sample", "verdict", "reasons", "review"):
        t.add_column(name, no_wrap=name in ("id", "time (UTC)"))
    for rec in records:
        reasons = "; ".join(
            f"{r.code} {r.score:.3g}/{r.threshold:.3g}" + (f" ~ {r.matched_id}" if r.matched_id else "")
            for r in rec.decision.reasons
        )
        review = ""
        if rec.review is not None:
            review = f"{rec.review_state} by {rec.review.reviewer}"
        elif rec.review_state is not None:
            review = str(rec.review_state)
        t.add_row(
            str(rec.id),
            rec.decided_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            rec.collection,
            rec.decision.sample_id,
            str(rec.decision.verdict).upper(),
            reasons,
            review,
        )
    return t
