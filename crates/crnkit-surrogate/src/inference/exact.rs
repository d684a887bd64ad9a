//! Exact-CME inference from snapshot data: the likelihood of a network under its chemical
//! master equation, solved by finite state projection ([`crnkit_sim::cme`]), with no
//! surrogate in between.
//!
//! For snapshot data (independent cells, cell c measured once at time t_c, all started from
//! x0) the log-likelihood of parameters θ is
//!
//! ```text
//! ℓ(θ) = Σ_r n_r ln p(x_r | θ, x0, t_r)
//! ```
//!
//! over the distinct (time, state) rows r of the data with multiplicities n_r, where p is
//! the FSP solution of the CME (an elementwise under-estimate of the true law, off by at
//! most the solve's L1 tolerance in total). One FSP solve over the data's times gives ℓ at
//! one θ. This is the reference a surrogate likelihood ([`super::Likelihood`]) is checked
//! against: what a perfect surrogate would give.
//!
//! * [`ExactModel`]: a network whose named parameters are set per evaluation, from a fixed
//!   initial state; its law on a box of counts ([`ExactModel::law_on_box`]) and its expected
//!   Fisher information there ([`ExactModel::fisher_information`]).
//! * [`ExactLikelihood`]: ℓ(θ) of snapshot data ([`ExactLikelihood::log_likelihood`]) and the
//!   maximum-likelihood estimate by Nelder–Mead on ln θ ([`ExactLikelihood::mle`]).
//! * [`fisher_information`] (any law given per time on common states, e.g. a surrogate's)
//!   and [`cramer_rao_std_errors`].

use crate::error::{Error, Result};
use crnkit_core::network::Network;
use crnkit_sim::cme::{FspOptions, solve_transient_with};
use crnkit_sim::ssa::TimeGrid;

use super::Snapshots;

/// A network with named parameters θ set per evaluation, every cell starting from one
/// initial state x0, solved exactly by FSP.
#[derive(Debug, Clone)]
pub struct ExactModel {
    net: Network,
    names: Vec<String>,
    x0: Vec<u64>,
    opts: FspOptions,
}

impl ExactModel {
    /// `net` with its parameters `names` (the order of every θ here) free, initial state
    /// `x0` (the network's species order) and FSP settings `opts` (tolerance, bounds).
    ///
    /// Errors: a name that is not a parameter of `net` or is repeated, no name, an initial
    /// state of the wrong length, invalid FSP settings.
    pub fn new(net: &Network, names: &[String], x0: &[u64], opts: FspOptions) -> Result<Self> {
        let bad = |reason: String| Error::InvalidQuery { reason };
        if names.is_empty() {
            return Err(bad("exact likelihood: no parameter".into()));
        }
        for (i, name) in names.iter().enumerate() {
            if net.parameter(name).is_none() {
                return Err(bad(format!(
                    "exact likelihood: `{name}` is not a parameter of the network"
                )));
            }
            if names[..i].contains(name) {
                return Err(bad(format!(
                    "exact likelihood: parameter `{name}` is listed twice"
                )));
            }
        }
        if x0.len() != net.num_species() {
            return Err(bad(format!(
                "exact likelihood: the initial state has {} counts, the network {} species",
                x0.len(),
                net.num_species()
            )));
        }
        opts.validate()?;
        Ok(ExactModel {
            net: net.clone(),
            names: names.to_vec(),
            x0: x0.to_vec(),
            opts,
        })
    }

    /// The parameter names, in the order of every θ here.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The initial state x0.
    pub fn initial(&self) -> &[u64] {
        &self.x0
    }

    /// The network at parameters `theta` (order of [`ExactModel::names`]) and state x0.
    ///
    /// Errors: `theta` of the wrong length, a value the network rejects.
    pub fn network_at(&self, theta: &[f64]) -> Result<Network> {
        if theta.len() != self.names.len() {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "exact likelihood: {} parameter values for {} parameters",
                    theta.len(),
                    self.names.len()
                ),
            });
        }
        let values: Vec<(&str, f64)> = self
            .names
            .iter()
            .map(String::as_str)
            .zip(theta.iter().copied())
            .collect();
        let mut n = self.net.with_parameters(&values)?;
        for (i, &c) in self.x0.iter().enumerate() {
            n.set_initial(i, c)?;
        }
        Ok(n)
    }

    /// The FSP solution at `theta` on the box 0 ≤ x_i ≤ `caps[i]`, at each of `times`
    /// (finite, ≥ 0, non-decreasing).
    ///
    /// Errors: those of [`ExactModel::network_at`], `caps` of the wrong length, bad times,
    /// a failed solve.
    pub fn law_on_box(&self, theta: &[f64], times: &[f64], caps: &[u32]) -> Result<BoxLaw> {
        if caps.len() != self.x0.len() {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "exact likelihood: {} caps for {} species",
                    caps.len(),
                    self.x0.len()
                ),
            });
        }
        let compiled = self.network_at(theta)?.compile();
        let grid = TimeGrid::from_times(times.to_vec())?;
        let box_len: usize = caps.iter().map(|&c| c as usize + 1).product();
        let mut law = BoxLaw {
            times: times.to_vec(),
            caps: caps.to_vec(),
            joint: Vec::with_capacity(times.len()),
            marginals: Vec::with_capacity(times.len()),
            outside: Vec::with_capacity(times.len()),
        };
        solve_transient_with(&compiled, &grid, &self.opts, |s| {
            let mut joint = vec![0.0; box_len];
            let mut margs: Vec<Vec<f64>> =
                caps.iter().map(|&c| vec![0.0; c as usize + 1]).collect();
            let mut out = 0.0;
            for (st, &p) in s.space.iter().zip(s.p) {
                if st.iter().zip(caps).all(|(&v, &c)| v <= c) {
                    let k = st
                        .iter()
                        .zip(caps)
                        .fold(0usize, |a, (&v, &c)| a * (c as usize + 1) + v as usize);
                    joint[k] += p;
                    for (m, &v) in margs.iter_mut().zip(st) {
                        m[v as usize] += p;
                    }
                } else {
                    out += p;
                }
            }
            law.joint.push(joint);
            law.marginals.push(margs);
            law.outside.push(out);
        })?;
        Ok(law)
    }

    /// The expected Fisher information (square, order of [`ExactModel::names`]) of one
    /// cell measured at each of `times` (summed over the times) at `theta`, on the box
    /// 0..=`caps`: see [`fisher_information`], with central differences of relative step
    /// `rel_step`. With n cells per time the Cramér–Rao covariance is I⁻¹ / n
    /// ([`cramer_rao_std_errors`]).
    ///
    /// Errors: those of [`ExactModel::law_on_box`].
    pub fn fisher_information(
        &self,
        theta: &[f64],
        times: &[f64],
        caps: &[u32],
        rel_step: f64,
    ) -> Result<Vec<Vec<f64>>> {
        let p0 = self.law_on_box(theta, times, caps)?.joint;
        fisher_information(theta, rel_step, &p0, |th| {
            Ok(self.law_on_box(th, times, caps)?.joint)
        })
    }
}

/// The FSP law on a box of counts 0 ≤ x_i ≤ caps_i, per time ([`ExactModel::law_on_box`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxLaw {
    /// The times.
    pub times: Vec<f64>,
    /// The box.
    pub caps: Vec<u32>,
    /// Per time, p(x) on the box in lexicographic order (the last species fastest), like
    /// [`crate::Surrogate::joint_at`].
    pub joint: Vec<Vec<f64>>,
    /// Per time and species i, the marginal of x_i on 0..=caps_i (states inside the box).
    pub marginals: Vec<Vec<Vec<f64>>>,
    /// Per time, the probability beyond the box.
    pub outside: Vec<f64>,
}

/// The expected Fisher information I_jk = Σ_t Σ_x p(x, t) ∂_j ln p(x, t) ∂_k ln p(x, t) of
/// one observation at each time (summed over the times) at `theta`.
///
/// `p0[t][x]` is the law at `theta`; `law(θ')` gives it at θ' (same times, same states in
/// the same order). ∂_j ln p is the central difference with step h_j = `rel_step` · θ_j
/// (0 where either side has probability 0).
///
/// Errors: those of `law`.
pub fn fisher_information(
    theta: &[f64],
    rel_step: f64,
    p0: &[Vec<f64>],
    mut law: impl FnMut(&[f64]) -> Result<Vec<Vec<f64>>>,
) -> Result<Vec<Vec<f64>>> {
    let n = theta.len();
    // d[j][t][x] = ∂_j ln p at time t, state x.
    let mut d = Vec::with_capacity(n);
    for j in 0..n {
        let h = rel_step * theta[j];
        let (mut up, mut dn) = (theta.to_vec(), theta.to_vec());
        up[j] += h;
        dn[j] -= h;
        let pu = law(&up)?;
        let pd = law(&dn)?;
        let diff = |a: &[f64], b: &[f64]| -> Vec<f64> {
            a.iter()
                .zip(b)
                .map(|(&a, &b)| {
                    if a > 0.0 && b > 0.0 {
                        (a.ln() - b.ln()) / (2.0 * h)
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        d.push(
            (0..p0.len())
                .map(|k| diff(&pu[k], &pd[k]))
                .collect::<Vec<_>>(),
        );
    }
    let mut m = vec![vec![0.0; n]; n];
    for (a, row) in m.iter_mut().enumerate() {
        for (b, v) in row.iter_mut().enumerate() {
            *v = (0..p0.len())
                .map(|k| {
                    p0[k]
                        .iter()
                        .enumerate()
                        .map(|(x, &p)| p * d[a][k][x] * d[b][k][x])
                        .sum::<f64>()
                })
                .sum();
        }
    }
    Ok(m)
}

/// Cramér–Rao standard errors sqrt((I⁻¹)_jj / n) of n independent observations with
/// Fisher information `info` each (a negative variance gives 0); NaN throughout when `info`
/// is singular. The inverse is by Gauss–Jordan elimination with partial pivoting.
pub fn cramer_rao_std_errors(info: &[Vec<f64>], n: usize) -> Vec<f64> {
    inverse_diagonal(info)
        .iter()
        .map(|&x| {
            if x.is_nan() {
                f64::NAN
            } else {
                (x / n as f64).max(0.0).sqrt()
            }
        })
        .collect()
}

/// The diagonal of the inverse of a square matrix (Gauss–Jordan with partial pivoting);
/// NaN when it is singular.
fn inverse_diagonal(m: &[Vec<f64>]) -> Vec<f64> {
    let n = m.len();
    let mut a = vec![vec![0.0; 2 * n]; n];
    for i in 0..n {
        a[i][..n].copy_from_slice(&m[i]);
        a[i][n + i] = 1.0;
    }
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))
            .unwrap_or(c);
        a.swap(c, piv);
        let d = a[c][c];
        if d.abs() < 1e-300 {
            return vec![f64::NAN; n];
        }
        for v in a[c].iter_mut() {
            *v /= d;
        }
        let row_c = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c];
                for (v, w) in row.iter_mut().zip(&row_c) {
                    *v -= f * w;
                }
            }
        }
    }
    (0..n).map(|i| a[i][n + i]).collect()
}

/// The exact log-likelihood of snapshot data under an [`ExactModel`] (see the module docs).
#[derive(Debug, Clone)]
pub struct ExactLikelihood<'a> {
    model: &'a ExactModel,
    times: Vec<f64>,
    /// Per distinct row: index into `times`, state, multiplicity.
    rows: Vec<(usize, Vec<u32>, f64)>,
    cells: u64,
}

/// Settings of [`ExactLikelihood::mle`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMleConfig {
    /// Initial simplex: the start and, per parameter, the start with that ln θ_j raised by
    /// this. Default 0.05 (about 5 %).
    pub step: f64,
    /// Stop when the simplex's −ℓ values agree to this (absolute, nats). Default 1e-7.
    pub tol: f64,
    /// Stop after about this many evaluations (FSP solves). Default 600.
    pub max_evals: usize,
}

impl Default for ExactMleConfig {
    fn default() -> Self {
        ExactMleConfig {
            step: 0.05,
            tol: 1e-7,
            max_evals: 600,
        }
    }
}

/// The outcome of [`ExactLikelihood::mle`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMleResult {
    /// θ̂ (order of [`ExactModel::names`]).
    pub estimate: Vec<f64>,
    /// ℓ(θ̂).
    pub log_likelihood: f64,
    /// Evaluations of ℓ (one FSP solve each).
    pub evaluations: usize,
}

impl<'a> ExactLikelihood<'a> {
    /// ℓ for `data` under `model`.
    ///
    /// Errors: data species differing from the network's (names and order).
    pub fn new(model: &'a ExactModel, data: &Snapshots) -> Result<ExactLikelihood<'a>> {
        let species = model.net.species_names();
        if data
            .species()
            .iter()
            .map(String::as_str)
            .ne(species.iter().copied())
        {
            return Err(Error::Data {
                reason: format!(
                    "the data's species {:?} differ from the network's {species:?}",
                    data.species()
                ),
            });
        }
        let times = data.times();
        let rows = data
            .rows()
            .map(|(t, st, n)| {
                let k = times.iter().position(|&s| s == t).unwrap_or(0);
                (k, st.to_vec(), n as f64)
            })
            .collect();
        Ok(ExactLikelihood {
            model,
            times,
            rows,
            cells: data.num_cells(),
        })
    }

    /// The model.
    pub fn model(&self) -> &ExactModel {
        self.model
    }

    /// Number of cells.
    pub fn num_cells(&self) -> u64 {
        self.cells
    }

    /// ℓ(θ) = Σ_r n_r ln p(x_r | θ, x0, t_r), p by one FSP solve over the data's times
    /// (−∞ when some cell has probability 0, e.g. lies outside the projection).
    ///
    /// Errors: those of [`ExactModel::network_at`], a failed solve.
    pub fn log_likelihood(&self, theta: &[f64]) -> Result<f64> {
        let compiled = self.model.network_at(theta)?.compile();
        let grid = TimeGrid::from_times(self.times.clone())?;
        // p of every row, filled time by time.
        let mut p = vec![0.0; self.rows.len()];
        let mut k = 0usize;
        solve_transient_with(&compiled, &grid, &self.model.opts, |s| {
            for (r, (kr, st, _)) in self.rows.iter().enumerate() {
                if *kr == k {
                    p[r] = s.space.index_of(st).map_or(0.0, |i| s.p[i]);
                }
            }
            k += 1;
        })?;
        let mut ll = 0.0;
        for ((_, _, n), &p) in self.rows.iter().zip(&p) {
            if p <= 0.0 {
                return Ok(f64::NEG_INFINITY);
            }
            ll += n * p.ln();
        }
        Ok(ll)
    }

    /// The maximum-likelihood estimate: Nelder–Mead on u = ln θ from `start` (every entry
    /// finite and > 0); a θ that is not finite and positive counts as ℓ = −∞.
    ///
    /// Errors: a bad start or settings, those of [`ExactLikelihood::log_likelihood`].
    pub fn mle(&self, start: &[f64], cfg: &ExactMleConfig) -> Result<ExactMleResult> {
        if start.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
            return Err(Error::InvalidQuery {
                reason: format!("exact MLE: the start {start:?} must be finite and > 0"),
            });
        }
        if !(cfg.step.is_finite() && cfg.step > 0.0) {
            return Err(Error::InvalidSetting {
                name: "step",
                value: cfg.step.to_string(),
                reason: "exact MLE: the step must be finite and > 0".into(),
            });
        }
        if cfg.tol.is_nan() || cfg.tol < 0.0 {
            return Err(Error::InvalidSetting {
                name: "tol",
                value: cfg.tol.to_string(),
                reason: "exact MLE: the tolerance must be >= 0".into(),
            });
        }
        let f = |u: &[f64]| -> Result<f64> {
            let th: Vec<f64> = u.iter().map(|v| v.exp()).collect();
            if th.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
                return Ok(f64::INFINITY);
            }
            Ok(-self.log_likelihood(&th)?)
        };
        let u0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
        let (u, nll, evaluations) = nelder_mead(f, &u0, cfg)?;
        Ok(ExactMleResult {
            estimate: u.iter().map(|v| v.exp()).collect(),
            log_likelihood: -nll,
            evaluations,
        })
    }
}

/// Minimise `f` by Nelder–Mead from `u0` (initial simplex `u0` and `u0 + step e_j`) until
/// the simplex's values agree to `tol` or after `max_evals` evaluations: (best point, its
/// value, evaluations).
fn nelder_mead(
    f: impl Fn(&[f64]) -> Result<f64>,
    u0: &[f64],
    cfg: &ExactMleConfig,
) -> Result<(Vec<f64>, f64, usize)> {
    let n = u0.len();
    let mut simplex = vec![u0.to_vec()];
    for j in 0..n {
        let mut u = u0.to_vec();
        u[j] += cfg.step;
        simplex.push(u);
    }
    let mut vals = simplex.iter().map(|u| f(u)).collect::<Result<Vec<_>>>()?;
    let mut evals = n + 1;
    while evals < cfg.max_evals {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        if (vals[n] - vals[0]).abs() < cfg.tol {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|u| u[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |a: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + a * (simplex[n][j] - centroid[j]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr)?;
        evals += 1;
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = f(&xe)?;
            evals += 1;
            if fe < fr {
                (simplex[n], vals[n]) = (xe, fe);
            } else {
                (simplex[n], vals[n]) = (xr, fr);
            }
        } else if fr < vals[n - 1] {
            (simplex[n], vals[n]) = (xr, fr);
        } else {
            let xc = if fr < vals[n] {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = f(&xc)?;
            evals += 1;
            if fc < vals[n].min(fr) {
                (simplex[n], vals[n]) = (xc, fc);
            } else {
                // Shrink toward the best vertex.
                for i in 1..=n {
                    let u: Vec<f64> = (0..n)
                        .map(|j| simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j]))
                        .collect();
                    vals[i] = f(&u)?;
                    simplex[i] = u;
                }
                evals += n;
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    Ok((simplex[best].clone(), vals[best], evals))
}
