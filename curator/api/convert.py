"""proto ↔ domain translation. Pure functions, no logic beyond mapping."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from curator.bias.audit import AxisStat, BiasReport, EvidenceStat, GroupStat, OccupationRow, TermStat
from curator.domain.decision import Action, Annotation, Decision, Reason, Verdict
from curator.domain.evalset import ContaminationFinding, EvalItem, EvalSetInfo
from curator.domain.policy import DedupKey, Policy, PolicyPatch
from curator.domain.reasons import ReasonCode
from curator.domain.review import Review, ReviewAction, ReviewState, parse_decision_id
from curator.domain.sample import ContentShape, Message, Sample
from curator.domain.validation import Limits, SampleInput
from curator.errors import FieldViolation, InvalidArgument
from curator.monitor.collapse import DiversityWindow
from curator.monitor.coverage import CoverageReport, MixRow, ReferenceWindow, Region
from curator.service import CollectionInfo, DecisionPage, ServerInfo
from curator.state.store import DecisionQuery, DecisionRecord, ReviewCounts, Stats, StatsQuery, VerdictCounts
from curator.v1 import curator_service_pb2 as pb

_VERDICT = {Verdict.KEEP: pb.KEEP, Verdict.DROP: pb.DROP, Verdict.REVIEW: pb.REVIEW}
_ACTION = {Action.DROP: pb.ACTION_DROP, Action.REVIEW: pb.ACTION_REVIEW, Action.FLAG: pb.ACTION_FLAG}
_ACTION_IN = {v: k for k, v in _ACTION.items()}
_VERDICT_BACK = {v: k for k, v in _VERDICT.items()}
_DEDUP_KEY = {
    DedupKey.SAMPLE: pb.DEDUP_KEY_SAMPLE,
    DedupKey.PROMPT: pb.DEDUP_KEY_PROMPT,
    DedupKey.RESPONSE: pb.DEDUP_KEY_RESPONSE,
}
_DEDUP_KEY_IN = {v: k for k, v in _DEDUP_KEY.items()}
_REVIEW_STATE = {
    ReviewState.PENDING: pb.REVIEW_STATE_PENDING,
    ReviewState.APPROVED: pb.REVIEW_STATE_APPROVED,
    ReviewState.REJECTED: pb.REVIEW_STATE_REJECTED,
}
_REVIEW_STATE_IN = {v: k for k, v in _REVIEW_STATE.items()}
_REVIEW_ACTION = {
    ReviewAction.APPROVE: pb.REVIEW_ACTION_APPROVE,
    ReviewAction.REJECT: pb.REVIEW_ACTION_REJECT,
}
_REVIEW_ACTION_IN = {v: k for k, v in _REVIEW_ACTION.items()}


def sample_input(s: pb.Sample) -> SampleInput:
    return SampleInput(
        id=s.id,
        text=s.text if s.HasField("text") else None,
        instruction=s.instruction if s.HasField("instruction") else None,
        input=s.input if s.HasField("input") else None,
        output=s.output if s.HasField("output") else None,
        messages=[(m.role, m.content) for m in s.messages] or None,
        context=list(s.context),
        metadata=dict(s.metadata),
    )


def decision(d: Decision) -> pb.Decision:
    return pb.Decision(
        sample_id=d.sample_id,
        verdict=_VERDICT[d.verdict],
        reasons=[
            pb.Reason(
                code=r.code,
                check=r.check,
                message=r.message,
                score=r.score,
                threshold=r.threshold,
                matched_id=r.matched_id,
                action=_ACTION[r.action],
            )
            for r in d.reasons
        ],
        scores=d.scores,
        policy_version=d.policy_version,
        annotations=[annotation(a) for a in d.annotations],
    )


def annotation(a: Annotation) -> pb.Annotation:
    out = pb.Annotation(check=a.check, kind=a.kind, subject=a.subject, label=a.label, attributes=a.attributes)
    if a.span is not None:
        out.start, out.end = a.span
    return out


def annotation_in(a: pb.Annotation) -> Annotation:
    span = (a.start, a.end) if a.HasField("start") and a.HasField("end") else None
    return Annotation(a.check, a.kind, a.subject, a.label, span, dict(a.attributes))


def policy_values(p: pb.Policy, path: str = "policy") -> dict[str, Any]:
    """The fields of ``p`` that are set, shaped like the policy's JSON (what a partial update changes).

    Unknown enum values are refused rather than read as defaults."""
    violations: list[FieldViolation] = []
    out: dict[str, Any] = {}
    if p.dedup_key != pb.DEDUP_KEY_UNSPECIFIED:
        if p.dedup_key in _DEDUP_KEY_IN:
            out["dedup_key"] = str(_DEDUP_KEY_IN[p.dedup_key])
        else:
            violations.append(FieldViolation(f"{path}.dedup_key", _unknown_enum(p.dedup_key, pb.DedupKey)))
    checks: dict[str, Any] = {}
    for name, cp in p.checks.items():
        check: dict[str, Any] = {}
        if cp.HasField("enabled"):
            check["enabled"] = cp.enabled
        rules: dict[str, Any] = {}
        for code, r in cp.rules.items():
            rule: dict[str, Any] = {}
            if r.HasField("threshold"):
                rule["threshold"] = r.threshold
            if r.action != pb.ACTION_UNSPECIFIED:
                if r.action in _ACTION_IN:
                    rule["action"] = str(_ACTION_IN[r.action])
                else:
                    where = f"{path}.checks[{name}].rules[{code}].action"
                    violations.append(FieldViolation(where, _unknown_enum(r.action, pb.Action)))
            if r.HasField("review_threshold"):
                rule["review_threshold"] = r.review_threshold
            rules[code] = rule
        if rules:
            check["rules"] = rules
        if cp.params:
            check["params"] = dict(cp.params)
        checks[name] = check
    if checks:
        out["checks"] = checks
    if violations:
        raise InvalidArgument(violations)
    return out


def _unknown_enum(value: int, enum: Any) -> str:
    known = [n for n in enum.keys() if not n.endswith("_UNSPECIFIED")]  # noqa: SIM118 (protobuf enum wrapper)
    return f"unknown value {value}: use one of {known}"


def policy_in(p: pb.Policy) -> Policy:
    """Unset fields and absent checks mean "default"; the service fills them in."""
    return Policy.model_validate(policy_values(p))


def policy_patch_in(r: pb.UpdatePolicyRequest) -> PolicyPatch:
    """An UpdatePolicy request as a patch: the mask's paths, or (no mask) every field that is set."""
    paths = tuple(r.update_mask.paths) if r.HasField("update_mask") and r.update_mask.paths else None
    return PolicyPatch(policy_values(r.policy), paths)


def policy_out(p: Policy) -> pb.Policy:
    out = pb.Policy(dedup_key=_DEDUP_KEY[p.dedup_key])
    for name, cp in p.checks.items():
        target = out.checks[name]
        target.enabled = cp.enabled
        target.params.update(cp.params)
        for code, r in cp.rules.items():
            rule = target.rules[code]
            if r.threshold is not None:
                rule.threshold = r.threshold
            if r.action is not None:
                rule.action = _ACTION[r.action]
            if r.review_threshold is not None:
                rule.review_threshold = r.review_threshold
    return out


def policy_values_out(values: dict[str, Any]) -> pb.Policy:
    """A policy's JSON-shaped fields as a pb.Policy that sets those fields and no others."""
    checked = Policy.model_validate(values)  # types and enum names, before anything is sent
    out = pb.Policy()
    if "dedup_key" in values:
        out.dedup_key = _DEDUP_KEY[checked.dedup_key]
    for name, given in values.get("checks", {}).items():
        target = out.checks[name]
        cp = checked.checks[name]
        if "enabled" in given:
            target.enabled = cp.enabled
        target.params.update(cp.params)
        for code, rule_given in given.get("rules", {}).items():
            rule, chosen = target.rules[code], cp.rules[code]
            if "threshold" in rule_given and chosen.threshold is not None:
                rule.threshold = chosen.threshold
            if "action" in rule_given and chosen.action is not None:
                rule.action = _ACTION[chosen.action]
            if "review_threshold" in rule_given and chosen.review_threshold is not None:
                rule.review_threshold = chosen.review_threshold
    return out


def collection(c: CollectionInfo) -> pb.Collection:
    return pb.Collection(
        name=c.name,
        policy=policy_out(c.policy),
        policy_version=c.policy_version,
        create_time=timestamp(c.created_at),
        kept_count=c.kept_count,
    )


def timestamp(dt: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt if dt.tzinfo else dt.replace(tzinfo=UTC))
    return ts


def time_in(message: Any, name: str) -> datetime | None:
    """A Timestamp field as a datetime, None when unset; out-of-range seconds or nanos are invalid."""
    if not message.HasField(name):
        return None
    ts = getattr(message, name)
    try:
        return ts.ToDatetime(UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument(
            FieldViolation(
                name,
                f"{name} is not a valid time (seconds {ts.seconds}, nanos {ts.nanos}): seconds must be "
                "within years 1-9999 and nanos in [0, 999999999]",
            )
        ) from None


def stats_query(r: pb.GetStatsRequest) -> StatsQuery:
    return StatsQuery(
        collection=r.collection or None,
        start=time_in(r, "start_time"),
        end=time_in(r, "end_time"),
        bucket_seconds=r.bucket_seconds or 3600,
        group_by=r.group_by or None,
    )


def _counts(c: VerdictCounts) -> pb.VerdictCounts:
    return pb.VerdictCounts(keep=c.keep, drop=c.drop, review=c.review, total=c.total)


def stats(s: Stats) -> pb.GetStatsResponse:
    return pb.GetStatsResponse(
        totals=_counts(s.totals),
        by_reason=s.by_reason,
        by_check=s.by_check,
        by_group=[pb.GroupCounts(key=k, counts=_counts(v)) for k, v in sorted(s.by_group.items())],
        series=[pb.TimeBucket(start_time=timestamp(t), counts=_counts(c)) for t, c in s.series],
        bucket_seconds=s.bucket_seconds,
        reviews=pb.ReviewCounts(
            pending=s.reviews.pending, approved=s.reviews.approved, rejected=s.reviews.rejected
        ),
        diversity=[
            pb.DiversityWindow(
                start_time=timestamp(w.start),
                group=w.group,
                kept=w.kept,
                mean_nn_distance=w.mean_nn_distance,
                cluster_entropy=w.cluster_entropy,
                distinct_3=w.distinct_3,
                collapsed=list(w.collapsed),
            )
            for w in s.diversity
        ],
    )


def decision_query(r: pb.ListDecisionsRequest) -> tuple[DecisionQuery, str]:
    violations = []
    verdict = None
    if r.verdict != pb.VERDICT_UNSPECIFIED:
        verdict = _VERDICT_BACK.get(r.verdict)
        if verdict is None:
            violations.append(FieldViolation("verdict", f"unknown verdict {r.verdict}"))
    review_state = None
    if r.review_state != pb.REVIEW_STATE_UNSPECIFIED:
        review_state = _REVIEW_STATE_IN.get(r.review_state)
        if review_state is None:
            violations.append(FieldViolation("review_state", f"unknown review_state {r.review_state}"))
    if violations:
        raise InvalidArgument(violations)
    query = DecisionQuery(
        collection=r.collection or None,
        verdict=verdict,
        reason=r.reason or None,
        check=r.check or None,
        metadata_key=r.metadata_key or None,
        metadata_value=r.metadata_value if r.HasField("metadata_value") else None,
        review_state=review_state,
        sample_id=r.sample_id or None,
        start=time_in(r, "start_time"),
        end=time_in(r, "end_time"),
        limit=r.page_size,
    )
    return query, r.page_token


def review_request(r: pb.ReviewDecisionRequest) -> tuple[int, ReviewAction]:
    violations = []
    decision_id = parse_decision_id(r.decision_id)
    if decision_id is None:
        violations.append(
            FieldViolation("decision_id", "decision_id must be the id ListDecisions returned, e.g. '42'")
        )
    action = _REVIEW_ACTION_IN.get(r.action)
    if action is None:
        violations.append(
            FieldViolation("action", "action must be REVIEW_ACTION_APPROVE or REVIEW_ACTION_REJECT")
        )
    if violations:
        raise InvalidArgument(violations)
    assert action is not None and decision_id is not None
    return decision_id, action


# ---------------------------------------------------------------- domain -> proto


def sample(s: Sample) -> pb.Sample:
    out = pb.Sample(id=s.id, context=list(s.context), metadata=dict(s.metadata))
    if s.shape is ContentShape.TEXT:
        out.text = s.text
    elif s.shape is ContentShape.ALPACA:
        out.instruction, out.input, out.output = s.instruction, s.input, s.output
    else:
        for m in s.messages:
            out.messages.add(role=m.role, content=m.content)
    return out


def review(r: Review) -> pb.Review:
    return pb.Review(
        action=_REVIEW_ACTION[r.action],
        reviewer=r.reviewer,
        note=r.note,
        review_time=timestamp(r.reviewed_at),
    )


def logged_decision(rec: DecisionRecord) -> pb.LoggedDecision:
    out = pb.LoggedDecision(
        decision_id=str(rec.id),
        collection=rec.collection,
        decide_time=timestamp(rec.decided_at),
        decision=decision(rec.decision),
        review_state=_REVIEW_STATE[rec.review_state] if rec.review_state else pb.REVIEW_STATE_UNSPECIFIED,
    )
    if rec.sample is not None:
        out.sample.CopyFrom(sample(rec.sample))
    if rec.review is not None:
        out.review.CopyFrom(review(rec.review))
    return out


def decision_page(page: DecisionPage) -> pb.ListDecisionsResponse:
    return pb.ListDecisionsResponse(
        decisions=[logged_decision(rec) for rec in page.decisions],
        matched=[
            pb.MatchedSample(collection=collection, sample=sample(s))
            for (collection, _), s in sorted(page.matched.items())
        ],
        next_page_token=page.next_page_token,
    )


def sample_out(s: SampleInput) -> pb.Sample:
    out = pb.Sample(id=s.id, context=list(s.context), metadata=dict(s.metadata))
    for name in ("text", "instruction", "input", "output"):
        value = getattr(s, name)
        if value is not None:
            setattr(out, name, value)
    for role, content in s.messages or ():
        out.messages.add(role=role, content=content)
    return out


def filter_request(
    collection: str, samples: Sequence[SampleInput], dry_run: bool, score_all: bool
) -> pb.FilterRequest:
    return pb.FilterRequest(
        collection=collection, samples=[sample_out(s) for s in samples], dry_run=dry_run, score_all=score_all
    )


def stats_request(q: StatsQuery) -> pb.GetStatsRequest:
    request = pb.GetStatsRequest(
        collection=q.collection or "", bucket_seconds=q.bucket_seconds, group_by=q.group_by or ""
    )
    if q.start is not None:
        request.start_time.CopyFrom(timestamp(q.start))
    if q.end is not None:
        request.end_time.CopyFrom(timestamp(q.end))
    return request


def decision_query_request(q: DecisionQuery, page_token: str) -> pb.ListDecisionsRequest:
    request = pb.ListDecisionsRequest(
        collection=q.collection or "",
        verdict=_VERDICT[q.verdict] if q.verdict else pb.VERDICT_UNSPECIFIED,
        reason=q.reason or "",
        check=q.check or "",
        metadata_key=q.metadata_key or "",
        review_state=_REVIEW_STATE[q.review_state] if q.review_state else pb.REVIEW_STATE_UNSPECIFIED,
        sample_id=q.sample_id or "",
        page_size=q.limit,
        page_token=page_token,
    )
    if q.metadata_value is not None:
        request.metadata_value = q.metadata_value
    if q.start is not None:
        request.start_time.CopyFrom(timestamp(q.start))
    if q.end is not None:
        request.end_time.CopyFrom(timestamp(q.end))
    return request


def review_decision_request(
    decision_id: int, action: ReviewAction, reviewer: str, note: str
) -> pb.ReviewDecisionRequest:
    return pb.ReviewDecisionRequest(
        decision_id=str(decision_id), action=_REVIEW_ACTION[action], reviewer=reviewer, note=note
    )


# ---------------------------------------------------------------- proto -> domain


def sample_in(s: pb.Sample) -> Sample:
    """A logged sample back as the domain object (it was validated when it was filtered)."""
    if s.messages:
        shape, messages = ContentShape.CHAT, tuple(Message(m.role, m.content) for m in s.messages)
    else:
        shape, messages = (ContentShape.TEXT if s.HasField("text") else ContentShape.ALPACA), ()
    return Sample(
        id=s.id,
        shape=shape,
        text=s.text,
        instruction=s.instruction,
        input=s.input,
        output=s.output,
        messages=messages,
        context=tuple(s.context),
        metadata=dict(s.metadata),
    )


def logged_decision_in(d: pb.LoggedDecision) -> DecisionRecord:
    review_ = None
    if d.HasField("review"):
        review_ = Review(
            _REVIEW_ACTION_IN[d.review.action],
            d.review.reviewer,
            d.review.review_time.ToDatetime(UTC),
            d.review.note,
        )
    return DecisionRecord(
        id=int(d.decision_id),
        collection=d.collection,
        decided_at=d.decide_time.ToDatetime(UTC),
        decision=decision_in(d.decision),
        metadata=dict(d.sample.metadata),
        sample=sample_in(d.sample) if d.HasField("sample") else None,
        review_state=_REVIEW_STATE_IN.get(d.review_state),
        review=review_,
    )


def decision_page_in(r: pb.ListDecisionsResponse) -> DecisionPage:
    return DecisionPage(
        decisions=[logged_decision_in(d) for d in r.decisions],
        matched={(m.collection, m.sample.id): sample_in(m.sample) for m in r.matched},
        next_page_token=r.next_page_token,
    )


def reason_code(code: str) -> ReasonCode:
    """A known code as the enum; a code newer than this client passes through as its string."""
    try:
        return ReasonCode(code)
    except ValueError:
        return code  # type: ignore[return-value]


def decision_in(d: pb.Decision) -> Decision:
    return Decision(
        sample_id=d.sample_id,
        verdict=_VERDICT_BACK[d.verdict],
        reasons=[
            Reason(
                code=reason_code(r.code),
                check=r.check,
                message=r.message,
                score=r.score,
                threshold=r.threshold,
                action=_ACTION_IN.get(r.action, Action.DROP),
                matched_id=r.matched_id,
            )
            for r in d.reasons
        ],
        scores=dict(d.scores),
        policy_version=d.policy_version,
        annotations=[annotation_in(a) for a in d.annotations],
    )


def counts_in(c: pb.VerdictCounts) -> VerdictCounts:
    return VerdictCounts(keep=c.keep, drop=c.drop, review=c.review)


def stats_in(s: pb.GetStatsResponse) -> Stats:
    return Stats(
        totals=counts_in(s.totals),
        by_reason=dict(s.by_reason),
        by_check=dict(s.by_check),
        by_group={g.key: counts_in(g.counts) for g in s.by_group},
        series=[(b.start_time.ToDatetime(UTC), counts_in(b.counts)) for b in s.series],
        bucket_seconds=s.bucket_seconds,
        reviews=ReviewCounts(s.reviews.pending, s.reviews.approved, s.reviews.rejected),
        diversity=[
            DiversityWindow(
                start=w.start_time.ToDatetime(UTC),
                group=w.group,
                kept=w.kept,
                mean_nn_distance=w.mean_nn_distance if w.HasField("mean_nn_distance") else None,
                cluster_entropy=w.cluster_entropy if w.HasField("cluster_entropy") else None,
                distinct_3=w.distinct_3 if w.HasField("distinct_3") else None,
                collapsed=tuple(w.collapsed),
            )
            for w in s.diversity
        ],
    )


def collection_in(c: pb.Collection) -> CollectionInfo:
    return CollectionInfo(
        name=c.name,
        policy=policy_in(c.policy),
        policy_version=c.policy_version,
        created_at=c.create_time.ToDatetime(UTC),
        kept_count=c.kept_count,
    )


# ---------------------------------------------------------------- bias report


def bias_report_query(r: pb.GetBiasReportRequest) -> StatsQuery:
    return StatsQuery(
        collection=r.collection or None, start=time_in(r, "start_time"), end=time_in(r, "end_time")
    )


def bias_report_request(q: StatsQuery) -> pb.GetBiasReportRequest:
    request = pb.GetBiasReportRequest(collection=q.collection or "")
    if q.start is not None:
        request.start_time.CopyFrom(timestamp(q.start))
    if q.end is not None:
        request.end_time.CopyFrom(timestamp(q.end))
    return request


def _terms(rows: Sequence[TermStat]) -> list[pb.BiasTermCount]:
    return [pb.BiasTermCount(subject=t.subject, label=t.label, counts=_counts(t.counts)) for t in rows]


def _terms_in(rows: Sequence[pb.BiasTermCount]) -> list[TermStat]:
    return [TermStat(t.subject, t.label, counts_in(t.counts)) for t in rows]


def bias_report(r: BiasReport) -> pb.BiasReport:
    return pb.BiasReport(
        source=r.source,
        lexicon_version=r.lexicon_version,
        totals=_counts(r.totals),
        overall_drop_rate=r.overall_drop_rate,
        drop_factor=r.drop_factor,
        min_count=r.min_count,
        axes=[
            pb.BiasAxis(
                axis=a.axis,
                counts=_counts(a.counts),
                groups=[
                    pb.BiasGroup(
                        group=g.group,
                        counts=_counts(g.counts),
                        share=g.share,
                        reference=g.reference,
                        drop_rate=g.drop_rate,
                        disproportionate_drop=g.flagged,
                        drop_rate_lower=g.drop_rate_lower,
                    )
                    for g in a.groups
                ],
                total_variation=a.total_variation,
                js_divergence=a.js_divergence,
                drop_rate=a.drop_rate,
                disproportionate_drop=a.flagged,
                drop_rate_lower=a.drop_rate_lower,
                label=a.display,
                evidence=[pb.BiasEvidence(method=e.method, counts=_counts(e.counts)) for e in a.evidence],
            )
            for a in r.axes
        ],
        gender_terms=_terms(r.gender_terms),
        occupations=[
            pb.OccupationGender(
                occupation=o.occupation,
                stereotype=o.stereotype,
                male=o.male,
                female=o.female,
                neutral=o.neutral,
            )
            for o in r.occupations
        ],
        stereotypes=_terms(r.stereotypes),
        toxic=_terms(r.toxic),
        flags=list(r.flags),
        min_drops=r.min_drops,
    )


def _optional(message: object, name: str) -> float | None:
    return getattr(message, name) if message.HasField(name) else None  # type: ignore[attr-defined]


def bias_report_in(r: pb.BiasReport) -> BiasReport:
    return BiasReport(
        source=r.source,
        lexicon_version=r.lexicon_version,
        totals=counts_in(r.totals),
        overall_drop_rate=r.overall_drop_rate,
        drop_factor=r.drop_factor,
        min_count=r.min_count,
        axes=[
            AxisStat(
                axis=a.axis,
                counts=counts_in(a.counts),
                groups=[
                    GroupStat(
                        group=g.group,
                        counts=counts_in(g.counts),
                        share=g.share,
                        reference=g.reference,
                        drop_rate=_optional(g, "drop_rate"),
                        flagged=g.disproportionate_drop,
                        drop_rate_lower=_optional(g, "drop_rate_lower"),
                    )
                    for g in a.groups
                ],
                total_variation=_optional(a, "total_variation"),
                js_divergence=_optional(a, "js_divergence"),
                drop_rate=_optional(a, "drop_rate"),
                flagged=a.disproportionate_drop,
                drop_rate_lower=_optional(a, "drop_rate_lower"),
                label=a.label,
                evidence=[EvidenceStat(e.method, counts_in(e.counts)) for e in a.evidence],
            )
            for a in r.axes
        ],
        gender_terms=_terms_in(r.gender_terms),
        occupations=[
            OccupationRow(o.occupation, o.stereotype, o.male, o.female, o.neutral) for o in r.occupations
        ],
        stereotypes=_terms_in(r.stereotypes),
        toxic=_terms_in(r.toxic),
        flags=list(r.flags),
        min_drops=r.min_drops,
    )


# ---------------------------------------------------------------- eval sets


def eval_items_in(items: Sequence[pb.EvalItem]) -> list[EvalItem]:
    return [EvalItem(id=i.id, text=i.text) for i in items]


def eval_set(info: EvalSetInfo) -> pb.EvalSet:
    return pb.EvalSet(
        name=info.name, items=info.items, create_time=timestamp(info.created_at), source=info.source
    )


def eval_set_in(e: pb.EvalSet) -> EvalSetInfo:
    return EvalSetInfo(name=e.name, items=e.items, created_at=e.create_time.ToDatetime(UTC), source=e.source)


def add_eval_set_request(name: str, items: Sequence[EvalItem], source: str) -> pb.AddEvalSetRequest:
    return pb.AddEvalSetRequest(
        name=name, items=[pb.EvalItem(id=i.id, text=i.text) for i in items], source=source
    )


def contamination_finding(f: ContaminationFinding) -> pb.ContaminationFinding:
    return pb.ContaminationFinding(
        collection=f.collection,
        sample_id=f.sample_id,
        code=f.code,
        eval_set=f.eval_set,
        item_id=f.item_id,
        score=f.score,
        detail=f.detail,
    )


def contamination_finding_in(f: pb.ContaminationFinding) -> ContaminationFinding:
    return ContaminationFinding(
        collection=f.collection,
        sample_id=f.sample_id,
        code=reason_code(f.code),
        eval_set=f.eval_set,
        item_id=f.item_id,
        score=f.score,
        detail=f.detail,
    )


# ---------------------------------------------------------------- real-data reference and coverage


def add_reference_request(collection: str, items: Sequence[EvalItem]) -> pb.AddReferenceRequest:
    return pb.AddReferenceRequest(
        collection=collection, items=[pb.EvalItem(id=i.id, text=i.text) for i in items]
    )


def report_query(r: pb.GetReportRequest) -> dict[str, Any]:
    """Curator.report's keyword arguments; a field left empty (or 0) takes the method's default."""
    out: dict[str, Any] = {}
    if r.group_by:
        out["group_by"] = r.group_by
    if r.k:
        out["k"] = r.k
    if r.clusters:
        out["clusters"] = r.clusters
    return out


def report_request(collection: str, group_by: str, k: int, clusters: int) -> pb.GetReportRequest:
    return pb.GetReportRequest(collection=collection, group_by=group_by, k=k, clusters=clusters)


def coverage_report(r: CoverageReport) -> pb.CoverageReport:
    return pb.CoverageReport(
        collection=r.collection,
        reference_items=r.reference_items,
        synthetic_kept=r.synthetic_kept,
        k=r.k,
        precision=r.precision,
        recall=r.recall,
        regions=[
            pb.CoverageRegion(
                cluster=g.cluster,
                real_share=g.real_share,
                synthetic_share=g.synthetic_share,
                status=g.status,
                examples=list(g.examples),
            )
            for g in r.regions
        ],
        mix_key=r.mix_key,
        mix=[pb.CoverageMix(value=m.value, kept=m.kept, share=m.share) for m in r.mix],
        reference_metrics=r.reference_metrics,
        synthetic_metrics=r.synthetic_metrics,
        sampled=r.sampled,
        windows=[
            pb.ReferenceWindow(
                start_time=timestamp(w.start),
                kept=w.kept,
                window=w.window,
                reference=w.reference,
                below=list(w.below),
            )
            for w in r.windows
        ],
    )


def coverage_report_in(r: pb.CoverageReport) -> CoverageReport:
    return CoverageReport(
        collection=r.collection,
        reference_items=r.reference_items,
        synthetic_kept=r.synthetic_kept,
        k=r.k,
        precision=_optional(r, "precision"),
        recall=_optional(r, "recall"),
        regions=[
            Region(g.cluster, g.real_share, g.synthetic_share, g.status, tuple(g.examples)) for g in r.regions
        ],
        mix_key=r.mix_key,
        mix=[MixRow(m.value, m.kept, m.share) for m in r.mix],
        reference_metrics=dict(r.reference_metrics),
        synthetic_metrics=dict(r.synthetic_metrics),
        sampled=r.sampled,
        windows=[
            ReferenceWindow(
                start=w.start_time.ToDatetime(UTC),
                kept=w.kept,
                window=dict(w.window),
                reference=dict(w.reference),
                below=tuple(w.below),
            )
            for w in r.windows
        ],
    )


# ---------------------------------------------------------------- server info


def server_info(info: ServerInfo) -> pb.ServerInfo:
    return pb.ServerInfo(version=info.version, limits=pb.Limits(**dataclasses.asdict(info.limits)))


def server_info_in(info: pb.ServerInfo) -> ServerInfo:
    limits = {f.name: getattr(info.limits, f.name) for f in dataclasses.fields(Limits)}
    return ServerInfo(info.version, Limits(**limits))
