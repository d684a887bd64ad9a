"""The neural surrogate: :class:`Surrogate` (load and query a distilled model),
:func:`distill` (train one from a configuration) and :func:`infer` (rates from snapshot
data). See docs/python.md, "Surrogates", and docs/surrogate.md.

Queries take conditions with an optional leading batch dimension: ``params`` as a dict
``{name: value or 1-D array}`` or an array ``(n_params,)`` / ``(batch, n_params)`` in box
order, ``t`` a number or a 1-D array, ``x0`` ``None`` (the card's default initial counts),
a dict ``{species: count or 1-D array}`` (others at their default) or an array
``(n_species,)`` / ``(batch, n_species)``. Arguments of length 1 broadcast against the
batch. Without any batched argument the result has no batch dimension.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt
import xarray as xr

from . import _lib
from .errors import DomainWarning, QueryError

__all__ = ["Surrogate", "Distillation", "distill", "infer", "builtin_surrogates"]

Params = Union[Mapping[str, Any], npt.ArrayLike]
Counts = Union[Mapping[str, Any], npt.ArrayLike, None]
PathLike = Union[str, "os.PathLike[str]"]


def _query_error(reason: str) -> QueryError:
    e = QueryError(f"surrogate: {reason}")
    e.kind = "invalid_query"
    return e


def _counts(values: npt.ArrayLike, what: str) -> np.ndarray:
    """Non-negative integer counts as uint64."""
    a = np.asarray(values)
    if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
        raise _query_error(f"{what}: counts must be whole numbers")
    if a.dtype.kind not in "iuf" and a.size:
        raise TypeError(f"{what}: expected counts, not {a.dtype}")
    if a.size and np.any(a < 0):
        raise _query_error(f"{what}: counts must be non-negative")
    return a.astype(np.uint64)


def _batch(*lengths: int) -> int:
    """The common batch length of arguments whose lengths are given (1 broadcasts)."""
    n = max(lengths, default=1)
    for k in lengths:
        if k not in (1, n):
            raise _query_error(f"batch lengths {sorted(set(lengths))} do not broadcast")
    return n


def _rows(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` (1 or n rows) as n contiguous rows."""
    return np.ascontiguousarray(np.broadcast_to(a, (n,) + a.shape[1:]))


class Surrogate:
    """A distilled surrogate q(x | parameters, x0, t): the folder written by
    ``crnkit distill`` or :func:`distill` (``card.json``, ``model.safetensors``).

    Every query evaluates each condition of the batch exactly as ``crnkit query`` does
    for that condition (in parallel over the conditions, with the GIL released), so the
    numbers equal the command line's bit for bit. Conditions outside the trained domain
    warn (:class:`crnkit.DomainWarning`) or, with ``strict=True``, raise
    :class:`crnkit.DomainError`.
    """

    def __init__(self, native: _lib.Surrogate) -> None:
        self._s = native
        names, lo, hi, log = native.parameter_box
        self._names: list[str] = list(names)
        self._box = {n: {"lo": a, "hi": b, "log": c} for n, a, b, c in zip(names, lo, hi, log)}
        self._card: dict[str, Any] | None = None

    @classmethod
    def load(cls, dir: PathLike) -> Surrogate:
        """Read a surrogate folder, or ``"builtin:NAME"`` for one shipped with crnkit
        (:func:`crnkit.builtin_surrogates` lists them); a missing or damaged card or weight
        file raises :class:`crnkit.FileError` (or :class:`crnkit.SurrogateError`).

        >>> import crnkit
        >>> s = crnkit.Surrogate.load("builtin:autoregulated")
        >>> s.species
        ['Gb', 'P']
        """
        return cls(_lib.Surrogate.load(os.fspath(dir)))

    def __repr__(self) -> str:
        return (
            f"<crnkit.Surrogate {os.fspath(self.dir)!r}: species {self.species}, "
            f"parameters {self._names}, t in [{self.times[0]}, {self.times[1]}]>"
        )

    @property
    def dir(self) -> str:
        """The folder it was loaded from."""
        return os.fspath(self._s.dir)

    @property
    def species(self) -> list[str]:
        """Species names, in model order."""
        return list(self._s.species)

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """The trained parameter box, in box order: ``{name: {"lo", "hi", "log"}}``."""
        return {n: dict(v) for n, v in self._box.items()}

    @property
    def initial(self) -> dict[str, int]:
        """The card's default initial counts (used when ``x0`` is not given)."""
        return dict(zip(self.species, self._s.initial))

    @property
    def initial_range(self) -> dict[str, tuple[int, int]]:
        """The trained initial counts, ``{species: (lo, hi)}``."""
        lo, hi = self._s.initial_range
        return {s: (a, b) for s, a, b in zip(self.species, lo, hi)}

    @property
    def caps(self) -> dict[str, int]:
        """The largest count of each species the model represents."""
        return dict(zip(self.species, self._s.caps))

    @property
    def times(self) -> tuple[float, float]:
        """The trained time range ``(t_min, t_max)``."""
        return tuple(self._s.times)  # type: ignore[return-value]

    @property
    def card(self) -> dict[str, Any]:
        """The model card (``card.json``) as Python data."""
        if self._card is None:
            self._card = json.loads(self._s.card_json)
        return self._card

    @property
    def metrics(self) -> dict[str, Any]:
        """The card's training metrics (held-out Hellinger distances, KL, epochs, ...)."""
        return dict(self.card["metrics"])

    # -- conditions ---------------------------------------------------------------------

    def _params(self, params: Params) -> tuple[np.ndarray, bool]:
        """(rows, n_params) float64 and whether batched."""
        names = self._names
        if isinstance(params, Mapping):
            unknown = [k for k in params if k not in self._box]
            if unknown:
                raise _query_error(
                    f"`{unknown[0]}` is not a parameter of the surrogate "
                    f"(its parameters: {', '.join(names)})"
                )
            missing = [n for n in names if n not in params]
            if missing:
                raise _query_error(f"parameter `{missing[0]}` is missing")
            cols = [np.asarray(params[n], dtype=np.float64) for n in names]
            if any(c.ndim > 1 for c in cols):
                raise _query_error("parameter values are numbers or 1-D arrays")
            batched = any(c.ndim == 1 for c in cols)
            n = _batch(*(c.size if c.ndim else 1 for c in cols))
            return np.stack([np.broadcast_to(c.reshape(-1), (n,)) for c in cols], axis=1), batched
        a = np.asarray(params, dtype=np.float64)
        if a.ndim not in (1, 2) or a.shape[-1] != len(names):
            raise _query_error(
                f"expected {len(names)} parameter values ({', '.join(names)}) per condition, "
                f"found an array of shape {a.shape}"
            )
        return a.reshape(-1, len(names)), a.ndim == 2

    def _x0(self, x0: Counts) -> tuple[np.ndarray, bool]:
        """(rows, n_species) uint64 and whether batched."""
        species = self.species
        default = np.asarray(self._s.initial, dtype=np.uint64)
        if x0 is None:
            return default.reshape(1, -1), False
        if isinstance(x0, Mapping):
            for k in x0:
                if k not in species:
                    raise _query_error(
                        f"initial state: `{k}` is not a species of the surrogate "
                        f"(its species: {', '.join(species)})"
                    )
            cols = [
                _counts(x0[s], f"x0[{s!r}]") if s in x0 else default[i]
                for i, s in enumerate(species)
            ]
            if any(np.ndim(c) > 1 for c in cols):
                raise _query_error("initial counts are numbers or 1-D arrays")
            batched = any(np.ndim(c) == 1 for c in cols)
            n = _batch(*(np.size(c) if np.ndim(c) else 1 for c in cols))
            rows = [np.broadcast_to(np.asarray(c).reshape(-1), (n,)) for c in cols]
            return np.stack(rows, axis=1).astype(np.uint64), batched
        a = _counts(x0, "x0")
        if a.ndim not in (1, 2) or a.shape[-1] != len(species):
            raise _query_error(
                f"initial state: expected {len(species)} counts ({', '.join(species)}) per "
                f"condition, found an array of shape {a.shape}"
            )
        return a.reshape(-1, len(species)), a.ndim == 2

    def _conditions(
        self, params: Params, t: npt.ArrayLike, x0: Counts, strict: bool, *extra: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Broadcast conditions (params, x0, t as rows) and whether batched; warns or
        raises for conditions outside the trained domain. ``extra`` are the lengths of
        other batched arguments."""
        p, pb = self._params(params)
        x, xb = self._x0(x0)
        tt = np.asarray(t, dtype=np.float64)
        if tt.ndim > 1:
            raise _query_error("t is a number or a 1-D array")
        tb = tt.ndim == 1
        n = _batch(len(p), len(x), tt.size if tb else 1, *extra)
        p, x = _rows(p, n), _rows(x, n)
        tt = np.ascontiguousarray(np.broadcast_to(tt.reshape(-1), (n,)))
        for line in self._s.outside((p, x, tt), strict):
            warnings.warn(f"{line}; the surrogate extrapolates", DomainWarning, stacklevel=3)
        return p, x, tt, pb or xb or tb or bool(extra)

    # -- queries ------------------------------------------------------------------------

    def marginal(
        self, species: str, params: Params, t: npt.ArrayLike, x0: Counts = None,
        strict: bool = False,
    ) -> np.ndarray:
        """q(X_species = n), n = 0..cap: an array ``(batch, cap + 1)`` (``(cap + 1,)``
        without a batch)."""
        p, x, tt, batched = self._conditions(params, t, x0, strict)
        m = self._s.marginal(species, (p, x, tt))
        return m if batched else m[0]

    def log_prob(
        self, states: npt.ArrayLike, params: Params, t: npt.ArrayLike, x0: Counts = None,
        strict: bool = False,
    ) -> np.ndarray | float:
        """ln q(state | condition): ``states`` ``(n_species,)`` or ``(batch, n_species)``
        counts in model order, broadcast against the conditions; −inf beyond a cap."""
        st = _counts(states, "states")
        ns = len(self.species)
        if st.ndim not in (1, 2) or st.shape[-1] != ns:
            raise _query_error(
                f"states: expected {ns} counts ({', '.join(self.species)}) per state, found "
                f"an array of shape {st.shape}"
            )
        if np.any(st > np.iinfo(np.uint32).max):
            raise _query_error("states: a count is too large")
        sb = st.ndim == 2
        st = st.reshape(-1, ns)
        p, x, tt, batched = self._conditions(params, t, x0, strict, *((len(st),) if sb else ()))
        st = _rows(st.astype(np.uint32), len(tt))
        lp = self._s.log_prob(st, (p, x, tt))
        return lp if batched else float(lp[0])

    def moments(
        self, params: Params, t: npt.ArrayLike, x0: Counts = None, strict: bool = False
    ) -> xr.Dataset:
        """Mean and standard deviation of every species (from the exact marginals): a
        Dataset with ``mean`` and ``sd`` over (``point``, ``species``), the time and
        parameter values as coordinates along ``point`` (no ``point`` dimension without a
        batch). Read them as ``ds["mean"]``."""
        p, x, tt, batched = self._conditions(params, t, x0, strict)
        mean, sd = self._s.moments((p, x, tt))
        coords: dict[str, Any] = {"species": self.species}
        if batched:
            dims: tuple[str, ...] = ("point", "species")
            coords.update(point=np.arange(len(tt)), time=("point", tt))
            for j, name in enumerate(self._names):
                if name not in coords:
                    coords[name] = ("point", p[:, j])
        else:
            dims = ("species",)
            mean, sd = mean[0], sd[0]
            coords["time"] = float(tt[0])
            coords.update({n: float(p[0, j]) for j, n in enumerate(self._names) if n not in coords})
        return xr.Dataset({"mean": (dims, mean), "sd": (dims, sd)}, coords)

    def sample(
        self, n: int, params: Params, t: npt.ArrayLike, x0: Counts = None, seed: int = 0,
        strict: bool = False,
    ) -> np.ndarray:
        """``n`` exact ancestral samples per condition: uint32 ``(batch, n, n_species)``
        (``(n, n_species)`` without a batch). Every condition draws with ``seed`` (the
        samples of ``crnkit query --sample n --seed seed`` there)."""
        p, x, tt, batched = self._conditions(params, t, x0, strict)
        xs = self._s.sample(int(n), (p, x, tt), int(seed))
        return xs if batched else xs[0]

    def joint(
        self, params: Params, t: npt.ArrayLike, x0: Counts = None, strict: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The joint on the box of caps: ``(states, p)`` with ``states`` uint32 ``(K,
        n_species)`` in lexicographic order and ``p`` ``(batch, K)`` (``(K,)`` without a
        batch). At most 100,000 states."""
        p, x, tt, batched = self._conditions(params, t, x0, strict)
        states, probs = self._s.joint((p, x, tt))
        return states, (probs if batched else probs[0])


@dataclasses.dataclass(frozen=True)
class Distillation:
    """What :func:`distill` made: the loaded ``surrogate``, its card's ``metrics``
    (``hellinger_median``, ``hellinger_p90``, ``hellinger_max`` over the held-out points,
    ``val_kl``, ``best_epoch``, ``epochs_run``, seconds, ...), why training stopped
    (``"epochs"``, ``"early-stopping"``, ``"budget"``), the epoch a resumed run continued
    after and the output folder."""

    surrogate: Surrogate
    metrics: dict[str, Any]
    stop: str
    resumed_from: int | None
    dir: str


def builtin_surrogates() -> dict[str, str]:
    """The trained surrogates shipped with crnkit, by name, each with a line on what it
    answers; load one with ``Surrogate.load("builtin:NAME")``.

    >>> import crnkit
    >>> "autoregulated" in crnkit.builtin_surrogates()
    True
    """
    return dict(_lib.builtin_surrogates())


def distill(
    config: PathLike | Mapping[str, Any],
    *,
    out: PathLike | None = None,
    fresh: bool = False,
    progress: Callable[[str, int, int], Any] | None = None,
) -> Distillation:
    """Distil a surrogate as ``crnkit distill`` does, from a TOML configuration file or a
    dict of the same structure (``{"model": {"builtin": ...}, "param": [...], ...}``;
    model files in a dict are relative to the working directory). ``out`` overrides the
    output folder; an interrupted run resumes from its checkpoint unless ``fresh``.
    Ctrl-C stops training between minibatches (``KeyboardInterrupt``; the checkpoint keeps
    the finished epochs). ``progress(label, epoch, epochs)`` is called as training goes.
    """
    out_s = None if out is None else os.fspath(out)
    if isinstance(config, Mapping):
        r = _lib.distill(json=json.dumps(config), out=out_s, fresh=fresh, progress=progress)
    elif isinstance(config, (str, os.PathLike)):
        r = _lib.distill(path=os.fspath(config), out=out_s, fresh=fresh, progress=progress)
    else:
        raise TypeError(f"config is a TOML file path or a dict, not {type(config).__name__}")
    return Distillation(
        surrogate=Surrogate.load(r["dir"]),
        metrics=json.loads(r["metrics"]),
        stop=r["stop"],
        resumed_from=r["resumed_from"],
        dir=os.fspath(r["dir"]),
    )


def _data(s: Surrogate, data: Any) -> tuple[str | None, list[str], np.ndarray, np.ndarray]:
    """(csv path, species, times, counts flat) of snapshot data."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data), [], np.zeros(0), np.zeros(0, dtype=np.uint64)
    if isinstance(data, Mapping):
        if "time" not in data:
            raise _query_error("snapshot data: no `time` column")
        species = [k for k in data if k != "time"]
        times = np.asarray(data["time"], dtype=np.float64).reshape(-1)
        counts = np.stack([_counts(data[k], k).reshape(-1) for k in species], axis=1)
        return None, species, times, np.ascontiguousarray(counts.reshape(-1))
    a = np.asarray(data)
    ns = len(s.species)
    if a.ndim != 2 or a.shape[1] != ns + 1:
        raise _query_error(
            f"snapshot data: expected an array (cells, {ns + 1}): time, then "
            f"{', '.join(s.species)}; found shape {a.shape}"
        )
    counts = _counts(a[:, 1:], "snapshot data")
    return None, s.species, a[:, 0].astype(np.float64), np.ascontiguousarray(counts.reshape(-1))


def infer(
    surrogate: Surrogate | PathLike,
    data: Any,
    *,
    free: Sequence[str] | None = None,
    fix: Mapping[str, float] | None = None,
    x0: Mapping[str, int] | npt.ArrayLike | None = None,
    mcmc: bool = False,
    samples: int = 2000,
    burn_in: int = 1000,
    chains: int = 4,
    seed: int = 0,
) -> xr.Dataset:
    """Rates from snapshot data, as ``crnkit infer`` computes them (the same numbers for
    the same seed).

    ``data`` is a CSV file (header ``time,<species>...``), a dict ``{"time": ...,
    species: counts...}`` or an array ``(cells, 1 + n_species)`` (time, then the counts
    in model order). ``free`` names the parameters to infer (default: every box parameter
    not in ``fix``); ``fix`` gives the others' values; ``x0`` the initial counts of every
    cell (default: the card's).

    Returns a Dataset over ``parameter`` (the free ones): ``estimate``, ``std_error``
    and ``on_boundary`` of the maximum-likelihood fit (attributes ``log_likelihood``,
    ``iterations``, ``cells``). With ``mcmc=True`` (uniform prior on the box,
    Metropolis–Hastings) also ``posterior`` over (``chain``, ``draw``, ``parameter``),
    ``posterior_log_likelihood`` over (``chain``, ``draw``), the summaries
    ``posterior_mean``, ``posterior_sd``, ``posterior_q025``, ``posterior_q50``,
    ``posterior_q975`` and ``rhat`` over ``parameter``, and the attribute ``acceptance``.
    """
    s = surrogate if isinstance(surrogate, Surrogate) else Surrogate.load(surrogate)
    path, species, times, counts = _data(s, data)
    x0_list = None
    if x0 is not None:
        x, batched = s._x0(x0)
        if batched:
            raise _query_error("infer: x0 is one initial state for every cell")
        x0_list = [int(v) for v in x[0]]
    fixed = [(str(k), float(v)) for k, v in (fix or {}).items()]
    r = _lib.infer(
        s._s, path, species, np.ascontiguousarray(times), counts.astype(np.uint64),
        list(free or []), fixed, x0_list, bool(mcmc), int(samples), int(burn_in),
        int(chains), int(seed),
    )
    ds = xr.Dataset(
        {k: (("parameter",), r[k]) for k in ("estimate", "std_error", "on_boundary")},
        coords={"parameter": r["names"]},
        attrs={"log_likelihood": r["log_likelihood"], "iterations": r["iterations"],
               "cells": r["cells"], "seed": int(seed)},
    )
    if mcmc:
        if list(r["posterior_names"]) != list(r["names"]) or list(r["summary_names"]) != list(
            r["names"]
        ):
            raise RuntimeError("crnkit: the posterior's parameters differ from the fit's")
        ds["posterior"] = (("chain", "draw", "parameter"), r["posterior"])
        ds["posterior_log_likelihood"] = (("chain", "draw"), r["posterior_log_likelihood"])
        for k in ("mean", "sd", "q025", "q50", "q975"):
            ds[f"posterior_{k}"] = (("parameter",), r[k])
        ds["rhat"] = (("parameter",), r["rhat"])
        ds = ds.assign_coords(chain=np.arange(r["posterior"].shape[0]),
                              draw=np.arange(r["posterior"].shape[1]))
        ds.attrs.update(acceptance=r["acceptance"], samples=int(samples),
                        burn_in=int(burn_in), chains=int(chains))
    return ds
