"""Turn loosely-typed input (from protobuf or JSON) into valid :class:`Sample` objects.

Every problem is reported at once, as field violations whose paths name the
sample index and field, and whose descriptions say how to fix it.
"""

from __future__ import annotations

import re
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
    """What one request may hold. Everything a sample carries is bounded, because all of it is logged
    (and ids and metadata keys are indexed, and metadata values become metric labels)."""

    max_text_chars: int = 100_000
    max_batch: int = 1_000
    max_id_chars: int = 256
    max_metadata_entries: int = 64
    max_metadata_key_chars: int = 128
    max_metadata_value_chars: int = 1_024
    max_context_items: int = 64
    max_messages: int = 1_000


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _control(value: str) -> str | None:
    """What is wrong with a string that no store can hold (one with a NUL character), or None."""
    return "contains a NUL character (\\x00), which cannot be stored; remove it" if "\x00" in value else None


def validate_sample(
    raw: SampleInput, limits: Limits, path: str = ""
) -> tuple[Sample | None, list[FieldViolation]]:
    """A valid sample, or None and the violations (paths prefixed with ``path``)."""
    p = f"{path}." if path else ""
    out: list[FieldViolation] = []
    if not raw.id or not raw.id.strip():
        out.append(FieldViolation(f"{p}id", "id is required: give every sample a non-empty id"))
    elif len(raw.id) > limits.max_id_chars:
        out.append(
            FieldViolation(f"{p}id", f"id is {len(raw.id)} characters; ids are at most {limits.max_id_chars}")
        )
    elif _CONTROL.search(raw.id):
        out.append(FieldViolation(f"{p}id", "id contains a control character; use printable characters"))
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
        out += _text(f"{p}{name}", getattr(raw, name), limits)
    messages = []
    if raw.messages and len(raw.messages) > limits.max_messages:
        out.append(
            FieldViolation(
                f"{p}messages",
                f"{len(raw.messages)} messages; a sample holds at most {limits.max_messages}",
            )
        )
    for i, (role, content) in enumerate(raw.messages or ()):
        if role not in ROLES:
            out.append(
                FieldViolation(f"{p}messages[{i}].role", f"unknown role {role!r}: use one of {list(ROLES)}")
            )
        out += _text(f"{p}messages[{i}].content", content, limits)
        messages.append(Message(role, content))
    if len(raw.context) > limits.max_context_items:
        out.append(
            FieldViolation(
                f"{p}context",
                f"{len(raw.context)} context entries; a sample holds at most {limits.max_context_items}",
            )
        )
    for i, ctx in enumerate(raw.context):
        out += _text(f"{p}context[{i}]", ctx, limits)
    out += _metadata(f"{p}metadata", raw.metadata, limits)
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


def _text(path: str, value: str | None, limits: Limits) -> list[FieldViolation]:
    if value is None:
        return []
    if len(value) > limits.max_text_chars:
        return [_too_long(path, len(value), limits)]
    problem = _control(value)
    return [FieldViolation(path, problem)] if problem else []


def _metadata(path: str, metadata: Mapping[str, str], limits: Limits) -> list[FieldViolation]:
    out = []
    if len(metadata) > limits.max_metadata_entries:
        out.append(
            FieldViolation(
                path, f"{len(metadata)} entries; a sample carries at most {limits.max_metadata_entries}"
            )
        )
    for key, value in metadata.items():
        where = f"{path}[{key[:40]}]"
        if not key:
            out.append(FieldViolation(where, "metadata keys must not be empty"))
        elif len(key) > limits.max_metadata_key_chars:
            out.append(
                FieldViolation(
                    where, f"key is {len(key)} characters; keys are at most {limits.max_metadata_key_chars}"
                )
            )
        elif problem := _control(key):
            out.append(FieldViolation(where, f"key {problem}"))
        if len(value) > limits.max_metadata_value_chars:
            out.append(
                FieldViolation(
                    where,
                    f"value is {len(value)} characters; values are at most {limits.max_metadata_value_chars}",
                )
            )
        elif problem := _control(value):
            out.append(FieldViolation(where, f"value {problem}"))
    return out


def _too_long(path: str, n: int, limits: Limits) -> FieldViolation:
    return FieldViolation(
        path,
        f"{n} characters is over the limit of {limits.max_text_chars}; "
        "split the text or raise limits.max_text_chars",
    )
