#!/usr/bin/env python3
"""Fail when a workspace crate depends on a crate of its own or a higher layer, or when
the simulator pulls in the neural-network, optimisation, plotting or CLI stacks.

Layers (docs/architecture.md): core <- sim <- {io, learn, surrogate} <- sweep <- {crnkit
(the facade and CLI), crnkit-py (the Python bindings)} <- experiments. Normal, build and dev
dependencies all count.
"""
import json
import subprocess
import sys

LAYER = {
    "crnkit-core": 0,
    "crnkit-sim": 1,
    "crnkit-io": 2,
    "crnkit-learn": 2,
    "crnkit-surrogate": 2,
    "crnkit-sweep": 3,
    "crnkit": 4,
    "crnkit-py": 4,
    "crnkit-experiments": 5,
}
# Crates that must not appear in a layer's normal dependency tree.
FORBIDDEN = {
    "crnkit-core": ["candle-core", "candle-nn", "plotters", "argmin", "indicatif", "clap",
                    "diffsol", "faer", "roxmltree", "rayon"],
    "crnkit-sim": ["candle-core", "candle-nn", "plotters", "argmin", "indicatif", "clap",
                   "roxmltree"],
    # What the Python bindings would pull in through the sweep layer.
    "crnkit-sweep": ["candle-core", "candle-nn", "plotters", "argmin", "indicatif", "clap"],
}

meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--no-deps"],
    check=True, capture_output=True, text=True).stdout)
problems = []
for pkg in meta["packages"]:
    name = pkg["name"]
    if name not in LAYER:
        problems.append(f"{name}: a workspace crate with no layer (add it to .ci/layers.py)")
        continue
    for dep in pkg["dependencies"]:
        d = dep["name"]
        if d in LAYER and LAYER[d] >= LAYER[name]:
            problems.append(f"{name} (layer {LAYER[name]}) depends on {d} (layer {LAYER[d]})")

for crate, banned in FORBIDDEN.items():
    tree = subprocess.run(
        ["cargo", "tree", "-p", crate, "-e", "normal", "--prefix", "none"],
        check=True, capture_output=True, text=True).stdout
    present = {line.split()[0] for line in tree.splitlines() if line.strip()}
    for b in banned:
        if b in present:
            problems.append(f"{crate} depends (directly or not) on {b}")

if problems:
    print("layers: " + "\n        ".join(problems))
    sys.exit(1)
print(f"layers: {len(LAYER)} crates, dependencies run one way; "
      f"{', '.join(FORBIDDEN)} free of {', '.join(FORBIDDEN['crnkit-sim'][:6])}")
