"""Input validation names every bad field and says how to fix it."""

from __future__ import annotations

import pytest

from curator.domain.sample import ContentShape
from curator.domain.validation import Limits, SampleInput, validate_batch, validate_sample
from curator.errors import InvalidArgument


def test_three_shapes_are_recognised() -> None:
    limits = Limits()
    text, _ = validate_sample(SampleInput(id="t", text="hello"), limits)
    alpaca, _ = validate_sample(SampleInput(id="a", instruction="do", output="done"), limits)
    chat, _ = validate_sample(SampleInput(id="c", messages=[("user", "hi"), ("assistant", "hello")]), limits)
    assert (text.shape, alpaca.shape, chat.shape) == (
        ContentShape.TEXT,
        ContentShape.ALPACA,
        ContentShape.CHAT,
    )
    assert chat.prompt == "hi" and chat.response == "hello" and chat.full_text == "hi\nhello"
    assert alpaca.prompt == "do" and alpaca.response == "done"


def test_every_violation_is_reported_with_its_path() -> None:
    raws = [
        SampleInput(id="", text="x"),
        SampleInput(id="b", text="x", messages=[("user", "y")]),
        SampleInput(id="c", messages=[("robot", "y")]),
        SampleInput(id="d", output="z" * 11),
        SampleInput(id="d", text="dup id"),
        SampleInput(id="f", text="ok", context=["c" * 11]),
    ]
    with pytest.raises(InvalidArgument) as info:
        validate_batch(raws, Limits(max_text_chars=10))
    fields = {v.field: v.description for v in info.value.violations}
    assert fields["samples[0].id"].startswith("id is required")
    assert fields["samples[1].content"] == "two content shapes (text and chat): set exactly one"
    assert "unknown role 'robot'" in fields["samples[2].messages[0].role"]
    assert "over the limit of 10" in fields["samples[3].output"]
    assert "duplicate id 'd'" in fields["samples[4].id"]
    assert "over the limit of 10" in fields["samples[5].context[0]"]


def test_batch_limit() -> None:
    with pytest.raises(InvalidArgument, match="send at most 2"):
        validate_batch([SampleInput(id=str(i), text="x") for i in range(3)], Limits(max_batch=2))
