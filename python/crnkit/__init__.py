"""crnkit: stochastic chemical reaction networks, at the speed of the Rust library.

>>> import crnkit
>>> net = crnkit.Network.from_string("species: X = 0\\n0 -> X @ 10\\nX -> 0 @ 1")
>>> ds = crnkit.simulate(net, until=5, every=1, runs=100, seed=1)
>>> ds.mean.sel(species="X").shape
(6,)

Every computation returns an :class:`xarray.Dataset` with named dimensions (``time``,
``species``, ``run``, ``count``, ...). Long calls release the GIL and stop on Ctrl-C
(``KeyboardInterrupt``); they take an optional ``progress(label, done, total)`` callable.
Errors are the classes of :mod:`crnkit.errors`. :func:`learn` runs a learning job and
returns a :class:`LearnResult`. Distilled neural surrogates: :class:`Surrogate`,
:func:`distill`, :func:`infer`. See docs/python.md.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
import xarray as xr

from . import _lib, errors
from ._lib import Network
from ._sweep import sweep
from .errors import (
    CancelledError,
    CrnkitError,
    FileError,
    ModelError,
    NumericalError,
    ParseError,
    SettingError,
    SimulationError,
    StateSpaceError,
    UnsupportedError,
)
from .errors import DomainError, DomainWarning, QueryError, SurrogateError
from .surrogate import Distillation, Surrogate, builtin_surrogates, distill, infer

__version__: str = _lib.__version__

__all__ = [
    "Network",
    "simulate",
    "solve",
    "ode",
    "thermo",
    "learn",
    "LearnResult",
    "sweep",
    "seed_from",
    "errors",
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
    "Surrogate",
    "Distillation",
    "distill",
    "infer",
    "builtin_surrogates",
    "SurrogateError",
    "QueryError",
    "DomainError",
    "DomainWarning",
]

Seed = Union[int, np.integer, np.random.Generator, None]
NetworkLike = Union[Network, str, "os.PathLike[str]"]
Progress = Callable[[str, int, int], Any]


try:  # the fast construction below needs these (xarray >= 2023.1 has them)
    from xarray.core.indexes import PandasIndex as _PandasIndex

    _DIRECT = hasattr(xr.Dataset, "_construct_direct")
except ImportError:  # pragma: no cover - an xarray without them: the public constructor
    _DIRECT = False


_INDEXES: dict[tuple[str, str, bytes], tuple[Any, dict[str, Any]]] = {}


def _index(name: str, arr: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """The index of a dimension coordinate and its variables. Small ones (the species of
    a network, a time grid) are kept and shared between Datasets — xarray treats indexes
    and index variables as immutable — since building them is half the cost of a small
    result."""
    key = (name, arr.dtype.str, arr.tobytes()) if arr.size <= 4096 else None
    if key is not None and key in _INDEXES:
        return _INDEXES[key]
    index = _PandasIndex(pd.Index(arr, name=name), name, coord_dtype=arr.dtype)
    made = (index, index.create_variables())
    if key is not None:
        if len(_INDEXES) >= 256:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = made
    return made


def _dataset(
    data: dict[str, tuple[tuple[str, ...], Any]],
    coords: dict[str, Any],
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """``xr.Dataset(data, coords, attrs)`` for data that is already consistent: every
    coordinate a 1-D dimension coordinate, every variable ``(dims, array)``.

    The public constructor spends about 180 µs aligning and validating even two small
    variables; the result is the same Dataset (the tests check ``identical``) built in
    about a quarter of the time, which is most of what a small call costs.
    """
    if not _DIRECT:
        return xr.Dataset(data, coords, attrs)
    variables: dict[str, xr.Variable] = {}
    indexes: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for name, values in coords.items():
        index, index_variables = _index(name, np.asarray(values))
        indexes[name] = index
        variables.update(index_variables)
        sizes[name] = len(index.index)
    for name, (dims, values) in data.items():
        var = xr.Variable(dims, values)
        for d, n in zip(dims, var.shape):
            if sizes.setdefault(d, n) != n:
                raise ValueError(f"{name}: dimension {d} has size {n}, not {sizes[d]}")
        variables[name] = var
    return xr.Dataset._construct_direct(variables, set(coords), sizes, dict(attrs or {}), indexes)


def seed_from(seed: Seed) -> int:
    """The 64-bit master seed for ``seed``.

    * an ``int`` in 0..2**64 - 1 is the seed itself (the same numbers as
      ``crnkit simulate --seed``);
    * a :class:`numpy.random.Generator` gives ``int(seed.integers(0, 2**64,
      dtype=numpy.uint64))``: one draw, so the generator advances and the next call gets
      another seed, and a generator made with ``numpy.random.default_rng(s)`` always gives
      the same seed;
    * ``None`` draws a seed from fresh operating-system entropy (recorded in the result's
      ``seed`` attribute).
    """
    if seed is None:
        seed = np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**64, dtype=np.uint64))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int or a numpy.random.Generator, not {type(seed).__name__}"
        )
    if not 0 <= int(seed) < 2**64:
        raise SettingError(f"invalid setting seed = {seed}: a seed is in 0..2^64 − 1")
    return int(seed)


def _network(net: NetworkLike) -> Network:
    if isinstance(net, Network):
        return net
    if isinstance(net, (str, os.PathLike)):
        return Network.from_file(net)
    raise TypeError(f"expected a crnkit.Network or a model file path, not {type(net).__name__}")


def _columns(r: dict[str, Any]) -> tuple[list[str], list[str]]:
    ns = r["num_species"]
    return r["columns"][:ns], r["columns"][ns:]


def _split(out: dict[str, Any], r: dict[str, Any], name: str, dims: tuple[str, ...]) -> None:
    """Put ``r[name]`` (last axis: species then observables) into the variables ``out`` as
    ``name`` over ``species`` and ``observable_<name>`` over ``observable``."""
    ns = r["num_species"]
    values = r[name]
    out[name] = (dims + ("species",), values[..., :ns])
    if values.shape[-1] > ns:
        out[f"observable_{name}"] = (dims + ("observable",), values[..., ns:])


def simulate(
    net: NetworkLike,
    until: float,
    every: float,
    runs: int = 1,
    seed: Seed = 0,
    method: Literal["auto", "direct", "next-reaction", "rejection"] = "auto",
    threads: int | None = None,
    trajectories: bool | int = False,
    histograms: bool = False,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Simulate ``runs`` exact stochastic trajectories from t = 0 to ``until``, recorded
    every ``every``.

    Returns a Dataset over ``time`` and ``species``: ``mean`` and ``sd`` (sample standard
    deviation) of the counts (and ``observable_mean``/``observable_sd`` over
    ``observable`` when the model has observables); with ``trajectories`` (True: every
    run, an int: the first that many) ``trajectory`` over (``run``, ``time``,
    ``species``); with ``histograms`` ``histogram`` over (``time``, ``species``,
    ``count``), the number of runs at each count. Attributes: ``method`` (resolved),
    ``seed``, ``runs``, ``events``, ``absorbed``. The same int seed gives the same numbers
    as ``crnkit simulate --seed``, on any number of ``threads``.
    """
    net = _network(net)
    keep = runs if trajectories is True else int(trajectories or 0)
    r = _lib.simulate(
        net, until, every, runs, seed_from(seed), method, threads, keep, histograms, progress
    )
    species, observables = _columns(r)
    coords: dict[str, Any] = {"time": r["time"], "species": species}
    if observables:
        coords["observable"] = observables
    data: dict[str, Any] = {}
    _split(data, r, "mean", ("time",))
    _split(data, r, "sd", ("time",))
    if "trajectories" in r:
        t = r["trajectories"]
        coords["run"] = np.arange(t.shape[0])
        data["trajectory"] = (("run", "time", "species"), t)
    if "histograms" in r:
        h = r["histograms"]
        coords["count"] = np.arange(h.shape[-1])
        data["histogram"] = (("time", "species", "count"), h)
    attrs = {k: r[k] for k in ("method", "seed", "runs", "events", "absorbed")}
    attrs.update(until=float(until), every=float(every))
    return _dataset(data, coords, attrs)


def solve(
    net: NetworkLike,
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
) -> xr.Dataset:
    """Solve the chemical master equation by finite state projection.

    Transient (``until``, ``every``): a Dataset over ``time``, ``species`` and ``count``
    with ``mean``, ``sd``, ``marginal`` (P(X_species = count) at each time, zero-padded to
    the largest count reached), ``covariance`` (over ``species`` × ``species2``),
    ``error_bound`` (the certified L1 error at each time) and ``states`` (projection
    size). ``stationary=True``: the stationary distribution, the same variables without
    ``time``, with ``residual``, ``boundary_mass`` and ``outflow`` attributes. ``bounds``
    caps species counts (``{"X": 200}``); ``fixed`` keeps the projection fixed.
    ``max_states`` limits the projection and ``max_work`` (generator entries touched,
    attribute ``work``) a transient solve; past either the solve stops with
    :class:`crnkit.errors.StateSpaceError`.
    """
    net = _network(net)
    r = _lib.solve(
        net, until, every, stationary, tol, max_states, bounds, fixed, threads, progress,
        max_work,
    )
    species, observables = _columns(r)
    width = r["marginals"].shape[-1]
    coords: dict[str, Any] = {"species": species, "species2": species, "count": np.arange(width)}
    if observables:
        coords["observable"] = observables
    data: dict[str, Any] = {}
    if stationary:
        dims: tuple[str, ...] = ()
        attrs = {k: r[k] for k in ("states", "residual", "boundary_mass", "outflow")}
    else:
        coords["time"] = r["time"]
        dims = ("time",)
        data["error_bound"] = (dims, r["error_bound"])
        data["states"] = (dims, r["states"])
        attrs = {k: r[k] for k in ("matvecs", "work", "max_states")}
    _split(data, r, "mean", dims)
    _split(data, r, "sd", dims)
    data["marginal"] = (dims + ("species", "count"), r["marginals"])
    data["covariance"] = (dims + ("species", "species2"), r["covariance"])
    attrs.update(tol=float(tol), stationary=int(stationary))
    return _dataset(data, coords, attrs)


def ode(
    net: NetworkLike,
    until: float,
    every: float,
    rtol: float = 1e-8,
    atol: float = 1e-8,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Integrate the deterministic (mass-action) limit: ``amount`` over (``time``,
    ``species``), in molecules (stiff BDF with tolerances ``rtol``, ``atol``)."""
    net = _network(net)
    r = _lib.ode(net, until, every, rtol, atol, progress)
    return _dataset(
        {"amount": (("time", "species"), r["amount"])},
        {"time": r["time"], "species": r["columns"]},
        {"rtol": float(rtol), "atol": float(atol)},
    )


_THERMO_SERIES = (
    "entropy_production_rate",
    "total_entropy_produced",
    "free_energy",
    "error_bound",
    "total_medium_entropy",
    "system_entropy",
    "medium_entropy_flow",
    "work_rate",
    "internal_free_energy",
    "total_entropy_mean",
    "total_entropy_sd",
    "medium_entropy_mean",
    "medium_entropy_sd",
    "exp_minus_total_entropy_mean",
    "exp_minus_total_entropy_sd",
)


def thermo(
    net: NetworkLike,
    until: float,
    every: float,
    method: Literal["cme", "ssa", "ode"] = "cme",
    runs: int = 10_000,
    seed: Seed = 0,
    tol: float = 1e-10,
    max_states: int = 10_000_000,
    pair_catalysed: bool = False,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Entropy production and free energy over ``time`` (units of k_B, k_B per unit time
    and k_B T), from the CME, SSA paths or the deterministic limit (the series of
    ``crnkit thermo``).

    Every method gives ``entropy_production_rate``, ``total_entropy_produced`` and
    ``free_energy`` (NaN where it cannot be computed) and, for ``cme`` and ``ode``,
    ``reaction_entropy_production`` over (``time``, ``reaction``). ``cme`` adds
    ``error_bound``, ``system_entropy``, ``medium_entropy_flow``,
    ``total_medium_entropy`` and, where the network admits the heat/work split,
    ``work_rate`` and ``internal_free_energy``; ``ssa`` the mean and sd of the path entropies
    (``total_entropy_*``, ``medium_entropy_*``, ``exp_minus_total_entropy_*``); ``ode``
    the ``amount`` of each species.
    """
    net = _network(net)
    master = seed_from(seed)
    r = _lib.thermo(
        net, until, every, method, runs, master, tol, max_states, pair_catalysed, progress
    )
    coords: dict[str, Any] = {"time": r["time"]}
    data = {name: (("time",), r[name]) for name in _THERMO_SERIES if name in r}
    if r["reactions"]:
        coords["reaction"] = r["reactions"]
        data["reaction_entropy_production"] = (("time", "reaction"), r["reaction_entropy_production"])
    if "amount" in r:
        coords["species"] = r["columns"]
        data["amount"] = (("time", "species"), r["amount"])
    attrs: dict[str, Any] = {"method": r["method"]}
    if method == "ssa":
        attrs.update(runs=int(runs), seed=master)
    return _dataset(data, coords, attrs)


_CURVE_SERIES = (
    "kl",
    "entropy_produced",
    "sigma_learning",
    "sigma_clamping",
    "sigma_environment",
    "sigma_model",
)


@dataclass(frozen=True)
class LearnResult:
    """What :func:`learn` produced.

    ``curve`` is the learning curve (the columns of ``crnkit learn``'s ``curve.csv``) as a
    Dataset over ``time`` and ``parameter``; ``network`` the model at the learned free
    energies (``learned.crn``; ``None`` when they are not finite); ``learning_network``
    the learning network of the chemical methods (``learning_network.crn``); ``entropy``
    the entropy produced per copy over the run by ``learning``, ``clamping``,
    ``environment`` and ``model`` reactions and in ``total``, in units of k_B (NaN where
    not accounted: exact and sampled methods, learning reactions without a reverse);
    ``initial_kl`` and ``final_kl`` D(Q‖P) in nats; ``learned`` and ``start`` the final
    and starting free energies (k_B T) by parameter; ``method`` how the curve was computed
    (``exact``, ``sampled``, ``ssa``, ``limit-moments`` or ``limit-cme``); ``settings``
    the job's ``[learn]`` settings in full; ``out`` the folder written (or ``None``).
    """

    curve: xr.Dataset = field(repr=False)
    network: Network | None = field(repr=False)
    learning_network: Network | None = field(repr=False)
    entropy: dict[str, float]
    initial_kl: float
    final_kl: float
    parameters: list[str]
    learned: dict[str, float]
    start: dict[str, float]
    method: str
    settings: dict[str, Any] = field(repr=False)
    seconds: float = field(repr=False)
    out: pathlib.Path | None = None


def _curve(r: dict[str, Any]) -> xr.Dataset:
    coords = {"time": r["time"], "parameter": r["parameters"]}
    data: dict[str, Any] = {name: (("time",), r[name]) for name in _CURVE_SERIES}
    for name in ("G", "P", "free", "clamped"):
        data[name] = (("time", "parameter"), r[name])
    if "energy_balance" in r:
        coords["copy"] = ["free", "clamped"]
        data["energy_balance"] = (("time", "copy"), r["energy_balance"])
    attrs = {k: (int(v) if isinstance(v, bool) else v) for k, v in r["settings"].items()}
    attrs["method"] = r["method"]
    return _dataset(data, coords, attrs)


def learn(
    job: dict[str, Any] | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> LearnResult:
    """Run a learning job: a ``crnkit learn`` TOML file (relative paths in it start from the
    file's folder) or a dict of the same structure (``{"model": {...}, "target": {...},
    "learn": {...}}``; relative paths start from the working directory, ``None`` values
    count as not given).

    Returns a :class:`LearnResult`. The curve variables are ``kl`` (D(Q‖P), nats),
    ``entropy_produced`` and ``sigma_<kind>`` (k_B per copy, cumulative) over ``time``,
    and ``G`` (effective free energies, k_B T), ``P`` (parameter concentrations),
    ``free`` and ``clamped`` (mean counts per copy) over (``time``, ``parameter``); runs
    in the large-ensemble limit add ``energy_balance`` (W − ΔF − Σ) over (``time``,
    ``copy``). The same job gives the same numbers as ``crnkit learn`` bit for bit.

    With ``out``, the command line's files are written there (``curve.csv``,
    ``learned.crn``, ``learning_network.crn``, ``summary.json``; no figures) and chemical
    and sampled runs keep ``checkpoint.json`` there while they run: an interrupted run
    resumes from it when called again with the same job and ``out``. The job's
    ``[output]`` section is checked but not used. Without ``out`` nothing is written.
    """
    if not isinstance(job, (dict, str, os.PathLike)):
        raise TypeError(f"a job is a TOML file path or a dict, not {type(job).__name__}")
    folder = None if out is None else pathlib.Path(out)
    r = _lib.learn(job, None if folder is None else os.fspath(folder), progress)
    names = r["parameters"]
    return LearnResult(
        curve=_curve(r),
        network=r["network"],
        learning_network=r["learning_network"],
        entropy=r["entropy"],
        initial_kl=r["initial_kl"],
        final_kl=r["final_kl"],
        parameters=names,
        learned=dict(zip(names, r["learned"])),
        start=dict(zip(names, r["start"])),
        method=r["method"],
        settings=r["settings"],
        seconds=r["seconds"],
        out=folder,
    )
