"""``curator audit``: a bias report over a file, offline, or over a collection's decision log.

A file is either samples (JSONL, JSON array or Parquet, as ``curator filter`` reads them), which are
run through the bias check in-process (no collection, no dedup: the verdicts are the bias check's
own), or a decisions file written by ``curator filter --decisions`` (recognised by a ``verdict``
field on its first record), whose verdicts and annotations are counted as they are, except replays
(ALREADY_KEPT, ALREADY_DECIDED: a resend answered from the log, not a decision of its own).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from curator.bias.annotations import key_of
from curator.bias.audit import BiasReport, CountsBuilder, build_report
from curator.bias.lexicon import load_lexicon
from curator.checks.bias import BiasCheck
from curator.cli.io import JsonlWriter, Record, decision_json, open_input, to_sample_input
from curator.domain.decision import Decision, Verdict
from curator.domain.policy import Policy, reasons_for, resolve_policy
from curator.domain.validation import validate_sample
from curator.settings import Settings
from curator.state.store import StatsQuery


@dataclass(slots=True)
class AuditRun:
    kind: str  # "records" or "decisions"
    read: int = 0
    invalid: int = 0


def audit_file(
    path: Path,
    settings: Settings,
    *,
    decisions_out: JsonlWriter | None = None,
    report: Callable[[str], None] = lambda _: None,
    advance: Callable[[int], None] = lambda _: None,
) -> tuple[BiasReport, AuditRun]:
    """The bias report of ``path``; bad lines are reported (``line N: problem``) and skipped."""
    source = open_input(path)
    records = iter(source.records)
    first = next((r for r in records if r.data is not None or r.problem is not None), None)
    chained: Iterator[Record] = itertools.chain([first], records) if first is not None else iter(())
    is_decisions = first is not None and first.data is not None and "verdict" in first.data
    run = AuditRun("decisions" if is_decisions else "records")
    builder = CountsBuilder()
    lexicon = load_lexicon(settings.bias.lexicon_path)
    check = BiasCheck(lexicon, settings.bias.stereotype_window)
    given = settings.default_policy.checks.get(check.name)
    policy = resolve_policy(Policy(checks={check.name: given} if given else {}), [check]).check(check.name)
    limits = settings.limits.limits()
    for record in chained:
        advance(1)
        run.read += 1
        if record.data is None:
            run.invalid += 1
            report(f"line {record.line}: {record.problem}")
            continue
        if is_decisions:
            problem = _add_decision(builder, record.data)
        else:
            sample_input, problems = to_sample_input(record.data, record.line)
            sample = None
            if sample_input is not None:
                sample, violations = validate_sample(sample_input, limits)
                problems = [f"{v.field}: {v.description}" if v.field else v.description for v in violations]
            if sample is None:
                problem = "; ".join(problems)
            else:
                problem = None
                result = check.evaluate_text(sample.full_text)
                reasons = reasons_for(check.name, check.rules, policy, result) if policy.enabled else []
                decision = Decision(sample.id, Decision.verdict_for(reasons), reasons, result.scores)
                decision.annotations = result.annotations
                builder.add(decision.verdict, [(a.kind, a.subject, a.label) for a in result.annotations])
                if decisions_out is not None:
                    decisions_out.write(decision_json(decision))
        if problem is not None:
            run.invalid += 1
            report(f"line {record.line}: {problem}")
    source_name = f"{run.kind} file {path.name}"
    bias = settings.bias
    result_report = build_report(
        builder.counts,
        lexicon,
        drop_factor=bias.drop_factor,
        min_count=bias.min_count,
        min_drops=bias.min_drops,
        reference=bias.reference,
        source=source_name,
    )
    return result_report, run


def _add_decision(builder: CountsBuilder, data: dict[str, object]) -> str | None:
    try:
        verdict = Verdict(str(data.get("verdict")))
    except ValueError:
        return f"verdict: expected keep, drop or review, got {data.get('verdict')!r}"
    annotations = data.get("annotations") or []
    if not isinstance(annotations, list):
        return "annotations: must be a list"
    reasons = data.get("reasons") or []
    codes = [str(r.get("code")) for r in reasons if isinstance(r, dict)] if isinstance(reasons, list) else []
    builder.add(verdict, [k for a in annotations if isinstance(a, dict) and (k := key_of(a))], codes)
    return None


def collection_report(settings: Settings, server: str | None, query: StatsQuery) -> BiasReport:
    """GetBiasReport, from a running server or in-process on the data dir."""
    if server is None:
        from curator.service import Curator

        curator = Curator(settings, checks=[])  # the report reads the decision log only: load no model
        try:
            return curator.bias_report(query)
        finally:
            curator.close()
    from curator.cli.backend import client_for

    with client_for(server) as client:
        return client.bias_report(query)


def summary_lines(report: BiasReport) -> list[str]:
    """A few lines for the terminal: totals, pronouns, identity axes (with how their mentions were
    found), flags."""
    t = report.totals
    p = report.pronouns()
    lines = [
        f"{report.source}: {t.total:,} samples, {t.keep:,} kept, {t.drop:,} dropped, {t.review:,} review"
        f" (overall drop rate {report.overall_drop_rate:.1%}); bias lexicon {report.lexicon_version}",
        f"kept samples using he / she / they: {p['he']:,} / {p['she']:,} / {p['they']:,}",
        f"stereotyped pairs: {sum(s.counts.total for s in report.stereotypes):,},"
        f" toxic findings: {sum(s.counts.total for s in report.toxic):,}",
    ]
    lines += axis_lines(report)
    if report.flags:
        lines.append("disproportionate drops:")
        lines += [f"  {f}" for f in report.flags]
    else:
        lines.append("no axis or group is dropped disproportionately")
    return lines


def axis_lines(report: BiasReport) -> list[str]:
    """One line per axis that samples mention, most mentioned first: its display name, mentions, drop
    rate, and the kept samples whose mentions each method found (lexicon, name, model)."""
    axes = sorted((a for a in report.axes if a.counts.total), key=lambda a: (-a.counts.total, a.display))
    if not axes:
        return ["no sample mentions an identity axis"]
    width = max(len(a.display) for a in axes)
    lines = ["identity axes (mentions; drop rate; kept samples by how their mentions were found):"]
    for a in axes:
        found = ", ".join(f"{e.method} {e.counts.keep:,}" for e in a.evidence) or "no evidence annotations"
        flag = "  FLAGGED" if a.flagged else ""
        lines.append(
            f"  {a.display:<{width}}  {a.counts.total:>7,}  {a.drop_rate or 0.0:6.1%}  {found}{flag}"
        )
    return lines
