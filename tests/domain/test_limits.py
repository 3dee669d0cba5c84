"""Every field a sample carries is bounded, and NUL characters (which no store can hold) are refused."""

from __future__ import annotations

import pytest

from curator.domain.validation import Limits, SampleInput, validate_batch
from curator.errors import InvalidArgument


def _violations(sample: SampleInput, limits: Limits = Limits()) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as info:
        validate_batch([sample], limits)
    return {v.field: v.description for v in info.value.violations}


def test_long_ids_and_control_characters_are_refused() -> None:
    assert "ids are at most 256" in _violations(SampleInput(id="x" * 3000, text="t"))["samples[0].id"]
    assert "control character" in _violations(SampleInput(id="a\x00b", text="t"))["samples[0].id"]


def test_nul_in_text_and_metadata_is_refused() -> None:
    found = _violations(SampleInput(id="a", text="t\x00", metadata={"generator": "g\x00", "k\x00": "v"}))
    assert "NUL" in found["samples[0].text"]
    assert "value contains a NUL" in found["samples[0].metadata[generator]"]
    assert "key contains a NUL" in found["samples[0].metadata[k\x00]"]


def test_metadata_and_context_sizes_are_bounded() -> None:
    limits = Limits(max_metadata_entries=2, max_metadata_value_chars=10, max_context_items=1, max_messages=2)
    found = _violations(
        SampleInput(
            id="a",
            messages=[("user", "q"), ("assistant", "a"), ("user", "q2")],
            metadata={"a": "1", "b": "x" * 11, "c": "3"},
            context=["one", "two"],
        ),
        limits,
    )
    assert "at most 2" in found["samples[0].metadata"]
    assert "values are at most 10" in found["samples[0].metadata[b]"]
    assert "at most 1" in found["samples[0].context"]
    assert "at most 2" in found["samples[0].messages"]
    big = "v" * 10_000_000
    assert (
        "values are at most 1024"
        in _violations(SampleInput(id="a", text="t", metadata={"g": big}))["samples[0].metadata[g]"]
    )


def test_limits_within_bounds_pass() -> None:
    samples = validate_batch(
        [SampleInput(id="x" * 256, text="t", metadata={"k" * 128: "v" * 1024})], Limits()
    )
    assert samples[0].id == "x" * 256
