"""Turn loosely-typed input (from protobuf or JSON) into valid :class:`Sample` objects.

Every problem is reported at once, as field violations whose paths name the
sample index and field, and whose descriptions say how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from curator.domain.sample import ROLES, ContentShape, Message, Sample
from curator.errors import FieldViolation, InvalidArgument


@dataclass(slots=True)
class SampleInput:
    """A sample as received: any field may be missing; ``None`` means "not set"."""

    id: str = ""
    text: str | None = None
    instruction: str | None = None
    input: str | None = None
    output: str | None = None
    messages: Sequence[tuple[str, str]] | None = None
    context: Sequence[str] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    max_text_chars: int = 100_000
    max_batch: int = 1_000


def validate_sample(
    raw: SampleInput, limits: Limits, path: str = ""
) -> tuple[Sample | None, list[FieldViolation]]:
    """A valid sample, or None and the violations (paths prefixed with ``path``)."""
    p = f"{path}." if path else ""
    out: list[FieldViolation] = []
    if not raw.id or not raw.id.strip():
        out.append(FieldViolation(f"{p}id", "id is required: give every sample a non-empty id"))
    shapes = []
    if raw.text is not None:
        shapes.append(ContentShape.TEXT)
    if raw.instruction is not None or raw.input is not None or raw.output is not None:
        shapes.append(ContentShape.ALPACA)
    if raw.messages:
        shapes.append(ContentShape.CHAT)
    if not shapes:
        out.append(
            FieldViolation(
                f"{p}content", "no content: set one of text, instruction/input/output, or messages"
            )
        )
    elif len(shapes) > 1:
        names = " and ".join(s.value for s in shapes)
        out.append(FieldViolation(f"{p}content", f"two content shapes ({names}): set exactly one"))
    for name in ("text", "instruction", "input", "output"):
        value = getattr(raw, name)
        if value is not None and len(value) > limits.max_text_chars:
            out.append(_too_long(f"{p}{name}", len(value), limits))
    messages = []
    for i, (role, content) in enumerate(raw.messages or ()):
        if role not in ROLES:
            out.append(
                FieldViolation(f"{p}messages[{i}].role", f"unknown role {role!r}: use one of {list(ROLES)}")
            )
        if len(content) > limits.max_text_chars:
            out.append(_too_long(f"{p}messages[{i}].content", len(content), limits))
        messages.append(Message(role, content))
    for i, ctx in enumerate(raw.context):
        if len(ctx) > limits.max_text_chars:
            out.append(_too_long(f"{p}context[{i}]", len(ctx), limits))
    if out:
        return None, out
    sample = Sample(
        id=raw.id,
        shape=shapes[0],
        text=raw.text or "",
        instruction=raw.instruction or "",
        input=raw.input or "",
        output=raw.output or "",
        messages=tuple(messages),
        context=tuple(raw.context),
        metadata=dict(raw.metadata),
    )
    return sample, []


def validate_batch(raws: Sequence[SampleInput], limits: Limits) -> list[Sample]:
    """All samples of one request, or :class:`InvalidArgument` naming every bad field."""
    violations: list[FieldViolation] = []
    if len(raws) > limits.max_batch:
        violations.append(
            FieldViolation("samples", f"{len(raws)} samples in one request; send at most {limits.max_batch}")
        )
        raise InvalidArgument(violations)
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raws):
        sample, problems = validate_sample(raw, limits, f"samples[{i}]")
        violations += problems
        if raw.id in seen and raw.id:
            violations.append(
                FieldViolation(
                    f"samples[{i}].id",
                    f"duplicate id {raw.id!r} (also samples[{seen[raw.id]}]): ids must be unique",
                )
            )
        seen.setdefault(raw.id, i)
        if sample is not None:
            samples.append(sample)
    if violations:
        raise InvalidArgument(violations)
    return samples


def _too_long(path: str, n: int, limits: Limits) -> FieldViolation:
    return FieldViolation(
        path,
        f"{n} characters is over the limit of {limits.max_text_chars}; "
        "split the text or raise limits.max_text_chars",
    )
