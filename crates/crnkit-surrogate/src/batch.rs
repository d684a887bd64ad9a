//! Queries over many conditions in one call: B rows of (parameters, initial counts, time),
//! evaluated in parallel over the rows.
//!
//! Every row is answered exactly as a query of that one condition is ([`Surrogate`]'s
//! `*_at` methods and [`crate::query::moments`], which `crnkit query` runs), so a row's
//! numbers do not depend on the other rows of the batch, on the batch's size or on the
//! number of threads. Log-probabilities are evaluated per distinct condition, with all the
//! states asked at that condition in one call of [`crate::Model::log_prob`] (each distinct
//! prefix once), as `crnkit query --state "a;b;…"` does.
//!
//! ```
//! # use crnkit_surrogate::{Surrogate, batch::Conditions};
//! # fn f(s: &Surrogate) -> crnkit_surrogate::Result<()> {
//! // Two conditions of a surrogate with parameters (k, g) and one species.
//! let params = [4.0, 1.0, 8.0, 1.5];
//! let x0 = [0, 0];
//! let t = [1.0, 2.0];
//! let c = Conditions::new(s, &params, &x0, &t)?;
//! let m = s.marginal_batch(0, &c)?; // 2 × (cap + 1)
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::{Surrogate, query};

/// B conditions, row-major: parameter values (B × parameters, box order), initial counts
/// (B × species, model order) and times (B), checked against a surrogate.
#[derive(Debug, Clone, Copy)]
pub struct Conditions<'a> {
    params: &'a [f64],
    x0: &'a [u64],
    t: &'a [f64],
    np: usize,
    ns: usize,
}

impl<'a> Conditions<'a> {
    /// Conditions of `s`: the lengths must agree (B rows each); every row must make a
    /// prompt (finite numbers, initial counts within the caps).
    pub fn new(s: &Surrogate, params: &'a [f64], x0: &'a [u64], t: &'a [f64]) -> Result<Self> {
        let np = s.card.prompt.params.dim();
        let ns = s.card.species.len();
        let b = t.len();
        if params.len() != b * np || x0.len() != b * ns {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "{b} conditions need {} parameter values ({np} per condition) and {} \
                     initial counts ({ns} per condition), found {} and {}",
                    b * np,
                    b * ns,
                    params.len(),
                    x0.len()
                ),
            });
        }
        let c = Conditions {
            params,
            x0,
            t,
            np,
            ns,
        };
        for r in 0..b {
            let (p, x, t) = c.row(r);
            s.card.prompt.prompt_at(p, x, t)?;
        }
        Ok(c)
    }

    /// Number of conditions.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Row `r`: parameters, initial counts, time.
    pub fn row(&self, r: usize) -> (&'a [f64], &'a [u64], f64) {
        (
            &self.params[r * self.np..(r + 1) * self.np],
            &self.x0[r * self.ns..(r + 1) * self.ns],
            self.t[r],
        )
    }
}

impl Surrogate {
    /// The index of species `name` (an error naming the surrogate's species otherwise).
    pub fn species_index(&self, name: &str) -> Result<usize> {
        let species = &self.card.species;
        species
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::InvalidQuery {
                reason: format!(
                    "`{name}` is not a species of the surrogate (its species: {})",
                    species.join(", ")
                ),
            })
    }

    /// What lies outside the trained domain over all rows, each line once, in order of
    /// first appearance (empty when every row is inside).
    pub fn outside_batch(&self, c: &Conditions<'_>) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in 0..c.len() {
            let (p, x, t) = c.row(r);
            for line in self.card.prompt.outside(p, x, t) {
                if seen.insert(line.clone()) {
                    out.push(line);
                }
            }
        }
        out
    }

    /// The marginal of species `i` at every row (flat, B × (cap_i + 1)).
    pub fn marginal_batch(&self, i: usize, c: &Conditions<'_>) -> Result<Vec<f64>> {
        let rows = per_row(c, |p, x, t| self.marginal_at(i, p, x, t))?;
        Ok(rows.concat())
    }

    /// Mean and standard deviation of every species at every row (B × species pairs),
    /// from the exact marginals ([`query::moments`]).
    pub fn moments_batch(&self, c: &Conditions<'_>) -> Result<Vec<(f64, f64)>> {
        let rows = per_row(c, |p, x, t| query::moments(self, p, x, t))?;
        Ok(rows.concat())
    }

    /// The joint on the box of caps at every row: the states (flat, K × species, in the
    /// lexicographic order of [`crate::Model::joint`], the same for every row) and their
    /// probabilities (flat, B × K).
    pub fn joint_batch(&self, c: &Conditions<'_>) -> Result<(Vec<u32>, Vec<f64>)> {
        let rows = per_row(c, |p, x, t| self.joint_at(p, x, t))?;
        let states = match rows.first() {
            Some((s, _)) => s.clone(),
            None => Vec::new(),
        };
        Ok((states, rows.into_iter().flat_map(|(_, p)| p).collect()))
    }

    /// `n` ancestral samples at every row (flat, B × n × species), each row's drawn with
    /// `seed` as [`Surrogate::sample_at`] draws them (rows with the same condition get the
    /// same samples).
    pub fn sample_batch(&self, n: usize, c: &Conditions<'_>, seed: u64) -> Result<Vec<u32>> {
        let rows = per_row(c, |p, x, t| self.sample_at(n, p, x, t, seed))?;
        Ok(rows.concat())
    }

    /// ln q(state_r | condition r) for every row r (`states` flat, B × species). The rows
    /// of each distinct condition are evaluated together, in their order, by
    /// [`Surrogate::log_prob_at`]; states beyond a cap get −∞.
    pub fn log_prob_batch(&self, states: &[u32], c: &Conditions<'_>) -> Result<Vec<f64>> {
        let ns = self.card.species.len();
        if states.len() != c.len() * ns {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "{} conditions need {} counts ({ns} per state), found {}",
                    c.len(),
                    c.len() * ns,
                    states.len()
                ),
            });
        }
        // Rows grouped by their condition (bit patterns), groups in order of appearance.
        let mut group_of: HashMap<(Vec<u64>, &[u64], u64), usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for r in 0..c.len() {
            let (p, x, t) = c.row(r);
            let key = (p.iter().map(|v| v.to_bits()).collect(), x, t.to_bits());
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(r);
        }
        let values = groups
            .par_iter()
            .map(|rows| {
                let (p, x, t) = c.row(rows[0]);
                let st: Vec<u32> = rows
                    .iter()
                    .flat_map(|&r| states[r * ns..(r + 1) * ns].iter().copied())
                    .collect();
                self.log_prob_at(&st, p, x, t)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![0.0; c.len()];
        for (rows, lp) in groups.iter().zip(values) {
            for (&r, v) in rows.iter().zip(lp) {
                out[r] = v;
            }
        }
        Ok(out)
    }
}

/// `f` at every row of `c`, in parallel, in row order.
fn per_row<T: Send>(
    c: &Conditions<'_>,
    f: impl Fn(&[f64], &[u64], f64) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    (0..c.len())
        .into_par_iter()
        .map(|r| {
            let (p, x, t) = c.row(r);
            f(p, x, t)
        })
        .collect()
}
