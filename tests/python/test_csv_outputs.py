"""Every CSV the command line writes reads back with standard readers (RFC 4180): species of
BioNetGen models such as ``Grb2(SH2,SH3)`` hold commas, and their fields are quoted."""

from __future__ import annotations

import csv
import pathlib

import pandas as pd
import pytest

import crnkit
from conftest import ROOT, run_cli

BNG = ROOT.parent / "shared" / "models" / "bionetgen"
NETS = ["multistate", "multisite2", "egfr_net", "fceri_gamma2", "BCR"]


def rows_of(path: pathlib.Path) -> list[list[str]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    widths = {len(r) for r in rows}
    assert widths == {len(rows[0])}, f"{path.name}: rows of {sorted(widths)} fields"
    frame = pd.read_csv(path)
    assert list(frame.columns) == rows[0] and len(frame) == len(rows) - 1
    return rows


@pytest.mark.parametrize("name", NETS)
def test_every_csv_of_a_bionetgen_model_reads_back(cli, tmp_path, name):
    path = BNG / f"{name}.net"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    net = crnkit.Network.from_file(path)
    species, groups = net.species, list(net.observables)
    r = run_cli(cli, "simulate", str(path), "--until", "0.002", "--every", "0.001",
                "--runs", "2", "--seed", "1", "--out", "s.csv", "--trajectories", "t.csv",
                "--keep", "1", "--histograms", "h.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    stats = rows_of(tmp_path / "s.csv")
    assert stats[0] == ["time"] + [f"{c}-{k}" for c in species + groups for k in ("mean", "sd")]
    assert rows_of(tmp_path / "t.csv")[0] == ["run", "time"] + species
    hist = rows_of(tmp_path / "h.csv")
    assert hist[0] == ["time", "species", "count", "runs"]
    assert {row[1] for row in hist[1:]} <= set(species)
    if len(species) > 400:
        return  # the ODE of thousands of species is not a fast test
    r = run_cli(cli, "ode", str(path), "--until", "0.002", "--every", "0.001", "--out", "o.csv",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert rows_of(tmp_path / "o.csv")[0] == ["time"] + species + groups
