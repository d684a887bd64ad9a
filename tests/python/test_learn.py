"""`crnkit.learn`: learning jobs from TOML files and dicts, bit for bit as `crnkit learn`."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import crnkit
from conftest import ROOT, read_csv, run_cli
from test_interrupt import CHILD, VILAR

MEAN_JOB = ROOT / "examples" / "jobs" / "mean.toml"

# A chemical Boltzmann machine (two visible units, one hidden) and a table target.
BOLTZMANN = """\
[model]
boltzmann = { units = ["X1", "X2", "H"], edges = [[0, 2], [1, 2]] }
visible = ["X1_1", "X2_1"]
[target]
table = "t.csv"
"""
TABLE = "X1_1,X2_1,probability\n1,0,0.5\n0,1,0.5\n"

# Immigration–death (mean 10) learning a Poisson(100) target.
IMMIGRATION = """\
[model]
builtin = "immigration_death"
visible = ["X"]
cap = 400
[target]
poisson = [100.0]
[learn]
seed = 7
jitter = 0.25
"""

JOBS = {
    "exact": BOLTZMANN + '[learn]\nmethod = "exact"\njitter = 0.2\n',
    "ssa": IMMIGRATION + "copies = 10\np_volume = 1000\nclamp_rate = 1.0\nuntil = 2\nevery = 0.5\n",
    # Too few parameter molecules: one runs out, the learned free energy is -inf.
    "ssa_empty": IMMIGRATION + "copies = 4\np_volume = 20\nuntil = 2\nevery = 0.5\n",
    "sampled": IMMIGRATION
    + 'method = "sampled"\nruns = 40\nburn_in = 1\nuntil = 0.3\nevery = 0.1\n',
}


def write_job(folder: pathlib.Path, name: str) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.csv").write_text(TABLE)
    path = folder / f"{name}.toml"
    path.write_text(JOBS[name])
    return path


def cli_learn(cli: pathlib.Path, job: pathlib.Path, out: pathlib.Path) -> None:
    proc = run_cli(cli, "learn", str(job), "--out", str(out), cwd=out.parent)
    assert proc.returncode == 0, proc.stderr


def assert_curve_is_the_cli_csv(curve: xr.Dataset, csv: pathlib.Path) -> None:
    """Every column of the CLI's curve.csv equals the Dataset's values exactly (NaN where
    the CLI wrote NaN)."""
    header, rows = read_csv(csv)
    columns = np.array(rows, dtype=np.float64).T
    assert curve.sizes["time"] == columns.shape[1]
    for name, want in zip(header, columns):
        if name == "time" or name in curve.data_vars:
            got = curve[name].values
        else:
            prefix, parameter = name.split("_", 1)
            got = curve[prefix].sel(parameter=parameter).values
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("name", ["limit", "exact", "ssa", "ssa_empty", "sampled"])
def test_learn_gives_the_cli_curve_bit_for_bit(name, cli, tmp_path):
    job = MEAN_JOB if name == "limit" else write_job(tmp_path / "job", name)
    cli_learn(cli, job, tmp_path / "cli")
    res = crnkit.learn(job)
    assert_curve_is_the_cli_csv(res.curve, tmp_path / "cli" / "curve.csv")
    if name == "ssa_empty":
        assert res.learned["X"] == -np.inf and res.network is None
        assert not (tmp_path / "cli" / "learned.crn").exists()
    else:
        learned = (tmp_path / "cli" / "learned.crn").read_text()
        assert res.network.to_crn() == learned
        assert res.network == crnkit.Network.from_file(tmp_path / "cli" / "learned.crn")
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert res.method == summary["method"]
    assert res.parameters == summary["parameters"]
    # JSON numbers hold no NaN or infinities: those are written as "nan", "inf", "-inf",
    # which float() reads.
    numbers = [res.initial_kl, res.final_kl, *res.learned.values()]
    written = [summary["initial_kl"], summary["final_kl"], *summary["final_g"]]
    assert all(isinstance(v, float) or v in ("nan", "inf", "-inf") for v in written)
    read = [float(v) for v in written]
    assert all(a == b or (np.isnan(a) and np.isnan(b)) for a, b in zip(numbers, read))
    if name == "ssa_empty":
        assert np.isnan(res.final_kl) and summary["final_kl"] == "nan"
        assert summary["final_g"] == ["-inf"]
    if name in ("limit", "ssa", "ssa_empty"):
        assert res.learning_network.to_crn() == (
            tmp_path / "cli" / "learning_network.crn"
        ).read_text()
        total = summary["entropy_produced"]
        assert total is not None and res.entropy["total"] == float(total)
    else:
        assert res.learning_network is None
        assert all(np.isnan(v) for v in res.entropy.values())


def test_the_limit_learns_and_accounts_its_entropy():
    res = crnkit.learn(MEAN_JOB)
    assert res.method == "limit-moments" and res.parameters == ["X"]
    assert res.initial_kl > 100 and res.final_kl < 0.01
    e = res.entropy
    assert set(e) == {"learning", "clamping", "environment", "model", "total"}
    assert e["learning"] > 0 and e["total"] == pytest.approx(
        e["learning"] + e["clamping"] + e["environment"] + e["model"], rel=1e-12
    )
    # mean 100 = e^{-G}: G = -ln 100 at the optimum (within the 1/δ bias)
    assert res.learned["X"] == pytest.approx(-np.log(100), abs=0.01)
    assert res.curve["G"].sel(parameter="X").values[-1] == res.learned["X"]
    assert res.settings["limit"] is True and res.settings["until"] == 200


def test_curve_dims_coords_and_dtypes(tmp_path):
    res = crnkit.learn(MEAN_JOB)
    c = res.curve
    assert dict(c.sizes) == {"time": 201, "parameter": 1, "copy": 2}
    assert list(c["parameter"].values) == ["X"]
    assert list(c["copy"].values) == ["free", "clamped"]
    np.testing.assert_array_equal(c.time.values, np.arange(201.0))
    for name in ("kl", "entropy_produced", "sigma_learning", "sigma_clamping",
                 "sigma_environment", "sigma_model"):
        assert c[name].dims == ("time",) and c[name].dtype == np.float64
    for name in ("G", "P", "free", "clamped"):
        assert c[name].dims == ("time", "parameter") and c[name].dtype == np.float64
    assert c["energy_balance"].dims == ("time", "copy")
    assert c.attrs["method"] == "limit-moments" and c.attrs["seed"] == 1
    assert float(c.kl[0]) == res.initial_kl and float(c.kl[-1]) == res.final_kl
    # exact runs have no balance and no copy dimension
    (tmp_path / "t.csv").write_text(TABLE)
    exact = crnkit.learn(boltzmann_dict("exact", tmp_path / "t.csv"))
    assert "copy" not in exact.curve.dims and "energy_balance" not in exact.curve
    assert list(exact.curve["parameter"].values) == exact.parameters


def boltzmann_dict(method: str, table: str = "t.csv") -> dict:
    return {
        "model": {
            "boltzmann": {"units": ["X1", "X2", "H"], "edges": [[0, 2], (1, 2)]},
            "visible": ["X1_1", "X2_1"],
        },
        "target": {"table": table},
        "learn": {"method": method, "jitter": 0.2, "delta": None},
    }


def test_a_dict_gives_what_its_file_gives(tmp_path, monkeypatch):
    job = write_job(tmp_path / "job", "exact")
    # The file's relative paths start from its folder, the dict's from the working one.
    monkeypatch.chdir(tmp_path)
    from_file = crnkit.learn(job)
    monkeypatch.chdir(tmp_path / "job")
    from_dict = crnkit.learn(boltzmann_dict("exact"))
    xr.testing.assert_identical(from_file.curve, from_dict.curve)
    assert from_file.network == from_dict.network
    assert from_file.learned == from_dict.learned
    assert from_dict.final_kl < 1e-3 < 0.5 < from_dict.initial_kl
    # An absolute path and a pathlib.Path work from anywhere.
    monkeypatch.chdir(tmp_path)
    again = crnkit.learn(boltzmann_dict("exact", tmp_path / "job" / "t.csv"))
    assert again.learned == from_file.learned


def test_out_writes_the_cli_files_without_figures(cli, tmp_path):
    job = write_job(tmp_path / "job", "ssa")
    cli_learn(cli, job, tmp_path / "cli")
    res = crnkit.learn(job, out=tmp_path / "py")
    assert res.out == tmp_path / "py"
    # Besides the results, the folder's lock file (.crnkit.lock, released when the run ends).
    written = sorted(p.name for p in (tmp_path / "py").iterdir())
    assert written == [".crnkit.lock", "curve.csv", "learned.crn", "learning_network.crn",
                       "summary.json"]
    for name in ("curve.csv", "learned.crn", "learning_network.crn"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    py, cl = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("py", "cli"))
    for s in (py, cl):
        del s["seconds"], s["dir"]
    assert py == cl
    assert_curve_is_the_cli_csv(res.curve, tmp_path / "py" / "curve.csv")


def good() -> dict:
    return {
        "model": {"builtin": "immigration_death", "visible": ["X"], "cap": 400},
        "target": {"poisson": [100.0]},
        "learn": {"limit": True, "clamp_rate": 1.0, "until": 5, "every": 5},
    }


def test_bad_jobs_raise_the_library_errors(tmp_path):
    # an unknown key: named, in a file as in a dict
    bad = good()
    bad["learn"]["epsilonn"] = 1
    with pytest.raises(crnkit.ParseError, match="unknown field `epsilonn`") as e:
        crnkit.learn(bad)
    assert e.value.kind == "toml" and e.value.file == "<dict>"
    assert "learn.epsilonn = 1" in str(e.value)
    path = tmp_path / "bad.toml"
    path.write_text(IMMIGRATION + "epsilonn = 1\n")
    with pytest.raises(crnkit.ParseError, match="unknown field `epsilonn`") as e:
        crnkit.learn(path)
    assert e.value.file == str(path)
    # two model sources
    two = good()
    two["model"]["file"] = "m.crn"
    with pytest.raises(crnkit.SettingError, match="exactly one") as e:
        crnkit.learn(two)
    assert e.value.kind == "invalid_setting"
    assert "model (file, builtin or boltzmann) = 2 given" in str(e.value)
    # an unknown visible species
    unknown = good()
    unknown["model"]["visible"] = ["Y"]
    with pytest.raises(crnkit.ModelError, match="unknown species `Y`") as e:
        crnkit.learn(unknown)
    assert e.value.kind == "unknown_species"
    # a negative learning rate
    negative = good()
    negative["learn"]["epsilon"] = -1.0
    with pytest.raises(crnkit.SettingError, match="epsilon = -1: must be a finite number > 0"):
        crnkit.learn(negative)
    # a wrong type, in the dict and as a Python object TOML cannot hold
    wrong = good()
    wrong["learn"]["until"] = "soon"
    with pytest.raises(crnkit.ParseError, match="expected f64"):
        crnkit.learn(wrong)
    wrong["learn"]["until"] = object()
    with pytest.raises(TypeError, match="learn.until"):
        crnkit.learn(wrong)
    with pytest.raises(TypeError):
        crnkit.learn(42)
    with pytest.raises(crnkit.FileError) as e:
        crnkit.learn(tmp_path / "missing.toml")
    assert e.value.filename == str(tmp_path / "missing.toml")
    missing = good()
    del missing["target"]
    with pytest.raises(crnkit.ParseError, match="missing field `target`"):
        crnkit.learn(missing)


def test_progress_callback_is_called(tmp_path):
    seen = []
    crnkit.learn(write_job(tmp_path, "ssa"), progress=lambda *a: seen.append(a))
    assert seen and seen[-1] == ("learning (SSA)", 1000, 1000)
    assert all(label == "learning (SSA)" and 0 <= d <= t == 1000 for label, d, t in seen)

    class Stop(Exception):
        pass

    def stop(label, done, total):
        if done > 0:
            raise Stop

    # Stopped after its first output time, a run with `out` keeps its checkpoint there.
    long = good()
    long["learn"] = {"copies": 20, "until": 1000, "every": 1}
    with pytest.raises(Stop):
        crnkit.learn(long, out=tmp_path / "stopped", progress=stop)
    left = sorted(p.name for p in (tmp_path / "stopped").iterdir())
    assert left == [".crnkit.lock", "checkpoint.json"]


@pytest.mark.parametrize(
    "learn",
    [
        {"copies": 20, "until": 1e6, "every": 1},
        {"method": "sampled", "runs": 100, "burn_in": 1, "until": 1e6, "every": 1e3},
        {"limit": True, "clamp_rate": 1.0, "until": 1e5, "every": 0.1},
    ],
    ids=["ssa", "sampled", "limit"],
)
def test_ctrl_c_stops_a_learning_job_within_half_a_second(learn):
    job = {**good(), "learn": learn}
    # test_interrupt's child: it reads a network (unused here) and makes the call.
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(call=f"learn({job!r})"), str(VILAR)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    word, seconds = proc.stdout.split()
    assert word == "interrupted", proc.stdout
    assert float(seconds) < 0.5, proc.stdout
