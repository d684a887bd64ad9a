"""Shared fixtures of the Python package's tests: the bundled models and the CLI binary."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
SBML = ROOT.parent / "shared" / "models" / "sbml-stochastic"


@pytest.fixture(scope="session")
def models() -> pathlib.Path:
    return MODELS


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """target/release/crnkit (or $CRNKIT_CLI). CI sets CRNKIT_REQUIRE_CLI=1, so a missing
    binary fails there instead of skipping the comparisons."""
    path = pathlib.Path(os.environ.get("CRNKIT_CLI", ROOT / "target" / "release" / "crnkit"))
    if not path.exists():
        if os.environ.get("CRNKIT_REQUIRE_CLI") == "1":
            pytest.fail(f"{path} is missing (build it with cargo build --release)")
        pytest.skip(f"{path} is missing (build it with cargo build --release)")
    return path


def run_cli(cli: pathlib.Path, *args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], cwd=cwd, capture_output=True, text=True)


def read_csv(path: pathlib.Path) -> tuple[list[str], list[list[float]]]:
    """Header and rows of a numeric CSV, each value parsed as Python parses a float (the
    CLI writes the shortest text that reads back to the same f64)."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    return header, [[float(v) for v in line.split(",")] for line in lines[1:]]
