"""simulate: Dataset layout, exact answers, seeds equal to the CLI's, threads."""

from __future__ import annotations

import math

import numpy as np
import pytest

import crnkit
from conftest import read_csv, run_cli


@pytest.fixture(scope="module")
def imm(models):
    return crnkit.Network.from_file(models / "immigration_death.crn")


def test_dataset_layout(imm):
    ds = crnkit.simulate(imm, until=4, every=0.5, runs=40, seed=3, trajectories=5, histograms=True)
    assert dict(ds.sizes) == {"time": 9, "species": 1, "run": 5, "count": ds.sizes["count"]}
    assert list(ds.species.values) == ["X"]
    np.testing.assert_allclose(ds.time, np.arange(9) * 0.5)
    assert ds["mean"].dims == ("time", "species") and ds["mean"].dtype == np.float64
    assert ds["sd"].dims == ("time", "species") and ds["sd"].dtype == np.float64
    assert ds.trajectory.dims == ("run", "time", "species") and ds.trajectory.dtype == np.uint64
    assert ds.histogram.dims == ("time", "species", "count")
    # Every histogram row counts every run; the kept trajectories start at x0.
    assert (ds.histogram.sum("count") == 40).all()
    assert (ds.trajectory.isel(time=0) == 0).all()
    assert ds.attrs["runs"] == 40 and ds.attrs["seed"] == 3 and ds.attrs["method"] == "direct"
    plain = crnkit.simulate(imm, until=4, every=0.5, runs=40, seed=3)
    assert set(plain.data_vars) == {"mean", "sd"}
    np.testing.assert_array_equal(plain["mean"], ds["mean"])
    assert crnkit.simulate(imm, 1, 1, runs=3, trajectories=True).sizes["run"] == 3


def test_observables_have_their_own_dimension():
    net = crnkit.Network.from_string(
        "species: A = 5, B = 0\nobservables: total = A + B\nA <-> B @ 1, 1\n"
    )
    ds = crnkit.simulate(net, until=2, every=1, runs=20)
    assert list(ds.observable.values) == ["total"]
    assert (ds.observable_mean == 5).all() and (ds.observable_sd == 0).all()


def test_immigration_death_mean_is_poisson(imm):
    # X(t) ~ Poisson(λ(t)), λ(t) = (α/μ)(1 − e^{−μt}): the sample mean of n runs has
    # sd sqrt(λ/n); allow 5 of them.
    runs = 4000
    ds = crnkit.simulate(imm, until=20, every=5, runs=runs, seed=11)
    for t, m, s in zip(ds.time.values, ds["mean"].sel(species="X").values, ds["sd"].sel(species="X").values):
        lam = 10.0 * (1 - math.exp(-0.1 * t))
        assert abs(m - lam) <= 5 * math.sqrt(lam / runs) + 1e-12, (t, m, lam)
        # Poisson: variance = mean (sd of the sample variance ≈ λ sqrt(2/n) for large λ).
        assert abs(s**2 - lam) <= 5 * math.sqrt((lam + 2 * lam**2) / runs) + 1e-12


@pytest.mark.parametrize("method", ["direct", "next-reaction", "rejection"])
def test_methods_agree_with_the_exact_mean(imm, method):
    runs = 2000
    ds = crnkit.simulate(imm, until=10, every=10, runs=runs, seed=5, method=method)
    lam = 10.0 * (1 - math.exp(-1.0))
    assert abs(float(ds["mean"].sel(species="X")[-1]) - lam) <= 5 * math.sqrt(lam / runs)
    assert ds.attrs["method"] == method


def test_seeds(imm):
    a = crnkit.simulate(imm, until=5, every=1, runs=50, seed=123)
    b = crnkit.simulate(imm, until=5, every=1, runs=50, seed=123)
    c = crnkit.simulate(imm, until=5, every=1, runs=50, seed=124)
    assert a.identical(b) and not a["mean"].equals(c["mean"])
    # A Generator gives one documented draw, so the same generator state gives the same run.
    expected = int(np.random.default_rng(9).integers(0, 2**64, dtype=np.uint64))
    g = crnkit.simulate(imm, until=5, every=1, runs=50, seed=np.random.default_rng(9))
    assert g.attrs["seed"] == expected == crnkit.seed_from(np.random.default_rng(9))
    rng = np.random.default_rng(9)
    assert crnkit.seed_from(rng) != crnkit.seed_from(rng)
    with pytest.raises(crnkit.SettingError):
        crnkit.seed_from(-1)
    with pytest.raises(TypeError):
        crnkit.seed_from("1")


def test_threads_do_not_change_the_numbers(models):
    net = crnkit.Network.from_file(models / "dimerisation.crn")
    one = crnkit.simulate(net, until=2, every=0.5, runs=100, seed=4, threads=1)
    two = crnkit.simulate(net, until=2, every=0.5, runs=100, seed=4, threads=2)
    assert one.identical(two)


@pytest.mark.parametrize(
    "model,args",
    [
        ("vilar.crn", ["--until", "20", "--every", "1", "--runs", "64", "--seed", "7"]),
        ("dimerisation.crn", ["--until", "5", "--every", "0.5", "--runs", "300", "--seed", "3",
                              "--method", "next-reaction"]),
        ("schlogl.crn", ["--until", "5", "--every", "0.5", "--runs", "50", "--seed", "5",
                         "--method", "rejection"]),
    ],
)
def test_same_numbers_as_the_cli(cli, models, tmp_path, model, args):
    """Bit for bit: mean, sd, trajectories and histograms against the CLI's files."""
    proc = run_cli(cli, "simulate", str(models / model), *args, "--out", "s.csv",
                   "--trajectories", "t.csv", "--histograms", "h.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    kw = dict(zip(args[::2], args[1::2]))
    ds = crnkit.simulate(
        models / model, until=float(kw["--until"]), every=float(kw["--every"]),
        runs=int(kw["--runs"]), seed=int(kw["--seed"]), method=kw.get("--method", "auto"),
        trajectories=10, histograms=True,
    )
    header, rows = read_csv(tmp_path / "s.csv")
    table = np.array(rows)
    np.testing.assert_array_equal(ds.time.values, table[:, 0])
    for j, name in enumerate(header[1:]):
        species, stat = name.rsplit("-", 1)
        var = ds[stat] if species in ds.species.values else ds[f"observable_{stat}"]
        dim = "species" if species in ds.species.values else "observable"
        np.testing.assert_array_equal(var.sel({dim: species}).values, table[:, j + 1], err_msg=name)
    _, traj = read_csv(tmp_path / "t.csv")
    traj = np.array(traj)
    for run in range(ds.sizes["run"]):
        mine = traj[traj[:, 0] == run][:, 2:]
        np.testing.assert_array_equal(ds.trajectory.isel(run=run).values, mine)
    lines = (tmp_path / "h.csv").read_text().splitlines()[1:]
    times = {float(t): k for k, t in enumerate(ds.time.values)}
    for line in lines:
        t, species, count, n = line.split(",")
        assert ds.histogram.isel(time=times[float(t)]).sel(species=species, count=int(count)) == int(n)
    assert int(ds.histogram.sum()) == sum(int(line.rsplit(",", 1)[1]) for line in lines)
