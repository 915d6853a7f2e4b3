"""The scikit-learn estimator protocol, without importing scikit-learn.

``Estimator`` gives ``get_params``/``set_params``/``__repr__`` from the ``__init__`` signature
(keyword-only arguments that are stored unchanged), so scikit-learn's ``clone`` and ``Pipeline``
accept seqlab estimators. Validation happens in ``fit`` against ``_parameter_constraints``: one
literal table per class, mapping a parameter to a checker that returns an error text or None.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from seqlab import errors
from seqlab.errors import ConfigError


class NotFittedError(errors.NotFittedError, ValueError):
    """An estimator was used before ``fit``: an ``AttributeError`` and a ``ValueError``, as
    scikit-learn's ``NotFittedError`` is (so ``except ValueError`` code written for it works)."""


class ParameterError(ConfigError, TypeError):
    """A constructor parameter is invalid (``ValueError`` and ``TypeError``, as scikit-learn's
    ``InvalidParameterError``)."""


Check = Callable[[Any], "str | None"]


class Estimator:
    """Base class: parameters from the signature, constraint-table validation, fitted checks."""

    _parameter_constraints: dict[str, Check] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind == p.KEYWORD_ONLY)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters as a dict (``deep`` is accepted for scikit-learn; no nesting)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Estimator:
        """Set constructor parameters; unknown names raise ``ConfigError`` listing valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {name!r}; "
                                  f"valid parameters: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except Exception:  # arrays and other objects without a plain truth value
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def _validate_params(self) -> None:
        """Check every parameter against the class's constraint table (called by ``fit``)."""
        for name, check in self._parameter_constraints.items():
            value = getattr(self, name)
            problem = check(value)
            if problem is not None:
                raise ParameterError(f"The {name!r} parameter of {type(self).__name__} must be "
                                  f"{problem}. Got {value!r} instead.")

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call 'fit' with appropriate arguments before using it.")


# Checkers for constraint tables: each returns a description of what is expected, or None.
def one_of(*options: Any) -> Check:
    return lambda v: None if v in options else "one of " + ", ".join(map(repr, options))


def number(low: float | None = None, high: float | None = None, *, integer: bool = False,
           low_open: bool = False, none_ok: bool = False) -> Check:
    def check(v: Any) -> str | None:
        kind = "an int" if integer else "a number"
        if v is None and none_ok:
            return None
        ok_type = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok_type:
            return kind + (" or None" if none_ok else "")
        if low is not None and (v <= low if low_open else v < low):
            return f"{kind} {'>' if low_open else '>='} {low}"
        if high is not None and v > high:
            return f"{kind} <= {high}"
        return None
    return check


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else "a bool"


def callable_or(*options: Any) -> Check:
    def check(v: Any) -> str | None:
        if callable(v) or v in options:
            return None
        return "a callable or one of " + ", ".join(map(repr, options))
    return check
