#!/usr/bin/env bash
# The Python package's tests, as CI runs them: a fresh virtual environment, the package
# built from this checkout (release, by maturin through pip) with its test extra (pytest,
# Dask's distributed, zarr, pyarrow) from PyPI, then pytest, comparing with target/release/crnkit (built by
# `cargo test --release --workspace`, or here when missing). Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${CRNKIT_VENV:-$root/target/python-venv}"
cd "$root"
[ -x target/release/crnkit ] || cargo build --release --bin crnkit
start=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check ".[test]"
echo "python: package built and installed in $((SECONDS - start)) s"
CRNKIT_REQUIRE_CLI=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
echo "python: $((SECONDS - start)) s in all"
