"""Domain errors. The API layer maps each to a gRPC status in one place (curator.api.errors)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field, named by its path in the request (e.g. ``samples[3].text``)."""

    field: str
    description: str


class CuratorError(Exception):
    """Base of every error curator raises on purpose."""


class InvalidArgument(CuratorError):
    """The request is malformed; the violations say which fields and how to fix them."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        self.violations = [violations] if isinstance(violations, FieldViolation) else list(violations)
        super().__init__(
            "; ".join(f"{v.field}: {v.description}" if v.field else v.description for v in self.violations)
        )

    def prefixed(self, prefix: str) -> InvalidArgument:
        """The same violations with their field paths nested under ``prefix``."""
        return InvalidArgument(
            [FieldViolation(f"{prefix}.{v.field}", v.description) for v in self.violations]
        )


class NotFound(CuratorError):
    """A named resource (e.g. a collection) does not exist (AIP-193: NOT_FOUND, whichever RPC names it)."""

    def __init__(self, message: str, resource: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.resource = resource  # (type, name), for google.rpc.ResourceInfo


class AlreadyExists(CuratorError):
    """A resource with that name already exists."""


class FailedPrecondition(CuratorError):
    """The request is well-formed but cannot apply to the current state."""


class Unavailable(CuratorError):
    """The service is shutting down or a backend is unreachable; retry later."""
