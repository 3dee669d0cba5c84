"""The sample: one synthetic training example in one of three content shapes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

import orjson

ROLES = ("system", "user", "assistant", "tool")
DIGEST_BYTES = 16


class ContentShape(StrEnum):
    TEXT = "text"  # a document
    ALPACA = "alpaca"  # instruction + input + output
    CHAT = "chat"  # OpenAI-style messages


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Sample:
    """A validated sample (see curator.domain.validation); exactly one shape is set."""

    id: str
    shape: ContentShape
    text: str = ""
    instruction: str = ""
    input: str = ""
    output: str = ""
    messages: tuple[Message, ...] = ()
    context: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """What the generator was asked: instruction + input, or the chat before the last answer."""
        if self.shape is ContentShape.ALPACA:
            return _join(self.instruction, self.input)
        if self.shape is ContentShape.CHAT:
            return _join(*(m.content for m in self.messages if m.role != "assistant"))
        return self.text

    @property
    def response(self) -> str:
        """What the generator produced: the output, or the assistant turns."""
        if self.shape is ContentShape.ALPACA:
            return self.output
        if self.shape is ContentShape.CHAT:
            return _join(*(m.content for m in self.messages if m.role == "assistant"))
        return self.text

    def content_digest(self) -> bytes:
        """16 bytes that change whenever what the sample says (content and context, not its id or metadata)
        changes: how a resend under the same id is told from new content under a reused id."""
        canonical = orjson.dumps(
            [
                str(self.shape),
                self.text,
                self.instruction,
                self.input,
                self.output,
                [[m.role, m.content] for m in self.messages],
                list(self.context),
            ]
        )
        return hashlib.blake2b(canonical, digest_size=DIGEST_BYTES).digest()

    @property
    def full_text(self) -> str:
        """Everything the sample says, in reading order."""
        if self.shape is ContentShape.ALPACA:
            return _join(self.instruction, self.input, self.output)
        if self.shape is ContentShape.CHAT:
            return _join(*(m.content for m in self.messages))
        return self.text


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)
