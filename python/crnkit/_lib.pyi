"""Type stubs of the native module ``crnkit._lib`` (crates/crnkit-py). Use the functions
of :mod:`crnkit`, which wrap these in xarray Datasets."""

from collections.abc import Callable
from os import PathLike
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

__version__: str

Progress = Callable[[str, int, int], Any]

class Reaction(TypedDict):
    name: str
    label: str | None
    equation: str
    reactants: dict[str, int]
    products: dict[str, int]
    rate: str
    rate_value: float
    reverse_rate: str | None
    reverse_rate_value: float | None
    law: str | None

class Network:
    """A chemical reaction network, validated once when read; immutable."""

    @staticmethod
    def from_file(path: str | PathLike[str]) -> Network:
        """Read a ``.crn``, ``.json``, ``.toml``, BioNetGen ``.net`` or SBML ``.xml`` file."""
    @staticmethod
    def from_string(text: str, format: str = "crn", name: str = "<string>") -> Network:
        """Parse text in ``format`` (crn, json, toml, net, sbml); ``name`` is shown in errors."""
    @property
    def species(self) -> list[str]: ...
    @property
    def initial(self) -> dict[str, int]: ...
    @property
    def constant(self) -> list[str]: ...
    @property
    def parameters(self) -> dict[str, float]: ...
    @property
    def volume(self) -> float: ...
    @property
    def reactions(self) -> list[Reaction]: ...
    @property
    def observables(self) -> dict[str, dict[str, int]]: ...
    def check(self) -> dict[str, Any]:
        """The analysis of ``crnkit check --json`` as Python data."""
    def to_crn(self) -> str: ...
    def to_json(self) -> str: ...
    def to_sbml(self) -> str:
        """SBML Level 3 Version 2; kinetic laws are propensities (docs/sbml.md)."""
    def with_parameters(
        self, values: dict[str, float] | None = None, /, **kwargs: float
    ) -> Network: ...
    def with_initial(self, values: dict[str, int] | None = None, /, **kwargs: int) -> Network: ...
    def __eq__(self, other: object) -> bool: ...

def simulate(
    net: Network,
    until: float,
    every: float,
    runs: int = 1,
    seed: int = 0,
    method: str = "auto",
    threads: int | None = None,
    keep: int = 0,
    histograms: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def solve(
    net: Network,
    until: float | None = None,
    every: float | None = None,
    stationary: bool = False,
    tol: float = 1e-8,
    max_states: int = 10_000_000,
    bounds: dict[str, int] | None = None,
    fixed: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
    max_work: float = 1e11,
) -> dict[str, Any]: ...
def ode(
    net: Network,
    until: float,
    every: float,
    rtol: float = 1e-8,
    atol: float = 1e-8,
    progress: Progress | None = None,
) -> dict[str, npt.NDArray[np.float64] | list[str] | int]: ...
def thermo(
    net: Network,
    until: float,
    every: float,
    method: str = "cme",
    runs: int = 10_000,
    seed: int = 0,
    tol: float = 1e-10,
    max_states: int = 10_000_000,
    pair_catalysed: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def learn(
    job: dict[str, Any] | str | PathLike[str],
    out: str | PathLike[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run a learning job (a TOML file path or a dict of the same structure); the curve's
    arrays (``time``, ``kl``, ``entropy_produced``, ``sigma_<kind>``, ``G``, ``P``,
    ``free``, ``clamped``, ``energy_balance`` in the limit), ``parameters``, ``method``,
    ``initial_kl``, ``final_kl``, ``learned``, ``start``, ``entropy``, ``network``,
    ``learning_network``, ``settings`` and ``seconds``."""

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
Rows = tuple[F64, U64, F64]

class Surrogate:
    """A distilled surrogate (``card.json``, ``model.safetensors``); use
    :class:`crnkit.Surrogate`, which broadcasts conditions and warns outside the domain.
    Conditions are one tuple of rows: params (B, n_params), x0 (B, n_species), t (B,),
    contiguous."""

    @staticmethod
    def load(dir: str | PathLike[str]) -> Surrogate: ...
    @property
    def dir(self) -> str: ...
    @property
    def card_json(self) -> str: ...
    @property
    def species(self) -> list[str]: ...
    @property
    def caps(self) -> list[int]: ...
    @property
    def initial(self) -> list[int]: ...
    @property
    def initial_range(self) -> tuple[list[int], list[int]]: ...
    @property
    def parameter_box(self) -> tuple[list[str], list[float], list[float], list[bool]]: ...
    @property
    def times(self) -> tuple[float, float]: ...
    def outside(self, rows: Rows, strict: bool) -> list[str]: ...
    def marginal(self, species: str, rows: Rows) -> F64: ...
    def moments(self, rows: Rows) -> tuple[F64, F64]: ...
    def log_prob(self, states: U32, rows: Rows) -> F64: ...
    def sample(self, n: int, rows: Rows, seed: int) -> U32: ...
    def joint(self, rows: Rows) -> tuple[U32, F64]: ...

def builtin_surrogates() -> list[tuple[str, str]]: ...
def distill(
    path: str | None = None,
    json: str | None = None,
    out: str | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
def infer(
    surrogate: Surrogate,
    path: str | None,
    species: list[str],
    times: F64,
    counts: U64,
    free: list[str],
    fixed: list[tuple[str, float]],
    x0: list[int] | None,
    mcmc: bool,
    samples: int,
    burn_in: int,
    chains: int,
    seed: int,
) -> dict[str, Any]: ...
def sweep_info(text: str, format: str, base: str, file: str = "<sweep>") -> dict[str, Any]: ...
def sweep_rows(
    text: str,
    format: str,
    base: str,
    start: int,
    end: int,
    file: str = "<sweep>",
    threads: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]: ...
