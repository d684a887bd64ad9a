"""Chemical learning: immigration–death (mean 10) learns a Poisson(100) target, in the
large-ensemble limit and simulated exactly with 20 free and 20 clamped copies — the
learning curve D(Q‖P) and the entropy the learning reactions produce.

    python examples/python/learning_curve.py [OUT_DIR]

The job is the dict form of examples/jobs/mean.toml. Writes learning_curve.png with
matplotlib (`pip install matplotlib`, or the package's `plot` extra); without it,
learning_curve.csv with the same data.
"""

import pathlib
import sys

import xarray as xr

import crnkit

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

job = {
    "model": {"builtin": "immigration_death", "visible": ["X"], "cap": 400},
    "target": {"poisson": [100.0]},
    "learn": {"method": "chemical", "limit": True, "epsilon": 1.0, "delta_inverse": 2048,
              "clamp_rate": 1.0, "until": 200, "every": 1},
}
limit = crnkit.learn(job)
job["learn"].update(limit=False, copies=20)
ssa = crnkit.learn(job, progress=lambda label, done, total: print(
    f"\r{label}: {done / total:4.0%}", end="", flush=True))
print()
for name, res in [("limit", limit), ("SSA, 20 copies", ssa)]:
    print(f"{name:>15}: D(Q||P) {res.initial_kl:.3f} -> {res.final_kl:.4f} nats in "
          f"{res.seconds:.2f} s, G_X = {res.learned['X']:.3f} (target -ln 100 = -4.605), "
          f"learning entropy {res.entropy['learning']:.4g} k_B per copy")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    columns = {f"{v}_{name}": res.curve[v] for name, res in [("limit", limit), ("ssa", ssa)]
               for v in ("kl", "sigma_learning")}
    xr.Dataset(columns).to_dataframe().to_csv(out / "learning_curve.csv")
    print(f"matplotlib is not installed: wrote {out / 'learning_curve.csv'}")
    sys.exit(0)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for res, label, colour in [(limit, "large-ensemble limit", "tab:blue"),
                           (ssa, "exact SSA, 20 copies", "tab:red")]:
    c = res.curve
    left.semilogy(c.time, c.kl, color=colour, label=label)
    right.plot(c.time, c.sigma_learning / 1e6, color=colour, label=label)
left.set_xlabel("time")
left.set_ylabel("D(Q||P) (nats)")
left.set_title("learning curve")
right.set_xlabel("time")
right.set_ylabel("10^6 k_B per copy")
right.set_title("entropy produced by the learning reactions")
left.legend(fontsize="small")
fig.tight_layout()
fig.savefig(out / "learning_curve.png", dpi=120)
print(f"wrote {out / 'learning_curve.png'}")
