"""solve, ode and thermo: exact answers, layouts and the CLI's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import crnkit
from conftest import read_csv, run_cli


def poisson(lam: float, n: int) -> np.ndarray:
    k = np.arange(n)
    return np.exp(k * math.log(lam) - lam - np.array([math.lgamma(i + 1) for i in k]))


@pytest.fixture(scope="module")
def imm(models):
    return crnkit.Network.from_file(models / "immigration_death.crn")


def test_transient_is_exact(imm):
    ds = crnkit.solve(imm, until=10, every=2.5, tol=1e-10)
    assert ds["mean"].dims == ("time", "species")
    assert ds.marginal.dims == ("time", "species", "count")
    assert ds.covariance.dims == ("time", "species", "species2")
    assert ds.error_bound.dims == ("time",) and ds.states.dtype == np.uint64
    assert (ds.error_bound <= 1e-10).all()
    for k, t in enumerate(ds.time.values):
        lam = 10 * (1 - math.exp(-0.1 * t))
        assert ds["mean"].isel(time=k).item() == pytest.approx(lam, abs=1e-8)
        assert ds["sd"].isel(time=k).item() == pytest.approx(math.sqrt(lam), abs=1e-8)
        p = ds.marginal.isel(time=k, species=0).values
        assert p.sum() == pytest.approx(1, abs=1e-9)
        if t > 0:
            np.testing.assert_allclose(p, poisson(lam, p.size), atol=1e-9)


def test_stationary(imm):
    ds = crnkit.solve(imm, stationary=True)
    assert "time" not in ds.dims
    assert ds["mean"].sel(species="X").item() == pytest.approx(10, abs=1e-8)
    p = ds.marginal.sel(species="X").values
    np.testing.assert_allclose(p, poisson(10, p.size), atol=1e-10)
    assert ds.attrs["residual"] < 1e-10


def test_bounds_and_fixed(models):
    net = crnkit.Network.from_file(models / "immigration_death.crn")
    ds = crnkit.solve(net, until=5, every=5, bounds={"X": 8}, fixed=True)
    assert ds.sizes["count"] == 9
    # Mass leaves through the bound and is reported in the certified error.
    assert ds.error_bound[-1] > 1e-3
    with pytest.raises(crnkit.ModelError, match="unknown species `Y`"):
        crnkit.solve(net, until=1, every=1, bounds={"Y": 3})
    with pytest.raises(crnkit.SettingError):
        crnkit.solve(net, until=1)


def test_same_numbers_as_the_cli(cli, models, tmp_path):
    proc = run_cli(cli, "solve", str(models / "toggle_switch.crn"), "--until", "4", "--every", "1",
                   "--out", "s.csv", "--marginals", "m.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ds = crnkit.solve(models / "toggle_switch.crn", until=4, every=1)
    header, rows = read_csv(tmp_path / "s.csv")
    table = np.array(rows)
    for j, name in enumerate(header[1:], start=1):
        if name == "fsp_error":
            np.testing.assert_array_equal(ds.error_bound.values, table[:, j])
        elif name == "states":
            np.testing.assert_array_equal(ds.states.values, table[:, j])
        else:
            species, stat = name.rsplit("-", 1)
            np.testing.assert_array_equal(ds[stat].sel(species=species).values, table[:, j])
    times = {float(t): k for k, t in enumerate(ds.time.values)}
    for line in (tmp_path / "m.csv").read_text().splitlines()[1:]:
        t, species, count, p = line.split(",")
        assert ds.marginal.isel(time=times[float(t)]).sel(species=species, count=int(count)) == float(p)


def test_ode_matches_the_mean(imm, cli, models, tmp_path):
    ds = crnkit.ode(imm, until=10, every=1)
    expected = 10 * (1 - np.exp(-0.1 * ds.time.values))
    np.testing.assert_allclose(ds.amount.sel(species="X"), expected, rtol=1e-6, atol=1e-8)
    proc = run_cli(cli, "ode", str(models / "schlogl.crn"), "--until", "10", "--every", "0.5",
                   "--out", "o.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _, rows = read_csv(tmp_path / "o.csv")
    mine = crnkit.ode(models / "schlogl.crn", until=10, every=0.5)
    np.testing.assert_array_equal(mine.amount.values, np.array(rows)[:, 1:])


@pytest.mark.parametrize("method", ["cme", "ssa", "ode"])
def test_thermo(models, method):
    ds = crnkit.thermo(models / "triangle.crn", until=3, every=0.5, method=method, runs=200, seed=2)
    assert ds.sizes["time"] == 7 and ds.attrs["method"] == method
    sigma = ds.entropy_production_rate.values
    # Relaxing to detailed balance: σ ≥ 0 (the SSA estimate is noisy and NaN at t = 0).
    if method != "ssa":
        assert (sigma >= -1e-9).all()
        np.testing.assert_allclose(ds.reaction_entropy_production.sum("reaction"), sigma, rtol=1e-9, atol=1e-12)
    else:
        assert math.isnan(sigma[0])
        assert "exp_minus_total_entropy_mean" in ds


def test_thermo_same_numbers_as_the_cli(cli, models, tmp_path):
    proc = run_cli(cli, "thermo", str(models / "triangle.crn"), "--until", "5", "--every", "0.5",
                   "--out", "t.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, rows = read_csv(tmp_path / "t.csv")
    table = np.array(rows)
    ds = crnkit.thermo(models / "triangle.crn", until=5, every=0.5)
    compared = 0
    for j, name in enumerate(header):
        if name.startswith("sigma_"):
            mine = ds.reaction_entropy_production.sel(reaction=name[6:])
        else:
            mine = ds[{"fsp_error": "error_bound"}.get(name, name)]
        np.testing.assert_array_equal(mine.values, table[:, j], err_msg=name)
        compared += 1
    assert compared == len(header) >= 9


def test_irreversible_networks_have_no_entropy_production():
    net = crnkit.Network.from_string("species: A = 3, B = 0\nA -> B @ 1\n")
    with pytest.raises(crnkit.UnsupportedError, match="no reverse reaction"):
        crnkit.thermo(net, until=1, every=1)
