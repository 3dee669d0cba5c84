"""The closed vocabulary of reason codes. docs/reason-codes.md documents each one.

A code names *what* was found; the policy decides whether it drops, sends to
review or only flags the sample. Add a code here, document it, and register the
check that raises it; tests keep this list and the docs in step.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    EMPTY = "EMPTY"
    EXACT_DUPLICATE = "EXACT_DUPLICATE"
    NEAR_DUPLICATE = "NEAR_DUPLICATE"
    SEMANTIC_DUPLICATE = "SEMANTIC_DUPLICATE"
    TOXIC_LANGUAGE = "TOXIC_LANGUAGE"
    STEREOTYPE_ASSOCIATION = "STEREOTYPE_ASSOCIATION"


DESCRIPTIONS: dict[ReasonCode, str] = {
    ReasonCode.EMPTY: "The sample's content is empty after normalisation (whitespace only).",
    ReasonCode.EXACT_DUPLICATE: (
        "After normalisation (NFKC, case folding, whitespace folding), the dedup key text equals"
        " that of a sample already kept in the collection; matched_id names it."
    ),
    ReasonCode.NEAR_DUPLICATE: (
        "The MinHash estimate of word-shingle Jaccard similarity to a kept sample is at or above"
        " the threshold; score is the estimate, matched_id the closest kept sample."
    ),
    ReasonCode.SEMANTIC_DUPLICATE: (
        "The cosine similarity of the sample's embedding (all-MiniLM-L6-v2) to a kept sample's is at or"
        " above the threshold (default 0.95; REVIEW from 0.90); matched_id names the closest kept sample."
    ),
    ReasonCode.TOXIC_LANGUAGE: (
        "The sample contains a slur from the bias lexicon, or dehumanising language about a group"
        " (a dehumanising term within a few words of a group reference); the message says which, never"
        " quoting a slur. Naming a group alone is never toxic."
    ),
    ReasonCode.STEREOTYPE_ASSOCIATION: (
        "A group reference (e.g. 'women', 'Muslims') occurs within the stereotype window of a curated"
        " stereotyped trait in the same sentence (e.g. 'too emotional'); the message names the pair."
    ),
}
