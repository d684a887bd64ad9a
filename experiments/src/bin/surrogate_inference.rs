//! Parameter inference for the autoregulated gene (`examples/models/
//! autoregulated_feedback.crn`, species Gb and P) from exact synthetic snapshot data with
//! the trained neural surrogate of its chemical master equation.
//!
//! True rates θ* = (σu, σb, ρu, ρb) = (0.8, 0.03, 3, 50) (not the model file's default);
//! every cell starts from x0 = (Gb, P) = (0, 0), is simulated by crnkit's exact SSA at θ*
//! (its own trajectory, stream (data seed, time index × 2³² + cell)) and measured once, at
//! one of the snapshot times t = 1, 2.5, 5, 10 (the full state (Gb, P) is recorded). Two
//! designs: 1,000 cells per time (4,000 cells) and 250 cells per time (1,000 cells in
//! all; the first 250 cells of each time of the same simulation, so the data sets are
//! nested). Data set d has data seed `seed + 7919 (d + 1)`.
//!
//! For every data set of both designs:
//!
//! 1. **MLE** of all four rates (L-BFGS on the surrogate likelihood, 4 starts) with
//!    standard errors from the observed information. A rate counts as identifiable when its
//!    relative standard error is below 10 %/1.96 = 5.1 % (so that its 95 % interval lies
//!    within 10 %) and its estimate is not on the box edge.
//!    When some rates are not identifiable, a second MLE fixes them at their true value and
//!    frees the rest.
//! 2. **The exact-CME MLE** of the same data (FSP likelihood, Nelder–Mead on ln θ from the
//!    surrogate's estimate) with Wald intervals from the exact Cramér–Rao standard errors
//!    at θ*: what a perfect surrogate would give, so that the data's own scatter and the
//!    surrogate's error can be told apart.
//! 3. **Metropolis–Hastings** with all four rates free (uniform prior on the trained box;
//!    4 chains from dispersed starts, adaptive proposal during burn-in), timed: posterior
//!    mean, sd, 95 % interval and split R-hat per rate, and whether each interval contains
//!    the truth.
//!
//! MH is run again, twice as long, while some R-hat is 1.05 or more (at most twice).
//!
//! Besides: the Hellinger distance between the surrogate and the exact FSP solution
//! (tolerance 1e-8) at θ* at the four times; the surrogate's *pseudo-true* rates, the MLE on
//! "data" whose empirical law is the exact CME at θ* (round(p*(x) · 10⁵) cells per state
//! and time), i.e. the limit of the MLE for infinitely many cells, so that pseudo-truth −
//! θ* is the bias the surrogate's own error puts on every estimate (intervals are checked
//! against it too); and the MLE on all data sets of the large design pooled.
//!
//! Writes under `<out>/surrogate_inference/`: `mle.csv` (every fit, rate by rate),
//! `mcmc.csv` (every posterior summary), `posterior.{png,svg}` (data set 0 of the large
//! design: the pooled posterior marginals of the four rates as histograms with the truth,
//! the MLE, the pseudo-truth and the 95 % interval marked, and the data's P histogram at
//! each time against the surrogate's P marginal at the MLE and the exact CME at θ*),
//! `posterior_hist.csv` and `data_vs_model.csv` (the numbers of the figure),
//! `summary.json` and `metadata.json`. The SVG is copied to
//! `docs/figures/surrogate_posterior.svg` unless `--no-docs` is given.
//!
//! `cargo run --release -p crnkit-experiments --bin surrogate_inference -- [--model DIR]
//! [--datasets 5] [--cells 1000] [--small-cells 250] [--chains 4] [--burn-in 1000]
//! [--samples 2000] [--no-docs] [--seed 2024] [--out out]`
//!
//! The defaults take about 4.5 minutes on 2 cores (MH about 21 s per data set of 4,000
//! cells and 12 s per data set of 1,000 cells). The model folder (default
//! `out/surrogates/autoregulated`) is made by
//! `cargo run --release -- distill examples/surrogates/autoregulated.toml`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use crnkit::Network;
use crnkit::cme::{FspOptions, solve_transient_with};
use crnkit::ssa::{AnySimulator, GridRecorder, Method, Simulator, TimeGrid};
use crnkit::surrogate::{
    InferenceSpec, Likelihood, McmcConfig, McmcResult, MleConfig, MleResult, Snapshots, Surrogate,
    hellinger,
};
use crnkit_experiments::Options;
use crnkit_experiments::Study;
use crnkit_experiments::plot::PALETTE;
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use serde_json::{Value, json};

const STUDY: &str = "surrogate_inference";
/// The parameters of the surrogate's box, in order.
const NAMES: [&str; 4] = ["sigma_u", "sigma_b", "rho_u", "rho_b"];
/// Their symbols in figures.
const SYMBOLS: [&str; 4] = ["σu", "σb", "ρu", "ρb"];
/// The true rates θ*.
const TRUTH: [f64; 4] = [0.8, 0.03, 3.0, 50.0];
/// Snapshot times.
const TIMES: [f64; 4] = [1.0, 2.5, 5.0, 10.0];
/// A rate is identifiable (to the 10 % of [`REL_ERR_MAX`]) when its relative standard
/// error is below this: 10 % / 1.96, so that "within 10 %" is its 95 % interval. A rate
/// with a larger standard error misses 10 % often even under the exact likelihood (at
/// 10 % relative SE about one time in three).
const REL_SE_MAX: f64 = 0.10 / 1.96;
/// An estimate recovers the truth when its relative error is below this.
const REL_ERR_MAX: f64 = 0.10;
/// Bins of the posterior histograms.
const BINS: usize = 40;
/// Metropolis–Hastings runs again, twice as long, while some R-hat is at least this …
const RHAT_MAX: f64 = 1.05;
/// … at most this many times.
const MCMC_RETRIES: usize = 2;
/// Cells per time of the exact-CME "data" of the pseudo-true rates.
const PSEUDO_CELLS: f64 = 1e5;
/// Relative step of the finite differences of the Fisher information.
const FD_STEP: f64 = 1e-2;
/// FSP tolerance (L1) of the exact reference at θ*.
const FSP_TOL: f64 = 1e-8;
/// Most FSP solves of one exact-CME maximum-likelihood fit.
const EXACT_MLE_EVALS: usize = 600;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: Options,
    /// Folder of the trained surrogate (card.json, model.safetensors).
    #[arg(long, default_value = "out/surrogates/autoregulated")]
    model: PathBuf,
    /// Synthetic data sets per design.
    #[arg(long, default_value_t = 5)]
    datasets: usize,
    /// Cells per time of the large design.
    #[arg(long, default_value_t = 1000)]
    cells: usize,
    /// Cells per time of the small design (the first ones of the large design's data).
    #[arg(long, default_value_t = 250)]
    small_cells: usize,
    /// Metropolis–Hastings chains.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Burn-in iterations per chain.
    #[arg(long, default_value_t = 1000)]
    burn_in: usize,
    /// Kept samples per chain.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Do not copy the posterior SVG to docs/figures/surrogate_posterior.svg.
    #[arg(long)]
    no_docs: bool,
}

/// `net` with the parameters `params` (box order) and initial state `x0`.
fn network_at(net: &Network, params: &[f64], x0: &[u64]) -> anyhow::Result<Network> {
    let values: Vec<(&str, f64)> = NAMES.iter().copied().zip(params.iter().copied()).collect();
    let mut n = net.with_parameters(&values)?;
    for (i, &c) in x0.iter().enumerate() {
        n.set_initial(i, c)?;
    }
    Ok(n)
}

/// Exact SSA snapshot data: for each time k of [`TIMES`], `n` independent cells from `x0`,
/// cell c drawing from stream (seed, k · 2³² + c). Returns per time the flat states
/// (n × species).
fn simulate(net: &Network, x0: &[u64], n: usize, seed: u64) -> anyhow::Result<Vec<Vec<u64>>> {
    let compiled = net.compile();
    let ns = x0.len();
    const CHUNK: usize = 125;
    TIMES
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let grid = TimeGrid::from_times(vec![t])?;
            let chunks: Vec<Vec<u64>> = (0..n.div_ceil(CHUNK))
                .into_par_iter()
                .map(|b| -> anyhow::Result<Vec<u64>> {
                    let mut sim = AnySimulator::new(&compiled, Method::Auto)?;
                    let mut out = Vec::with_capacity(CHUNK * ns);
                    for c in b * CHUNK..((b + 1) * CHUNK).min(n) {
                        let mut rng = crnkit::rng::stream(seed, ((k as u64) << 32) | c as u64);
                        sim.reset(x0, 0.0)?;
                        let mut rec = GridRecorder::new(&grid);
                        sim.advance_until(t, &mut rng, &mut rec)?;
                        out.extend_from_slice(&rec.states[..ns]);
                    }
                    Ok(out)
                })
                .collect::<anyhow::Result<_>>()?;
            Ok(chunks.concat())
        })
        .collect()
}

/// Snapshots of the first `n` cells of each time of `cells` (as made by [`simulate`]).
fn snapshots(species: &[String], cells: &[Vec<u64>], n: usize) -> anyhow::Result<Snapshots> {
    let ns = species.len();
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for (k, states) in cells.iter().enumerate() {
        let m = n.min(states.len() / ns);
        times.extend(std::iter::repeat_n(TIMES[k], m));
        counts.extend_from_slice(&states[..m * ns]);
    }
    Ok(Snapshots::new(species, &times, &counts)?)
}

/// The MLE of one fit, as JSON and CSV rows.
struct MleFit {
    json: Value,
    csv: Vec<String>,
    identifiable: Vec<bool>,
    rel_err: Vec<f64>,
}

/// Describe an MLE whose free parameters are `res.names` (the others fixed at the truth).
fn mle_fit(design: &str, d: usize, fit: &str, res: &MleResult, secs: f64) -> MleFit {
    let mut csv = Vec::new();
    let mut rates = Vec::new();
    let mut identifiable = Vec::new();
    let mut rel_err = Vec::new();
    for (j, name) in res.names.iter().enumerate() {
        let i = NAMES.iter().position(|n| n == name).unwrap_or(0);
        let (est, se) = (res.estimate[j], res.std_error[j]);
        let rel_se = se / est.abs();
        let re = (est - TRUTH[i]) / TRUTH[i];
        let ident = rel_se.is_finite() && rel_se < REL_SE_MAX && !res.on_boundary[j];
        let within = re.abs() < REL_ERR_MAX;
        let z = (est - TRUTH[i]) / se;
        csv.push(format!(
            "{design},{d},{fit},{name},{},{est},{se},{rel_se},{re},{z},{ident},{within},{},{},\
             {secs:.3}",
            TRUTH[i], res.on_boundary[j], res.log_likelihood
        ));
        rates.push(json!({
            "name": name,
            "truth": TRUTH[i],
            "estimate": est,
            "std_error": se,
            "relative_std_error": rel_se,
            "relative_error": re,
            "z": z,
            "identifiable": ident,
            "within_10_percent": within,
            "on_boundary": res.on_boundary[j],
        }));
        identifiable.push(ident);
        rel_err.push(re);
    }
    MleFit {
        json: json!({
            "free": res.names,
            "log_likelihood": res.log_likelihood,
            "iterations": res.iterations,
            "seconds": secs,
            "rates": rates,
        }),
        csv,
        identifiable,
        rel_err,
    }
}

/// Summary of one MH run (all four rates free): JSON, CSV rows, and which intervals
/// contain the truth and which the surrogate's pseudo-true rates `pseudo`.
fn mcmc_fit(
    design: &str,
    d: usize,
    res: &McmcResult,
    pseudo: &[f64],
    secs: f64,
) -> (Value, Vec<String>, Vec<bool>, Vec<bool>) {
    let mut csv = Vec::new();
    let mut rates = Vec::new();
    let mut covers = Vec::new();
    let mut covers_pseudo = Vec::new();
    for (j, s) in res.summary.iter().enumerate() {
        let truth = TRUTH[j];
        let cov = s.q025 <= truth && truth <= s.q975;
        let cov_p = s.q025 <= pseudo[j] && pseudo[j] <= s.q975;
        csv.push(format!(
            "{design},{d},{},{truth},{},{},{},{},{},{},{cov},{cov_p},{},{secs:.3}",
            s.name, s.mean, s.sd, s.q025, s.q50, s.q975, s.rhat, res.acceptance
        ));
        rates.push(json!({
            "name": s.name,
            "truth": truth,
            "mean": s.mean,
            "sd": s.sd,
            "q025": s.q025,
            "q50": s.q50,
            "q975": s.q975,
            "rhat": s.rhat,
            "contains_truth": cov,
            "contains_pseudo_truth": cov_p,
        }));
        covers.push(cov);
        covers_pseudo.push(cov_p);
    }
    let rhat_max = res.summary.iter().map(|s| s.rhat).fold(0.0, f64::max);
    (
        json!({
            "seconds": secs,
            "acceptance": res.acceptance,
            "rhat_max": rhat_max,
            "rates": rates,
        }),
        csv,
        covers,
        covers_pseudo,
    )
}

/// A line of a panel.
struct Curve {
    name: String,
    color: RGBColor,
    width: u32,
    points: Vec<(f64, f64)>,
}

/// A panel: curves, and vertical markers (name, colour, x) across the whole height.
struct Panel {
    title: String,
    x_label: String,
    y_label: String,
    x_range: (f64, f64),
    curves: Vec<Curve>,
    marks: Vec<(String, RGBColor, f64)>,
    legend: bool,
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    let (x0, x1) = p.x_range;
    let y1 = p
        .curves
        .iter()
        .flat_map(|c| {
            c.points
                .iter()
                .filter(|q| q.0 >= x0 && q.0 <= x1)
                .map(|q| q.1)
        })
        .fold(1e-12, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .max_light_lines(0)
        .x_labels(6)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for c in &p.curves {
        let color = c.color;
        let w = c.width;
        let pts: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|&(x, y)| (x.clamp(x0, x1), y))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(w)))
            .map_err(err)?
            .label(&c.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    for (name, color, x) in &p.marks {
        let color = *color;
        let series = chart
            .draw_series(LineSeries::new(
                vec![(*x, 0.0), (*x, y1)],
                color.stroke_width(2),
            ))
            .map_err(err)?;
        if !name.is_empty() {
            series.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    if p.legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

impl crnkit_experiments::DrawPanel for Panel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_panel(area, self)
    }
}

/// A tick label: at most 4 significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Histogram of `xs` on `BINS` equal bins over [lo, hi]: (left edges, densities).
fn histogram(xs: &[f64], lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let w = (hi - lo) / BINS as f64;
    let mut h = vec![0.0; BINS];
    for &x in xs {
        let k = (((x - lo) / w).floor().max(0.0) as usize).min(BINS - 1);
        h[k] += 1.0;
    }
    let n = xs.len().max(1) as f64;
    (
        (0..BINS).map(|k| lo + k as f64 * w).collect(),
        h.iter().map(|c| c / (n * w)).collect(),
    )
}

/// A histogram (or a distribution on 0, 1, 2, …) as one step line.
fn steps(edges: &[f64], width: f64, h: &[f64]) -> Vec<(f64, f64)> {
    let mut pts = Vec::with_capacity(2 * h.len() + 2);
    pts.push((edges[0], 0.0));
    for (e, &v) in edges.iter().zip(h) {
        pts.push((*e, v));
        pts.push((e + width, v));
    }
    pts.push((edges[edges.len() - 1] + width, 0.0));
    pts
}

/// The exact P marginal and the Hellinger distances surrogate–FSP (joint on the caps' box
/// and P marginal) at θ* and each of [`TIMES`].
struct Exact {
    /// The joint on the caps' box (lexicographic order), per time.
    joint: Vec<Vec<f64>>,
    marginal: Vec<Vec<f64>>,
    hellinger_joint: Vec<f64>,
    hellinger_marginal: Vec<f64>,
    outside: Vec<f64>,
    seconds: f64,
}

fn exact_at_truth(sur: &Surrogate, net: &Network, x0: &[u64], ip: usize) -> anyhow::Result<Exact> {
    let start = Instant::now();
    let caps = sur.card.prompt.caps.clone();
    let (joints, marginal, outside) = fsp(net, &TRUTH, x0, &caps, ip)?;
    let seconds = start.elapsed().as_secs_f64();
    let mut hj = Vec::new();
    let mut hm = Vec::new();
    for (k, &t) in TIMES.iter().enumerate() {
        let (_, q) = sur.joint_at(&TRUTH, x0, t)?;
        hj.push(hellinger(&joints[k], &q));
        let qm = sur.marginal_at(ip, &TRUTH, x0, t)?;
        hm.push(hellinger(&marginal[k], &qm));
    }
    Ok(Exact {
        joint: joints,
        marginal,
        hellinger_joint: hj,
        hellinger_marginal: hm,
        outside,
        seconds,
    })
}

/// Per time of [`TIMES`]: the FSP joint on the caps' box (lexicographic order, like
/// [`Surrogate::joint_at`]), the marginal of species `ip` on 0..=cap, and the mass beyond
/// the box, at rates `params`.
type FspSlices = (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>);

fn fsp(
    net: &Network,
    params: &[f64],
    x0: &[u64],
    caps: &[u32],
    ip: usize,
) -> anyhow::Result<FspSlices> {
    let compiled = network_at(net, params, x0)?.compile();
    let grid = TimeGrid::from_times(TIMES.to_vec())?;
    let opts = FspOptions {
        tol: FSP_TOL,
        ..FspOptions::default()
    };
    let box_len: usize = caps.iter().map(|&c| c as usize + 1).product();
    let mut joints = Vec::new();
    let mut marginal = Vec::new();
    let mut outside = Vec::new();
    solve_transient_with(&compiled, &grid, &opts, |s| {
        let mut joint = vec![0.0; box_len];
        let mut marg = vec![0.0; caps[ip] as usize + 1];
        let mut out = 0.0;
        for (st, &p) in s.space.iter().zip(s.p) {
            if st.iter().zip(caps).all(|(&v, &c)| v <= c) {
                let k = st
                    .iter()
                    .zip(caps)
                    .fold(0usize, |a, (&v, &c)| a * (c as usize + 1) + v as usize);
                joint[k] += p;
                marg[st[ip] as usize] += p;
            } else {
                out += p;
            }
        }
        joints.push(joint);
        marginal.push(marg);
        outside.push(out);
    })?;
    Ok((joints, marginal, outside))
}

/// Expected Fisher information (4 × 4, box order) of one cell measured at each of
/// [`TIMES`] (summed over the times) at θ*: Σ_t Σ_x p(x) ∂_j ln p(x) ∂_k ln p(x), with
/// ∂_j ln p by central differences of step [`FD_STEP`] · θ*_j. Returned for the exact CME
/// (FSP) and for the surrogate (its own q in place of p). With n cells per time the
/// Cramér–Rao covariance is I⁻¹ / n.
fn fisher(
    sur: &Surrogate,
    net: &Network,
    x0: &[u64],
    ip: usize,
    p0: &[Vec<f64>],
) -> anyhow::Result<(Matrix4, Matrix4)> {
    let caps = sur.card.prompt.caps.clone();
    let q0: Vec<Vec<f64>> = TIMES
        .iter()
        .map(|&t| Ok(sur.joint_at(&TRUTH, x0, t)?.1))
        .collect::<anyhow::Result<_>>()?;
    // dp[j][k][x], dq[j][k][x]: ∂_j ln p and ∂_j ln q at time k, state x.
    let mut dp = Vec::new();
    let mut dq = Vec::new();
    for j in 0..4 {
        let h = FD_STEP * TRUTH[j];
        let (mut up, mut dn) = (TRUTH, TRUTH);
        up[j] += h;
        dn[j] -= h;
        let (pu, _, _) = fsp(net, &up, x0, &caps, ip)?;
        let (pd, _, _) = fsp(net, &dn, x0, &caps, ip)?;
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
        dp.push(
            (0..TIMES.len())
                .map(|k| diff(&pu[k], &pd[k]))
                .collect::<Vec<_>>(),
        );
        let mut dqj = Vec::new();
        for &t in &TIMES {
            let qu = sur.joint_at(&up, x0, t)?.1;
            let qd = sur.joint_at(&dn, x0, t)?.1;
            dqj.push(diff(&qu, &qd));
        }
        dq.push(dqj);
    }
    let info = |w: &[Vec<f64>], d: &[Vec<Vec<f64>>]| {
        let mut m = [[0.0; 4]; 4];
        for (a, row) in m.iter_mut().enumerate() {
            for (b, v) in row.iter_mut().enumerate() {
                *v = (0..TIMES.len())
                    .map(|k| {
                        w[k].iter()
                            .enumerate()
                            .map(|(x, &p)| p * d[a][k][x] * d[b][k][x])
                            .sum::<f64>()
                    })
                    .sum();
            }
        }
        m
    };
    Ok((info(p0, &dp), info(&q0, &dq)))
}

/// A 4 × 4 matrix (box order).
type Matrix4 = [[f64; 4]; 4];

/// The diagonal of the inverse of a symmetric positive definite 4 × 4 matrix
/// (Gauss–Jordan); NaN when it is singular.
fn inverse_diagonal(m: &Matrix4) -> [f64; 4] {
    let mut a = [[0.0; 8]; 4];
    for i in 0..4 {
        a[i][..4].copy_from_slice(&m[i]);
        a[i][4 + i] = 1.0;
    }
    for c in 0..4 {
        let piv = (c..4)
            .max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))
            .unwrap_or(c);
        a.swap(c, piv);
        let d = a[c][c];
        if d.abs() < 1e-300 {
            return [f64::NAN; 4];
        }
        for v in a[c].iter_mut() {
            *v /= d;
        }
        for r in 0..4 {
            if r != c {
                let f = a[r][c];
                let row_c = a[c];
                for (v, w) in a[r].iter_mut().zip(row_c) {
                    *v -= f * w;
                }
            }
        }
    }
    [a[0][4], a[1][5], a[2][6], a[3][7]]
}

/// "Data" whose empirical law is the exact CME at θ*: at each time, round(p*(x) · n) cells
/// in state x. Their MLE is (up to the rounding) the surrogate's pseudo-true θ, argmax
/// Σ_t Σ_x p*(x | θ*, t) ln q(x | θ, t): the limit of the MLE for infinitely many cells,
/// so θ − θ* is the bias the surrogate's own error puts on every estimate.
fn exact_snapshots(
    species: &[String],
    caps: &[u32],
    exact: &Exact,
    n: f64,
) -> anyhow::Result<Snapshots> {
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for (k, joint) in exact.joint.iter().enumerate() {
        for (idx, &p) in joint.iter().enumerate() {
            let m = (p * n).round() as usize;
            if m == 0 {
                continue;
            }
            // Lexicographic index → state.
            let mut st = vec![0u64; caps.len()];
            let mut r = idx;
            for i in (0..caps.len()).rev() {
                let base = caps[i] as usize + 1;
                st[i] = (r % base) as u64;
                r /= base;
            }
            for _ in 0..m {
                times.push(TIMES[k]);
                counts.extend_from_slice(&st);
            }
        }
    }
    Ok(Snapshots::new(species, &times, &counts)?)
}

/// −ln L(θ) of `data` under the exact CME (FSP, tolerance [`FSP_TOL`]) at rates `params`;
/// states beyond the caps' box get probability 0 (+∞; none occur at θ*).
fn exact_nll(
    net: &Network,
    params: &[f64],
    x0: &[u64],
    caps: &[u32],
    data: &Snapshots,
) -> anyhow::Result<f64> {
    if params.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return Ok(f64::INFINITY);
    }
    let (joints, _, _) = fsp(net, params, x0, caps, 0)?;
    let mut nll = 0.0;
    for (t, st, n) in data.rows() {
        let Some(k) = TIMES.iter().position(|&s| s == t) else {
            bail!("data time {t} is not a snapshot time");
        };
        let mut idx = 0usize;
        for (&v, &c) in st.iter().zip(caps) {
            if v > c {
                return Ok(f64::INFINITY);
            }
            idx = idx * (c as usize + 1) + v as usize;
        }
        let p = joints[k][idx];
        if p <= 0.0 {
            return Ok(f64::INFINITY);
        }
        nll -= n as f64 * p.ln();
    }
    Ok(nll)
}

/// The exact-CME maximum-likelihood estimate: Nelder–Mead on u = ln θ from `start`
/// (initial simplex ±5 % per rate), until the simplex's values agree to 1e-7 (absolute,
/// in nats) or after `max_evals` evaluations. Returns (θ̂, −ln L, evaluations).
fn exact_mle(
    net: &Network,
    start: &[f64],
    x0: &[u64],
    caps: &[u32],
    data: &Snapshots,
    max_evals: usize,
) -> anyhow::Result<(Vec<f64>, f64, usize)> {
    let n = start.len();
    let f = |u: &[f64]| -> anyhow::Result<f64> {
        let th: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        exact_nll(net, &th, x0, caps, data)
    };
    let u0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let mut simplex = vec![u0.clone()];
    for j in 0..n {
        let mut u = u0.clone();
        u[j] += 0.05;
        simplex.push(u);
    }
    let mut vals = simplex
        .iter()
        .map(|u| f(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut evals = n + 1;
    while evals < max_evals {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        if (vals[n] - vals[0]).abs() < 1e-7 {
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
    Ok((
        simplex[best].iter().map(|v| v.exp()).collect(),
        vals[best],
        evals,
    ))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.model.join("card.json").is_file() || !args.model.join("model.safetensors").is_file() {
        eprintln!(
            "error: no trained surrogate in {} (card.json and model.safetensors); run `cargo \
             run --release -- distill examples/surrogates/autoregulated.toml` first",
            args.model.display()
        );
        std::process::exit(1);
    }
    if args.datasets == 0 || args.cells == 0 || args.small_cells == 0 {
        bail!("--datasets, --cells and --small-cells must be at least 1");
    }
    if args.small_cells > args.cells {
        bail!("--small-cells must not exceed --cells (the small data sets are subsets)");
    }
    let out = Study::with_options(STUDY, args.common.clone())?;
    let seed = args.common.seed;
    let sur = Surrogate::load(&args.model)
        .with_context(|| format!("loading the surrogate in {}", args.model.display()))?;
    let names = sur.card.prompt.params.names.clone();
    if names != NAMES {
        bail!(
            "{} is not the autoregulated-gene surrogate: parameters {names:?}, expected {NAMES:?}",
            args.model.display()
        );
    }
    let species = sur.card.species.clone();
    let ip = species
        .iter()
        .position(|s| s == "P")
        .context("the surrogate has no species P")?;
    let x0 = vec![0u64; species.len()];
    let net = sur.network()?;
    let truth_net = network_at(&net, &TRUTH, &x0)?;

    // The exact CME at θ* (surrogate accuracy there).
    let exact = exact_at_truth(&sur, &net, &x0, ip)?;
    for (k, &t) in TIMES.iter().enumerate() {
        eprintln!(
            "t = {t:>4}: Hellinger surrogate vs FSP at the truth: joint {:.4}, P marginal {:.4} \
             (FSP mass beyond the caps {:.1e})",
            exact.hellinger_joint[k], exact.hellinger_marginal[k], exact.outside[k]
        );
    }

    // The surrogate's pseudo-true rates (infinite-data MLE on the exact CME at θ*).
    let t0 = Instant::now();
    let pseudo_data = exact_snapshots(&species, &sur.card.prompt.caps, &exact, PSEUDO_CELLS)?;
    let spec_all = InferenceSpec {
        initial: Some(x0.clone()),
        ..InferenceSpec::default()
    };
    let pseudo = Likelihood::new(&sur, &pseudo_data, &spec_all)?.mle(&MleConfig::default())?;
    let pseudo_secs = t0.elapsed().as_secs_f64();
    let pseudo_fit = mle_fit("exact_cme", 0, "pseudo_truth", &pseudo, pseudo_secs);
    eprintln!(
        "surrogate's pseudo-true rates (MLE on the exact CME at the truth, {} cells; SE scaled \
         to {} cells per time):",
        pseudo_data.num_cells(),
        args.cells
    );
    let scale_se = (PSEUDO_CELLS / args.cells as f64).sqrt();
    for j in 0..4 {
        eprintln!(
            "    {:>7} = {:>8.4} (bias {:+6.1} %, {:+.1} SE of {} cells per time)",
            NAMES[j],
            pseudo.estimate[j],
            100.0 * pseudo_fit.rel_err[j],
            (pseudo.estimate[j] - TRUTH[j]) / (pseudo.std_error[j] * scale_se),
            args.cells
        );
    }

    // Cramér–Rao standard errors: exact CME against the surrogate's own information.
    let (info_exact, info_sur) = fisher(&sur, &net, &x0, ip, &exact.joint)?;
    let (ve, vs) = (inverse_diagonal(&info_exact), inverse_diagonal(&info_sur));
    let crb = |v: &[f64; 4], n: usize| -> Vec<f64> {
        v.iter().map(|x| (x / n as f64).max(0.0).sqrt()).collect()
    };
    let crb_json: Vec<Value> = [args.cells, args.small_cells]
        .iter()
        .map(|&n| {
            let (e, q) = (crb(&ve, n), crb(&vs, n));
            eprintln!(
                "Cramér–Rao standard errors at the truth, {n} cells per time (exact CME / \
                 surrogate):"
            );
            for j in 0..4 {
                eprintln!(
                    "    {:>7}: {:.4} / {:.4} (ratio {:.2})",
                    NAMES[j],
                    e[j],
                    q[j],
                    e[j] / q[j]
                );
            }
            json!({"cells_per_time": n, "exact": e, "surrogate": q})
        })
        .collect();

    // Synthetic data.
    let t_sim = Instant::now();
    let data_seed = |d: usize| seed.wrapping_add(7919 * (d as u64 + 1));
    let cells: Vec<Vec<Vec<u64>>> = (0..args.datasets)
        .map(|d| simulate(&truth_net, &x0, args.cells, data_seed(d)))
        .collect::<anyhow::Result<_>>()?;
    let sim_secs = t_sim.elapsed().as_secs_f64();
    eprintln!(
        "SSA: {} data sets × {} cells × {} times in {sim_secs:.1} s",
        args.datasets,
        args.cells,
        TIMES.len()
    );

    let designs = [
        (
            "per_time_".to_string() + &args.cells.to_string(),
            args.cells,
        ),
        (
            "per_time_".to_string() + &args.small_cells.to_string(),
            args.small_cells,
        ),
    ];
    let mcmc_cfg = |d: usize| McmcConfig {
        chains: args.chains,
        burn_in: args.burn_in,
        samples: args.samples,
        seed: seed.wrapping_add(d as u64),
        ..McmcConfig::default()
    };
    let mut mle_csv = String::from(
        "design,dataset,fit,rate,truth,estimate,std_error,relative_std_error,relative_error,z,\
         identifiable,within_10_percent,on_boundary,log_likelihood,seconds\n",
    );
    let mut mcmc_csv = String::from(
        "design,dataset,rate,truth,mean,sd,q025,q50,q975,rhat,contains_truth,\
         contains_pseudo_truth,acceptance,seconds\n",
    );
    let mut design_json = Vec::new();
    // What the figure needs (data set 0 of the large design).
    let mut figure: Option<(Snapshots, MleResult, McmcResult)> = None;
    for (name, per_time) in &designs {
        let mut sets = Vec::new();
        let mut covered = [0usize; 4];
        let mut covered_pseudo = [0usize; 4];
        let mut ident_count = [0usize; 4];
        let mut within_count = [0usize; 4];
        let mut rel_errs: Vec<[f64; 4]> = Vec::new();
        let mut ex_rel_errs: Vec<[f64; 4]> = Vec::new();
        let mut ex_within = [0usize; 4];
        let mut ex_covered = [0usize; 4];
        let mut ses: [Vec<f64>; 4] = Default::default();
        let mut mle_secs = Vec::new();
        let mut mcmc_secs = Vec::new();
        let mut rhat_max: f64 = 0.0;
        let mut accept_ok = 0usize;
        for (d, c) in cells.iter().enumerate() {
            let data = snapshots(&species, c, *per_time)?;
            let lik = Likelihood::new(&sur, &data, &spec_all)?;
            let t0 = Instant::now();
            let mle = lik.mle(&MleConfig {
                seed: d as u64,
                ..MleConfig::default()
            })?;
            let secs = t0.elapsed().as_secs_f64();
            mle_secs.push(secs);
            let free_fit = mle_fit(name, d, "all_free", &mle, secs);
            mle_csv.extend(free_fit.csv.iter().map(|l| l.clone() + "\n"));
            eprintln!(
                "[{name} #{d}] {} cells, {} rows; MLE ({secs:.1} s, {} iterations):",
                data.num_cells(),
                data.num_rows(),
                mle.iterations
            );
            for j in 0..4 {
                eprintln!(
                    "    {:>7} = {:>8.4} ± {:<8.4} (truth {:>5}, error {:+6.1} %, rel SE \
                     {:5.1} %{}{})",
                    NAMES[j],
                    mle.estimate[j],
                    mle.std_error[j],
                    TRUTH[j],
                    100.0 * free_fit.rel_err[j],
                    100.0 * mle.std_error[j] / mle.estimate[j],
                    if free_fit.identifiable[j] {
                        ""
                    } else {
                        ", weak"
                    },
                    if mle.on_boundary[j] {
                        ", on the box edge"
                    } else {
                        ""
                    },
                );
            }
            // The same data under the exact CME likelihood: separates the data's own
            // scatter from the surrogate's error. Wald intervals use the exact Cramér–Rao
            // standard errors at θ*.
            let t0 = Instant::now();
            let (ex_est, ex_nll, ex_evals) = exact_mle(
                &net,
                &mle.estimate,
                &x0,
                &sur.card.prompt.caps,
                &data,
                EXACT_MLE_EVALS,
            )?;
            let ex_secs = t0.elapsed().as_secs_f64();
            let ex_se = crb(&ve, *per_time);
            let ex_rel: Vec<f64> = (0..4).map(|j| ex_est[j] / TRUTH[j] - 1.0).collect();
            let ex_wald: Vec<bool> = (0..4)
                .map(|j| (ex_est[j] - TRUTH[j]).abs() <= 1.96 * ex_se[j])
                .collect();
            eprintln!(
                "    exact-CME MLE ({ex_secs:.1} s, {ex_evals} FSP solves): {}",
                (0..4)
                    .map(|j| format!(
                        "{} = {:.4} ({:+.1} %{})",
                        NAMES[j],
                        ex_est[j],
                        100.0 * ex_rel[j],
                        if ex_wald[j] {
                            ""
                        } else {
                            ", Wald interval misses"
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for j in 0..4 {
                let z = (ex_est[j] - TRUTH[j]) / ex_se[j];
                mle_csv.push_str(&format!(
                    "{name},{d},exact_cme_mle,{},{},{},{},{},{},{z},{},{},false,{},{ex_secs}\n",
                    NAMES[j],
                    TRUTH[j],
                    ex_est[j],
                    ex_se[j],
                    ex_se[j] / TRUTH[j],
                    ex_rel[j],
                    ex_se[j] / TRUTH[j] < REL_SE_MAX,
                    ex_rel[j].abs() < REL_ERR_MAX,
                    -ex_nll,
                ));
                ex_within[j] += usize::from(ex_rel[j].abs() < REL_ERR_MAX);
                ex_covered[j] += usize::from(ex_wald[j]);
            }
            ex_rel_errs.push([ex_rel[0], ex_rel[1], ex_rel[2], ex_rel[3]]);
            let exact_json = json!({
                "estimate": ex_est,
                "relative_error": ex_rel,
                "cramer_rao_std_error": ex_se,
                "wald_contains_truth": ex_wald,
                "log_likelihood": -ex_nll,
                "fsp_solves": ex_evals,
                "seconds": ex_secs,
            });

            let mut all_ident_within = true;
            for j in 0..4 {
                ident_count[j] += usize::from(free_fit.identifiable[j]);
                let within = free_fit.rel_err[j].abs() < REL_ERR_MAX;
                within_count[j] += usize::from(within);
                if free_fit.identifiable[j] && !within {
                    all_ident_within = false;
                }
            }
            for (j, se) in ses.iter_mut().enumerate() {
                se.push(mle.std_error[j]);
            }
            rel_errs.push([
                free_fit.rel_err[0],
                free_fit.rel_err[1],
                free_fit.rel_err[2],
                free_fit.rel_err[3],
            ]);

            // Weak rates fixed at the truth.
            let weak: Vec<usize> = (0..4).filter(|&j| !free_fit.identifiable[j]).collect();
            let fixed_json = if !weak.is_empty() && weak.len() < 4 {
                let spec = InferenceSpec {
                    free: (0..4)
                        .filter(|j| !weak.contains(j))
                        .map(|j| NAMES[j].to_string())
                        .collect(),
                    fixed: weak
                        .iter()
                        .map(|&j| (NAMES[j].to_string(), TRUTH[j]))
                        .collect(),
                    initial: Some(x0.clone()),
                };
                let lik_f = Likelihood::new(&sur, &data, &spec)?;
                let t0 = Instant::now();
                let res = lik_f.mle(&MleConfig {
                    seed: d as u64,
                    ..MleConfig::default()
                })?;
                let secs = t0.elapsed().as_secs_f64();
                let fit = mle_fit(name, d, "weak_fixed", &res, secs);
                mle_csv.extend(fit.csv.iter().map(|l| l.clone() + "\n"));
                eprintln!(
                    "    with {} fixed at the truth ({secs:.1} s):",
                    weak.iter()
                        .map(|&j| NAMES[j])
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for (j, n) in res.names.iter().enumerate() {
                    eprintln!(
                        "    {n:>7} = {:>8.4} ± {:<8.4} (error {:+6.1} %)",
                        res.estimate[j],
                        res.std_error[j],
                        100.0 * fit.rel_err[j]
                    );
                }
                let mut v = fit.json;
                v["fixed"] = json!(weak.iter().map(|&j| NAMES[j]).collect::<Vec<_>>());
                v
            } else {
                Value::Null
            };

            // Metropolis–Hastings; run again twice as long while some R-hat ≥ RHAT_MAX.
            let t0 = Instant::now();
            let mut cfg = mcmc_cfg(d);
            let mut mh = lik.mcmc(&cfg)?;
            for _ in 0..MCMC_RETRIES {
                if mh.summary.iter().all(|s| s.rhat < RHAT_MAX) {
                    break;
                }
                cfg.burn_in *= 2;
                cfg.samples *= 2;
                eprintln!(
                    "    MH: R-hat {:.3} >= {RHAT_MAX}, running again with {} + {} per chain",
                    mh.summary.iter().map(|s| s.rhat).fold(0.0, f64::max),
                    cfg.burn_in,
                    cfg.samples
                );
                mh = lik.mcmc(&cfg)?;
            }
            let secs = t0.elapsed().as_secs_f64();
            mcmc_secs.push(secs);
            let (mut mh_json, rows, covers, covers_p) =
                mcmc_fit(name, d, &mh, &pseudo.estimate, secs);
            mh_json["burn_in"] = json!(cfg.burn_in);
            mh_json["samples"] = json!(cfg.samples);
            mcmc_csv.extend(rows.iter().map(|l| l.clone() + "\n"));
            eprintln!(
                "    MH ({secs:.1} s, {} chains × ({} + {}), acceptance {:.2}):",
                cfg.chains, cfg.burn_in, cfg.samples, mh.acceptance
            );
            for (j, s) in mh.summary.iter().enumerate() {
                eprintln!(
                    "    {:>7}: mean {:>8.4}, sd {:<8.4} 95 % [{:.4}, {:.4}] R-hat {:.3} {}",
                    s.name,
                    s.mean,
                    s.sd,
                    s.q025,
                    s.q975,
                    s.rhat,
                    if covers[j] {
                        "contains the truth"
                    } else {
                        "MISSES the truth"
                    }
                );
                covered[j] += usize::from(covers[j]);
                covered_pseudo[j] += usize::from(covers_p[j]);
                rhat_max = rhat_max.max(s.rhat);
            }
            let all_cover = covers.iter().all(|&c| c);
            accept_ok += usize::from(all_cover && all_ident_within);
            sets.push(json!({
                "dataset": d,
                "data_seed": data_seed(d),
                "cells": data.num_cells(),
                "distinct_rows": data.num_rows(),
                "mle_all_free": free_fit.json,
                "mle_weak_fixed": fixed_json,
                "mle_exact_cme": exact_json,
                "mcmc": mh_json,
                "identifiable_within_10_percent": all_ident_within,
                "all_intervals_contain_truth": all_cover,
            }));
            if d == 0 && figure.is_none() {
                figure = Some((data, mle, mh));
            }
        }
        let n = args.datasets;
        let per_rate: Vec<Value> = (0..4)
            .map(|j| {
                let re: Vec<f64> = rel_errs.iter().map(|r| r[j]).collect();
                let rms = (re.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
                let mu = mean(&re);
                let sd = TRUTH[j]
                    * (re.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64)
                        .sqrt();
                json!({
                    "name": NAMES[j],
                    "intervals_containing_truth": covered[j],
                    "intervals_containing_pseudo_truth": covered_pseudo[j],
                    "identifiable_in": ident_count[j],
                    "mle_within_10_percent_in": within_count[j],
                    "mle_relative_error_mean": mean(&re),
                    "mle_relative_error_rms": rms,
                    "mle_relative_errors": re,
                    "mle_sd_across_datasets": sd,
                    "mle_std_error_mean": mean(&ses[j]),
                    "exact_mle_relative_errors":
                        ex_rel_errs.iter().map(|r| r[j]).collect::<Vec<_>>(),
                    "exact_mle_within_10_percent_in": ex_within[j],
                    "exact_wald_intervals_containing_truth": ex_covered[j],
                })
            })
            .collect();
        eprintln!("[{name}] over {n} data sets:");
        for (j, v) in per_rate.iter().enumerate() {
            eprintln!(
                "    {:>7}: interval contains truth {}/{n} (pseudo-truth {}/{n}), identifiable \
                 {}/{n}, MLE within 10 % {}/{n}, MLE error mean {:+.1} %, rms {:.1} %; MLE sd \
                 across data sets {:.4}, mean SE {:.4}; exact-CME MLE within 10 % {}/{n}, its \
                 Wald interval contains the truth {}/{n}",
                NAMES[j],
                covered[j],
                covered_pseudo[j],
                ident_count[j],
                within_count[j],
                100.0 * v["mle_relative_error_mean"].as_f64().unwrap_or(f64::NAN),
                100.0 * v["mle_relative_error_rms"].as_f64().unwrap_or(f64::NAN),
                v["mle_sd_across_datasets"].as_f64().unwrap_or(f64::NAN),
                v["mle_std_error_mean"].as_f64().unwrap_or(f64::NAN),
                ex_within[j],
                ex_covered[j],
            );
        }
        eprintln!(
            "    acceptance (identifiable MLEs within 10 % and all 4 intervals contain the truth) \
             in {accept_ok}/{n}; MLE {:.1} s, MH {:.1} s on average; max R-hat {rhat_max:.3}",
            mean(&mle_secs),
            mean(&mcmc_secs)
        );
        design_json.push(json!({
            "design": name,
            "cells_per_time": per_time,
            "cells": per_time * TIMES.len(),
            "datasets": sets,
            "per_rate": per_rate,
            "datasets_meeting_acceptance": accept_ok,
            "mle_seconds_mean": mean(&mle_secs),
            "mcmc_seconds_mean": mean(&mcmc_secs),
            "mcmc_seconds": mcmc_secs,
            "rhat_max": rhat_max,
        }));
    }

    // MLE on every data set of the large design pooled.
    let pooled_cells: Vec<Vec<u64>> = (0..TIMES.len())
        .map(|k| cells.iter().flat_map(|c| c[k].iter().copied()).collect())
        .collect();
    let pooled = snapshots(&species, &pooled_cells, usize::MAX)?;
    let lik_p = Likelihood::new(&sur, &pooled, &spec_all)?;
    let t0 = Instant::now();
    let pm = lik_p.mle(&MleConfig::default())?;
    let pooled_fit = mle_fit("pooled", 0, "all_free", &pm, t0.elapsed().as_secs_f64());
    mle_csv.extend(pooled_fit.csv.iter().map(|l| l.clone() + "\n"));
    mle_csv.extend(pseudo_fit.csv.iter().map(|l| l.clone() + "\n"));
    eprintln!(
        "all data sets pooled ({} cells): MLE ± SE, error vs truth, z:",
        pooled.num_cells()
    );
    for j in 0..4 {
        eprintln!(
            "    {:>7} = {:>8.4} ± {:<8.4} ({:+6.1} %, z {:+.1})",
            NAMES[j],
            pm.estimate[j],
            pm.std_error[j],
            100.0 * pooled_fit.rel_err[j],
            (pm.estimate[j] - TRUTH[j]) / pm.std_error[j]
        );
    }

    out.write("mle.csv", &mle_csv)?;
    out.write("mcmc.csv", &mcmc_csv)?;

    // Figure: data set 0 of the large design.
    let (data, mle, mh) = figure.context("no data set")?;
    let mut panels = Vec::new();
    let mut hist_csv = String::from("rate,bin_lo,bin_hi,density\n");
    for j in 0..4 {
        let xs = mh.pooled(j);
        let s = &mh.summary[j];
        let lo = xs
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(TRUTH[j])
            .min(mle.estimate[j])
            .min(pseudo.estimate[j]);
        let hi = xs
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(TRUTH[j])
            .max(mle.estimate[j])
            .max(pseudo.estimate[j]);
        let pad = 0.05 * (hi - lo).max(1e-12);
        let (lo, hi) = (lo - pad, hi + pad);
        let (edges, h) = histogram(&xs, lo, hi);
        let w = (hi - lo) / BINS as f64;
        for (e, v) in edges.iter().zip(&h) {
            hist_csv.push_str(&format!("{},{e},{},{v}\n", NAMES[j], e + w));
        }
        panels.push(Panel {
            title: format!(
                "{}: posterior (R-hat {:.3}), {} samples",
                SYMBOLS[j],
                s.rhat,
                xs.len()
            ),
            x_label: SYMBOLS[j].to_string(),
            y_label: "density".into(),
            x_range: (lo, hi),
            curves: vec![Curve {
                name: "posterior".into(),
                color: PALETTE[0],
                width: 2,
                points: steps(&edges, w, &h),
            }],
            marks: vec![
                ("truth".into(), BLACK, TRUTH[j]),
                ("MLE".into(), PALETTE[1], mle.estimate[j]),
                ("pseudo-truth".into(), PALETTE[2], pseudo.estimate[j]),
                ("95 % interval".into(), RGBColor(150, 150, 150), s.q025),
                (String::new(), RGBColor(150, 150, 150), s.q975),
            ],
            legend: j == 0,
        });
    }
    let mut dm_csv = String::from("t,P,data_frequency,surrogate_at_mle,exact_at_truth\n");
    for (k, &t) in TIMES.iter().enumerate() {
        let mut freq = vec![0.0; sur.card.prompt.caps[ip] as usize + 1];
        let mut n = 0.0;
        for (tt, st, m) in data.rows() {
            if tt == t {
                freq[st[ip] as usize] += m as f64;
                n += m as f64;
            }
        }
        freq.iter_mut().for_each(|f| *f /= n.max(1.0));
        let q = sur.marginal_at(ip, &mle.estimate, &x0, t)?;
        let e = &exact.marginal[k];
        let top = (0..freq.len())
            .filter(|&x| freq[x] > 0.0 || q.get(x).is_some_and(|&v| v > 1e-4))
            .max()
            .unwrap_or(10)
            + 2;
        for (x, f) in freq.iter().enumerate() {
            dm_csv.push_str(&format!(
                "{t},{x},{f},{},{}\n",
                q.get(x).copied().unwrap_or(0.0),
                e.get(x).copied().unwrap_or(0.0)
            ));
        }
        let edges: Vec<f64> = (0..top).map(|x| x as f64 - 0.5).collect();
        let line = |p: &[f64]| -> Vec<(f64, f64)> {
            (0..top)
                .map(|x| (x as f64, p.get(x).copied().unwrap_or(0.0)))
                .collect()
        };
        panels.push(Panel {
            title: format!("P at t = {t}: {} cells", n as u64),
            x_label: "P".into(),
            y_label: "probability".into(),
            x_range: (-0.5, top as f64 - 0.5),
            curves: vec![
                Curve {
                    name: "data (SSA at θ*)".into(),
                    color: PALETTE[0],
                    width: 1,
                    points: steps(&edges, 1.0, &freq[..top.min(freq.len())]),
                },
                Curve {
                    name: "exact CME at θ*".into(),
                    color: BLACK,
                    width: 1,
                    points: line(e),
                },
                Curve {
                    name: "surrogate at MLE".into(),
                    color: PALETTE[1],
                    width: 2,
                    points: line(&q),
                },
            ],
            marks: Vec::new(),
            legend: k == 0,
        });
    }
    let stem = out.dir().join("posterior");
    crnkit_experiments::save_grid(&stem, &panels, 2, (1800, 860))?;
    out.write("posterior_hist.csv", &hist_csv)?;
    out.write("data_vs_model.csv", &dm_csv)?;
    let svg = stem.with_extension("svg");
    let svg_bytes = std::fs::metadata(&svg)?.len();
    if !args.no_docs {
        let dst = Path::new("docs/figures/surrogate_posterior.svg");
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crnkit::io::write_atomic(dst, &std::fs::read(&svg)?)?;
        eprintln!(
            "copied {} to {} ({svg_bytes} bytes)",
            svg.display(),
            dst.display()
        );
    }

    let summary = json!({
        "model": args.model.display().to_string(),
        "truth": NAMES
            .iter()
            .zip(TRUTH)
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>(),
        "times": TIMES,
        "initial": x0,
        "observed": species,
        "datasets": args.datasets,
        "ssa_seconds": sim_secs,
        "rules": {
            "identifiable": format!(
                "relative standard error < {REL_SE_MAX} and not on the box edge"
            ),
            "recovered": format!("|relative error| < {REL_ERR_MAX}"),
            "acceptance": "every identifiable rate's MLE within 10 % and all four MH 95 % \
                           intervals contain the truth",
        },
        "mcmc": {
            "chains": args.chains,
            "burn_in": args.burn_in,
            "samples": args.samples,
            "rerun_while_rhat_at_least": RHAT_MAX,
            "max_reruns": MCMC_RETRIES,
            "prior": "uniform on the trained box",
        },
        "designs": design_json,
        "pseudo_truth": {
            "method": "MLE on exact-CME data at the truth (round(p*(x) n) cells per state \
                       and time)",
            "cells_per_time": PSEUDO_CELLS,
            "std_error_note": "std errors are those of the pseudo data; multiply by \
                               sqrt(cells_per_time / n) for n cells per time",
            "fit": pseudo_fit.json,
        },
        "pooled_mle": {
            "cells": pooled.num_cells(),
            "fit": pooled_fit.json,
        },
        "cramer_rao_std_errors": {
            "method": "expected Fisher information of one cell at each time at the truth, \
                       central differences of ln p (step 1e-2 relative); exact = FSP, \
                       surrogate = its own q",
            "designs": crb_json,
        },
        "surrogate_vs_fsp_at_truth": {
            "times": TIMES,
            "hellinger_joint": exact.hellinger_joint,
            "hellinger_marginal_P": exact.hellinger_marginal,
            "fsp_mass_beyond_caps": exact.outside,
            "fsp_seconds": exact.seconds,
        },
        "figure": {
            "files": ["posterior.png", "posterior.svg"],
            "design": designs[0].0,
            "dataset": 0,
            "svg_bytes": svg_bytes,
        },
    });
    out.write(
        "summary.json",
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    out.finish(summary)
}
