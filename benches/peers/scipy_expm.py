"""Time SciPy's expm_multiply on a CME generator exported by crnkit.

Usage: python3 scipy_expm.py DIR T
DIR holds indptr.i64, indices.i32, data.f64, shape.json and p0.f64 (written by
`crnkit solve --export-matrix DIR` or the cme_vs_scipy study). Writes DIR/scipy_p.f64 and
prints one JSON line: seconds, peak RSS, scipy version.
"""
import json
import resource
import sys
import time

import numpy as np
import scipy
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import expm_multiply


def main():
    d, t = sys.argv[1], float(sys.argv[2])
    shape = json.load(open(f"{d}/shape.json"))
    indptr = np.fromfile(f"{d}/indptr.i64", dtype="<i8").astype(np.int32)
    indices = np.fromfile(f"{d}/indices.i32", dtype="<i4")
    data = np.fromfile(f"{d}/data.f64", dtype="<f8")
    p0 = np.fromfile(f"{d}/p0.f64", dtype="<f8")
    a = csr_matrix((data, indices, indptr), shape=(shape["rows"], shape["cols"]))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    p = expm_multiply(a * t, p0)
    secs = time.perf_counter() - start
    p.astype("<f8").tofile(f"{d}/scipy_p.f64")
    print(json.dumps({
        "seconds": secs,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_before_bytes": rss_before,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "states": shape["rows"],
        "nnz": shape["nnz"],
        "mass": float(p.sum()),
        "min": float(p.min()),
    }))


if __name__ == "__main__":
    main()
