"""Spec errors: every problem names the field path, the value and what is allowed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One problem with a spec: ``field`` is a path such as ``light[2].waveform.pulse.width_ms``."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class SpecError(ValueError):
    """A spec that cannot run. ``violations`` lists every problem found, each naming its field."""

    what = "spec"   # what the message calls the document (subclasses: "sweep spec", "design")

    def __init__(self, violations):
        self.violations = tuple(v if isinstance(v, FieldViolation) else FieldViolation(*v) for v in violations)
        lines = "\n".join(f"  {v}" for v in self.violations)
        n = len(self.violations)
        super().__init__(f"invalid {self.what} ({n} problem{'s' if n != 1 else ''}):\n{lines}")
