"""A CME marginal: the toggle switch's protein distribution at t = 10 from the chemical
master equation (finite state projection, certified error), against 2,000 SSA runs.

    python examples/python/cme_marginal.py [OUT_DIR]

Writes cme_marginal.png with matplotlib, or cme_marginal.csv without it.
"""

import pathlib
import sys

import numpy as np

import crnkit

ROOT = pathlib.Path(__file__).resolve().parents[2]
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

net = crnkit.Network.from_file(ROOT / "examples" / "models" / "toggle_switch.crn")
cme = crnkit.solve(net, until=10, every=1)
print(f"CME: up to {cme.attrs['max_states']} states, "
      f"certified L1 error {float(cme.error_bound[-1]):.1e} at t = 10")
ssa = crnkit.simulate(net, until=10, every=1, runs=2000, seed=1, histograms=True)

species = net.species[-1]
p = cme.marginal.sel(species=species).isel(time=-1)
h = ssa.histogram.sel(species=species).isel(time=-1)
freq = (h / h.sum()).reindex(count=p["count"], fill_value=0)
print(f"{species}: CME mean {float(cme['mean'].sel(species=species)[-1]):.3f}, "
      f"SSA mean {float(ssa['mean'].sel(species=species)[-1]):.3f}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    np.savetxt(out / "cme_marginal.csv", np.column_stack([p["count"], p, freq]),
               delimiter=",", header="count,cme,ssa", comments="")
    print(f"matplotlib is not installed: wrote {out / 'cme_marginal.csv'}")
    sys.exit(0)

fig, ax = plt.subplots(figsize=(6, 4))
ax.bar(p["count"], freq, width=1.0, color="lightgray", label="SSA, 2,000 runs")
ax.step(p["count"], p, where="mid", color="black", label="CME (FSP)")
ax.set_xlabel(f"{species} molecules")
ax.set_ylabel("probability at t = 10")
ax.set_title("Toggle switch: a CME marginal")
ax.legend()
fig.tight_layout()
fig.savefig(out / "cme_marginal.png", dpi=120)
print(f"wrote {out / 'cme_marginal.png'}")
