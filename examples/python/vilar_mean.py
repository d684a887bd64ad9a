"""The Vilar oscillator: mean and sd of the activator A and repressor R over 150 exact
trajectories to t = 200, and one trajectory.

    python examples/python/vilar_mean.py [OUT_DIR]

Writes vilar_mean.png with matplotlib (`pip install matplotlib`, or the package's `plot`
extra); without it, vilar_mean.csv with the same data.
"""

import pathlib
import sys
import time

import crnkit

ROOT = pathlib.Path(__file__).resolve().parents[2]
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

net = crnkit.Network.from_file(ROOT / "examples" / "models" / "vilar.crn")
start = time.perf_counter()
ds = crnkit.simulate(net, until=200, every=0.5, runs=150, seed=1, trajectories=1)
print(f"150 runs, {ds.attrs['events']:,} events in {time.perf_counter() - start:.2f} s")

species = ["A", "R"]
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    table = ds[["mean", "sd"]].sel(species=species).to_dataframe()
    table.to_csv(out / "vilar_mean.csv")
    print(f"matplotlib is not installed: wrote {out / 'vilar_mean.csv'}")
    sys.exit(0)

fig, ax = plt.subplots(figsize=(8, 4))
for s, colour in zip(species, ["tab:blue", "tab:red"]):
    mean, sd = ds["mean"].sel(species=s), ds["sd"].sel(species=s)
    ax.plot(ds.time, mean, color=colour, label=f"{s}: mean of 150 runs")
    ax.fill_between(ds.time, mean - sd, mean + sd, color=colour, alpha=0.15)
    ax.plot(ds.time, ds.trajectory.isel(run=0).sel(species=s), color=colour, lw=0.6,
            alpha=0.6, label=f"{s}: one run")
ax.set_xlabel("time")
ax.set_ylabel("molecules")
ax.set_title("Vilar oscillator (exact SSA, crnkit)")
ax.legend(loc="upper right", fontsize="small")
fig.tight_layout()
fig.savefig(out / "vilar_mean.png", dpi=120)
print(f"wrote {out / 'vilar_mean.png'}")
