"""The Python package against the CLI, side by side in one run.

Usage: python benches/peers/python_overhead.py [REPEATS]
(with the package installed: `pip install .`, and target/release/crnkit built).

1. Vilar, 150 runs to t = 200 every 1, seed 1: `crnkit.simulate` against
   `crnkit simulate ... --out FILE` (the CLI's time includes process start, reading the
   model and writing the CSV; Python's includes building the Dataset). Best of REPEATS
   (default 5), alternating.
2. The overhead of a tiny call: `simulate(net, until=0, every=1, runs=1)` (one grid
   point, no event), median of 2,000 calls, against the same work through the Rust API
   being negligible (it is a few microseconds).
Prints one JSON line.
"""

import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import crnkit

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "release" / "crnkit"
VILAR = ROOT / "examples" / "models" / "vilar.crn"


def best(f, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    net = crnkit.Network.from_file(VILAR)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "vilar.csv"
        cli_args = [str(CLI), "simulate", str(VILAR), "--until", "200", "--every", "1",
                    "--runs", "150", "--seed", "1", "--out", str(out)]
        py, cli = [], []
        for _ in range(repeats):
            py.append(best(lambda: crnkit.simulate(net, until=200, every=1, runs=150, seed=1), 1))
            cli.append(best(lambda: subprocess.run(cli_args, check=True, capture_output=True), 1))
    tiny = []
    for _ in range(2000):
        start = time.perf_counter()
        crnkit.simulate(net, until=0, every=1, runs=1)
        tiny.append(time.perf_counter() - start)
    print(json.dumps({
        "vilar_150_runs_python_s": round(min(py), 4),
        "vilar_150_runs_cli_s": round(min(cli), 4),
        "python_over_cli": round(min(py) / min(cli), 3),
        "tiny_call_median_us": round(statistics.median(tiny) * 1e6, 1),
        "tiny_call_p10_us": round(sorted(tiny)[len(tiny) // 10] * 1e6, 1),
        "repeats": repeats,
    }))


if __name__ == "__main__":
    main()
