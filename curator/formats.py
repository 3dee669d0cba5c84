"""JSON shapes of domain objects, shared by the CLI's output files and the dashboard's JSON API.

One definition each, so that a decision line written by ``curator filter``,
``curator decisions --json`` and ``GET /api/decisions`` read the same.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from curator.domain.decision import Annotation, Decision
from curator.domain.review import Review
from curator.domain.sample import ContentShape, Sample
from curator.monitor.collapse import DiversityWindow
from curator.monitor.coverage import CoverageReport
from curator.state.store import DecisionRecord


def annotation_json(a: Annotation) -> dict[str, Any]:
    """``{"check", "kind", <attributes>..., "span": [start, end]}``; span into the sample's full text."""
    out: dict[str, Any] = {"check": a.check, "kind": a.kind, **a.attributes}
    if a.span is not None:
        out["span"] = list(a.span)
    return out


def decision_json(d: Decision) -> dict[str, Any]:
    """The decision line format of ``curator filter --decisions`` ("annotations" only when there are some)."""
    line = {
        "id": d.sample_id,
        "verdict": str(d.verdict),
        "reasons": [
            {
                "code": str(r.code),
                "check": r.check,
                "message": r.message,
                "score": r.score,
                "threshold": r.threshold,
                "matched_id": r.matched_id,
                "action": str(r.action),
            }
            for r in d.reasons
        ],
        "scores": dict(sorted(d.scores.items())),
        "policy_version": d.policy_version,
    }
    if d.annotations:
        line["annotations"] = [annotation_json(a) for a in d.annotations]
    return line


def sample_json(s: Sample) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "shape": str(s.shape)}
    if s.shape is ContentShape.TEXT:
        out["text"] = s.text
    elif s.shape is ContentShape.ALPACA:
        out.update(instruction=s.instruction, input=s.input, output=s.output)
    else:
        out["messages"] = [{"role": m.role, "content": m.content} for m in s.messages]
    if s.context:
        out["context"] = list(s.context)
    out["metadata"] = dict(s.metadata)
    return out


def review_json(r: Review | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "action": str(r.action),
        "reviewer": r.reviewer,
        "note": r.note,
        "reviewed_at": r.reviewed_at.isoformat(),
    }


def record_json(rec: DecisionRecord, matched: dict[str, Sample]) -> dict[str, Any]:
    """A logged decision, its sample, its review, and the kept samples its reasons matched."""
    decision = decision_json(rec.decision)
    decision.pop("id")
    return {
        "decision_id": str(rec.id),
        "collection": rec.collection,
        "decided_at": rec.decided_at.isoformat(),
        "sample_id": rec.decision.sample_id,
        **decision,
        "annotations": decision.get("annotations", []),
        "metadata": rec.metadata,
        "sample": None if rec.sample is None else sample_json(rec.sample),
        "review_state": None if rec.review_state is None else str(rec.review_state),
        "review": review_json(rec.review),
        "matched": {
            r.matched_id: sample_json(matched[r.matched_id])
            for r in rec.decision.reasons
            if r.matched_id and r.matched_id in matched
        },
    }


def diversity_json(w: DiversityWindow) -> dict[str, Any]:
    """One collapse-monitor window (``curator stats --json`` and ``GET /api/stats``)."""
    return {
        "start": w.start.astimezone(UTC).isoformat(),
        "group": w.group,
        "kept": w.kept,
        "mean_nn_distance": w.mean_nn_distance,
        "cluster_entropy": w.cluster_entropy,
        "distinct_3": w.distinct_3,
        "collapsed": list(w.collapsed),
    }


def coverage_report_json(r: CoverageReport) -> dict[str, Any]:
    """A coverage report (``curator report --json`` and ``GET /api/collections/{name}/report``); precision
    and recall are null when either side has k items or fewer. ``windows``: the collapse monitor's
    windows, oldest first, each metric of the window beside the reference's, ``below`` naming those
    more than the monitor's max_drop under it."""
    return {
        "collection": r.collection,
        "reference_items": r.reference_items,
        "synthetic_kept": r.synthetic_kept,
        "k": r.k,
        "precision": r.precision,
        "recall": r.recall,
        "sampled": r.sampled,
        "mix_key": r.mix_key,
        "mix": [{"value": m.value, "kept": m.kept, "share": m.share} for m in r.mix],
        "reference_metrics": dict(sorted(r.reference_metrics.items())),
        "synthetic_metrics": dict(sorted(r.synthetic_metrics.items())),
        "regions": [
            {
                "cluster": g.cluster,
                "status": g.status,
                "real_share": g.real_share,
                "synthetic_share": g.synthetic_share,
                "examples": list(g.examples),
            }
            for g in r.regions
        ],
        "windows": [
            {
                "start": w.start.astimezone(UTC).isoformat(),
                "kept": w.kept,
                "window": dict(sorted(w.window.items())),
                "reference": dict(sorted(w.reference.items())),
                "below": list(w.below),
            }
            for w in r.windows
        ],
    }
