"""The neural surrogate in Python: Surrogate.load and its queries, distill, infer — the
same numbers as `crnkit query`, `crnkit distill` and `crnkit infer`, shapes and dtypes,
errors, and accuracy against the exact law of immigration–death."""

from __future__ import annotations

import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

import crnkit
from conftest import run_cli

BD = "parameters: k = 5, g = 1\nspecies: X = 0\n0 -> X @ k\nX -> 0 @ g\n"

# The tiny configuration of tests/integration/surrogate_cli.rs (about 1 s of training).
CONFIG = {
    "model": {"file": "bd.crn"},
    "param": [
        {"name": "k", "lo": 1.0, "hi": 10.0, "log": True},
        {"name": "g", "lo": 0.5, "hi": 2.0, "log": True},
    ],
    "initial": {"X": [0, 12]},
    "teacher": {"t_max": 4.0, "n_times": 8},
    "design": {"train_points": 96, "val_points": 8, "seed": 1},
    "network": {"hidden": 48, "seed": 2},
    "train": {"epochs": 150, "batch_pairs": 16, "lr": 5e-3, "seed": 3},
    "output": {"dir": "model"},
}


def toml_text(config: dict) -> str:
    """The configuration as TOML (numbers, strings, booleans, lists, one level of tables
    and the array of tables `param`)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines = []
    for section, body in config.items():
        for table in body if isinstance(body, list) else [body]:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{k} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


ONE_THREAD = {**os.environ, "RAYON_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, cli):
    """One surrogate distilled by the CLI and the same configuration distilled from a
    dict by `crnkit.distill`, both with one training thread (candle's CPU kernels sum in a
    thread-dependent order)."""
    d = tmp_path_factory.mktemp("surrogate")
    (d / "bd.crn").write_text(BD)
    (d / "distill.toml").write_text(toml_text(CONFIG))
    proc = subprocess.run(
        [str(cli), "distill", "distill.toml", "--out", "cli_model"],
        cwd=d, capture_output=True, text=True, env=ONE_THREAD,
    )
    assert proc.returncode == 0, proc.stderr
    config = {**CONFIG, "model": {"file": str(d / "bd.crn")}}
    seen = []
    saved = os.environ.get("RAYON_NUM_THREADS")
    os.environ["RAYON_NUM_THREADS"] = "1"
    try:
        made = crnkit.distill(config, out=d / "py_model", progress=lambda *a: seen.append(a))
    finally:
        if saved is None:
            del os.environ["RAYON_NUM_THREADS"]
        else:
            os.environ["RAYON_NUM_THREADS"] = saved
    return types.SimpleNamespace(
        dir=d, model=d / "cli_model", made=made, progress=seen,
        s=crnkit.Surrogate.load(d / "cli_model"),
    )


def query(tiny, cli, *args: str) -> list[list[str]]:
    proc = run_cli(cli, "query", str(tiny.model), *args, cwd=tiny.dir)
    assert proc.returncode == 0, proc.stderr
    return [line.split(",") for line in proc.stdout.splitlines()]


RATES = {"k": 4.0, "g": 1.2}


def test_distill_from_a_dict_gives_the_clis_weights(tiny):
    made = tiny.made
    assert isinstance(made, crnkit.Distillation)
    assert (tiny.dir / "py_model" / "model.safetensors").read_bytes() == (
        tiny.model / "model.safetensors"
    ).read_bytes()
    py_card = json.loads((tiny.dir / "py_model" / "card.json").read_text())
    cli_card = json.loads((tiny.model / "card.json").read_text())
    for c in (py_card, cli_card):
        for k in ("teacher_seconds", "train_seconds"):
            c["metrics"].pop(k)
    assert py_card == cli_card
    assert made.stop == "epochs" and made.resumed_from is None
    assert made.metrics["epochs_run"] == 150
    assert made.metrics["hellinger_median"] < 0.05, made.metrics
    assert made.surrogate.metrics["best_epoch"] == made.metrics["best_epoch"]
    for f in ("report.json", "validation.csv"):
        assert (tiny.dir / "py_model" / f).exists()
    # Progress: ("distilling", epoch, epochs), ending at the last epoch.
    assert tiny.progress and tiny.progress[-1] == ("distilling", 150, 150)


def test_properties(tiny):
    s = tiny.s
    assert s.species == ["X"]
    assert s.parameters == {
        "k": {"lo": 1.0, "hi": 10.0, "log": True},
        "g": {"lo": 0.5, "hi": 2.0, "log": True},
    }
    assert s.initial == {"X": 0}
    assert s.initial_range == {"X": (0, 12)}
    assert s.times == (0.5, 4.0)
    assert s.caps["X"] == s.card["prompt"]["caps"][0] > 12
    assert s.card["format"] == "crnkit-surrogate/1"
    assert "Surrogate" in repr(s)


def test_moments_equal_the_cli(tiny, cli):
    rows = query(tiny, cli, "--rates", "k=4,g=1.2", "--t", "2")
    ds = tiny.s.moments(RATES, 2.0)
    assert rows[0] == ["species", "mean", "sd"]
    assert float(rows[1][1]) == ds["mean"].sel(species="X").item()
    assert float(rows[1][2]) == ds["sd"].sel(species="X").item()
    rows = query(tiny, cli, "--rates", "4,1.2", "--x0", "X=3", "--t", "1.5")
    ds = tiny.s.moments([4.0, 1.2], 1.5, x0={"X": 3})
    assert [float(rows[1][1]), float(rows[1][2])] == [ds["mean"].item(), ds["sd"].item()]


def test_marginal_log_prob_sample_joint_equal_the_cli(tiny, cli):
    s = tiny.s
    rows = query(tiny, cli, "--rates", "k=4,g=1.2", "--t", "2", "--marginal", "X")
    m = s.marginal("X", RATES, 2.0)
    assert m.dtype == np.float64 and m.shape == (s.caps["X"] + 1,)
    assert [float(r[1]) for r in rows[1:]] == m.tolist()

    rows = query(tiny, cli, "--rates", "k=4,g=1.2", "--t", "2", "--state", "0;2;5;3")
    lp = s.log_prob([[0], [2], [5], [3]], RATES, 2.0)
    assert lp.shape == (4,)
    assert [float(r[1]) for r in rows[1:]] == lp.tolist()
    assert s.log_prob([2], RATES, 2.0) == lp[1]
    assert s.log_prob([s.caps["X"] + 1], RATES, 2.0) == -math.inf

    rows = query(tiny, cli, "--rates", "k=4,g=1", "--x0", "X=3", "--t", "1.5",
                 "--sample", "50", "--seed", "9")
    xs = s.sample(50, {"k": 4, "g": 1}, 1.5, x0={"X": 3}, seed=9)
    assert xs.dtype == np.uint32 and xs.shape == (50, 1)
    assert [int(r[0]) for r in rows[1:]] == xs[:, 0].tolist()

    rows = query(tiny, cli, "--rates", "k=4,g=1.2", "--t", "2", "--joint")
    states, p = s.joint(RATES, 2.0)
    assert states.shape == (s.caps["X"] + 1, 1) and p.shape == (s.caps["X"] + 1,)
    assert [int(r[0]) for r in rows[1:]] == states[:, 0].tolist()
    assert [float(r[1]) for r in rows[1:]] == p.tolist()


def test_a_batch_equals_its_conditions_one_by_one(tiny):
    s = tiny.s
    rng = np.random.default_rng(5)
    n = 64
    params = np.column_stack([rng.uniform(1, 10, n), rng.uniform(0.5, 2, n)])
    t = rng.uniform(0.5, 4, n)
    x0 = rng.integers(0, 13, (n, 1))
    m = s.marginal("X", params, t, x0=x0)
    assert m.shape == (n, s.caps["X"] + 1)
    ds = s.moments({"k": params[:, 0], "g": params[:, 1]}, t, x0={"X": x0[:, 0]})
    assert ds["mean"].dims == ("point", "species") and ds["mean"].shape == (n, 1)
    np.testing.assert_array_equal(ds["k"], params[:, 0])
    np.testing.assert_array_equal(ds["time"], t)
    states = rng.integers(0, 20, (n, 1))
    lp = s.log_prob(states, params, t, x0=x0)
    xs = s.sample(7, params, t, x0=x0, seed=4)
    assert xs.shape == (n, 7, 1)
    _, joint = s.joint(params, t, x0=x0)
    for r in range(0, n, 9):
        one = {"k": params[r, 0], "g": params[r, 1]}
        x = {"X": int(x0[r, 0])}
        # The same evaluation as for one condition: equal bit for bit.
        assert m[r].tolist() == s.marginal("X", one, t[r], x0=x).tolist()
        single = s.moments(one, t[r], x0=x)
        assert ds["mean"][r].item() == single["mean"].item()
        assert ds["sd"][r].item() == single["sd"].item()
        assert lp[r] == s.log_prob(states[r], one, t[r], x0=x)
        assert xs[r].tolist() == s.sample(7, one, t[r], x0=x, seed=4).tolist()
        assert joint[r].tolist() == s.joint(one, t[r], x0=x)[1].tolist()
    # Broadcasting: one parameter point, many times.
    assert s.marginal("X", RATES, [1.0, 2.0, 3.0]).shape == (3, s.caps["X"] + 1)
    # A large batch in one call.
    big = s.moments(np.tile([4.0, 1.2], (10_000, 1)), np.linspace(0.5, 4, 10_000))
    assert big["mean"].shape == (10_000, 1)


def poisson(mean: float, n: int) -> np.ndarray:
    return np.array([math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) for k in range(n)])


def test_accuracy_against_the_exact_poisson_law(tiny):
    s = tiny.s
    k = np.array([2.0, 4.0, 8.0, 4.0])
    g = np.array([1.0, 1.2, 1.5, 0.7])
    t = np.array([1.0, 2.0, 3.0, 3.5])
    m = s.marginal("X", {"k": k, "g": g}, t)
    for r in range(len(t)):
        lam = k[r] / g[r] * (1 - math.exp(-g[r] * t[r]))
        p = poisson(lam, m.shape[1])
        hellinger = math.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * m[r]))))
        assert hellinger < 0.08, (r, hellinger)
        mean = s.moments({"k": k[r], "g": g[r]}, t[r])["mean"].item()
        assert abs(mean - lam) < 0.1 * lam


def test_infer_equals_the_cli(tiny, cli, tmp_path):
    s = tiny.s
    times = np.repeat([1.0, 2.0, 3.0], 60)
    xs = np.concatenate([s.sample(60, RATES, tt, seed=i) for i, tt in enumerate([1.0, 2.0, 3.0])])
    csv = tmp_path / "data.csv"
    csv.write_text("time,X\n" + "".join(f"{t},{x}\n" for t, x in zip(times, xs[:, 0])))
    proc = run_cli(cli, "infer", str(tiny.model), str(csv), "--mcmc", "--samples", "150",
                   "--burn-in", "100", "--chains", "2", "--seed", "3", "--out",
                   str(tmp_path / "fit"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    fit = json.loads((tmp_path / "fit" / "fit.json").read_text())
    ds = crnkit.infer(s, csv, mcmc=True, samples=150, burn_in=100, chains=2, seed=3)
    assert ds["estimate"].dims == ("parameter",)
    assert ds["parameter"].values.tolist() == fit["mle"]["names"] == ["k", "g"]
    assert ds["estimate"].values.tolist() == fit["mle"]["estimate"]
    assert ds["std_error"].values.tolist() == fit["mle"]["std_error"]
    assert ds["on_boundary"].values.tolist() == fit["mle"]["on_boundary"]
    assert ds.attrs["log_likelihood"] == fit["mle"]["log_likelihood"]
    assert ds.attrs["iterations"] == fit["mle"]["iterations"]
    assert ds.attrs["cells"] == fit["cells"] == 180
    assert ds["posterior"].dims == ("chain", "draw", "parameter")
    assert ds["posterior"].shape == (2, 150, 2)
    assert ds.attrs["acceptance"] == fit["mcmc"]["acceptance"]
    for j, row in enumerate(fit["mcmc"]["summary"]):
        assert ds["posterior_mean"][j].item() == row["mean"]
        assert ds["rhat"][j].item() == row["rhat"]
    post = (tmp_path / "fit" / "posterior.csv").read_text().splitlines()
    assert post[0] == "chain,step,k,g,log_likelihood"
    first = [float(v) for v in post[1].split(",")]
    assert ds["posterior"][0, 0].values.tolist() == first[2:4]
    assert ds["posterior_log_likelihood"][0, 0].item() == first[4]
    # The same data as a dict and as an array; one parameter fixed.
    from_dict = crnkit.infer(s, {"time": times, "X": xs[:, 0]}, seed=3)
    assert from_dict["estimate"].values.tolist() == fit["mle"]["estimate"]
    fixed = crnkit.infer(tiny.model, np.column_stack([times, xs[:, 0]]), fix={"g": 1.2})
    assert fixed["parameter"].values.tolist() == ["k"]
    assert abs(fixed["estimate"].item() - 4.0) < 1.0


def test_errors(tiny, tmp_path):
    s = tiny.s
    with pytest.raises(crnkit.FileError) as e:
        crnkit.Surrogate.load(tmp_path / "missing")
    assert e.value.kind == "io" and "card.json" in str(e.value)
    damaged = tmp_path / "damaged"
    shutil.copytree(tiny.model, damaged)
    (damaged / "model.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(crnkit.FileError) as e:
        crnkit.Surrogate.load(damaged)
    assert e.value.kind == "weights" and e.value.filename.endswith("model.safetensors")
    assert str(e.value).startswith("surrogate: ")
    with pytest.raises(crnkit.QueryError, match="`Y` is not a species"):
        s.marginal("Y", RATES, 2.0)
    with pytest.raises(crnkit.QueryError, match="expected 2 parameter values"):
        s.marginal("X", [4.0, 1.0, 3.0], 2.0)
    with pytest.raises(crnkit.QueryError, match="`kk` is not a parameter"):
        s.moments({"k": 4.0, "kk": 1.0}, 2.0)
    with pytest.raises(crnkit.QueryError, match="exceeds its cap"):
        s.moments(RATES, 2.0, x0={"X": 10_000})
    with pytest.raises(crnkit.QueryError, match="do not broadcast"):
        s.moments({"k": [4.0, 5.0], "g": [1.0, 1.1, 1.2]}, 2.0)
    with pytest.raises(crnkit.DomainError) as e:
        s.moments({"k": 40.0, "g": 1.0}, 2.0, strict=True)
    assert e.value.kind == "outside_domain" and "`k` = 40" in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, crnkit.SurrogateError)
    with pytest.warns(crnkit.DomainWarning, match="time 9 is outside the trained range"):
        s.marginal("X", RATES, 9.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.marginal("X", RATES, 2.0)
    with pytest.raises(crnkit.QueryError, match="not NAME|not a parameter|unknown"):
        crnkit.infer(s, {"time": [1.0], "X": [2]}, free=["kk"])
    bad = {**CONFIG, "param": [{"name": "kk", "lo": 1.0, "hi": 2.0}]}
    with pytest.raises(crnkit.ModelError, match="kk"):
        crnkit.distill({**bad, "model": {"file": str(tiny.dir / "bd.crn")}},
                       out=tmp_path / "bad")
    with pytest.raises(crnkit.ParseError):
        crnkit.distill({**CONFIG, "bogus": 1}, out=tmp_path / "bad")


CHILD = r"""
import os, signal, sys, threading, time
# A shell that starts a job in the background ignores SIGINT in it; Python then installs no
# handler. Restore the default one so that Ctrl-C raises KeyboardInterrupt here too.
signal.signal(signal.SIGINT, signal.default_int_handler)
import crnkit
config = {config}
sent = []
def interrupt():
    time.sleep(1.0)
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
try:
    crnkit.distill(config, out=sys.argv[1])
except KeyboardInterrupt:
    print(f"interrupted {{time.perf_counter() - sent[0]:.4f}}")
else:
    print("finished")
"""


def test_ctrl_c_stops_training_and_keeps_the_checkpoint(tiny, tmp_path):
    config = {**CONFIG, "model": {"file": str(tiny.dir / "bd.crn")},
              "train": {**CONFIG["train"], "epochs": 100_000, "patience": 100_000}}
    out = tmp_path / "long"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(config=repr(config)), str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    word, seconds = proc.stdout.split()
    assert word == "interrupted", proc.stdout
    assert float(seconds) < 0.5, proc.stdout
    assert (out / "checkpoint").is_dir() and any((out / "checkpoint").iterdir())


def test_builtin_surrogates_load_by_name_and_equal_the_cli(cli, tmp_path):
    shipped = crnkit.builtin_surrogates()
    assert sorted(shipped) == ["autoregulated", "toggle"]
    assert all(isinstance(v, str) and v for v in shipped.values())
    s = crnkit.Surrogate.load("builtin:autoregulated")
    assert s.species == ["Gb", "P"]
    rates = {"sigma_u": 1.0, "sigma_b": 0.05, "rho_u": 5.0, "rho_b": 50.0}
    m = s.marginal("P", rates, 5.0)
    assert abs(m.sum() - 1.0) < 1e-9
    r = run_cli(cli, "query", "builtin:autoregulated", "--rates",
                "sigma_u=1,sigma_b=0.05,rho_u=5,rho_b=50", "--t", "5", "--marginal", "P",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [float(line.split(",")[1]) for line in r.stdout.splitlines()[1:]] == m.tolist()
    t = crnkit.Surrogate.load("builtin:toggle")
    assert t.species == ["GA", "GB", "PA", "PB"]
    with pytest.raises(crnkit.SurrogateError, match="built in: autoregulated, toggle"):
        crnkit.Surrogate.load("builtin:nothing")
