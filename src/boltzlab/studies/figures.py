"""A figure an entry declares: a measured value, its reference, a tolerance of a stated kind, and whether it holds.

``ok`` is always computed here from the other fields, never supplied by the entry, so a figure cannot claim to
hold when its numbers say otherwise.  The kinds:

* ``exact``: the reference is exact (a closed form, enumeration); ``|value - reference| <= tolerance``.
* ``relative``: ``|value - reference| <= tolerance * |reference|``.
* ``stderr``: a statistical estimate with standard error ``stderr``; ``|value - reference| <= tolerance * stderr``
  (``tolerance`` counts standard errors).
* ``upper`` / ``lower``: one-sided bounds, ``value <= reference + tolerance`` / ``value >= reference - tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

KINDS = ("exact", "relative", "stderr", "upper", "lower")

CONDITIONS = {
    "exact": "|value - reference| <= tolerance",
    "relative": "|value - reference| <= tolerance * |reference|",
    "stderr": "|value - reference| <= tolerance * stderr",
    "upper": "value <= reference + tolerance",
    "lower": "value >= reference - tolerance",
}


def holds(kind: str, value: float, reference: float, tolerance: float, stderr: float | None = None) -> bool:
    """Whether ``value`` meets ``reference`` within ``tolerance`` of ``kind`` (False for any NaN)."""
    if kind not in KINDS:
        raise ValueError(f"unknown tolerance kind {kind!r}; use one of {', '.join(KINDS)}")
    nums = (value, reference, tolerance) + ((stderr,) if kind == "stderr" else ())
    if any(x is None or not math.isfinite(float(x)) for x in nums):
        return False
    gap = float(value) - float(reference)
    if kind == "exact":
        return abs(gap) <= tolerance
    if kind == "relative":
        return abs(gap) <= tolerance * abs(float(reference))
    if kind == "stderr":
        return abs(gap) <= tolerance * float(stderr)
    if kind == "upper":
        return gap <= tolerance
    return gap >= -tolerance


@dataclass(frozen=True)
class Figure:
    """One checked number of a reproduction.

    ``source`` says where the reference comes from (a paper's figure or equation, an exact computation, a
    published benchmark).  ``stderr`` is the value's standard error (required by kind ``stderr``)."""

    name: str
    value: float
    reference: float
    tolerance: float
    kind: str
    source: str
    stderr: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"figure {self.name!r}: unknown tolerance kind {self.kind!r}; use one of {KINDS}")
        if self.kind == "stderr" and self.stderr is None:
            raise ValueError(f"figure {self.name!r}: kind 'stderr' needs the value's stderr")
        if not self.source:
            raise ValueError(f"figure {self.name!r}: name the source of the reference")

    @property
    def ok(self) -> bool:
        return holds(self.kind, self.value, self.reference, self.tolerance, self.stderr)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "value": _num(self.value), "reference": _num(self.reference),
                             "tolerance": _num(self.tolerance), "kind": self.kind,
                             "condition": CONDITIONS[self.kind], "ok": self.ok, "source": self.source}
        if self.stderr is not None:
            d["stderr"] = _num(self.stderr)
        if self.note:
            d["note"] = self.note
        return d | self.extra


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
