//! Path-level (stochastic) thermodynamics of SSA trajectories.
//!
//! Along one trajectory with jumps x⁻ → x⁺ by channel r (reverse r̄):
//! Δs_m = Σ ln(a_r(x⁻) / a_r̄(x⁺)) (medium entropy, heat / T), Δs = ln p(x₀, 0) − ln p(x_t, t)
//! (system entropy, with p the CME solution), Δs_tot = Δs_m + Δs (Seifert, PRL 95, 040602,
//! 2005). ⟨Δs_tot⟩ is the time integral of the Schnakenberg entropy production and
//! ⟨exp(−Δs_tot)⟩ = 1 (integral fluctuation theorem). The ensemble keeps running moments
//! per grid time and a histogram of Δs_tot at the last time: nothing per event.

use std::collections::BTreeMap;

use rand::Rng as _;
use rayon::prelude::*;

use super::ReversePairs;
use crate::cme::Distribution;
use crate::ssa::{AnySimulator, Method, Moments, Recorder, Simulator, TimeGrid};
use crnkit_core::network::CompiledNetwork;
use crnkit_core::progress::{Reporter, Unit};
use crnkit_core::rng::stream;
use crnkit_core::{Error, Result};

/// Settings of a path-entropy ensemble.
#[derive(Debug, Clone)]
pub struct PathConfig {
    /// End time.
    pub until: f64,
    /// Grid interval.
    pub every: f64,
    /// Trajectories.
    pub runs: u64,
    /// Master seed: run i uses `rng::stream(seed, i)`, first to draw its initial state.
    pub seed: u64,
    /// Simulation method.
    pub method: Method,
    /// Bin width of the Δs_tot histogram.
    pub bin: f64,
    /// Where progress reports go (nowhere by default).
    pub progress: Reporter,
}

impl Default for PathConfig {
    fn default() -> Self {
        PathConfig {
            until: 1.0,
            every: 0.1,
            runs: 10_000,
            seed: 0,
            method: Method::Auto,
            bin: 0.25,
            progress: Reporter::none(),
        }
    }
}

/// Columns of [`PathResult`]'s moments.
pub const PATH_COLUMNS: [&str; 4] = [
    "medium_entropy",
    "system_entropy",
    "total_entropy",
    "exp_minus_total_entropy",
];

/// Moments of path entropies per grid time.
#[derive(Debug, Clone)]
pub struct PathResult {
    /// Grid times.
    pub times: Vec<f64>,
    /// Runs.
    pub runs: u64,
    moments: Moments,
    /// Histogram of Δs_tot at the last grid time: bin index (value / bin, floored) → runs.
    pub histogram: BTreeMap<i64, u64>,
    /// The histogram's bin width.
    pub bin: f64,
    /// Samples whose state had no CME probability (outside the projection), whose system
    /// entropy is then undefined; they are left out of the system and total columns.
    pub outside: u64,
}

impl PathResult {
    /// Mean of column `c` (see [`PATH_COLUMNS`]) at grid time `k`.
    pub fn mean(&self, k: usize, c: usize) -> f64 {
        self.moments.mean[k * 4 + c]
    }

    /// Sample variance of column `c` at grid time `k`.
    pub fn variance(&self, k: usize, c: usize) -> f64 {
        if self.moments.n < 2 {
            return 0.0;
        }
        self.moments.m2[k * 4 + c] / (self.moments.n - 1) as f64
    }

    /// Standard error of the mean of column `c` at time `k`.
    pub fn standard_error(&self, k: usize, c: usize) -> f64 {
        (self.variance(k, c) / self.runs as f64).sqrt()
    }
}

struct PathRecorder<'a> {
    net: &'a CompiledNetwork,
    pairs: &'a ReversePairs,
    grid: &'a [f64],
    k: usize,
    medium: f64,
    before: Vec<u64>,
    samples: Vec<(f64, Vec<u32>)>,
}

impl Recorder for PathRecorder<'_> {
    const EVENTS: bool = true;

    #[inline]
    fn next_sample(&self) -> f64 {
        self.grid.get(self.k).copied().unwrap_or(f64::INFINITY)
    }

    fn sample(&mut self, x: &[u64]) {
        self.samples
            .push((self.medium, x.iter().map(|&v| v as u32).collect()));
        self.k += 1;
    }

    #[inline]
    fn event(&mut self, _t: f64, r: usize, x: &[u64]) {
        self.medium += jump_medium_entropy(self.net, r, self.pairs.reverse(r), x, &mut self.before);
    }
}

/// Medium entropy ln(a_r(x⁻)/a_rev(x)) of a jump by channel `r` that left state `x`
/// (x⁻ is rebuilt in `before`, a buffer of the state's length).
#[inline]
pub fn jump_medium_entropy(
    net: &CompiledNetwork,
    r: usize,
    rev: usize,
    x: &[u64],
    before: &mut [u64],
) -> f64 {
    before.copy_from_slice(x);
    let (sp, d) = net.changes_of(r);
    for (&i, &dv) in sp.iter().zip(d) {
        let v = &mut before[i as usize];
        *v = v.wrapping_add_signed(-dv);
    }
    (net.propensity(r, before) / net.propensity(rev, x)).ln()
}

/// One chunk's moments, Δs_tot histogram and count of samples outside the CME support.
type ChunkOut = (Moments, BTreeMap<i64, u64>, u64);

/// Sample an index from cumulative weights `cum` (last entry = total).
pub fn draw(cum: &[f64], u: f64) -> usize {
    let target = u * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= target).min(cum.len() - 1)
}

/// Run `cfg.runs` trajectories from `initial` (the network's initial state when `None`),
/// recording Δs_m, Δs, Δs_tot and exp(−Δs_tot) on the grid. `cme` gives p(·, t_k) at every
/// grid time (from [`crate::cme::solve_transient_from`] with the same initial condition);
/// without it only the medium column is filled. Bit-identical for any thread count.
pub fn path_entropy(
    net: &CompiledNetwork,
    pairs: &ReversePairs,
    cfg: &PathConfig,
    initial: Option<&Distribution>,
    cme: Option<&[Distribution]>,
) -> Result<PathResult> {
    let grid = TimeGrid::new(cfg.until, cfg.every)?;
    check_path_settings(cfg, &grid, cme)?;
    let method = cfg.method.resolve(net);
    let (states, cum) = initial_states(net, initial);
    const CHUNK: u64 = 64;
    let chunks = cfg.runs.div_ceil(CHUNK);
    let points = grid.len();
    let bar = cfg
        .progress
        .start("path entropies", Unit::Runs, cfg.runs, 0);
    let run = PathRuns {
        net,
        pairs,
        cfg,
        grid: &grid,
        cme,
        method,
        states: &states,
        cum: &cum,
    };
    let outs: Vec<Result<ChunkOut>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let first = c * CHUNK;
            let count = CHUNK.min(cfg.runs - first);
            let out = run.chunk(first, count)?;
            if let Some(b) = &bar {
                b.inc(count);
            }
            Ok(out)
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut moments = Moments::new(points, 4);
    let mut histogram = BTreeMap::new();
    let mut outside = 0;
    for o in outs {
        let (m, h, out) = o?;
        moments.merge(&m);
        for (b, c) in h {
            *histogram.entry(b).or_insert(0) += c;
        }
        outside += out;
    }
    Ok(PathResult {
        times: grid.times().to_vec(),
        runs: cfg.runs,
        moments,
        histogram,
        bin: cfg.bin,
        outside,
    })
}

/// Reject settings [`path_entropy`] cannot run with: no runs, a bad histogram bin, or a
/// CME series that does not match the grid.
fn check_path_settings(
    cfg: &PathConfig,
    grid: &TimeGrid,
    cme: Option<&[Distribution]>,
) -> Result<()> {
    if cfg.runs == 0 {
        return Err(Error::InvalidSetting {
            name: "runs",
            value: "0".into(),
            reason: "at least one run is needed",
        });
    }
    if !(cfg.bin.is_finite() && cfg.bin > 0.0) {
        return Err(Error::InvalidSetting {
            name: "bin",
            value: cfg.bin.to_string(),
            reason: "the histogram bin must be > 0",
        });
    }
    if let Some(c) = cme
        && c.len() != grid.len()
    {
        return Err(Error::InvalidSetting {
            name: "cme",
            value: format!("{} distributions", c.len()),
            reason: "one CME distribution per grid time is needed",
        });
    }
    Ok(())
}

/// The possible initial states and their cumulative probabilities (the network's initial
/// state with weight 1 when `initial` is `None`).
fn initial_states(
    net: &CompiledNetwork,
    initial: Option<&Distribution>,
) -> (Vec<Vec<u64>>, Vec<f64>) {
    match initial {
        Some(d) => {
            let mut acc = 0.0;
            let mut cum = Vec::with_capacity(d.probabilities().len());
            for &q in d.probabilities() {
                acc += q;
                cum.push(acc);
            }
            (
                d.space()
                    .iter()
                    .map(|s| s.iter().map(|&v| u64::from(v)).collect())
                    .collect(),
                cum,
            )
        }
        None => (vec![net.initial_state().to_vec()], vec![1.0]),
    }
}

/// What every chunk of [`path_entropy`]'s runs shares.
struct PathRuns<'a> {
    net: &'a CompiledNetwork,
    pairs: &'a ReversePairs,
    cfg: &'a PathConfig,
    grid: &'a TimeGrid,
    cme: Option<&'a [Distribution]>,
    method: Method,
    states: &'a [Vec<u64>],
    cum: &'a [f64],
}

impl PathRuns<'_> {
    /// Runs `first..first + count`: their moments, Δs_tot histogram and samples outside
    /// the CME support.
    fn chunk(&self, first: u64, count: u64) -> Result<ChunkOut> {
        let (net, pairs, cfg, cme) = (self.net, self.pairs, self.cfg, self.cme);
        let points = self.grid.len();
        let mut sim = AnySimulator::new(net, self.method)?;
        let mut moments = Moments::new(points, 4);
        let mut hist = BTreeMap::new();
        let mut outside = 0;
        for (n, i) in (first..first + count).enumerate() {
            cfg.progress.check_cancelled()?;
            let mut rng = stream(cfg.seed, i);
            let x0 = &self.states[draw(self.cum, rng.random::<f64>())];
            sim.reset(x0, 0.0)?;
            let mut rec = PathRecorder {
                net,
                pairs,
                grid: self.grid.times(),
                k: 0,
                medium: 0.0,
                before: vec![0; x0.len()],
                samples: Vec::with_capacity(points),
            };
            sim.advance_until(cfg.until, &mut rng, &mut rec)?;
            let ln_p0 = cme.map(|c| {
                let x: Vec<u32> = x0.iter().map(|&v| v as u32).collect();
                c[0].probability(&x).ln()
            });
            let row = rec.samples.iter().enumerate().map(|(k, (sm, x))| {
                let sys = match (cme, ln_p0) {
                    (Some(c), Some(l0)) => l0 - c[k].probability(x).ln(),
                    _ => f64::NAN,
                };
                (*sm, sys)
            });
            let mut last_tot = f64::NAN;
            let rows: Vec<(f64, f64)> = row.collect();
            for (k, &(sm, sys)) in rows.iter().enumerate() {
                if !sys.is_finite() && cme.is_some() {
                    outside += 1;
                }
                let tot = sm + sys;
                last_tot = tot;
                moments.push(k, n as u64 + 1, [sm, sys, tot, (-tot).exp()].into_iter());
            }
            if last_tot.is_finite() {
                *hist.entry((last_tot / cfg.bin).floor() as i64).or_insert(0) += 1;
            }
        }
        moments.n = count;
        Ok((moments, hist, outside))
    }
}
