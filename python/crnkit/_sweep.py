"""Parameter sweeps from Python: locally, or one task per shard on a Dask cluster.

The description is the one `crnkit sweep` reads (docs/sweeps.md), given as a TOML or JSON
file, TOML text or a dict. Shard i of n holds the points ``total*i//n .. total*(i+1)//n``
(the command line's split), and every point's numbers depend only on (seed, point), so any
split, any cluster and the local run give identical Datasets.
"""

from __future__ import annotations

import json
import os
import pathlib
import uuid
from typing import Any, Union

import numpy as np
import xarray as xr

from . import _lib

SweepLike = Union[str, "os.PathLike[str]", dict]


class _Description:
    """A sweep description as the native layer takes it: text, format, base folder."""

    def __init__(self, spec: SweepLike, base: str | os.PathLike[str] | None):
        if isinstance(spec, dict):
            if isinstance(spec.get("network"), _lib.Network):  # a Network: sent as .crn text
                spec = {**spec, "crn": spec["network"].to_crn()}
                del spec["network"]
            self.text, self.format, self.file = json.dumps(spec), "json", "<sweep dict>"
            self.base = str(base or os.getcwd())
        elif isinstance(spec, (str, os.PathLike)) and "\n" not in str(spec):
            path = pathlib.Path(spec)
            try:
                self.text = path.read_text()
            except OSError as e:
                from .errors import FileError

                raise FileError(f"{path}: {e.strerror or e}") from e
            self.format = "json" if path.suffix.lower() == ".json" else "toml"
            self.file = str(path)
            self.base = str(base or path.resolve().parent)
        elif isinstance(spec, str):
            self.text, self.format, self.file = spec, "toml", "<sweep>"
            self.base = str(base or os.getcwd())
        else:
            raise TypeError(f"a sweep is a file path, TOML text or a dict, not {type(spec).__name__}")
        self.info = _lib.sweep_info(self.text, self.format, self.base, self.file)

    def args(self) -> tuple[str, str, str]:
        return self.text, self.format, self.base

    def bounds(self, index: int, count: int) -> tuple[int, int]:
        total = self.info["points"]
        return total * index // count, total * (index + 1) // count


def shard_rows(
    text: str, fmt: str, base: str, start: int, end: int,
    threads: int | None = None, progress: Any = None,
) -> dict:
    """The columns of points ``start..end``."""
    return _lib.sweep_rows(text, fmt, base, start, end, threads=threads, progress=progress)


def _groups(columns: list[str]) -> dict[str, list[str]]:
    """Statistic columns ``stat:name`` grouped by ``stat``, names in table order."""
    out: dict[str, list[str]] = {}
    for c in columns:
        if ":" in c and not c.startswith("x0:"):
            stat, name = c.split(":", 1)
            out.setdefault(stat, []).append(name)
    return out


def _variables(rows: dict, info: dict, n_points: int) -> dict[str, np.ndarray]:
    """Reshape a range's long columns into arrays over (point, time[, name])."""
    n_times = len(info["times"])
    out: dict[str, np.ndarray] = {}
    for stat, names in _groups(info["columns"]).items():
        out[stat] = np.stack([rows[f"{stat}:{n}"] for n in names], axis=-1).reshape(
            n_points, n_times, len(names)
        )
    for c in info["columns"]:
        if c in ("point", "time") or (":" in c and not c.startswith("x0:")):
            continue
        values = rows[c]
        if c.startswith("thermo_") or c == "cme_error":
            out[c] = values.reshape(n_points, n_times)
        else:  # parameters and initial counts: one value per point
            out[c] = values.reshape(n_points, n_times)[:, 0] if n_times else values
    out["point"] = rows["point"].reshape(n_points, n_times)[:, 0] if n_times else rows["point"]
    return out


def _dataset(parts: dict[str, Any], info: dict) -> xr.Dataset:
    """The Dataset of a sweep from per-variable arrays (numpy or dask) over all points."""
    species = list(info["species"])
    coords: dict[str, Any] = {"point": parts["point"], "time": info["times"]}
    data: dict[str, Any] = {}
    for stat, names in _groups(info["columns"]).items():
        values = parts[stat]
        own = [n for n in names if n in species]
        if stat == "ode" or len(own) == len(names):
            coords.setdefault("species", names)
            data[stat] = (("point", "time", "species"), values)
        else:  # species, then the model's observables
            coords.setdefault("species", names[: len(own)])
            coords.setdefault("observable", names[len(own):])
            data[stat] = (("point", "time", "species"), values[..., : len(own)])
            data[f"observable_{stat}"] = (("point", "time", "observable"), values[..., len(own):])
    for c in info["columns"]:
        if c in ("point", "time") or (":" in c and not c.startswith("x0:")):
            continue
        if c.startswith("thermo_") or c == "cme_error":
            data[c] = (("point", "time"), parts[c])
        else:
            coords[c.replace(":", "_")] = ("point", parts[c])
    attrs = {"hash": info["hash"], "points": int(info["points"])}
    return xr.Dataset(data, coords, attrs)


def sweep(
    spec: SweepLike,
    *,
    base: str | os.PathLike[str] | None = None,
    client: Any = None,
    shards: int | None = None,
    threads: int | None = None,
    progress: Any = None,
) -> xr.Dataset:
    """Run a parameter sweep and return its Dataset over (``point``, ``time``,
    ``species``).

    ``spec`` is a sweep description (docs/sweeps.md): a ``.toml`` or ``.json`` file, TOML
    text or a dict (relative network paths resolve against the file's folder, else
    ``base`` or the current directory). Variables: one per statistic of the table
    (``ssa_mean``, ``ssa_sd``, ``cme_mean``, ``cme_sd`` and ``ode`` over (point, time,
    species), ``observable_*`` over ``observable``, ``cme_error`` and ``thermo_*`` over
    (point, time)); the swept parameters and initial counts (``x0_<S>``) are coordinates
    along ``point``. Attributes: the sweep's ``hash`` and ``points``.

    Without ``client`` the points run here, on ``threads`` threads (default: all cores),
    with the GIL released (Ctrl-C
    stops them; ``progress(label, done, total)`` is called as points finish). With a
    ``distributed.Client`` the sweep is cut into ``shards`` (default: the description's
    ``shard_size``, else one per 1,000 points and at least one per worker thread), one task
    each; the Dataset is backed by dask arrays over those tasks (``.compute()``, or
    ``.to_zarr(path)`` to write it without gathering). A task whose worker dies is run
    again elsewhere by Dask; since a point's numbers depend only on (seed, point), the
    result is identical to the local run.
    """
    d = _Description(spec, base)
    if client is None:
        start, end = 0, d.info["points"]
        rows = shard_rows(*d.args(), start, end, threads, progress)
        return _dataset(_variables(rows, d.info, end - start), d.info)
    return _on_dask(d, client, shards)


def _shard_count(d: _Description, client: Any, shards: int | None) -> int:
    total = d.info["points"]
    if shards is None:
        threads = sum(client.nthreads().values()) or 1
        shards = max(int(d.info["suggested_shards"]), threads)
    if not isinstance(shards, int) or shards < 1:
        from .errors import SettingError

        raise SettingError(f"invalid sweep setting shards = {shards}: at least one shard")
    return max(1, min(shards, total))


def _on_dask(d: _Description, client: Any, shards: int | None) -> xr.Dataset:
    import dask
    import dask.array as da

    n = _shard_count(d, client, shards)
    call = uuid.uuid4().hex[:12]  # each call computes (the scheduler may hold an earlier one)
    futures, sizes = [], []
    for i in range(n):
        start, end = d.bounds(i, n)
        fut = client.submit(
            _shard_variables, *d.args(), start, end, d.info,
            key=f"crnkit-sweep-{d.info['hash']}-{i}-of-{n}-{call}", pure=False,
        )
        futures.append(fut)
        sizes.append(end - start)
    # One small local call gives every variable's trailing shape and dtype.
    probe = _variables(shard_rows(*d.args(), 0, 0), d.info, 0)
    parts: dict[str, Any] = {}
    for name, empty in probe.items():
        blocks = [
            da.from_delayed(dask.delayed(_pick)(f, name), (m,) + empty.shape[1:], empty.dtype)
            for f, m in zip(futures, sizes)
        ]
        parts[name] = da.concatenate(blocks, axis=0)
    parts["point"] = np.arange(d.info["points"], dtype=np.uint64)
    return _dataset(parts, d.info)


def _worker_threads() -> int | None:
    """The thread count of the Dask worker running this task (``None`` outside one)."""
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def _shard_variables(text: str, fmt: str, base: str, start: int, end: int, info: dict) -> dict:
    """A Dask task: one shard's arrays over (point, time[, name]), on as many threads as
    the worker has (so that ``n_workers × threads_per_worker`` is what runs)."""
    rows = shard_rows(text, fmt, base, start, end, threads=_worker_threads())
    return _variables(rows, info, end - start)


def _pick(parts: dict, name: str) -> np.ndarray:
    return parts[name]
