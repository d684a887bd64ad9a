#!/usr/bin/env bash
# Golden check: the CLI's output files for fixed seeds, compared byte for byte with the
# checksums in tests/golden/SHA256SUMS. A structural change must leave every file identical.
#
#   bash tests/golden/check.sh           # compare (exit 1 on any difference)
#   bash tests/golden/check.sh --bless   # rewrite SHA256SUMS (only for an intended change)
#
# Uses target/release/crnkit (built by `cargo test --release --workspace` or `cargo build
# --release`). One worker thread for the surrogate's training (candle's CPU kernels sum in a
# thread-dependent order); every other command is thread-count independent by design.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
sums="$root/tests/golden/SHA256SUMS"
bin="$root/target/release/crnkit"
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml" --bin crnkit
work="$(mktemp -d)"
trap 'status=$?; [ $status -ne 0 ] && [ -f "$work/log.txt" ] && tail -20 "$work/log.txt"; rm -rf "$work"' EXIT
m="$root/examples/models"
cd "$work"
run() { "$bin" "$@" > /dev/null 2>> log.txt; }

run simulate "$m/vilar.crn" --until 50 --every 1 --runs 200 --seed 7 --out sim_vilar.csv \
    --trajectories traj_vilar.csv --histograms hist_vilar.csv
run simulate "$m/dimerisation.crn" --until 5 --every 0.5 --runs 300 --seed 3 \
    --method next-reaction --out sim_dimer_nrm.csv
run simulate "$m/schlogl.crn" --until 5 --every 0.5 --runs 100 --seed 5 --method rejection \
    --out sim_schlogl_rssa.csv --threads 1
run solve "$m/toggle_switch.crn" --until 10 --every 1 --out solve_toggle.csv \
    --marginals solve_toggle_marg.csv --json solve_toggle.json
run solve "$m/immigration_death.crn" --until 4 --every 0.5 --init X=2 --out solve_imm.csv
"$bin" solve "$m/dimerisation.crn" --stationary > solve_dimer_stationary.txt 2>> log.txt
run ode "$m/schlogl.crn" --until 10 --every 0.5 --out ode_schlogl.csv
run thermo "$m/triangle.crn" --until 5 --every 0.5 --out thermo_triangle_cme.csv
run thermo "$m/triangle.crn" --until 5 --every 0.5 --method ssa --runs 500 --seed 2 \
    --out thermo_triangle_ssa.csv
run thermo "$m/triangle.crn" --until 5 --every 0.5 --method ode --out thermo_triangle_ode.csv
for f in "$m"/*.crn; do
    n="$(basename "$f" .crn)"
    "$bin" check "$f" --json > "check_$n.json" 2>> log.txt
done
run convert "$m/vilar.crn" convert_vilar.json
run convert convert_vilar.json convert_vilar.toml
run learn "$root/examples/jobs/mean.toml" --out learn_mean

# A small surrogate (one training thread), then queries on it.
printf 'parameters: k = 5, g = 1\nspecies: X = 0\n0 -> X @ k\nX -> 0 @ g\n' > bd.crn
cat > distill.toml <<'TOML'
[model]
file = "bd.crn"
[[param]]
name = "k"
lo = 1.0
hi = 10.0
log = true
[[param]]
name = "g"
lo = 0.5
hi = 2.0
log = true
[initial]
X = [0, 12]
[teacher]
t_max = 4.0
n_times = 8
[design]
train_points = 48
val_points = 8
seed = 1
[network]
hidden = 32
seed = 2
[train]
epochs = 40
batch_pairs = 16
lr = 5e-3
seed = 3
[output]
dir = "model"
TOML
RAYON_NUM_THREADS=1 "$bin" distill distill.toml > /dev/null 2>> log.txt
run query model --rates k=4,g=1 --t 2 --marginal X --out query_marginal.csv
run query model --rates k=4,g=1 --x0 X=3 --t 1.5 --sample 50 --seed 9 --out query_sample.csv
"$bin" query model --rates k=4,g=1 --t 2 > query_moments.txt 2>> log.txt

find . -type f ! -name log.txt ! -name '*.safetensors.tmp' ! -name .crnkit.lock | sort > files.txt
: > got.txt
while read -r f; do
    case "$f" in ./files.txt|./got.txt|./distill.toml|./bd.crn) continue ;; esac
    # Lines that carry durations (`"..._seconds": ...` in JSON) are dropped before hashing.
    { grep -avE '"[a-z_]*seconds"' "$f" || true; } \
        | sha256sum | sed "s|-\$|${f#./}|" >> got.txt
done < files.txt
if [ "${1:-}" = "--bless" ]; then
    cp got.txt "$sums"
    echo "golden: wrote $(wc -l < got.txt) checksums to $sums"
    exit 0
fi
if diff -u "$sums" got.txt > diff.txt; then
    echo "golden: $(wc -l < got.txt) files byte-identical"
else
    cat diff.txt
    echo "golden: outputs differ from tests/golden/SHA256SUMS"
    exit 1
fi
