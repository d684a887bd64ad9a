//! Low-discrepancy designs over a box of parameters.
//!
//! A [`ParamBox`] names the network parameters a surrogate is conditioned on, with a range
//! each, optionally on a log scale. [`halton`] fills the unit cube with the Halton sequence
//! (bases 2, 3, 5, 7, …) shifted by a random vector per dimension modulo 1
//! (Cranley–Patterson rotation): the shift is a pure function of the seed, so a design is
//! reproducible and its points are equidistributed like the unshifted sequence.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Ranges of the parameters a surrogate is conditioned on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamBox {
    /// Parameter names (as in the network).
    pub names: Vec<String>,
    /// Lower ends.
    pub lo: Vec<f64>,
    /// Upper ends.
    pub hi: Vec<f64>,
    /// Whether each parameter is sampled and normalised on a log scale.
    pub log_scale: Vec<bool>,
}

impl ParamBox {
    /// A box; see [`ParamBox::validate`] for what is required.
    pub fn new(
        names: Vec<String>,
        lo: Vec<f64>,
        hi: Vec<f64>,
        log_scale: Vec<bool>,
    ) -> Result<ParamBox> {
        let b = ParamBox {
            names,
            lo,
            hi,
            log_scale,
        };
        b.validate()?;
        Ok(b)
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// Check: one entry per name in every field, finite lo < hi, lo > 0 on a log scale,
    /// distinct names, at least one parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidModel { reason });
        let n = self.names.len();
        if n == 0 {
            return bad("the parameter box has no parameters".into());
        }
        if self.lo.len() != n || self.hi.len() != n || self.log_scale.len() != n {
            return bad(format!(
                "the parameter box needs one lo, hi and log_scale per name ({n} names, {} lo, {} hi, {} log_scale)",
                self.lo.len(),
                self.hi.len(),
                self.log_scale.len()
            ));
        }
        for i in 0..n {
            let (lo, hi, name) = (self.lo[i], self.hi[i], &self.names[i]);
            if self.names[..i].contains(name) {
                return bad(format!("parameter `{name}` appears twice in the box"));
            }
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return bad(format!(
                    "parameter `{name}`: range [{lo}, {hi}] must be finite with lo < hi"
                ));
            }
            if self.log_scale[i] && lo <= 0.0 {
                return bad(format!(
                    "parameter `{name}`: a log-scale range must be positive, found lo = {lo}"
                ));
            }
        }
        Ok(())
    }

    /// The point of the box at unit-cube coordinates `u` (each in [0, 1]).
    pub fn from_unit(&self, u: &[f64]) -> Vec<f64> {
        (0..self.dim())
            .map(|i| {
                let t = u[i].clamp(0.0, 1.0);
                if self.log_scale[i] {
                    let (a, b) = (self.lo[i].ln(), self.hi[i].ln());
                    (a + t * (b - a)).exp().clamp(self.lo[i], self.hi[i])
                } else {
                    (self.lo[i] + t * (self.hi[i] - self.lo[i])).clamp(self.lo[i], self.hi[i])
                }
            })
            .collect()
    }

    /// Network inputs: each parameter mapped affinely (in log space for log-scale ones) to
    /// [-1, 1]; values outside the box map outside [-1, 1]. Errors on a wrong length or a
    /// non-positive value of a log-scale parameter.
    pub fn normalise(&self, x: &[f64]) -> Result<Vec<f64>> {
        if x.len() != self.dim() {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "expected {} parameter values ({}), found {}",
                    self.dim(),
                    self.names.join(", "),
                    x.len()
                ),
            });
        }
        (0..self.dim())
            .map(|i| {
                let v = x[i];
                let (a, b, v) = if self.log_scale[i] {
                    if v.is_nan() || v <= 0.0 {
                        return Err(Error::InvalidQuery {
                            reason: format!(
                                "parameter `{}` is on a log scale and must be > 0, found {v}",
                                self.names[i]
                            ),
                        });
                    }
                    (self.lo[i].ln(), self.hi[i].ln(), v.ln())
                } else {
                    (self.lo[i], self.hi[i], v)
                };
                if !v.is_finite() {
                    return Err(Error::InvalidQuery {
                        reason: format!("parameter `{}` is not finite", self.names[i]),
                    });
                }
                Ok(2.0 * (v - a) / (b - a) - 1.0)
            })
            .collect()
    }

    /// Whether `x` lies in the box (ends included).
    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.dim() && (0..self.dim()).all(|i| x[i] >= self.lo[i] && x[i] <= self.hi[i])
    }

    /// `n` design points in the box: the shifted Halton points `start..start + n` mapped
    /// with [`ParamBox::from_unit`].
    pub fn design(&self, start: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        halton(self.dim(), start, n, seed)
            .iter()
            .map(|u| self.from_unit(u))
            .collect()
    }
}

/// The first `dim` primes (the Halton bases).
pub fn primes(dim: usize) -> Vec<u64> {
    let mut p = Vec::with_capacity(dim);
    let mut k = 2u64;
    while p.len() < dim {
        if p.iter().all(|&q| !k.is_multiple_of(q)) {
            p.push(k);
        }
        k += 1;
    }
    p
}

/// The radical inverse of `i` in base `b`: the digits of i mirrored about the point.
pub fn radical_inverse(mut i: u64, b: u64) -> f64 {
    let inv = 1.0 / b as f64;
    let mut f = inv;
    let mut r = 0.0;
    while i > 0 {
        r += f * (i % b) as f64;
        i /= b;
        f *= inv;
    }
    r
}

/// Points `start..start + n` of the `dim`-dimensional Halton sequence (index 0 skipped, so
/// no point sits at the origin), each coordinate shifted by a uniform offset drawn from
/// `seed` and wrapped into [0, 1) (Cranley–Patterson rotation).
pub fn halton(dim: usize, start: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let bases = primes(dim);
    let mut rng = crnkit_core::rng::stream(seed, 0x4841_4c54_4f4e);
    let shift: Vec<f64> = (0..dim).map(|_| rng.random::<f64>()).collect();
    (start..start + n)
        .map(|k| {
            bases
                .iter()
                .zip(&shift)
                .map(|(&b, &s)| {
                    let u = radical_inverse(k as u64 + 1, b) + s;
                    u - u.floor()
                })
                .collect()
        })
        .collect()
}

/// Ranges of initial counts a surrogate is conditioned on: species `i` starts anywhere in
/// `lo[i]..=hi[i]` (a species with `lo == hi` is fixed). Design points draw the varying
/// species from the Halton coordinates after the parameters'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialBox {
    /// Smallest initial count per species (model order).
    pub lo: Vec<u64>,
    /// Largest initial count per species.
    pub hi: Vec<u64>,
}

impl InitialBox {
    /// A box holding only `x0`.
    pub fn fixed(x0: &[u64]) -> InitialBox {
        InitialBox {
            lo: x0.to_vec(),
            hi: x0.to_vec(),
        }
    }

    /// Check: `n` species, lo ≤ hi each.
    pub fn validate(&self, n: usize) -> Result<()> {
        if self.lo.len() != n || self.hi.len() != n {
            return Err(Error::InvalidModel {
                reason: format!(
                    "the initial-state box needs {n} lo and hi counts, found {} and {}",
                    self.lo.len(),
                    self.hi.len()
                ),
            });
        }
        if let Some(i) = (0..n).find(|&i| self.lo[i] > self.hi[i]) {
            return Err(Error::InvalidModel {
                reason: format!(
                    "initial range of species {i}: lo {} > hi {}",
                    self.lo[i], self.hi[i]
                ),
            });
        }
        Ok(())
    }

    /// Indices of the species whose initial count varies.
    pub fn varying(&self) -> Vec<usize> {
        (0..self.lo.len())
            .filter(|&i| self.lo[i] < self.hi[i])
            .collect()
    }

    /// The initial state at unit coordinates `u` (one per varying species): species i gets
    /// ⌊lo + u (hi − lo + 1)⌋, so every count of the range is equally likely.
    pub fn from_unit(&self, u: &[f64]) -> Vec<u64> {
        let mut x = self.lo.clone();
        for (&i, &ui) in self.varying().iter().zip(u) {
            let span = (self.hi[i] - self.lo[i] + 1) as f64;
            x[i] = (self.lo[i] + (ui.clamp(0.0, 1.0) * span) as u64).min(self.hi[i]);
        }
        x
    }

    /// Whether `x` lies in the box.
    pub fn contains(&self, x: &[u64]) -> bool {
        x.len() == self.lo.len()
            && x.iter()
                .zip(self.lo.iter().zip(&self.hi))
                .all(|(v, (l, h))| v >= l && v <= h)
    }
}

/// One design point: parameter values (box order) and an initial state (model order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignPoint {
    /// Parameter values.
    pub params: Vec<f64>,
    /// Initial counts.
    pub initial: Vec<u64>,
}

/// `n` design points over parameters and initial states: shifted Halton points
/// `start..start + n` of dimension `params.dim() + initial.varying().len()`.
pub fn design_points(
    params: &ParamBox,
    initial: &InitialBox,
    start: usize,
    n: usize,
    seed: u64,
) -> Vec<DesignPoint> {
    let dp = params.dim();
    let dim = dp + initial.varying().len();
    halton(dim, start, n, seed)
        .iter()
        .map(|u| DesignPoint {
            params: params.from_unit(&u[..dp]),
            initial: initial.from_unit(&u[dp..]),
        })
        .collect()
}
