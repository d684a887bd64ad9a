"""Sweep throughput on Dask: one worker process against two, against the in-process run.

Usage (the package installed with its dask extra: `pip install ".[dask]"`):

    python benches/sweep_dask.py [SWEEP.toml] [SHARDS]

Default: examples/sweeps/autoregulated_10k.toml (10,000 points × 100 SSA replicates of the
autoregulated gene to t = 10), 20 shards. For each setting the sweep is computed once to
warm up (worker start-up, imports) and then timed; every Dataset is checked identical to
the in-process one. Each worker process runs its tasks on its own thread count
(`threads_per_worker=1`), so two workers use two cores. Prints one JSON object: wall
seconds, points per second, the speed-up of two workers over one, and the cost of a
shard on Dask (worker time of 200 one-point shards beyond their computation, per shard).
"""

import json
import pathlib
import resource
import sys
import time

import xarray as xr

import crnkit

ROOT = pathlib.Path(__file__).resolve().parents[1]


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main():
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples/sweeps/autoregulated_10k.toml"
    shards = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    from distributed import Client, LocalCluster

    local, t_local = timed(lambda: crnkit.sweep(path))
    points = local.attrs["points"]
    out = {"sweep": str(path.relative_to(ROOT)), "points": points, "shards": shards,
           "in_process_s": round(t_local, 3)}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=40) as cluster, \
                Client(cluster) as client:
            crnkit.sweep(path, client=client, shards=shards).compute()  # warm-up
            ds, t = timed(lambda: crnkit.sweep(path, client=client, shards=shards).compute())
            xr.testing.assert_identical(ds, local)
            out[f"dask_{workers}_workers_s"] = round(t, 3)
            out[f"dask_{workers}_workers_points_per_s"] = round(points / t, 1)
            if workers == 2:
                # The cost of a shard: 200 shards of one point each against one shard of
                # the same 200 points.
                text = path.read_text()
                small = text.replace("n = 10000", "n = 200").replace("n = 1000", "n = 200")
                base = path.parent
                crnkit.sweep(small, base=base, client=client, shards=200).compute()
                _, many = timed(lambda: crnkit.sweep(small, base=base, client=client, shards=200).compute())
                _, one = timed(lambda: crnkit.sweep(small, base=base, client=client, shards=1).compute())
                # Two workers share the 200 shards: worker time per shard beyond the work.
                out["dask_overhead_per_shard_ms"] = round(2 * (many - one / 2) / 200 * 1e3, 2)
    out["speedup_2_over_1"] = round(out["dask_1_workers_s"] / out["dask_2_workers_s"], 2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["driver_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
