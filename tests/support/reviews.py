"""A collection policy and texts that produce every verdict, for the decision-log and review tests."""

from __future__ import annotations

from curator.domain.decision import Action
from curator.domain.policy import CheckPolicy, Policy, RulePolicy
from curator.domain.validation import SampleInput

# Word 3-gram Jaccard of BASE and VARIANT is about 0.6: inside the near-duplicate REVIEW band below.
BASE = (
    "The river city grew around a wooden bridge that merchants crossed every morning with carts "
    "of grain, wool and salted fish, and by the third century its market had become the largest "
    "in the valley, drawing traders from the coast and the northern hills alike."
)
VARIANT = BASE.replace("wooden", "stone").replace("grain", "barley").replace("largest", "busiest")
OTHER = (
    "Photosynthesis converts light energy into chemical energy: chlorophyll absorbs photons, water "
    "is split, oxygen is released, and the Calvin cycle fixes carbon dioxide into sugars."
)


def review_policy() -> Policy:
    """Near-duplicates between Jaccard 0.5 and 0.95 go to REVIEW; exact duplicates are dropped."""
    return Policy(
        checks={
            "near_duplicate": CheckPolicy(
                rules={
                    "NEAR_DUPLICATE": RulePolicy(threshold=0.95, action=Action.DROP, review_threshold=0.5)
                },
                params={"lsh_threshold": 0.5},
            ),
            "semantic": CheckPolicy(enabled=False),
        }
    )


def sample(sample_id: str, text: str, **metadata: str) -> SampleInput:
    return SampleInput(id=sample_id, text=text, metadata=metadata)
