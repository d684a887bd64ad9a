#!/usr/bin/env bash
# A sweep as a Slurm job array: one shard per array task, then one merge job that runs
# only when every task succeeded. Usage, on a login node of the cluster:
#
#   bash examples/sweeps/slurm.sh examples/sweeps/autoregulated.toml out/
#
# The number of shards comes from the sweep's `shard_size` (`crnkit sweep --plan`);
# shards are 0-based, so the array is 0..N-1 and each task runs
# `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`. A failed or killed task leaves no
# partial file (every file is written atomically): resubmit the array with the same
# command and `--skip-done` recomputes only the shards that are missing or damaged.
set -euo pipefail
sweep="${1:?usage: slurm.sh SWEEP.toml OUTDIR}"
out="${2:?usage: slurm.sh SWEEP.toml OUTDIR}"
crnkit="${CRNKIT:-crnkit}"
shards=$("$crnkit" sweep "$sweep" --plan | awk '/^shards:/ {print $2}')
mkdir -p "$out/logs"

array_job=$(sbatch --parsable \
    --job-name=crnkit-sweep \
    --array="0-$((shards - 1))" \
    --cpus-per-task="${CPUS:-1}" \
    --time="${TIME_LIMIT:-01:00:00}" \
    --output="$out/logs/shard-%a.log" \
    --wrap="$crnkit sweep '$sweep' --shard \$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT \
            --threads \$SLURM_CPUS_PER_TASK --out '$out' --skip-done")

sbatch --parsable \
    --job-name=crnkit-merge \
    --dependency="afterok:$array_job" \
    --output="$out/logs/merge.log" \
    --wrap="$crnkit merge '$out' --sweep '$sweep' --out '$out/sweep.parquet'"
echo "submitted $shards shards (job $array_job) and their merge; result: $out/sweep.parquet"
