"""crnkit's Python package against the Python SSA packages of its peers, side by side in
one run: GillesPy2's C++ SSA solver and rebop's Python API.

Usage (a separate virtual environment: the peers are not test dependencies):

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install . gillespy2 rebop
    /tmp/peers/bin/python benches/peers/python_peers.py [REPEATS]

The Vilar oscillator (examples/models/vilar.crn) is read by crnkit and translated
reaction by reaction into each peer (mass action, the same rate constants and initial
counts; no homodimer, so the propensity conventions agree), then each tool computes 150
trajectories to t = 200 recorded every 1 time unit:

* crnkit: `crnkit.simulate(net, until=200, every=1, runs=150, seed=s, threads=1)`, one
  thread (the peers run one trajectory at a time) — and the same on all cores;
* GillesPy2: `model.run(solver=SSACSolver, number_of_trajectories=150, seed=s)` with the
  solver compiled once beforehand (its C++ compilation is timed on its own and left out);
* rebop: `Gillespie.run(init, 200, 200, rng=seed)` called 150 times (its API runs one
  trajectory per call).

Each timing is the best of REPEATS (default 3), the tools alternating; wall time and
the CPU time of the process and its children (GillesPy2 runs its solver as a child
process). The statistics are compared as a sanity check: the mean of A over time
(averaged over the run) agrees within sampling error. Prints one JSON object.
"""

import json
import pathlib
import resource
import sys
import time

import numpy as np

import crnkit

ROOT = pathlib.Path(__file__).resolve().parents[2]
VILAR = ROOT / "examples" / "models" / "vilar.crn"
UNTIL, EVERY, RUNS = 200.0, 1.0, 150


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(f):
    w, c = time.perf_counter(), cpu()
    out = f()
    return out, time.perf_counter() - w, cpu() - c


def gillespy2_model(net):
    import gillespy2

    model = gillespy2.Model(name="vilar")
    model.add_species([gillespy2.Species(name=s, initial_value=int(net.initial[s]),
                                         mode="discrete") for s in net.species])
    params = {}
    for i, r in enumerate(net.reactions):
        name = f"k{i}"
        params[name] = gillespy2.Parameter(name=name, expression=repr(float(r["rate_value"])))
    model.add_parameter(list(params.values()))
    for i, r in enumerate(net.reactions):
        model.add_reaction(gillespy2.Reaction(
            name=f"r{i}", reactants=dict(r["reactants"]), products=dict(r["products"]),
            rate=params[f"k{i}"]))
    model.timespan(np.arange(0.0, UNTIL + EVERY / 2, EVERY))
    return model


def rebop_model(net):
    import rebop

    s = rebop.Gillespie()
    for r in net.reactions:
        reactants = [n for n, c in r["reactants"].items() for _ in range(c)]
        products = [n for n, c in r["products"].items() for _ in range(c)]
        s.add_reaction(float(r["rate_value"]), reactants, products)
    return s


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    net = crnkit.Network.from_file(VILAR)
    assert all(r["reverse_rate"] is None and r["law"] is None for r in net.reactions)
    # GillesPy2 builds its solver with `<base interpreter> -m SCons`, outside this
    # virtual environment: point it at the SCons installed here.
    import os

    import SCons

    site = str(pathlib.Path(SCons.__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [site, os.environ.get("PYTHONPATH")]))
    from gillespy2 import SSACSolver
    import rebop

    model = gillespy2_model(net)
    solver, g_build_wall, _ = timed(lambda: SSACSolver(model=model))
    rb = rebop_model(net)
    init = {s: int(v) for s, v in net.initial.items()}

    def run_crnkit(seed, threads):
        ds = crnkit.simulate(net, until=UNTIL, every=EVERY, runs=RUNS, seed=seed,
                             threads=threads)
        return float(ds["mean"].sel(species="A").mean())

    def run_gillespy2(seed):
        res = model.run(solver=solver, number_of_trajectories=RUNS, seed=seed + 1)
        return float(np.mean([np.mean(t["A"]) for t in res]))

    def run_rebop(seed):
        rng = np.random.default_rng(seed)
        return float(np.mean([rb.run(init, UNTIL, int(UNTIL / EVERY), rng=rng)["A"].mean()
                              for _ in range(RUNS)]))

    tools = {
        "crnkit_1_thread": lambda s: run_crnkit(s, 1),
        "crnkit_all_cores": lambda s: run_crnkit(s, None),
        "gillespy2_ssac": run_gillespy2,
        "rebop_python": run_rebop,
    }
    best = {k: (float("inf"), float("inf")) for k in tools}
    means = {k: [] for k in tools}
    for rep in range(repeats):
        for name, f in tools.items():
            m, w, c = timed(lambda: f(rep + 1))
            means[name].append(m)
            best[name] = (min(best[name][0], w), min(best[name][1], c))
    per = {k: round(w / RUNS * 1e3, 3) for k, (w, _) in best.items()}
    out = {
        "runs": RUNS,
        "repeats": repeats,
        "wall_s": {k: round(w, 3) for k, (w, _) in best.items()},
        "cpu_s": {k: round(c, 3) for k, (_, c) in best.items()},
        "ms_per_trajectory_wall": per,
        "gillespy2_over_crnkit_1_thread": round(per["gillespy2_ssac"] / per["crnkit_1_thread"], 2),
        "rebop_over_crnkit_1_thread": round(per["rebop_python"] / per["crnkit_1_thread"], 2),
        "gillespy2_compile_s": round(g_build_wall, 2),
        "mean_A_over_time": {k: round(float(np.mean(v)), 2) for k, v in means.items()},
        "versions": {"crnkit": crnkit.__version__, "rebop": getattr(rebop, "__version__", "?"),
                     "gillespy2": __import__("gillespy2").__version__},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
