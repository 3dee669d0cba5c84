"""Plain domain types shared by the pipeline, the stores, the API and the CLI."""

from curator.domain.decision import Action, Annotation, CheckResult, Decision, Evidence, Reason, Verdict
from curator.domain.policy import CheckPolicy, DedupKey, Policy, RulePolicy
from curator.domain.reasons import ReasonCode
from curator.domain.sample import ContentShape, Message, Sample

__all__ = [
    "Action",
    "Annotation",
    "CheckPolicy",
    "CheckResult",
    "ContentShape",
    "Decision",
    "DedupKey",
    "Evidence",
    "Message",
    "Policy",
    "Reason",
    "ReasonCode",
    "RulePolicy",
    "Sample",
    "Verdict",
]
