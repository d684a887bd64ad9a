//! Parameter designs: grids, explicit lists, Latin hypercubes and Halton points, on linear
//! or logarithmic scales. Point p's values are a pure function of the description (and the
//! design seed), so any shard computes the same points.

use rand::Rng as _;

use crate::spec::Scale;
use crnkit_core::rng::stream;

/// `n` values from `lo` to `hi` (both included; one value `lo` when `n` is 1), equally
/// spaced on `scale`.
///
/// ```
/// use crnkit_sweep::design::axis_values;
/// use crnkit_sweep::Scale;
///
/// assert_eq!(axis_values(0.0, 1.0, 3, Scale::Linear), [0.0, 0.5, 1.0]);
/// let v = axis_values(1.0, 100.0, 3, Scale::Log);
/// assert_eq!((v[0], v[2]), (1.0, 100.0)); // the ends exactly
/// assert!((v[1] - 10.0).abs() < 1e-12);
/// ```
pub fn axis_values(lo: f64, hi: f64, n: u64, scale: Scale) -> Vec<f64> {
    if n <= 1 {
        return vec![lo];
    }
    let last = (n - 1) as f64;
    (0..n)
        .map(|k| {
            if k == 0 {
                lo
            } else if k == n - 1 {
                hi
            } else {
                from_unit(k as f64 / last, lo, hi, scale)
            }
        })
        .collect()
}

/// The value at fraction `u` ∈ [0, 1] of the range `lo`..`hi` on `scale` (log: equal
/// ratios, lo > 0).
///
/// ```
/// use crnkit_sweep::design::from_unit;
/// use crnkit_sweep::Scale;
///
/// assert_eq!(from_unit(0.5, 2.0, 4.0, Scale::Linear), 3.0);
/// assert!((from_unit(0.5, 1.0, 100.0, Scale::Log) - 10.0).abs() < 1e-12);
/// ```
pub fn from_unit(u: f64, lo: f64, hi: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Linear => lo + u * (hi - lo),
        Scale::Log => (lo.ln() + u * (hi.ln() - lo.ln())).exp(),
    }
}

/// A Latin hypercube of `n` points in [0, 1)^`dims`, row-major (point p's coordinates are
/// `[p * dims .. (p + 1) * dims]`): in every dimension each of the n strata
/// [k/n, (k+1)/n) holds exactly one point. Drawn from `crnkit_core::rng::stream(seed,
/// u64::MAX)`: one random permutation of the strata per dimension (Fisher–Yates), then
/// one uniform offset per point and dimension.
///
/// ```
/// let u = crnkit_sweep::design::latin_hypercube(10, 2, 7);
/// let mut strata: Vec<usize> = u.iter().step_by(2).map(|x| (x * 10.0) as usize).collect();
/// strata.sort();
/// assert_eq!(strata, (0..10).collect::<Vec<_>>());
/// ```
pub fn latin_hypercube(n: u64, dims: usize, seed: u64) -> Vec<f64> {
    let n_us = n as usize;
    let mut rng = stream(seed, u64::MAX);
    let mut out = vec![0.0; n_us * dims];
    let mut perm: Vec<u64> = Vec::with_capacity(n_us);
    for d in 0..dims {
        perm.clear();
        perm.extend(0..n);
        for i in (1..n_us).rev() {
            let j = rng.random_range(0..=i);
            perm.swap(i, j);
        }
        for (p, &stratum) in perm.iter().enumerate() {
            let offset: f64 = rng.random();
            out[p * dims + d] = (stratum as f64 + offset) / n as f64;
        }
    }
    out
}

/// The first primes, the bases of the Halton sequence (one per parameter).
const PRIMES: [u64; 32] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131,
];

/// The most parameters a Halton design takes.
pub const HALTON_MAX_DIMS: usize = PRIMES.len();

/// The radical inverse of `index` in `base`: its digits mirrored about the radix point.
fn radical_inverse(mut index: u64, base: u64) -> f64 {
    let inv = 1.0 / base as f64;
    let (mut f, mut r) = (inv, 0.0);
    while index > 0 {
        r += f * (index % base) as f64;
        index /= base;
        f *= inv;
    }
    r
}

/// Coordinate `d` (< [`HALTON_MAX_DIMS`]) of Halton point `index`, in [0, 1).
///
/// ```
/// use crnkit_sweep::design::halton;
/// assert_eq!([halton(1, 0), halton(2, 0), halton(3, 0)], [0.5, 0.25, 0.75]);
/// assert!((halton(1, 1) - 1.0 / 3.0).abs() < 1e-15);
/// ```
pub fn halton(index: u64, d: usize) -> f64 {
    radical_inverse(index, PRIMES[d % PRIMES.len()])
}

/// The points of a sweep as a function of their index.
#[derive(Debug, Clone)]
pub(crate) enum Design {
    /// Axis values; the last axis varies fastest.
    Grid(Vec<Vec<f64>>),
    /// Row-major values, `dims` per point, `n` points (lists, Latin hypercubes).
    Table {
        values: Vec<f64>,
        dims: usize,
        n: u64,
    },
    /// Halton points 1..=n mapped onto the ranges.
    Halton {
        ranges: Vec<(f64, f64, Scale)>,
        n: u64,
    },
}

impl Design {
    /// The number of parameter points (grids: the product of the axis lengths, checked
    /// by the caller).
    pub(crate) fn len(&self) -> u64 {
        match self {
            Design::Grid(axes) => axes.iter().map(|a| a.len() as u64).product(),
            Design::Table { n, .. } => *n,
            Design::Halton { n, .. } => *n,
        }
    }

    /// Write parameter point `p`'s values into `out` (one per parameter).
    pub(crate) fn point(&self, mut p: u64, out: &mut [f64]) {
        match self {
            Design::Grid(axes) => {
                for (a, v) in axes.iter().zip(out.iter_mut()).rev() {
                    let len = a.len() as u64;
                    *v = a[(p % len) as usize];
                    p /= len;
                }
            }
            Design::Table { values, dims, .. } => {
                let start = p as usize * dims;
                out.copy_from_slice(&values[start..start + dims]);
            }
            Design::Halton { ranges, .. } => {
                for (d, (&(lo, hi, scale), v)) in ranges.iter().zip(out.iter_mut()).enumerate() {
                    *v = from_unit(halton(p + 1, d), lo, hi, scale);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_hypercube_is_stratified_in_every_dimension() {
        for (n, dims, seed) in [(1, 3, 0), (7, 3, 1), (100, 4, 2), (1000, 2, 3)] {
            let u = latin_hypercube(n, dims, seed);
            for d in 0..dims {
                let mut seen = vec![false; n as usize];
                for p in 0..n as usize {
                    let x = u[p * dims + d];
                    assert!((0.0..1.0).contains(&x));
                    let k = (x * n as f64) as usize;
                    assert!(!seen[k], "stratum {k} twice in dimension {d}");
                    seen[k] = true;
                }
            }
            assert_eq!(u, latin_hypercube(n, dims, seed));
        }
        assert_ne!(latin_hypercube(50, 2, 1), latin_hypercube(50, 2, 2));
    }

    #[test]
    fn halton_points_stay_in_the_box_and_fill_it() {
        let ranges = vec![(0.1, 10.0, Scale::Log), (-1.0, 1.0, Scale::Linear)];
        let n = 4096;
        let design = Design::Halton { ranges, n };
        let mut v = [0.0; 2];
        let mut below = 0;
        for p in 0..n {
            design.point(p, &mut v);
            assert!(
                (0.1..10.0).contains(&v[0]) && (-1.0..1.0).contains(&v[1]),
                "{v:?}"
            );
            below += usize::from(v[0] < 1.0);
        }
        // On the log scale half the points lie below the geometric middle, 1.
        assert!((below as f64 / n as f64 - 0.5).abs() < 0.01, "{below}");
    }

    #[test]
    fn grid_points_vary_the_last_axis_fastest() {
        let design = Design::Grid(vec![vec![1.0, 2.0], vec![10.0, 20.0, 30.0]]);
        assert_eq!(design.len(), 6);
        let mut v = [0.0; 2];
        design.point(4, &mut v);
        assert_eq!(v, [2.0, 20.0]);
    }

    #[test]
    fn log_axes_have_equal_ratios() {
        let v = axis_values(0.01, 100.0, 5, Scale::Log);
        assert_eq!((v[0], v[4]), (0.01, 100.0));
        for w in v.windows(2) {
            assert!((w[1] / w[0] - 10.0).abs() < 1e-9, "{v:?}");
        }
    }
}
