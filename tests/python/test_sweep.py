"""Sweeps from Python: the same numbers as `crnkit sweep`, locally and on a real Dask
cluster of worker processes, also when a worker is killed mid-sweep."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
import time

import numpy as np
import pytest
import xarray as xr

import crnkit

from conftest import run_cli

SWEEP = """\
network = "builtin:immigration_death"
seed = 11
replicates = 40
time = { until = 3, every = 0.5 }
points = { kind = "lhs", n = 24, seed = 5, parameters = [
  { name = "alpha", lo = 1, hi = 20, scale = "log" },
  { name = "mu", lo = 0.5, hi = 2 },
] }
[ssa]
[ode]
"""


@pytest.fixture(scope="module")
def local() -> xr.Dataset:
    return crnkit.sweep(SWEEP)


def test_layout(local):
    assert dict(local.sizes) == {"point": 24, "time": 7, "species": 1}
    assert local["ssa_mean"].dims == ("point", "time", "species")
    assert local["ssa_mean"].dtype == np.float64
    assert local["ode"].dims == ("point", "time", "species")
    assert list(local.point.values) == list(range(24))
    assert local.point.dtype == np.uint64
    np.testing.assert_allclose(local.time, np.arange(7) * 0.5)
    assert local.alpha.dims == ("point",) and local.mu.dims == ("point",)
    # Latin hypercube: one point in each of the 24 strata of every axis.
    strata = np.floor((np.log(local.alpha) - np.log(1)) / (np.log(20) - np.log(1)) * 24)
    assert sorted(strata.values.astype(int)) == list(range(24))
    assert len(local.attrs["hash"]) > 8 and local.attrs["points"] == 24


def test_mean_is_the_exact_one(local):
    """Immigration–death from 0: mean alpha/mu (1 - e^{-mu t}), Poisson; the SSA mean of
    40 replicates lies within 5 standard errors at every point and time."""
    t = local.time
    exact = local.alpha / local.mu * (1 - np.exp(-local.mu * t))
    got = local["ssa_mean"].sel(species="X")
    se = np.sqrt(exact / 40)
    assert (np.abs(got - exact) <= 5 * se + 1e-12).all()
    np.testing.assert_allclose(local["ode"].sel(species="X"), exact, rtol=1e-5, atol=1e-6)


def test_same_numbers_as_the_cli(local, cli, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "s.toml").write_text(SWEEP)
    for i in (2, 0, 1):
        r = run_cli(cli, "sweep", "s.toml", "--shard", f"{i}/3", "--out", "shards", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    r = run_cli(cli, "merge", "shards", "--out", "merged.parquet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    table = pq.read_table(tmp_path / "merged.parquet")
    assert table.column_names[:4] == ["point", "alpha", "mu", "time"]
    mean = table.column("ssa_mean:X").to_numpy().reshape(24, 7)
    np.testing.assert_array_equal(mean, local["ssa_mean"].sel(species="X").values)
    ode = table.column("ode:X").to_numpy().reshape(24, 7)
    np.testing.assert_array_equal(ode, local["ode"].sel(species="X").values)
    alpha = table.column("alpha").to_numpy().reshape(24, 7)[:, 0]
    np.testing.assert_array_equal(alpha, local.alpha.values)


def test_file_dict_and_text_agree(local, tmp_path):
    import tomllib

    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    xr.testing.assert_identical(crnkit.sweep(path), local)
    spec = tomllib.loads(SWEEP)
    xr.testing.assert_identical(crnkit.sweep(spec), local)
    # A Network in place of the model's name travels as its .crn text.
    net = crnkit.Network.from_file(pathlib.Path(__file__).parents[2] / "examples/models/immigration_death.crn")
    inline = crnkit.sweep({**spec, "network": net})
    np.testing.assert_array_equal(inline["ssa_mean"].values, local["ssa_mean"].values)


def test_errors(tmp_path):
    with pytest.raises(crnkit.ParseError, match="invalid sweep description"):
        crnkit.sweep({"network": "builtin:immigration_death", "tiem": {}})
    with pytest.raises(crnkit.FileError):
        crnkit.sweep(tmp_path / "missing.toml")
    with pytest.raises(crnkit.ModelError, match="unknown"):
        crnkit.sweep(SWEEP.replace('name = "mu"', 'name = "nu"'))
    with pytest.raises(TypeError):
        crnkit.sweep(3)


def test_progress_and_ctrl_c_style_cancel():
    seen = []
    crnkit.sweep(SWEEP, progress=lambda label, done, total: seen.append((label, done, total)))
    assert seen and seen[-1][1:] == (24, 24)

    def stop(label, done, total):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        crnkit.sweep(SWEEP.replace("replicates = 40", "replicates = 4000"), progress=stop)


# ---------------------------------------------------------------------------------------
# Dask: a real LocalCluster of two worker processes.

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=40,
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_dask_is_identical_and_lazy(local, client):
    ds = crnkit.sweep(SWEEP, client=client, shards=5)
    assert ds["ssa_mean"].chunks is not None  # backed by dask arrays
    assert [len(c) for c in ds["ssa_mean"].chunks[:1]] == [5]
    xr.testing.assert_identical(ds.compute(), local)


def test_dask_to_zarr(local, client, tmp_path):
    pytest.importorskip("zarr")
    ds = crnkit.sweep(SWEEP, client=client, shards=3)
    ds.to_zarr(tmp_path / "s.zarr")
    back = xr.open_zarr(tmp_path / "s.zarr").compute()
    np.testing.assert_array_equal(back["ssa_mean"].values, local["ssa_mean"].values)
    np.testing.assert_array_equal(back.alpha.values, local.alpha.values)


def test_a_killed_worker_loses_nothing(client):
    """SIGKILL one worker process while shards run: Dask reruns its tasks on the other
    (and on the restarted one); every point comes back once, with the same numbers."""
    slow = SWEEP.replace("replicates = 40", "replicates = 60000").replace("n = 24", "n = 16")
    reference = crnkit.sweep(slow)
    pids = list(client.run(os.getpid).values())
    ds = crnkit.sweep(slow, client=client, shards=8)
    killed = threading.Event()

    def kill_soon():
        # Wait until a shard is running, then kill the first worker.
        deadline = time.time() + 30
        while time.time() < deadline:
            if any(client.processing().values()):
                break
            time.sleep(0.01)
        time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)
        if any(client.processing().values()):
            killed.set()

    t = threading.Thread(target=kill_soon)
    t.start()
    got = ds.compute()
    t.join()
    assert killed.is_set(), "the sweep ended before the worker was killed"
    assert list(got.point.values) == list(range(16))
    xr.testing.assert_identical(got, reference)
