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
use crnkit::cme::FspOptions;
use crnkit::ssa::{AnySimulator, GridRecorder, Method, Simulator, TimeGrid};
use crnkit::surrogate::{
    ExactLikelihood, ExactMleConfig, ExactModel, InferenceSpec, Likelihood, McmcConfig, McmcResult,
    MleConfig, MleResult, Snapshots, Surrogate, cramer_rao_std_errors, fisher_information,
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

fn exact_at_truth(ctx: &Ctx) -> anyhow::Result<Exact> {
    let (sur, x0, ip) = (&ctx.sur, &ctx.x0, ctx.ip);
    let start = Instant::now();
    let law = ctx
        .exact
        .law_on_box(&TRUTH, &TIMES, &sur.card.prompt.caps)?;
    let seconds = start.elapsed().as_secs_f64();
    let marginal: Vec<Vec<f64>> = law.marginals.iter().map(|m| m[ip].clone()).collect();
    let mut hj = Vec::new();
    let mut hm = Vec::new();
    for (k, &t) in TIMES.iter().enumerate() {
        let (_, q) = sur.joint_at(&TRUTH, x0, t)?;
        hj.push(hellinger(&law.joint[k], &q));
        let qm = sur.marginal_at(ip, &TRUTH, x0, t)?;
        hm.push(hellinger(&marginal[k], &qm));
    }
    Ok(Exact {
        joint: law.joint,
        marginal,
        hellinger_joint: hj,
        hellinger_marginal: hm,
        outside: law.outside,
        seconds,
    })
}

/// A square matrix (box order), as rows.
type Matrix = Vec<Vec<f64>>;

/// Expected Fisher information (4 × 4, box order) of one cell measured at each of
/// [`TIMES`] (summed over the times) at θ*, central differences of step [`FD_STEP`] · θ*_j:
/// for the exact CME (FSP on the caps' box) and for the surrogate (its own q in place of
/// p). With n cells per time the Cramér–Rao covariance is I⁻¹ / n.
// The closure returns the surrogate's error, which keeps candle's error unboxed.
#[allow(clippy::result_large_err)]
fn fisher(ctx: &Ctx) -> anyhow::Result<(Matrix, Matrix)> {
    let (sur, x0) = (&ctx.sur, &ctx.x0);
    let info_exact =
        ctx.exact
            .fisher_information(&TRUTH, &TIMES, &sur.card.prompt.caps, FD_STEP)?;
    let q_at = |th: &[f64]| -> crnkit::surrogate::Result<Vec<Vec<f64>>> {
        TIMES
            .iter()
            .map(|&t| Ok(sur.joint_at(th, x0, t)?.1))
            .collect()
    };
    let q0 = q_at(&TRUTH)?;
    let info_sur = fisher_information(&TRUTH, FD_STEP, &q0, q_at)?;
    Ok((info_exact, info_sur))
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

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// What every step of the study shares.
struct Ctx {
    args: Args,
    out: Study,
    sur: Surrogate,
    species: Vec<String>,
    /// Index of species P.
    ip: usize,
    /// The initial state of every cell.
    x0: Vec<u64>,
    /// The surrogate's network under the exact CME (FSP, tolerance [`FSP_TOL`]).
    exact: ExactModel,
    /// All four rates free, from `x0`.
    spec_all: InferenceSpec,
}

/// Check the arguments, open the output folder and load the surrogate.
fn setup() -> anyhow::Result<Ctx> {
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
    let opts = FspOptions {
        tol: FSP_TOL,
        ..FspOptions::default()
    };
    let exact = ExactModel::new(&sur.network()?, &names, &x0, opts)?;
    let spec_all = InferenceSpec {
        initial: Some(x0.clone()),
        ..InferenceSpec::default()
    };
    Ok(Ctx {
        args,
        out,
        sur,
        species,
        ip,
        x0,
        exact,
        spec_all,
    })
}

/// The surrogate's pseudo-true rates (infinite-data MLE on the exact CME at θ*).
fn pseudo_truth(ctx: &Ctx, exact: &Exact) -> anyhow::Result<(MleResult, MleFit)> {
    let t0 = Instant::now();
    let caps = &ctx.sur.card.prompt.caps;
    let pseudo_data = exact_snapshots(&ctx.species, caps, exact, PSEUDO_CELLS)?;
    let pseudo =
        Likelihood::new(&ctx.sur, &pseudo_data, &ctx.spec_all)?.mle(&MleConfig::default())?;
    let pseudo_secs = t0.elapsed().as_secs_f64();
    let pseudo_fit = mle_fit("exact_cme", 0, "pseudo_truth", &pseudo, pseudo_secs);
    let cells = ctx.args.cells;
    eprintln!(
        "surrogate's pseudo-true rates (MLE on the exact CME at the truth, {} cells; SE scaled \
         to {cells} cells per time):",
        pseudo_data.num_cells(),
    );
    let scale_se = (PSEUDO_CELLS / cells as f64).sqrt();
    for j in 0..4 {
        eprintln!(
            "    {:>7} = {:>8.4} (bias {:+6.1} %, {:+.1} SE of {cells} cells per time)",
            NAMES[j],
            pseudo.estimate[j],
            100.0 * pseudo_fit.rel_err[j],
            (pseudo.estimate[j] - TRUTH[j]) / (pseudo.std_error[j] * scale_se),
        );
    }
    Ok((pseudo, pseudo_fit))
}

/// Cramér–Rao standard errors at θ* for both designs, exact CME against the surrogate's own
/// information: (the exact information, the JSON of both designs).
fn cramer_rao(ctx: &Ctx) -> anyhow::Result<(Matrix, Vec<Value>)> {
    let (info_exact, info_sur) = fisher(ctx)?;
    let crb_json: Vec<Value> = [ctx.args.cells, ctx.args.small_cells]
        .iter()
        .map(|&n| {
            let e = cramer_rao_std_errors(&info_exact, n);
            let q = cramer_rao_std_errors(&info_sur, n);
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
    Ok((info_exact, crb_json))
}

/// The data seed of data set `d`.
fn data_seed(seed: u64, d: usize) -> u64 {
    seed.wrapping_add(7919 * (d as u64 + 1))
}

/// The synthetic data of every data set (per data set, per time, the flat states) and the
/// seconds the SSA took.
fn simulate_all(ctx: &Ctx) -> anyhow::Result<(Vec<Vec<Vec<u64>>>, f64)> {
    let truth_net = ctx.exact.network_at(&TRUTH)?;
    let t_sim = Instant::now();
    let cells: Vec<Vec<Vec<u64>>> = (0..ctx.args.datasets)
        .map(|d| {
            simulate(
                &truth_net,
                &ctx.x0,
                ctx.args.cells,
                data_seed(ctx.args.common.seed, d),
            )
        })
        .collect::<anyhow::Result<_>>()?;
    let sim_secs = t_sim.elapsed().as_secs_f64();
    eprintln!(
        "SSA: {} data sets × {} cells × {} times in {sim_secs:.1} s",
        ctx.args.datasets,
        ctx.args.cells,
        TIMES.len()
    );
    Ok((cells, sim_secs))
}

/// The CSV tables of every fit, filled as the fits come.
struct Tables {
    mle: String,
    mcmc: String,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            mle: String::from(
                "design,dataset,fit,rate,truth,estimate,std_error,relative_std_error,relative_error,z,\
                 identifiable,within_10_percent,on_boundary,log_likelihood,seconds\n",
            ),
            mcmc: String::from(
                "design,dataset,rate,truth,mean,sd,q025,q50,q975,rhat,contains_truth,\
                 contains_pseudo_truth,acceptance,seconds\n",
            ),
        }
    }
}

/// Tallies of one design over its data sets.
#[derive(Default)]
struct Tally {
    sets: Vec<Value>,
    covered: [usize; 4],
    covered_pseudo: [usize; 4],
    ident_count: [usize; 4],
    within_count: [usize; 4],
    rel_errs: Vec<[f64; 4]>,
    ex_rel_errs: Vec<[f64; 4]>,
    ex_within: [usize; 4],
    ex_covered: [usize; 4],
    ses: [Vec<f64>; 4],
    mle_secs: Vec<f64>,
    mcmc_secs: Vec<f64>,
    rhat_max: f64,
    accept_ok: usize,
}

/// What the figure needs (data set 0 of the large design).
type FigureData = (Snapshots, MleResult, McmcResult);

/// One design (cells per time) over every data set.
struct DesignRun<'a> {
    ctx: &'a Ctx,
    pseudo: &'a MleResult,
    /// The exact Fisher information of one cell per time at θ*.
    info_exact: &'a [Vec<f64>],
    name: &'a str,
    per_time: usize,
    tables: &'a mut Tables,
    t: Tally,
}

impl DesignRun<'_> {
    /// Every fit of data set `d` (`c`: its cells per time), tallied; the data and the
    /// all-free MLE and MH for the figure.
    fn dataset(&mut self, d: usize, c: &[Vec<u64>]) -> anyhow::Result<FigureData> {
        let ctx = self.ctx;
        let data = snapshots(&ctx.species, c, self.per_time)?;
        let lik = Likelihood::new(&ctx.sur, &data, &ctx.spec_all)?;
        let (mle, free_fit) = self.surrogate_mle(d, &data, &lik)?;
        let exact_json = self.exact_mle(d, &data, &mle.estimate)?;
        let all_ident_within = self.tally_free(&free_fit, &mle);
        let fixed_json = self.weak_fixed(d, &data, &free_fit)?;
        let (mh, mh_json, all_cover) = self.mcmc(d, &lik)?;
        self.t.accept_ok += usize::from(all_cover && all_ident_within);
        self.t.sets.push(json!({
            "dataset": d,
            "data_seed": data_seed(ctx.args.common.seed, d),
            "cells": data.num_cells(),
            "distinct_rows": data.num_rows(),
            "mle_all_free": free_fit.json,
            "mle_weak_fixed": fixed_json,
            "mle_exact_cme": exact_json,
            "mcmc": mh_json,
            "identifiable_within_10_percent": all_ident_within,
            "all_intervals_contain_truth": all_cover,
        }));
        Ok((data, mle, mh))
    }

    /// The surrogate MLE of all four rates.
    fn surrogate_mle(
        &mut self,
        d: usize,
        data: &Snapshots,
        lik: &Likelihood,
    ) -> anyhow::Result<(MleResult, MleFit)> {
        let name = self.name;
        let t0 = Instant::now();
        let mle = lik.mle(&MleConfig {
            seed: d as u64,
            ..MleConfig::default()
        })?;
        let secs = t0.elapsed().as_secs_f64();
        self.t.mle_secs.push(secs);
        let free_fit = mle_fit(name, d, "all_free", &mle, secs);
        self.tables
            .mle
            .extend(free_fit.csv.iter().map(|l| l.clone() + "\n"));
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
        Ok((mle, free_fit))
    }

    /// The same data under the exact CME likelihood, from the surrogate's estimate `start`:
    /// separates the data's own scatter from the surrogate's error. Wald intervals use the
    /// exact Cramér–Rao standard errors at θ*.
    fn exact_mle(&mut self, d: usize, data: &Snapshots, start: &[f64]) -> anyhow::Result<Value> {
        let name = self.name;
        let t0 = Instant::now();
        let cfg = ExactMleConfig {
            max_evals: EXACT_MLE_EVALS,
            ..ExactMleConfig::default()
        };
        let res = ExactLikelihood::new(&self.ctx.exact, data)?.mle(start, &cfg)?;
        let (ex_est, ex_ll, ex_evals) = (res.estimate, res.log_likelihood, res.evaluations);
        let ex_secs = t0.elapsed().as_secs_f64();
        let ex_se = cramer_rao_std_errors(self.info_exact, self.per_time);
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
            self.tables.mle.push_str(&format!(
                "{name},{d},exact_cme_mle,{},{},{},{},{},{},{z},{},{},false,{},{ex_secs}\n",
                NAMES[j],
                TRUTH[j],
                ex_est[j],
                ex_se[j],
                ex_se[j] / TRUTH[j],
                ex_rel[j],
                ex_se[j] / TRUTH[j] < REL_SE_MAX,
                ex_rel[j].abs() < REL_ERR_MAX,
                ex_ll,
            ));
            self.t.ex_within[j] += usize::from(ex_rel[j].abs() < REL_ERR_MAX);
            self.t.ex_covered[j] += usize::from(ex_wald[j]);
        }
        self.t
            .ex_rel_errs
            .push([ex_rel[0], ex_rel[1], ex_rel[2], ex_rel[3]]);
        Ok(json!({
            "estimate": ex_est,
            "relative_error": ex_rel,
            "cramer_rao_std_error": ex_se,
            "wald_contains_truth": ex_wald,
            "log_likelihood": ex_ll,
            "fsp_solves": ex_evals,
            "seconds": ex_secs,
        }))
    }

    /// Tally the all-free MLE; whether every identifiable rate is within 10 %.
    fn tally_free(&mut self, free_fit: &MleFit, mle: &MleResult) -> bool {
        let mut all_ident_within = true;
        for j in 0..4 {
            self.t.ident_count[j] += usize::from(free_fit.identifiable[j]);
            let within = free_fit.rel_err[j].abs() < REL_ERR_MAX;
            self.t.within_count[j] += usize::from(within);
            if free_fit.identifiable[j] && !within {
                all_ident_within = false;
            }
        }
        for (j, se) in self.t.ses.iter_mut().enumerate() {
            se.push(mle.std_error[j]);
        }
        let re = &free_fit.rel_err;
        self.t.rel_errs.push([re[0], re[1], re[2], re[3]]);
        all_ident_within
    }

    /// The MLE with the weak rates of `free_fit` fixed at the truth (null when none or all
    /// are weak).
    fn weak_fixed(
        &mut self,
        d: usize,
        data: &Snapshots,
        free_fit: &MleFit,
    ) -> anyhow::Result<Value> {
        let weak: Vec<usize> = (0..4).filter(|&j| !free_fit.identifiable[j]).collect();
        if weak.is_empty() || weak.len() == 4 {
            return Ok(Value::Null);
        }
        let spec = InferenceSpec {
            free: (0..4)
                .filter(|j| !weak.contains(j))
                .map(|j| NAMES[j].to_string())
                .collect(),
            fixed: weak
                .iter()
                .map(|&j| (NAMES[j].to_string(), TRUTH[j]))
                .collect(),
            initial: Some(self.ctx.x0.clone()),
        };
        let lik_f = Likelihood::new(&self.ctx.sur, data, &spec)?;
        let t0 = Instant::now();
        let res = lik_f.mle(&MleConfig {
            seed: d as u64,
            ..MleConfig::default()
        })?;
        let secs = t0.elapsed().as_secs_f64();
        let fit = mle_fit(self.name, d, "weak_fixed", &res, secs);
        self.tables
            .mle
            .extend(fit.csv.iter().map(|l| l.clone() + "\n"));
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
        Ok(v)
    }

    /// Metropolis–Hastings settings of data set `d`.
    fn mcmc_cfg(&self, d: usize) -> McmcConfig {
        let args = &self.ctx.args;
        McmcConfig {
            chains: args.chains,
            burn_in: args.burn_in,
            samples: args.samples,
            seed: args.common.seed.wrapping_add(d as u64),
            ..McmcConfig::default()
        }
    }

    /// Metropolis–Hastings, run again twice as long while some R-hat ≥ [`RHAT_MAX`]: the
    /// result, its JSON, and whether every interval contains the truth.
    fn mcmc(&mut self, d: usize, lik: &Likelihood) -> anyhow::Result<(McmcResult, Value, bool)> {
        let t0 = Instant::now();
        let mut cfg = self.mcmc_cfg(d);
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
        self.t.mcmc_secs.push(secs);
        let (mut mh_json, rows, covers, covers_p) =
            mcmc_fit(self.name, d, &mh, &self.pseudo.estimate, secs);
        mh_json["burn_in"] = json!(cfg.burn_in);
        mh_json["samples"] = json!(cfg.samples);
        self.tables
            .mcmc
            .extend(rows.iter().map(|l| l.clone() + "\n"));
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
            self.t.covered[j] += usize::from(covers[j]);
            self.t.covered_pseudo[j] += usize::from(covers_p[j]);
            self.t.rhat_max = self.t.rhat_max.max(s.rhat);
        }
        let all_cover = covers.iter().all(|&c| c);
        Ok((mh, mh_json, all_cover))
    }

    /// Per rate over the data sets, as JSON.
    fn per_rate(&self) -> Vec<Value> {
        let t = &self.t;
        let n = self.ctx.args.datasets;
        (0..4)
            .map(|j| {
                let re: Vec<f64> = t.rel_errs.iter().map(|r| r[j]).collect();
                let rms = (re.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
                let mu = mean(&re);
                let sd = TRUTH[j]
                    * (re.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64)
                        .sqrt();
                json!({
                    "name": NAMES[j],
                    "intervals_containing_truth": t.covered[j],
                    "intervals_containing_pseudo_truth": t.covered_pseudo[j],
                    "identifiable_in": t.ident_count[j],
                    "mle_within_10_percent_in": t.within_count[j],
                    "mle_relative_error_mean": mean(&re),
                    "mle_relative_error_rms": rms,
                    "mle_relative_errors": re,
                    "mle_sd_across_datasets": sd,
                    "mle_std_error_mean": mean(&t.ses[j]),
                    "exact_mle_relative_errors":
                        t.ex_rel_errs.iter().map(|r| r[j]).collect::<Vec<_>>(),
                    "exact_mle_within_10_percent_in": t.ex_within[j],
                    "exact_wald_intervals_containing_truth": t.ex_covered[j],
                })
            })
            .collect()
    }

    /// Report the design over its data sets; its JSON.
    fn finish(self) -> Value {
        let name = self.name;
        let n = self.ctx.args.datasets;
        let per_rate = self.per_rate();
        let t = self.t;
        eprintln!("[{name}] over {n} data sets:");
        for (j, v) in per_rate.iter().enumerate() {
            eprintln!(
                "    {:>7}: interval contains truth {}/{n} (pseudo-truth {}/{n}), identifiable \
                 {}/{n}, MLE within 10 % {}/{n}, MLE error mean {:+.1} %, rms {:.1} %; MLE sd \
                 across data sets {:.4}, mean SE {:.4}; exact-CME MLE within 10 % {}/{n}, its \
                 Wald interval contains the truth {}/{n}",
                NAMES[j],
                t.covered[j],
                t.covered_pseudo[j],
                t.ident_count[j],
                t.within_count[j],
                100.0 * v["mle_relative_error_mean"].as_f64().unwrap_or(f64::NAN),
                100.0 * v["mle_relative_error_rms"].as_f64().unwrap_or(f64::NAN),
                v["mle_sd_across_datasets"].as_f64().unwrap_or(f64::NAN),
                v["mle_std_error_mean"].as_f64().unwrap_or(f64::NAN),
                t.ex_within[j],
                t.ex_covered[j],
            );
        }
        let accept_ok = t.accept_ok;
        let rhat_max = t.rhat_max;
        eprintln!(
            "    acceptance (identifiable MLEs within 10 % and all 4 intervals contain the truth) \
             in {accept_ok}/{n}; MLE {:.1} s, MH {:.1} s on average; max R-hat {rhat_max:.3}",
            mean(&t.mle_secs),
            mean(&t.mcmc_secs)
        );
        json!({
            "design": name,
            "cells_per_time": self.per_time,
            "cells": self.per_time * TIMES.len(),
            "datasets": t.sets,
            "per_rate": per_rate,
            "datasets_meeting_acceptance": accept_ok,
            "mle_seconds_mean": mean(&t.mle_secs),
            "mcmc_seconds_mean": mean(&t.mcmc_secs),
            "mcmc_seconds": t.mcmc_secs,
            "rhat_max": rhat_max,
        })
    }
}

/// MLE on every data set of the large design pooled: (cells, fit).
fn pooled_mle(
    ctx: &Ctx,
    cells: &[Vec<Vec<u64>>],
    tables: &mut Tables,
    pseudo_fit: &MleFit,
) -> anyhow::Result<(u64, MleFit)> {
    let pooled_cells: Vec<Vec<u64>> = (0..TIMES.len())
        .map(|k| cells.iter().flat_map(|c| c[k].iter().copied()).collect())
        .collect();
    let pooled = snapshots(&ctx.species, &pooled_cells, usize::MAX)?;
    let lik_p = Likelihood::new(&ctx.sur, &pooled, &ctx.spec_all)?;
    let t0 = Instant::now();
    let pm = lik_p.mle(&MleConfig::default())?;
    let pooled_fit = mle_fit("pooled", 0, "all_free", &pm, t0.elapsed().as_secs_f64());
    tables
        .mle
        .extend(pooled_fit.csv.iter().map(|l| l.clone() + "\n"));
    tables
        .mle
        .extend(pseudo_fit.csv.iter().map(|l| l.clone() + "\n"));
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
    Ok((pooled.num_cells(), pooled_fit))
}

/// The posterior panels of the figure (one per rate) and their histograms as CSV.
fn posterior_panels(fig: &FigureData, pseudo: &MleResult) -> (Vec<Panel>, String) {
    let (_, mle, mh) = fig;
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
    (panels, hist_csv)
}

/// The data's P histogram at each time against the surrogate's P marginal at the MLE and
/// the exact CME at θ*: panels and CSV.
fn data_panels(ctx: &Ctx, fig: &FigureData, exact: &Exact) -> anyhow::Result<(Vec<Panel>, String)> {
    let (data, mle, _) = fig;
    let ip = ctx.ip;
    let mut panels = Vec::new();
    let mut dm_csv = String::from("t,P,data_frequency,surrogate_at_mle,exact_at_truth\n");
    for (k, &t) in TIMES.iter().enumerate() {
        let mut freq = vec![0.0; ctx.sur.card.prompt.caps[ip] as usize + 1];
        let mut n = 0.0;
        for (tt, st, m) in data.rows() {
            if tt == t {
                freq[st[ip] as usize] += m as f64;
                n += m as f64;
            }
        }
        freq.iter_mut().for_each(|f| *f /= n.max(1.0));
        let q = ctx.sur.marginal_at(ip, &mle.estimate, &ctx.x0, t)?;
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
    Ok((panels, dm_csv))
}

/// The figure of data set 0 of the large design, its CSVs, and its copy under docs/
/// (unless `--no-docs`); the SVG's size in bytes.
fn figure(ctx: &Ctx, fig: &FigureData, pseudo: &MleResult, exact: &Exact) -> anyhow::Result<u64> {
    let out = &ctx.out;
    let (mut panels, hist_csv) = posterior_panels(fig, pseudo);
    let (data_panels, dm_csv) = data_panels(ctx, fig, exact)?;
    panels.extend(data_panels);
    let stem = out.dir().join("posterior");
    crnkit_experiments::save_grid(&stem, &panels, 2, (1800, 860))?;
    out.write("posterior_hist.csv", &hist_csv)?;
    out.write("data_vs_model.csv", &dm_csv)?;
    let svg = stem.with_extension("svg");
    let svg_bytes = std::fs::metadata(&svg)?.len();
    if !ctx.args.no_docs {
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
    Ok(svg_bytes)
}

/// The study's results, for `summary.json`.
struct Results {
    sim_secs: f64,
    designs: Vec<Value>,
    pseudo_fit: MleFit,
    pooled_cells: u64,
    pooled_fit: MleFit,
    crb: Vec<Value>,
    first_design: String,
    svg_bytes: u64,
}

/// `summary.json`.
fn summary_json(ctx: &Ctx, exact: &Exact, r: Results) -> Value {
    let args = &ctx.args;
    json!({
        "model": args.model.display().to_string(),
        "truth": NAMES
            .iter()
            .zip(TRUTH)
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>(),
        "times": TIMES,
        "initial": ctx.x0,
        "observed": ctx.species,
        "datasets": args.datasets,
        "ssa_seconds": r.sim_secs,
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
        "designs": r.designs,
        "pseudo_truth": {
            "method": "MLE on exact-CME data at the truth (round(p*(x) n) cells per state \
                       and time)",
            "cells_per_time": PSEUDO_CELLS,
            "std_error_note": "std errors are those of the pseudo data; multiply by \
                               sqrt(cells_per_time / n) for n cells per time",
            "fit": r.pseudo_fit.json,
        },
        "pooled_mle": {
            "cells": r.pooled_cells,
            "fit": r.pooled_fit.json,
        },
        "cramer_rao_std_errors": {
            "method": "expected Fisher information of one cell at each time at the truth, \
                       central differences of ln p (step 1e-2 relative); exact = FSP, \
                       surrogate = its own q",
            "designs": r.crb,
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
            "design": r.first_design,
            "dataset": 0,
            "svg_bytes": r.svg_bytes,
        },
    })
}

fn main() -> anyhow::Result<()> {
    let ctx = setup()?;

    // The exact CME at θ* (surrogate accuracy there).
    let exact = exact_at_truth(&ctx)?;
    for (k, &t) in TIMES.iter().enumerate() {
        eprintln!(
            "t = {t:>4}: Hellinger surrogate vs FSP at the truth: joint {:.4}, P marginal {:.4} \
             (FSP mass beyond the caps {:.1e})",
            exact.hellinger_joint[k], exact.hellinger_marginal[k], exact.outside[k]
        );
    }
    let (pseudo, pseudo_fit) = pseudo_truth(&ctx, &exact)?;
    let (info_exact, crb) = cramer_rao(&ctx)?;
    let (cells, sim_secs) = simulate_all(&ctx)?;

    let args = &ctx.args;
    let designs = [
        (format!("per_time_{}", args.cells), args.cells),
        (format!("per_time_{}", args.small_cells), args.small_cells),
    ];
    let mut tables = Tables::new();
    let mut design_json = Vec::new();
    let mut fig: Option<FigureData> = None;
    for (name, per_time) in &designs {
        let mut run = DesignRun {
            ctx: &ctx,
            pseudo: &pseudo,
            info_exact: &info_exact,
            name,
            per_time: *per_time,
            tables: &mut tables,
            t: Tally::default(),
        };
        for (d, c) in cells.iter().enumerate() {
            let f = run.dataset(d, c)?;
            if d == 0 && fig.is_none() {
                fig = Some(f);
            }
        }
        design_json.push(run.finish());
    }
    let (pooled_cells, pooled_fit) = pooled_mle(&ctx, &cells, &mut tables, &pseudo_fit)?;
    ctx.out.write("mle.csv", &tables.mle)?;
    ctx.out.write("mcmc.csv", &tables.mcmc)?;

    let fig = fig.context("no data set")?;
    let svg_bytes = figure(&ctx, &fig, &pseudo, &exact)?;
    let summary = summary_json(
        &ctx,
        &exact,
        Results {
            sim_secs,
            designs: design_json,
            pseudo_fit,
            pooled_cells,
            pooled_fit,
            crb,
            first_design: designs[0].0.clone(),
            svg_bytes,
        },
    );
    ctx.out.write(
        "summary.json",
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    ctx.out.finish(summary)
}
