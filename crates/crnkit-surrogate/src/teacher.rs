//! The exact teacher: finite-state-projection CME solutions at design points.
//!
//! For each design point the network's parameters are set, the CME is solved once on the
//! whole time grid ([`crnkit_sim::cme::solve_transient_with`] hands over the full joint at every
//! grid time), and each (point, time) is kept as a sparse list of (state, probability)
//! restricted to the per-species caps. Points are solved in parallel with rayon and
//! collected in order, so the data do not depend on the number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::design::{DesignPoint, ParamBox};
use crate::error::{Error, Result};
use crnkit_core::Error as ModelError;
use crnkit_core::network::Network;
use crnkit_sim::cme::{FspOptions, solve_transient_with};
use crnkit_sim::ssa::{AnySimulator, GridRecorder, Method, Simulator, TimeGrid};

/// Settings of the teacher.
#[derive(Debug, Clone)]
pub struct TeacherConfig {
    /// Output times (each > 0, increasing).
    pub times: Vec<f64>,
    /// L1 tolerance of each FSP solve (default 1e-8).
    pub tol: f64,
    /// Per-species caps; `None`: chosen from the solutions as the largest count whose
    /// marginal mass exceeds `cap_mass`, over every point and time.
    pub caps: Option<Vec<u32>>,
    /// Mass threshold for choosing caps (default 1e-10).
    pub cap_mass: f64,
    /// States with less probability than this are dropped from the sparse lists (their
    /// mass is counted as `dropped`; default 1e-14).
    pub prune: f64,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig {
            times: Vec::new(),
            tol: 1e-8,
            caps: None,
            cap_mass: 1e-10,
            prune: 1e-14,
        }
    }
}

/// The teacher's distribution at one (point, time), restricted to the caps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherSlice {
    /// Time.
    pub time: f64,
    /// States, flat (one row of `num_species` counts per state), every count ≤ its cap.
    pub states: Vec<u32>,
    /// Probabilities (not renormalised).
    pub probs: Vec<f64>,
    /// Probability of states beyond a cap.
    pub outside: f64,
    /// Probability of kept-box states dropped by the prune threshold.
    pub dropped: f64,
    /// The FSP solver's certified L1 error bound at this time.
    pub fsp_error: f64,
}

impl TeacherSlice {
    /// Σ p over the kept states.
    pub fn mass(&self) -> f64 {
        self.probs.iter().sum()
    }

    /// Entropy −Σ p̂ ln p̂ of the kept states renormalised to sum 1.
    pub fn entropy(&self) -> f64 {
        let z = self.mass();
        self.probs
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| {
                let q = p / z;
                -q * q.ln()
            })
            .sum()
    }
}

/// Teacher solutions at one design point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherPoint {
    /// Parameter values (in the order of the box).
    pub params: Vec<f64>,
    /// Initial counts (model order; empty in data written before initial states varied,
    /// meaning the prompt's default).
    #[serde(default)]
    pub initial: Vec<u64>,
    /// One slice per time.
    pub slices: Vec<TeacherSlice>,
}

/// Teacher solutions on a design.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherData {
    /// Number of species.
    pub num_species: usize,
    /// Caps per species.
    pub caps: Vec<u32>,
    /// Per species: true when no solution reached a count above its cap, so the cap is a
    /// natural bound (a gene state ≤ 1) rather than a truncation. Only the exact teacher
    /// can tell; the SSA teacher leaves every entry false.
    #[serde(default)]
    pub closed: Vec<bool>,
    /// Output times.
    pub times: Vec<f64>,
    /// One entry per design point, in design order.
    pub points: Vec<TeacherPoint>,
}

impl TeacherData {
    /// Number of (point, time) pairs.
    pub fn num_pairs(&self) -> usize {
        self.points.iter().map(|p| p.slices.len()).sum()
    }

    /// Largest mass outside the caps over every pair.
    pub fn max_outside(&self) -> f64 {
        self.points
            .iter()
            .flat_map(|p| p.slices.iter().map(|s| s.outside))
            .fold(0.0, f64::max)
    }
}

/// Raw (unclipped) solution of one point.
struct Raw {
    point: DesignPoint,
    slices: Vec<(f64, Vec<u32>, Vec<f64>, f64)>,
}

fn check_times(times: &[f64]) -> Result<()> {
    if times.is_empty()
        || times.iter().any(|t| !(t.is_finite() && *t > 0.0))
        || times.windows(2).any(|w| w[1] <= w[0])
    {
        return Err(Error::InvalidSetting {
            name: "times",
            value: format!("{times:?}"),
            reason: "teacher times must be finite, > 0 and increasing (at least one)".into(),
        });
    }
    Ok(())
}

/// The network at design point `x`: parameters of `pbox` set, initial counts set.
fn network_at(net: &Network, pbox: &ParamBox, x: &DesignPoint) -> Result<Network> {
    if x.params.len() != pbox.dim() {
        return Err(Error::Shape {
            what: "design point".into(),
            expected: format!("{} parameter values", pbox.dim()),
            found: x.params.len().to_string(),
        });
    }
    if x.initial.len() != net.num_species() {
        return Err(Error::Shape {
            what: "design point".into(),
            expected: format!("{} initial counts (one per species)", net.num_species()),
            found: x.initial.len().to_string(),
        });
    }
    let values: Vec<(&str, f64)> = pbox
        .names
        .iter()
        .map(String::as_str)
        .zip(x.params.iter().copied())
        .collect();
    let mut n = net.with_parameters(&values)?;
    for (i, &c) in x.initial.iter().enumerate() {
        n.set_initial(i, c)?;
    }
    Ok(n)
}

/// Checks shared by both teachers.
fn check_teacher(net: &Network, pbox: &ParamBox, times: &[f64]) -> Result<TimeGrid> {
    pbox.validate()?;
    check_times(times)?;
    if let Some(ev) = net.events().first() {
        return Err(ModelError::Unsupported {
            feature: format!(
                "a surrogate of a network with events (event `{}`): its prompt cannot hold \
                 the trigger memory",
                ev.name
            ),
        }
        .into());
    }
    for name in &pbox.names {
        if net.parameter(name).is_none() {
            return Err(ModelError::UnknownParameter {
                name: name.clone(),
                hint: " (named in the surrogate's parameter box)".into(),
            }
            .into());
        }
    }
    Ok(TimeGrid::from_times(times.to_vec())?)
}

/// Solve the CME of `net` at every design point (parameter values of `pbox` and an initial
/// state) on `cfg.times`, and clip to the caps. When `cfg.caps` is `None` the caps are
/// chosen from these solutions. Mass-action and general propensity laws are accepted;
/// events are refused.
pub fn solve_teacher(
    net: &Network,
    pbox: &ParamBox,
    points: &[DesignPoint],
    cfg: &TeacherConfig,
) -> Result<TeacherData> {
    let grid = check_teacher(net, pbox, &cfg.times)?;
    let opts = FspOptions {
        tol: cfg.tol,
        ..FspOptions::default()
    };
    let raw: Vec<Raw> = points
        .par_iter()
        .map(|x| -> Result<Raw> {
            let compiled = network_at(net, pbox, x)?.compile();
            let mut slices = Vec::with_capacity(cfg.times.len());
            solve_transient_with(&compiled, &grid, &opts, |s| {
                let mut states = Vec::new();
                let mut probs = Vec::new();
                for (st, &p) in s.space.iter().zip(s.p) {
                    if p > 0.0 {
                        states.extend_from_slice(st);
                        probs.push(p);
                    }
                }
                slices.push((s.time, states, probs, s.error_bound));
            })?;
            Ok(Raw {
                point: x.clone(),
                slices,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    finish(net.num_species(), raw, cfg, true)
}

/// The SSA teacher: `samples` exact trajectories per design point (method `auto`, stream
/// (`seed`, point index × 2³² + run)), the empirical distribution of the states at every
/// time of `cfg.times` kept as the slice (`fsp_error` = 0, `outside` = fraction of samples
/// beyond a cap). Parallel over points, independent of the thread count.
pub fn sample_teacher(
    net: &Network,
    pbox: &ParamBox,
    points: &[DesignPoint],
    cfg: &TeacherConfig,
    samples: usize,
    seed: u64,
) -> Result<TeacherData> {
    let grid = check_teacher(net, pbox, &cfg.times)?;
    if samples == 0 {
        return Err(Error::InvalidSetting {
            name: "samples",
            value: samples.to_string(),
            reason: "the SSA teacher needs samples > 0".into(),
        });
    }
    let ns = net.num_species();
    let raw: Vec<Raw> = points
        .par_iter()
        .enumerate()
        .map(|(k, x)| -> Result<Raw> {
            let n = network_at(net, pbox, x)?;
            let compiled = n.compile();
            let mut sim = AnySimulator::new(&compiled, Method::Auto)?;
            let mut counts: Vec<std::collections::BTreeMap<Vec<u32>, u64>> =
                vec![Default::default(); grid.len()];
            for run in 0..samples {
                let mut rng = crnkit_core::rng::stream(seed, ((k as u64) << 32) | run as u64);
                sim.reset(&x.initial, 0.0)?;
                let mut rec = GridRecorder::new(&grid);
                sim.advance_until(grid.end(), &mut rng, &mut rec)?;
                for (j, row) in rec.states.chunks_exact(ns).enumerate() {
                    let st: Vec<u32> = row.iter().map(|&v| v.min(u32::MAX as u64) as u32).collect();
                    *counts[j].entry(st).or_insert(0) += 1;
                }
            }
            let slices = counts
                .into_iter()
                .zip(grid.times())
                .map(|(m, &t)| {
                    let mut states = Vec::with_capacity(m.len() * ns);
                    let mut probs = Vec::with_capacity(m.len());
                    for (st, c) in m {
                        states.extend_from_slice(&st);
                        probs.push(c as f64 / samples as f64);
                    }
                    (t, states, probs, 0.0)
                })
                .collect();
            Ok(Raw {
                point: x.clone(),
                slices,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cfg = TeacherConfig {
        prune: 0.0,
        ..cfg.clone()
    };
    finish(ns, raw, &cfg, false)
}

/// Caps (given or chosen), which caps are closed (`exact` teachers only) and clipping.
fn finish(ns: usize, raw: Vec<Raw>, cfg: &TeacherConfig, exact: bool) -> Result<TeacherData> {
    let caps = match &cfg.caps {
        Some(c) => {
            if c.len() != ns {
                return Err(Error::InvalidSetting {
                    name: "caps",
                    value: format!("{c:?}"),
                    reason: format!("{} caps given for {ns} species", c.len()),
                });
            }
            c.clone()
        }
        None => choose_caps(&raw, ns, cfg.cap_mass),
    };
    let mut closed = vec![exact; ns];
    for r in &raw {
        for (_, states, _, _) in &r.slices {
            for row in states.chunks_exact(ns) {
                for i in 0..ns {
                    closed[i] &= row[i] <= caps[i];
                }
            }
        }
    }
    let points = raw
        .into_iter()
        .map(|r| TeacherPoint {
            params: r.point.params,
            initial: r.point.initial,
            slices: r
                .slices
                .into_iter()
                .map(|(time, states, probs, fsp_error)| {
                    clip(time, &states, &probs, fsp_error, &caps, cfg.prune)
                })
                .collect(),
        })
        .collect();
    Ok(TeacherData {
        num_species: ns,
        caps,
        closed,
        times: cfg.times.clone(),
        points,
    })
}

/// The largest count of each species whose marginal mass exceeds `mass` at some point
/// and time.
fn choose_caps(raw: &[Raw], ns: usize, mass: f64) -> Vec<u32> {
    let mut caps = vec![0u32; ns];
    for r in raw {
        for (_, states, probs, _) in &r.slices {
            for i in 0..ns {
                let top = (0..probs.len())
                    .map(|k| states[k * ns + i])
                    .max()
                    .unwrap_or(0) as usize;
                let mut m = vec![0.0; top + 1];
                for (k, &p) in probs.iter().enumerate() {
                    m[states[k * ns + i] as usize] += p;
                }
                if let Some(c) = m.iter().rposition(|&q| q > mass) {
                    caps[i] = caps[i].max(c as u32);
                }
            }
        }
    }
    caps
}

fn clip(
    time: f64,
    states: &[u32],
    probs: &[f64],
    fsp_error: f64,
    caps: &[u32],
    prune: f64,
) -> TeacherSlice {
    let ns = caps.len();
    let mut s = TeacherSlice {
        time,
        states: Vec::new(),
        probs: Vec::new(),
        outside: 0.0,
        dropped: 0.0,
        fsp_error,
    };
    for (k, &p) in probs.iter().enumerate() {
        let st = &states[k * ns..(k + 1) * ns];
        if st.iter().zip(caps).any(|(x, c)| x > c) {
            s.outside += p;
        } else if p < prune {
            s.dropped += p;
        } else {
            s.states.extend_from_slice(st);
            s.probs.push(p);
        }
    }
    s
}
