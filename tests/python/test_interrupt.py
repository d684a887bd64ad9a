"""Long calls: the GIL released, Ctrl-C within 0.5 s, progress callbacks."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import threading
import time

import pytest

import crnkit

VILAR = pathlib.Path(__file__).resolve().parents[2] / "examples" / "models" / "vilar.crn"


def test_gil_is_released_during_simulate():
    net = crnkit.Network.from_file(VILAR)
    done = threading.Event()
    took = []

    def work():
        start = time.perf_counter()
        crnkit.simulate(net, until=200, every=1, runs=64, seed=1, threads=1)
        took.append(time.perf_counter() - start)
        done.set()

    worker = threading.Thread(target=work)
    stamps = []
    worker.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert took[0] > 0.3, "the simulation was too short to tell"
    # Without releasing the GIL this thread would stall for the whole simulation.
    assert len(stamps) > 50 and max(gaps) < 0.1, (len(stamps), max(gaps), took)


CHILD = r"""
import os, signal, sys, threading, time
# A shell that starts a job in the background ignores SIGINT in it; Python then installs no
# handler. Restore the default one so that Ctrl-C raises KeyboardInterrupt here too.
signal.signal(signal.SIGINT, signal.default_int_handler)
import crnkit
net = crnkit.Network.from_file(sys.argv[1])
sent = []
def interrupt():
    time.sleep(0.5)
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
start = time.perf_counter()
try:
    crnkit.{call}
except KeyboardInterrupt:
    print(f"interrupted {{time.perf_counter() - sent[0]:.4f}}")
else:
    print(f"finished {{time.perf_counter() - start:.1f}}")
"""


@pytest.mark.parametrize(
    "call",
    [
        "simulate(net, until=2000, every=1, runs=100000)",
        "solve(net.with_initial(X=0), until=1e6, every=1e4, tol=1e-14, max_work=1e30)",
    ],
    ids=["simulate", "solve"],
)
def test_ctrl_c_stops_a_long_call_within_half_a_second(call, models):
    model = VILAR if call.startswith("simulate") else models / "schlogl.crn"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(call=call), str(model)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    word, seconds = proc.stdout.split()
    assert word == "interrupted", proc.stdout
    assert float(seconds) < 0.5, proc.stdout


def test_progress_callback_and_its_exceptions(models):
    net = crnkit.Network.from_file(models / "vilar.crn")
    seen = []
    crnkit.simulate(net, until=100, every=1, runs=64, progress=lambda *a: seen.append(a))
    assert seen and seen[-1] == ("simulating", 64, 64)
    assert all(label == "simulating" and 0 <= done <= total == 64 for label, done, total in seen)

    class Stop(Exception):
        pass

    def stop(label, done, total):
        raise Stop

    start = time.perf_counter()
    with pytest.raises(Stop):
        crnkit.simulate(net, until=2000, every=1, runs=100000, progress=stop)
    assert time.perf_counter() - start < 5


def test_ctrl_c_stops_an_ode_integration(models):
    proc = subprocess.run(
        [sys.executable, "-c",
         CHILD.format(call="ode(net, until=1e7, every=1e3, rtol=1e-12, atol=1e-12)"),
         str(VILAR)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    word, seconds = proc.stdout.split()
    if word == "finished":
        pytest.skip(f"the integration took only {seconds} s")
    assert float(seconds) < 0.5, proc.stdout


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not pathlib.Path("/proc/self/statm").exists(), reason="needs /proc")
def test_no_leak_over_a_thousand_calls(models):
    net = crnkit.Network.from_file(models / "immigration_death.crn")
    for _ in range(100):
        crnkit.simulate(net, until=5, every=1, runs=4, trajectories=True, histograms=True)
    before = rss_bytes()
    for i in range(1000):
        crnkit.simulate(net, until=5, every=1, runs=4, seed=i, trajectories=True, histograms=True)
        crnkit.solve(net, until=1, every=1) if i % 10 == 0 else None
    grown = rss_bytes() - before
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1,000 calls"
