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
    # quality and hallucination (curator/checks/quality.py)
    EMPTY_RESPONSE = "EMPTY_RESPONSE"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    REFUSAL = "REFUSAL"
    TRUNCATED = "TRUNCATED"
    REPETITION = "REPETITION"
    PLACEHOLDER = "PLACEHOLDER"
    UNREACHABLE_REFERENCE = "UNREACHABLE_REFERENCE"
    LANGUAGE_MISMATCH = "LANGUAGE_MISMATCH"
    ARITHMETIC_ERROR = "ARITHMETIC_ERROR"
    UNSUPPORTED_CLAIM = "UNSUPPORTED_CLAIM"
    HALLUCINATION = "HALLUCINATION"
    LOW_QUALITY = "LOW_QUALITY"
    # gold eval sets (curator/checks/decontamination.py)
    EVAL_CONTAMINATION = "EVAL_CONTAMINATION"
    EVAL_PARAPHRASE = "EVAL_PARAPHRASE"
    # about the sample's id in its collection, raised by the pipeline and the service, not by a check
    ALREADY_KEPT = "ALREADY_KEPT"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    ID_CONFLICT = "ID_CONFLICT"


DESCRIPTIONS: dict[ReasonCode, str] = {
    ReasonCode.EVAL_CONTAMINATION: (
        "The sample shares a word n-gram (default 8 words, after normalisation) with an item of a registered"
        " eval set, or contains a whole item shorter than that; n-grams held by many items do not count."
        " matched_id is SET:ITEM; the message quotes the n-gram."
    ),
    ReasonCode.EVAL_PARAPHRASE: (
        "A sentence of the sample is close in meaning to an eval item (cosine of all-MiniLM-L6-v2"
        " embeddings at or above the threshold) while sharing no n-gram with it: a reworded leak."
        " matched_id is SET:ITEM; the message quotes the sentence."
    ),
    ReasonCode.ALREADY_KEPT: (
        "The collection already kept this sample: same id, same content (a client retry)."
        " The verdict is KEEP again; the sample is neither admitted nor logged a second time."
    ),
    ReasonCode.ALREADY_DECIDED: (
        "The log already holds a decision for this sample (same id, same content): a DROP under the current"
        " policy version, or a REVIEW that is pending or was rejected. That decision comes back again, with"
        " this flag; the sample is neither evaluated nor logged a second time, so reruns never double the"
        " review queue or the drop counts."
    ),
    ReasonCode.ID_CONFLICT: (
        "The collection already kept a different sample under this id; ids are unique among a collection's"
        " kept samples, so this one is dropped. Give it a new id; matched_id names the kept one."
    ),
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
    # quality and hallucination (docs/quality.md)
    ReasonCode.EMPTY_RESPONSE: (
        "A prompt with no answer: the response is blank or only a marker such as <nooutput>."
    ),
    ReasonCode.TOO_SHORT: (
        "The instruction asks for long-form text (an essay, a story, a letter, a paragraph) and the response"
        " has under a fifth of the words such text needs; the message names the request."
    ),
    ReasonCode.TOO_LONG: (
        "The response is over the prompt's stated limit ('in 50 words', 'in one sentence') by the threshold"
        " factor, or over 1,500 words times it when the prompt states none."
    ),
    ReasonCode.REFUSAL: (
        "The response declines the task or speaks as an AI model ('As an AI language model',"
        " 'I'm sorry, but I can't'); the message quotes the phrase and its offset."
    ),
    ReasonCode.TRUNCATED: (
        "The response stops mid-sentence (on a comma, an article or a conjunction) or leaves a code fence"
        " or bracket open."
    ),
    ReasonCode.REPETITION: (
        "Gopher-style duplicate-line or duplicate-n-gram fractions of the response reach the threshold"
        " as a multiple of Gopher's limits; the message names the measure and the repeated text."
    ),
    ReasonCode.PLACEHOLDER: (
        "Template residue in the response: an echoed <noinput>, '[insert ...]', '{{var}}'; an unfilled"
        " slot such as '[Your Name]' scores 0.5 and counts only with review_threshold 0.5."
    ),
    ReasonCode.UNREACHABLE_REFERENCE: (
        "The prompt points at something the sample does not contain (an image, a recording, a web page"
        " behind a URL) and the response answers as if it had seen it."
    ),
    ReasonCode.LANGUAGE_MISMATCH: (
        "The response is confidently in a language that none of the prompt's parts is in, and the prompt"
        " asks for no translation or other language."
    ),
    ReasonCode.ARITHMETIC_ERROR: (
        "The response states an equation ('17 × 23 = 392') whose left side, evaluated by a safe parser,"
        " is not the right side; the message quotes it with the correct value."
    ),
    ReasonCode.UNSUPPORTED_CLAIM: (
        "The sample has context and the response's grounding score (calibrated probability that it is"
        " supported) is at or below the threshold; the message quotes unsupported entities, numbers"
        " and words."
    ),
    ReasonCode.HALLUCINATION: (
        "The calibrated probability that the response is hallucinated (fastText classifier, grounding"
        " against context, arithmetic) reaches the threshold; the message names the signals."
    ),
    ReasonCode.LOW_QUALITY: (
        "The calibrated probability that the sample is a good one is at or below the threshold; the"
        " message names the quality model's probabilities."
    ),
}
