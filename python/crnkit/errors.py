"""The exceptions crnkit raises: one class per kind of library error.

Every class derives from :class:`CrnkitError`; most also derive from the built-in
exception a Python user would catch for the same problem (``ValueError`` for bad models
and settings, ``OSError`` for files). The message is the library's message, the text the
``crnkit`` command line prints after ``error:`` (without its hints about command-line
flags). Every exception has ``kind``, the library's error kind in snake case
(``"unknown_species"``, ``"too_many_states"``, ...).
"""

from __future__ import annotations

__all__ = [
    "CrnkitError",
    "ParseError",
    "ModelError",
    "SettingError",
    "StateSpaceError",
    "SimulationError",
    "NumericalError",
    "UnsupportedError",
    "FileError",
    "CancelledError",
    "SurrogateError",
    "QueryError",
    "DomainError",
    "DomainWarning",
]


class CrnkitError(Exception):
    """Base class of every crnkit error."""

    kind: str = "other"


class ParseError(CrnkitError, ValueError):
    """A model text that cannot be read: ``file``, ``line`` and ``col`` (1-based) say where
    (``None`` when the reader gives no position, as for TOML), and the message shows the
    line with a caret under the column, as the command line does."""

    file: str | None = None
    line: int | None = None
    col: int | None = None


class ModelError(CrnkitError, ValueError):
    """A model that parses but is not valid: unknown or duplicate names, bad rates,
    counts, coefficients or events, an empty network."""


class SettingError(CrnkitError, ValueError):
    """A run setting out of range (``until``, ``every``, ``runs``, ``tol``, ``method``,
    ``threads``, ...)."""


class StateSpaceError(CrnkitError):
    """The CME projection needs more states than ``max_states`` allows (kind
    ``"too_many_states"``), or a transient solve more work than ``max_work`` (kind
    ``"work_limit"``): raise the limit, bound a species (``bounds={"X": 200}``) or
    simulate."""


class SimulationError(CrnkitError, ArithmeticError):
    """A simulation that cannot go on: a count or a propensity out of range."""


class NumericalError(CrnkitError, ArithmeticError):
    """A numerical solve failed (a singular matrix, no convergence)."""


class UnsupportedError(CrnkitError):
    """Something crnkit does not do (a model feature, a file format, entropy production
    of a network with one-way reactions, ...)."""


class FileError(CrnkitError, OSError):
    """A file that cannot be read or written; ``filename`` is its path."""

    def __str__(self) -> str:
        # The library's message (OSError would rebuild one from errno and filename).
        return str(self.args[0]) if self.args else ""


class CancelledError(CrnkitError):
    """A computation stopped through its cancellation token (Ctrl-C raises
    ``KeyboardInterrupt`` instead)."""


class SurrogateError(CrnkitError):
    """A neural surrogate that cannot be used or trained: an inconsistent model card, a
    weight the architecture needs and the file lacks, a tensor operation that failed,
    training that diverged. (A damaged ``card.json`` or ``model.safetensors`` is a
    :class:`FileError`.)"""


class QueryError(SurrogateError, ValueError):
    """A query or data set that does not fit the surrogate: an unknown parameter or
    species, the wrong number of values, a count above its cap, a time that is not
    finite, malformed snapshot data."""


class DomainError(SurrogateError, ValueError):
    """A condition outside the surrogate's trained domain where that is refused
    (``strict=True``, inference data): parameters outside the box, initial counts outside
    the trained ones, a time outside the trained range."""


class DomainWarning(UserWarning):
    """A query outside the surrogate's trained domain (``strict=False``): the surrogate
    extrapolates. ``warnings.simplefilter("error", crnkit.DomainWarning)`` makes it an
    error."""
