"""The typed parameters of a search space (one per ``Hyperparams`` field it declares) and their
``when:`` conditions; pure data, sampled by :mod:`.suggest`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fields import default_of

AUTO = "auto"
"""``seq_len: auto``: candidates come from the data when the space is loaded."""

Condition = dict[str, tuple[Any, ...]]
"""``when:`` after validation: earlier parameter name -> the values for which it holds."""


@dataclass(frozen=True, kw_only=True)
class Param:
    """One declared parameter; ``when`` is empty for unconditional ones."""

    name: str
    when: Condition = field(default_factory=dict)

    def active(self, values: dict[str, Any]) -> bool:
        """Whether ``when`` holds; an absent parameter counts as its ``Hyperparams`` default."""
        return all(values.get(k, default_of(k)) in allowed for k, allowed in self.when.items())

    def domain(self) -> frozenset[Any] | None:
        """The finite set of values it can take, or None for a range."""
        return None

    def contains(self, value: Any) -> bool:
        domain = self.domain()
        return domain is not None and value in domain

    def spec(self) -> Any:
        """The YAML form (for display and round trips)."""
        raise NotImplementedError

    def _range_spec(self, kind: str, low: float, high: float, step: float | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": kind, "low": low, "high": high}
        if step is not None:
            spec["step"] = step
        if getattr(self, "log", False):
            spec["log"] = True
        return self._with_when(spec)

    def _with_when(self, spec: dict[str, Any]) -> dict[str, Any]:
        if self.when:
            spec["when"] = {k: v[0] if len(v) == 1 else list(v) for k, v in self.when.items()}
        return spec


@dataclass(frozen=True, kw_only=True)
class IntParam(Param):
    low: int
    high: int
    step: int = 1
    log: bool = False

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def spec(self) -> dict[str, Any]:
        return self._range_spec("int", self.low, self.high, self.step if self.step != 1 else None)


@dataclass(frozen=True, kw_only=True)
class FloatParam(Param):
    low: float
    high: float
    step: float | None = None
    log: bool = False

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        steps = (value - self.low) / self.step
        return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))

    def spec(self) -> dict[str, Any]:
        return self._range_spec("float", self.low, self.high, self.step)


@dataclass(frozen=True, kw_only=True)
class CategoricalParam(Param):
    choices: tuple[Any, ...]

    def domain(self) -> frozenset[Any]:
        return frozenset(self.choices)

    def spec(self) -> dict[str, Any]:
        return self._with_when({"type": "categorical", "choices": list(self.choices)})


@dataclass(frozen=True, kw_only=True)
class FixedParam(Param):
    """A constant: in ``suggest``'s dict without asking the trial."""

    value: Any

    def domain(self) -> frozenset[Any]:
        return frozenset([self.value])

    def spec(self) -> Any:
        return self.value


@dataclass(frozen=True, kw_only=True)
class AutoParam(Param):
    """``seq_len: auto`` before the data's candidates replace it (never sampled as such)."""

    def spec(self) -> str:
        return AUTO


@dataclass(frozen=True)
class SpaceDecl:
    """A parsed, validated file before the task's topologies and seq_len candidates apply."""

    path: Path
    description: str
    params: tuple[Param, ...]
    first_trials: tuple[dict[str, Any], ...] = ()
