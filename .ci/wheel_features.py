#!/usr/bin/env python3
"""Fail when the Python wheel would compile a shared dependency with other features than
the workspace's tests do.

A compiled crate is reused only when its features are the same, so one differing feature
low in the graph (bytemuck, getrandom, winnow) makes `pip install .` after
`cargo test --release --workspace` recompile nearly everything above it (faer, candle,
arrow, every crnkit crate): minutes on 2 cores, in CI and for every developer.
crates/crnkit-py/Cargo.toml asks for the workspace's features on those crates; this
check says which ones to add when a change elsewhere makes them drift.
"""
import subprocess
import sys


def features(args):
    out = subprocess.run(["cargo", "tree", *args, "-f", "{p} {f}", "--prefix", "none"],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[1].startswith("("):
            continue
        feats = parts[2] if len(parts) > 2 and not parts[2].startswith("(") else ""
        found.setdefault(f"{parts[0]} {parts[1]}", set()).update(filter(None, feats.split(",")))
    return found


wheel = features(["-p", "crnkit-py", "-e", "normal,build"])
tests = features(["--workspace", "-e", "normal,build,dev"])
drift = [f"{crate}: the wheel has [{', '.join(sorted(wheel[crate]))}], the tests "
         f"[{', '.join(sorted(tests[crate]))}]"
         for crate in sorted(wheel) if crate in tests and wheel[crate] != tests[crate]]
if drift:
    print("wheel features differ from the workspace's (add them in crates/crnkit-py/Cargo.toml):\n  "
          + "\n  ".join(drift))
    sys.exit(1)
print(f"wheel features: the {len(wheel)} crates of the wheel have the workspace's features")
