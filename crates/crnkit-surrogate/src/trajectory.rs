//! Trajectory ensembles from a surrogate by chaining one-step transitions.
//!
//! A surrogate trained over varying initial states is a transition kernel: q(x | θ, x0, Δt)
//! approximates P(X(t + Δt) = x | X(t) = x0) of the CME with parameters θ. By the Markov
//! property, chaining it,
//!
//! x_{k+1} ~ q(· | θ, x_k, Δt),  k = 0, …, K − 1,
//!
//! gives paths on the grid 0, Δt, …, KΔt whose law approximates that of the jump process
//! sampled on that grid; with the exact kernel the marginal of x_k would be the CME
//! solution p(kΔt) from x_0 (Chapman–Kolmogorov). This is how Liu & Wang (PNAS
//! 121:e2317422121, 2024) generate trajectories from their neural CME solver.
//!
//! [`chain`] draws `runs` paths at once, one batched [`Model::sample_rows`] call per step,
//! each step seeded from its own stream so the ensemble is a pure function of the seed.
//! The path log-probability ln q(x_1, …, x_K | x_0) = Σ_k ln q(x_{k+1} | θ, x_k, Δt) comes
//! with it, and [`path_log_prob`] evaluates it for given paths (one batched
//! [`Model::log_prob`] over every step of every path).
//!
//! The chain is only as good as the kernel where it is used: Δt must lie in the trained
//! time range, the parameters in the box, and every visited state in the trained initial
//! range; a state at a cap means the true process may have gone beyond what the model can
//! represent. With `strict` these are errors; otherwise they are reported as lines in
//! [`Trajectories::warnings`].

use std::collections::HashMap;

use super::Surrogate;
use super::design::InitialBox;
#[cfg(doc)]
use super::model::Model;
use crate::error::{Error, Result};
use crnkit_core::Error as ModelError;

/// Stream offset of the generator of step k (step k uses `STEP_STREAM + k`).
const STEP_STREAM: u64 = 0x4348_4149_4e00_0000;

/// Settings of [`chain`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainConfig {
    /// Time step Δt (finite, > 0): the time each transition of the surrogate spans.
    pub dt: f64,
    /// Number of transitions K; paths have K + 1 states at 0, Δt, …, KΔt.
    pub steps: usize,
    /// Number of paths.
    pub runs: usize,
    /// Master seed; step k draws from [`crnkit_core::rng::stream`]`(seed, 0x4348_4149_4e00_0000 + k)`.
    pub seed: u64,
    /// Refuse (with an error) anything outside the trained domain: Δt, parameters or a
    /// visited state outside their trained ranges, or a state at a cap. When false these
    /// are reported in [`Trajectories::warnings`] instead.
    pub strict: bool,
}

/// A chained trajectory ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectories {
    /// Species names, in model order.
    pub species: Vec<String>,
    /// Caps per species (counts are in 0..=cap).
    pub caps: Vec<u32>,
    /// The time step Δt.
    pub dt: f64,
    /// Grid times k Δt, k = 0..=steps.
    pub times: Vec<f64>,
    /// Number of paths.
    pub runs: usize,
    /// States, run-major: species i of run r at time index k is
    /// `states[(r · times.len() + k) · num_species + i]`.
    pub states: Vec<u32>,
    /// ln q(x_1, …, x_K | x_0) = Σ_k ln q(x_{k+1} | θ, x_k, Δt) per run (nats).
    pub log_prob: Vec<f64>,
    /// Number of runs that reached a cap at some step k ≥ 1: some species at its cap
    /// (> 0) where the cap is a truncation, not a natural bound
    /// ([`super::Metrics::closed_caps`]).
    pub at_cap: usize,
    /// Number of runs that visited a state outside the trained initial range at some step
    /// k ≥ 1 before the last (so a later transition extrapolates).
    pub left_domain: usize,
    /// What lies outside the trained domain, one line each (empty when nothing does).
    pub warnings: Vec<String>,
}

impl Trajectories {
    /// Number of species.
    pub fn num_species(&self) -> usize {
        self.species.len()
    }

    /// Number of transitions K.
    pub fn steps(&self) -> usize {
        self.times.len().saturating_sub(1)
    }

    /// The state of run `run` at time index `k` (panics when out of range).
    pub fn state(&self, run: usize, k: usize) -> &[u32] {
        let ns = self.num_species();
        let at = (run * self.times.len() + k) * ns;
        &self.states[at..at + ns]
    }

    /// The whole path of run `run`, flat ((K + 1) × species; panics when out of range).
    pub fn path(&self, run: usize) -> &[u32] {
        let w = self.times.len() * self.num_species();
        &self.states[run * w..(run + 1) * w]
    }

    /// The empirical time-marginal of species `i` at time index `k`: entry n is the
    /// fraction of runs with X_i(kΔt) = n, for n in 0..=cap_i.
    pub fn histogram(&self, k: usize, i: usize) -> Result<Vec<f64>> {
        let ns = self.num_species();
        if i >= ns {
            return Err(ModelError::IndexOutOfRange {
                kind: "species",
                index: i,
                len: ns,
            }
            .into());
        }
        if k >= self.times.len() {
            return Err(ModelError::IndexOutOfRange {
                kind: "time index",
                index: k,
                len: self.times.len(),
            }
            .into());
        }
        let mut h = vec![0.0; self.caps[i] as usize + 1];
        let w = 1.0 / self.runs.max(1) as f64;
        for r in 0..self.runs {
            let x = self.state(r, k)[i] as usize;
            if let Some(v) = h.get_mut(x) {
                *v += w;
            }
        }
        Ok(h)
    }

    /// Every time-marginal: `[time index][species][count]`, as [`Trajectories::histogram`].
    pub fn histograms(&self) -> Vec<Vec<Vec<f64>>> {
        (0..self.times.len())
            .map(|k| {
                (0..self.num_species())
                    .map(|i| self.histogram(k, i).unwrap_or_default())
                    .collect()
            })
            .collect()
    }

    /// The paths as CSV: header `run,time,<S1>,...`, one line per run and grid time.
    pub fn to_csv(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("run,time");
        for s in &self.species {
            let _ = write!(out, ",{s}");
        }
        out.push('\n');
        for r in 0..self.runs {
            for (k, t) in self.times.iter().enumerate() {
                let _ = write!(out, "{r},{t}");
                for x in self.state(r, k) {
                    let _ = write!(out, ",{x}");
                }
                out.push('\n');
            }
        }
        out
    }
}

/// The initial-state range the surrogate was trained on.
fn trained_initial(s: &Surrogate) -> InitialBox {
    s.card
        .prompt
        .initial_box
        .clone()
        .unwrap_or_else(|| InitialBox::fixed(&s.card.prompt.initial))
}

fn check_dt(dt: f64) -> Result<()> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(Error::InvalidSetting {
            name: "dt",
            value: dt.to_string(),
            reason: "the time step must be finite and > 0".into(),
        });
    }
    Ok(())
}

/// Out-of-domain lines for (params, x0, Δt), each x0 row once, in order of first
/// appearance; lengths and caps are checked.
fn domain_lines(s: &Surrogate, params: &[f64], rows: &[u64], dt: f64) -> Result<Vec<String>> {
    let ns = s.card.species.len();
    let mut lines: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<&[u64]> = Default::default();
    for x in rows.chunks_exact(ns) {
        if seen.insert(x) {
            for l in s.outside(params, x, dt)? {
                if !lines.contains(&l) {
                    lines.push(l);
                }
            }
        }
    }
    Ok(lines)
}

fn refuse(what: &str, lines: &[String]) -> Error {
    Error::OutsideDomain {
        reason: format!(
            "{what} outside the surrogate's trained domain (strict): {}",
            lines.join("; ")
        ),
    }
}

/// Prompts for many conditioning states at one (params, Δt), computing each distinct
/// state's prompt once.
struct Prompts<'a> {
    s: &'a Surrogate,
    params: &'a [f64],
    dt: f64,
    cache: HashMap<Vec<u32>, Vec<f64>>,
    x64: Vec<u64>,
}

impl<'a> Prompts<'a> {
    fn new(s: &'a Surrogate, params: &'a [f64], dt: f64) -> Prompts<'a> {
        Prompts {
            s,
            params,
            dt,
            cache: HashMap::new(),
            x64: Vec::new(),
        }
    }

    /// Append the prompt of conditioning state `x` to `out`.
    fn push(&mut self, x: &[u32], out: &mut Vec<f64>) -> Result<()> {
        if let Some(c) = self.cache.get(x) {
            out.extend_from_slice(c);
            return Ok(());
        }
        self.x64.clear();
        self.x64.extend(x.iter().map(|&v| v as u64));
        let c = self
            .s
            .card
            .prompt
            .prompt_at(self.params, &self.x64, self.dt)?;
        out.extend_from_slice(&c);
        self.cache.insert(x.to_vec(), c);
        Ok(())
    }
}

/// Draw `cfg.runs` paths of the surrogate chain x_{k+1} ~ q(· | params, x_k, Δt) from
/// `x0` (one initial state for every run, `species` counts, or one per run, `runs ×
/// species` counts, model order).
///
/// Step k (0-based) conditions every run on its current state and draws the next with one
/// [`Model::sample_rows`] call on stream `0x4348_4149_4e00_0000 + k` of `cfg.seed`; the
/// result is bit-identical for a seed (and the same batch size). Errors: Δt not finite or
/// ≤ 0, no runs, wrong lengths, an initial count beyond its cap; with `cfg.strict` also Δt,
/// parameters or initial states outside the trained ranges, and (at the first step where
/// it happens) any run reaching a cap or leaving the trained initial range. Without
/// `strict` these are counted in [`Trajectories::at_cap`] and
/// [`Trajectories::left_domain`] and described in [`Trajectories::warnings`].
///
/// Reference: Liu & Wang, "Distilling dynamical knowledge from stochastic reaction
/// networks", PNAS 121:e2317422121 (2024).
pub fn chain(s: &Surrogate, params: &[f64], x0: &[u64], cfg: &ChainConfig) -> Result<Trajectories> {
    check_dt(cfg.dt)?;
    let ns = s.card.species.len();
    let n = cfg.runs;
    if n == 0 {
        return Err(Error::InvalidSetting {
            name: "runs",
            value: "0".into(),
            reason: "a trajectory ensemble needs at least one run".into(),
        });
    }
    let start = start_states(x0, ns, n)?;
    let mut warnings = domain_lines(s, params, &start, cfg.dt)?;
    if cfg.strict && !warnings.is_empty() {
        return Err(refuse("the chain's start is", &warnings));
    }
    let caps = s.card.prompt.caps.clone();
    let ib = trained_initial(s);
    let width = (cfg.steps + 1) * ns;
    let mut states = vec![0u32; n * width];
    let mut cur: Vec<u32> = start.iter().map(|&v| v as u32).collect();
    for r in 0..n {
        states[r * width..r * width + ns].copy_from_slice(&cur[r * ns..(r + 1) * ns]);
    }
    let mut logp = vec![0.0f64; n];
    let mut hit_cap = vec![false; n];
    // A species whose cap is a natural bound (never exceeded by the exact teacher) cannot
    // go beyond it, so sitting there is no warning.
    let closed = |i: usize| s.card.metrics.closed_caps.get(i).copied().unwrap_or(false);
    let mut left = vec![false; n];
    let mut prompts = Prompts::new(s, params, cfg.dt);
    let mut pr: Vec<f64> = Vec::with_capacity(n * s.card.prompt.dim());
    for k in 0..cfg.steps {
        pr.clear();
        for x in cur.chunks_exact(ns) {
            prompts.push(x, &mut pr)?;
        }
        let (next, lp) = s
            .model
            .sample_rows(&pr, cfg.seed, STEP_STREAM.wrapping_add(k as u64))?;
        let (mut new_cap, mut new_left) = (0usize, 0usize);
        for r in 0..n {
            let x = &next[r * ns..(r + 1) * ns];
            let at = (r * width) + (k + 1) * ns;
            states[at..at + ns].copy_from_slice(x);
            logp[r] += lp[r];
            if !hit_cap[r] && (0..x.len()).any(|i| !closed(i) && caps[i] > 0 && x[i] >= caps[i]) {
                hit_cap[r] = true;
                new_cap += 1;
            }
            // A state outside the trained initial range matters only if the chain goes on
            // from it.
            if k + 1 < cfg.steps
                && !left[r]
                && x.iter()
                    .zip(ib.lo.iter().zip(&ib.hi))
                    .any(|(&v, (&l, &h))| (v as u64) < l || (v as u64) > h)
            {
                left[r] = true;
                new_left += 1;
            }
        }
        if cfg.strict {
            refuse_step(n, k, cfg.dt, (new_cap, &caps), (new_left, &ib))?;
        }
        cur = next;
    }
    let at_cap = hit_cap.iter().filter(|&&h| h).count();
    let left_domain = left.iter().filter(|&&h| h).count();
    if at_cap > 0 {
        warnings.push(format!(
            "{at_cap} of {n} trajectories reached a cap {caps:?}: the surrogate cannot represent counts beyond its caps"
        ));
    }
    if left_domain > 0 {
        warnings.push(format!(
            "{left_domain} of {n} trajectories left the trained initial range {:?}..={:?}: later steps extrapolate",
            ib.lo, ib.hi
        ));
    }
    Ok(Trajectories {
        species: s.card.species.clone(),
        caps,
        dt: cfg.dt,
        times: (0..=cfg.steps).map(|k| k as f64 * cfg.dt).collect(),
        runs: n,
        states,
        log_prob: logp,
        at_cap,
        left_domain,
        warnings,
    })
}

/// The `n` runs' initial states: `x0` for every run (`ns` counts) or one per run.
fn start_states(x0: &[u64], ns: usize, n: usize) -> Result<Vec<u64>> {
    if x0.len() == ns {
        Ok(x0.repeat(n))
    } else if x0.len() == n * ns {
        Ok(x0.to_vec())
    } else {
        Err(Error::InvalidQuery {
            reason: format!(
                "initial states must be {ns} counts (all runs) or {n} × {ns} (one per run), found {}",
                x0.len()
            ),
        })
    }
}

/// The strict chain's error at step `k` when `new_cap` runs first reached a cap or
/// `new_left` runs first left the trained initial range `ib` there.
fn refuse_step(
    n: usize,
    k: usize,
    dt: f64,
    (new_cap, caps): (usize, &[u32]),
    (new_left, ib): (usize, &InitialBox),
) -> Result<()> {
    if new_cap > 0 {
        return Err(Error::OutsideDomain {
            reason: format!(
                "{new_cap} of {n} trajectories reached a cap {caps:?} at step {} (t = {}): \
                 the surrogate cannot represent counts beyond its caps (strict)",
                k + 1,
                (k + 1) as f64 * dt
            ),
        });
    }
    if new_left > 0 {
        return Err(Error::OutsideDomain {
            reason: format!(
                "{new_left} of {n} trajectories left the trained initial range {:?}..={:?} \
                 at step {} (t = {}); later steps would extrapolate (strict)",
                ib.lo,
                ib.hi,
                k + 1,
                (k + 1) as f64 * dt
            ),
        });
    }
    Ok(())
}

/// ln q(x_1, …, x_K | x_0) = Σ_{k<K} ln q(x_{k+1} | params, x_k, Δt) for given paths
/// (flat, runs × (steps + 1) × species, run-major as [`Trajectories::states`]), evaluated
/// in one batched [`Model::log_prob`] over every transition; returns the log-probabilities
/// per path and the out-of-domain lines (Δt, parameters, or conditioning states x_k,
/// k < K, outside the trained ranges).
///
/// A next state beyond a cap gives −∞; a conditioning state beyond a cap is an error (no
/// prompt represents it), as are Δt not finite or ≤ 0 and wrong lengths. With `strict`,
/// anything outside the trained domain is an error too.
pub fn path_log_prob(
    s: &Surrogate,
    params: &[f64],
    paths: &[u32],
    steps: usize,
    dt: f64,
    strict: bool,
) -> Result<(Vec<f64>, Vec<String>)> {
    check_dt(dt)?;
    let ns = s.card.species.len();
    let width = (steps + 1) * ns;
    if paths.is_empty() || !paths.len().is_multiple_of(width) {
        return Err(Error::InvalidQuery {
            reason: format!(
                "paths must be runs × {} × {ns} counts ({} steps), found {}",
                steps + 1,
                steps,
                paths.len()
            ),
        });
    }
    let n = paths.len() / width;
    if steps == 0 {
        return Ok((vec![0.0; n], Vec::new()));
    }
    let d = s.card.prompt.dim();
    let mut prompts = Prompts::new(s, params, dt);
    let mut pr: Vec<f64> = Vec::with_capacity(n * steps * d);
    let mut next: Vec<u32> = Vec::with_capacity(n * steps * ns);
    let mut cond: Vec<u64> = Vec::new();
    for path in paths.chunks_exact(width) {
        for k in 0..steps {
            let x = &path[k * ns..(k + 1) * ns];
            prompts.push(x, &mut pr)?;
            cond.extend(x.iter().map(|&v| v as u64));
            next.extend_from_slice(&path[(k + 1) * ns..(k + 2) * ns]);
        }
    }
    let lines = domain_lines(s, params, &cond, dt)?;
    if strict && !lines.is_empty() {
        return Err(refuse("a path is", &lines));
    }
    let lp = s.model.log_prob(&next, &pr)?;
    Ok((
        lp.chunks_exact(steps).map(|c| c.iter().sum()).collect(),
        lines,
    ))
}
