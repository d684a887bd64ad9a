//! The trained neural surrogate of the autoregulated gene (`examples/models/
//! autoregulated_feedback.crn`, species Gb and P) against the exact FSP solution of its
//! chemical master equation.
//!
//! 1. **Marginals**: the P marginal at three parameter points (σu, σb, ρu, ρb) from
//!    x0 = (0, 0) at t = 1, 3 and 10, surrogate (dashed) against FSP (solid, tolerance
//!    1e-8), with the Hellinger distance between the two joints on the surrogate's box in
//!    each panel's title. Writes `marginals.{png,svg}` and `marginals.csv`.
//! 2. **Bimodality map**: the P marginal at t = 10 from x0 = (0, 0) with σb = 0.05, ρu = 2,
//!    on a grid (default 60 × 60, cell centres) of ρb ∈ [0, 100] × σu ∈ [0, 2], from the
//!    surrogate at every cell, and from FSP on a sub-grid (every 6th cell in each
//!    direction, starting at the 4th). The indicator is the number of modes (rule in
//!    [`modes`]): a marginal is bimodal when it has two or more. Sarle's bimodality
//!    coefficient (skewness² + 1) / kurtosis is mapped too (> 5/9 hints at bimodality).
//!    The figure marks the FSP verdict on the sub-grid (dots), the cells where FSP and the
//!    surrogate disagree on bimodal or not (crosses), and shows two example marginals.
//!    Writes `bimodality.{png,svg}`, `bimodality_map.csv` (every cell) and
//!    `bimodality_subgrid.csv` (surrogate and FSP side by side, with timings). With
//!    `--fsp-all` the FSP is solved on every cell as well (about 40 s): the agreement over
//!    the whole map, the crosses from every cell, and `bimodality_fsp_all.csv`.
//!
//! Timings are sequential (one query or solve after another) in one process; the FSP time
//! of the whole map is extrapolated from the sub-grid's mean time per cell. Everything is
//! summarised in `summary.json` (and `metadata.json`) under `<out>/surrogate_figures/`.
//!
//! `cargo run --release -p crnkit-experiments --bin surrogate_figures -- [--model DIR]
//! [--grid 60] [--every 6] [--fsp-all] [--out out]`
//!
//! The model folder (default `out/surrogates/autoregulated`) is made by
//! `cargo run --release -- distill examples/surrogates/autoregulated.toml`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use crnkit::Network;
use crnkit::cme::{FspOptions, solve_transient_with};
use crnkit::ssa::TimeGrid;
use crnkit::surrogate::{Surrogate, hellinger};
use crnkit_experiments::Options;
use crnkit_experiments::Study;
use crnkit_experiments::plot::{PALETTE, register_font};
use plotters::coord::Shift;
use plotters::prelude::*;

const STUDY: &str = "surrogate_figures";

/// Peaks at or below this probability are ignored.
const MIN_PEAK: f64 = 1e-3;
/// Two neighbouring peaks are separate modes only when the lowest probability between them
/// is below this fraction of the smaller peak.
const DIP: f64 = 0.8;
/// FSP tolerance (L1) of every reference solve.
const FSP_TOL: f64 = 1e-8;
/// The (σu, ρb) of the example marginals beside the map.
const EXAMPLES: [(f64, f64); 2] = [(0.3, 60.0), (1.5, 30.0)];

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: Options,
    /// Folder of the trained surrogate (card.json, model.safetensors).
    #[arg(long, default_value = "out/surrogates/autoregulated")]
    model: PathBuf,
    /// Cells per axis of the bimodality map.
    #[arg(long, default_value_t = 60)]
    grid: usize,
    /// FSP reference on every `every`-th cell of the map in each direction.
    #[arg(long, default_value_t = 6)]
    every: usize,
    /// Also solve the FSP on every cell of the map (about 10 ms a cell): agreement over the
    /// whole map and the real FSP time instead of the extrapolated one.
    #[arg(long)]
    fsp_all: bool,
}

/// The modes of a distribution p on 0, 1, 2, …: the local maxima with p > [`MIN_PEAK`]
/// (a plateau counts once), after merging neighbours: while two neighbouring maxima a, b
/// have min p[a..=b] ≥ [`DIP`] · min(p\[a\], p\[b\]) (no real dip between them), the lower of
/// the two is dropped. What remains are the modes, in increasing order.
fn modes(p: &[f64]) -> Vec<usize> {
    let n = p.len();
    let mut peaks: Vec<usize> = (0..n)
        .filter(|&k| {
            p[k] > MIN_PEAK && (k == 0 || p[k] >= p[k - 1]) && (k + 1 == n || p[k] > p[k + 1])
        })
        .collect();
    'merge: loop {
        for j in 1..peaks.len() {
            let (a, b) = (peaks[j - 1], peaks[j]);
            let dip = p[a..=b].iter().copied().fold(f64::INFINITY, f64::min);
            if dip >= DIP * p[a].min(p[b]) {
                peaks.remove(if p[a] < p[b] { j - 1 } else { j });
                continue 'merge;
            }
        }
        break;
    }
    peaks
}

/// Sarle's bimodality coefficient (γ² + 1) / κ of a distribution on 0, 1, 2, … (γ the
/// skewness, κ the kurtosis, both of the distribution itself); NaN for a point mass.
fn sarle(p: &[f64]) -> f64 {
    let z: f64 = p.iter().sum();
    let mean = p
        .iter()
        .enumerate()
        .map(|(n, &q)| n as f64 * q)
        .sum::<f64>()
        / z;
    let m = |k: i32| {
        p.iter()
            .enumerate()
            .map(|(n, &q)| (n as f64 - mean).powi(k) * q)
            .sum::<f64>()
            / z
    };
    let (m2, m3, m4) = (m(2), m(3), m(4));
    if m2 <= 1e-12 {
        return f64::NAN;
    }
    let skew = m3 / m2.powf(1.5);
    let kurt = m4 / (m2 * m2);
    (skew * skew + 1.0) / kurt
}

fn mean_of(p: &[f64]) -> f64 {
    let z: f64 = p.iter().sum();
    p.iter()
        .enumerate()
        .map(|(n, &q)| n as f64 * q)
        .sum::<f64>()
        / z
}

/// The FSP solution at one time: the joint on the surrogate's box (lexicographic order,
/// like [`Surrogate::joint_at`]), the full marginal of species `ip`, the mass beyond the
/// box and the certified L1 error.
struct FspSlice {
    joint_box: Vec<f64>,
    marginal: Vec<f64>,
    outside: f64,
    error_bound: f64,
}

/// Solve the CME of `net` with parameters `params` (box order, names `names`) from `x0` on
/// `times`; returns the slices and the seconds taken (network set-up, compile and solve).
fn fsp(
    net: &Network,
    names: &[String],
    params: &[f64],
    x0: &[u64],
    times: &[f64],
    caps: &[u32],
    ip: usize,
) -> anyhow::Result<(Vec<FspSlice>, f64)> {
    let start = Instant::now();
    let mut n = net.clone();
    for (name, &v) in names.iter().zip(params) {
        n.set_parameter(name, v)?;
    }
    for (i, &c) in x0.iter().enumerate() {
        n.set_initial(i, c)?;
    }
    let compiled = n.compile();
    let grid = TimeGrid::from_times(times.to_vec())?;
    let opts = FspOptions {
        tol: FSP_TOL,
        ..FspOptions::default()
    };
    let box_len: usize = caps.iter().map(|&c| c as usize + 1).product();
    let mut out = Vec::with_capacity(times.len());
    solve_transient_with(&compiled, &grid, &opts, |s| {
        let mut joint_box = vec![0.0; box_len];
        let mut marginal = Vec::new();
        let mut outside = 0.0;
        for (st, &p) in s.space.iter().zip(s.p) {
            let x = st[ip] as usize;
            if marginal.len() <= x {
                marginal.resize(x + 1, 0.0);
            }
            marginal[x] += p;
            if st.iter().zip(caps).all(|(&v, &c)| v <= c) {
                let k = st
                    .iter()
                    .zip(caps)
                    .fold(0usize, |a, (&v, &c)| a * (c as usize + 1) + v as usize);
                joint_box[k] += p;
            } else {
                outside += p;
            }
        }
        out.push(FspSlice {
            joint_box,
            marginal,
            outside,
            error_bound: s.error_bound,
        });
    })?;
    Ok((out, start.elapsed().as_secs_f64()))
}

fn fmt_params(p: &[f64]) -> String {
    format!("σu = {}, σb = {}, ρu = {}, ρb = {}", p[0], p[1], p[2], p[3])
}

/// A line of a marginal figure.
struct Curve {
    name: String,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// A panel of curves.
struct CurvePanel {
    title: String,
    x_label: String,
    curves: Vec<Curve>,
}

fn draw_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &CurvePanel,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    let x1 = p
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|q| q.0))
        .fold(1.0, f64::max);
    let y1 = p
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|q| q.1))
        .fold(1e-9, f64::max)
        * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc("probability")
        .max_light_lines(0)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for c in &p.curves {
        let color = c.color;
        let dashed = c.dashed;
        let style = color.stroke_width(2);
        let legend = move |(x, y): (i32, i32)| {
            let pts = if dashed {
                vec![(x, y), (x + 7, y), (x + 12, y), (x + 20, y)]
            } else {
                vec![(x, y), (x + 20, y)]
            };
            PathElement::new(pts, color.stroke_width(2))
        };
        if c.dashed {
            chart
                .draw_series(DashedLineSeries::new(
                    c.points.iter().copied(),
                    12,
                    6,
                    style,
                ))
                .map_err(err)?
                .label(&c.name)
                .legend(legend);
        } else {
            chart
                .draw_series(LineSeries::new(c.points.iter().copied(), style))
                .map_err(err)?
                .label(&c.name)
                .legend(legend);
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    Ok(())
}

impl crnkit_experiments::DrawPanel for CurvePanel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_curves(area, self)
    }
}

/// Colours of the mode counts 1, 2, ≥ 3 (0 never occurs: some entry exceeds 1e-3).
fn mode_color(m: usize) -> RGBColor {
    match m {
        0 | 1 => RGBColor(198, 219, 239),
        2 => RGBColor(214, 39, 40),
        _ => RGBColor(80, 20, 20),
    }
}

/// A viridis-like colour for v in [0, 1] (grey for NaN), quantised to [`LEVELS`] levels
/// so the SVG's runs of equal colour stay long.
const LEVELS: i32 = 12;

fn ramp(v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(200, 200, 200);
    }
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let l = LEVELS as f64;
    let v = ((v.clamp(0.0, 1.0) * l).floor().min(l - 1.0) + 0.5) / l;
    let x = v * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |u: f64, w: f64| (u + f * (w - u)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Everything the bimodality figure shows.
struct MapFigure {
    n: usize,
    /// Mode count per cell, index [i_sigma * n + i_rho].
    modes: Vec<usize>,
    /// Sarle's coefficient per cell (same order).
    bc: Vec<f64>,
    /// FSP sub-grid cells: (rho_b, sigma_u, FSP mode count).
    fsp: Vec<(f64, f64, usize)>,
    /// Cells where FSP and the surrogate disagree on bimodality (rho_b, sigma_u).
    differ: Vec<(f64, f64)>,
    /// The example points (rho_b, sigma_u, label).
    example_marks: Vec<(f64, f64, String)>,
    /// Example marginals (surrogate dashed, FSP solid).
    examples: CurvePanel,
    title_modes: String,
    title_bc: String,
}

/// The legend of the mode map, in its side strip.
fn draw_mode_legend<DB: DrawingBackend>(bar: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    // Legend in the side strip.
    let items: [(RGBColor, &str); 3] = [
        (mode_color(1), "1 mode"),
        (mode_color(2), "2 modes"),
        (mode_color(3), "3+ modes"),
    ];
    for (k, (c, label)) in items.iter().enumerate() {
        let y = 60 + 26 * k as i32;
        bar.draw(&Rectangle::new([(2, y), (18, y + 16)], c.filled()))
            .map_err(err)?;
        bar.draw(&Text::new(*label, (2, y + 18), ("sans-serif", 10)))
            .map_err(err)?;
    }
    let y = 150;
    bar.draw(&Circle::new((8, y), 3, BLACK.filled()))
        .map_err(err)?;
    bar.draw(&Text::new("FSP 2+", (2, y + 6), ("sans-serif", 10)))
        .map_err(err)?;
    bar.draw(&Circle::new((8, y + 26), 3, BLACK.stroke_width(1)))
        .map_err(err)?;
    bar.draw(&Text::new("FSP 1", (2, y + 32), ("sans-serif", 10)))
        .map_err(err)?;
    bar.draw(&Cross::new((8, y + 52), 5, PALETTE[2].stroke_width(2)))
        .map_err(err)?;
    bar.draw(&Text::new("FSP differs", (2, y + 58), ("sans-serif", 10)))
        .map_err(err)?;
    Ok(())
}

/// The colour bar of the bimodality coefficient, in its side strip.
fn draw_bc_bar<DB: DrawingBackend>(bar: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    // Colour bar for BC ∈ [0, 1].
    let (top, h) = (50, 300);
    for k in 0..LEVELS {
        let v = (k as f64 + 0.5) / LEVELS as f64;
        let y0 = top + h - (k + 1) * h / LEVELS;
        bar.draw(&Rectangle::new(
            [(4, y0), (22, y0 + h / LEVELS)],
            ramp(v).filled(),
        ))
        .map_err(err)?;
    }
    for (v, label) in [(0.0, "0"), (5.0 / 9.0, "5/9"), (1.0, "1")] {
        let y = top + h - (v * h as f64) as i32;
        bar.draw(&PathElement::new(vec![(22, y), (27, y)], BLACK))
            .map_err(err)?;
        bar.draw(&Text::new(label, (29, y - 6), ("sans-serif", 11)))
            .map_err(err)?;
    }
    Ok(())
}

/// The cells of map `which` (0: modes, 1: bimodality coefficient) as filled rectangles,
/// cells of size `dr` × `ds`.
fn color_runs(f: &MapFigure, which: usize, dr: f64, ds: f64) -> Vec<Rectangle<(f64, f64)>> {
    // Runs of equal colour along ρb, one rectangle each (keeps the SVG small).
    let color = |i: usize| {
        if which == 0 {
            mode_color(f.modes[i])
        } else {
            ramp(f.bc[i])
        }
    };
    let mut rects = Vec::new();
    for s in 0..f.n {
        let mut r = 0;
        while r < f.n {
            let c = color(s * f.n + r);
            let mut e = r + 1;
            while e < f.n && color(s * f.n + e) == c {
                e += 1;
            }
            rects.push(Rectangle::new(
                [
                    (r as f64 * dr, s as f64 * ds),
                    (e as f64 * dr, (s + 1) as f64 * ds),
                ],
                c.filled(),
            ));
            r = e;
        }
    }
    rects
}

fn draw_map<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, f: &MapFigure) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing failed: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((1, 3));
    let (dr, ds) = (100.0 / f.n as f64, 2.0 / f.n as f64);
    for (a, which) in areas.iter().take(2).zip([0, 1]) {
        let (plot, bar) = a.split_horizontally(a.dim_in_pixel().0 as i32 - 70);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                if which == 0 {
                    &f.title_modes
                } else {
                    &f.title_bc
                },
                ("sans-serif", 17),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..100.0, 0.0..2.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("ρb (bound expression rate)")
            .y_desc("σu (unbinding rate)")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let rects = color_runs(f, which, dr, ds);
        chart.draw_series(rects).map_err(err)?;
        if which == 0 {
            // FSP on the sub-grid: filled = FSP bimodal, hollow = FSP unimodal; a cross
            // marks disagreement with the surrogate.
            chart
                .draw_series(f.fsp.iter().map(|&(r, s, m)| {
                    let style = if m >= 2 {
                        BLACK.filled()
                    } else {
                        BLACK.stroke_width(1)
                    };
                    Circle::new((r, s), 3, style)
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    f.differ
                        .iter()
                        .map(|&(r, s)| Cross::new((r, s), 6, PALETTE[2].stroke_width(2))),
                )
                .map_err(err)?;
            for (r, s, label) in &f.example_marks {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (*r, *s),
                        7,
                        PALETTE[4].filled(),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        label.clone(),
                        (*r + 2.0, *s + 0.03),
                        ("sans-serif", 14),
                    )))
                    .map_err(err)?;
            }
            draw_mode_legend(&bar)?;
        } else {
            draw_bc_bar(&bar)?;
        }
    }
    draw_curves(&areas[2], &f.examples)?;
    root.present()
        .map_err(|e| anyhow::anyhow!("writing the figure failed: {e:?}"))?;
    Ok(())
}

fn save_map(stem: &Path, f: &MapFigure, size: (u32, u32)) -> anyhow::Result<()> {
    register_font();
    draw_map(
        BitMapBackend::new(&stem.with_extension("png"), size).into_drawing_area(),
        f,
    )?;
    draw_map(
        SVGBackend::new(&stem.with_extension("svg"), size).into_drawing_area(),
        f,
    )
}

/// What every part of the study shares.
struct Ctx {
    args: Args,
    out: Study,
    sur: Surrogate,
    net: Network,
    names: Vec<String>,
    /// Index of species P.
    ip: usize,
    caps: Vec<u32>,
    x0: Vec<u64>,
}

impl Ctx {
    /// [`fsp`] of the surrogate's network at `params` on `times`.
    fn fsp(&self, params: &[f64], times: &[f64]) -> anyhow::Result<(Vec<FspSlice>, f64)> {
        fsp(
            &self.net,
            &self.names,
            params,
            &self.x0,
            times,
            &self.caps,
            self.ip,
        )
    }
}

/// Check the arguments, open the output folder, load the surrogate and warm it up.
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
    if args.grid < 2 || args.every == 0 {
        bail!("--grid must be at least 2 and --every at least 1");
    }
    let out = Study::with_options(STUDY, args.common.clone())?;
    let sur = Surrogate::load(&args.model)
        .with_context(|| format!("loading the surrogate in {}", args.model.display()))?;
    let net = sur.network()?;
    let names = sur.card.prompt.params.names.clone();
    let expected = ["sigma_u", "sigma_b", "rho_u", "rho_b"];
    if names != expected {
        bail!(
            "{} is not the autoregulated-gene surrogate: parameters {names:?}, expected \
             {expected:?}",
            args.model.display()
        );
    }
    let ip = sur
        .card
        .species
        .iter()
        .position(|s| s == "P")
        .context("the surrogate has no species P")?;
    let caps = sur.card.prompt.caps.clone();
    let x0 = vec![0u64; caps.len()];
    // Warm-up query (first-call allocations are not part of the timings).
    sur.marginal_at(ip, &[1.0, 0.05, 2.0, 50.0], &x0, 10.0)?;
    Ok(Ctx {
        args,
        out,
        sur,
        net,
        names,
        ip,
        caps,
        x0,
    })
}

/// Times of the marginals figure.
const MARGINAL_TIMES: [f64; 3] = [1.0, 3.0, 10.0];

/// The marginals figure as it is filled: CSV, panels, JSON per panel and per point.
struct Marginals {
    csv: String,
    panels: Vec<CurvePanel>,
    panel_json: Vec<serde_json::Value>,
    point_json: Vec<serde_json::Value>,
}

impl Marginals {
    /// Point `k` (parameters `params`) at every time of [`MARGINAL_TIMES`].
    fn point(&mut self, ctx: &Ctx, k: usize, params: &[f64; 4]) -> anyhow::Result<()> {
        let times = MARGINAL_TIMES;
        for t in times {
            let o = ctx.sur.outside(params, &ctx.x0, t)?;
            if !o.is_empty() {
                bail!("query outside the trained domain: {}", o.join("; "));
            }
        }
        let (slices, fsp_secs) = ctx.fsp(params, &times)?;
        let mut sur_secs_point = 0.0;
        for (slice, &t) in slices.iter().zip(&times) {
            sur_secs_point += self.slice(ctx, k, params, slice, t)?;
        }
        println!(
            "point {k}: FSP {:.2} ms for the 3 times, surrogate {:.2} ms (joint + marginal at 3 times)",
            fsp_secs * 1e3,
            sur_secs_point * 1e3
        );
        self.point_json.push(serde_json::json!({
            "point": k,
            "params": params,
            "fsp_seconds": fsp_secs,
            "surrogate_seconds": sur_secs_point,
        }));
        Ok(())
    }

    /// Point `k` at time `t` against the FSP `slice`; the seconds the surrogate took.
    fn slice(
        &mut self,
        ctx: &Ctx,
        k: usize,
        params: &[f64; 4],
        slice: &FspSlice,
        t: f64,
    ) -> anyhow::Result<f64> {
        let (sur, ip, x0) = (&ctx.sur, ctx.ip, &ctx.x0);
        let start = Instant::now();
        let (_, joint) = sur.joint_at(params, x0, t)?;
        let marg = sur.marginal_at(ip, params, x0, t)?;
        let sur_secs = start.elapsed().as_secs_f64();
        let h_joint = hellinger(&slice.joint_box, &joint);
        let len = marg.len().max(slice.marginal.len());
        let pad = |v: &[f64]| {
            let mut w = v.to_vec();
            w.resize(len, 0.0);
            w
        };
        let (pf, ps) = (pad(&slice.marginal), pad(&marg));
        let h_marg = hellinger(&pf, &ps);
        for n in 0..len {
            self.csv += &format!(
                "{k},{},{},{},{},{t},{n},{:e},{:e}\n",
                params[0], params[1], params[2], params[3], pf[n], ps[n]
            );
        }
        // Plot up to where both have (almost) no mass left.
        let last = (0..len)
            .rev()
            .find(|&n| pf[n].max(ps[n]) > 1e-5)
            .unwrap_or(len - 1)
            .max(10)
            .min(len - 1);
        self.panels.push(CurvePanel {
            title: format!("{}; t = {t}: H = {h_joint:.3}", fmt_params(params)),
            x_label: "P (molecules)".into(),
            curves: vec![
                Curve {
                    name: "FSP".into(),
                    color: PALETTE[0],
                    dashed: false,
                    points: (0..=last).map(|n| (n as f64, pf[n])).collect(),
                },
                Curve {
                    name: "surrogate".into(),
                    color: PALETTE[1],
                    dashed: true,
                    points: (0..=last).map(|n| (n as f64, ps[n])).collect(),
                },
            ],
        });
        println!(
            "point {k} ({}) t = {t:>4}: Hellinger joint {h_joint:.4}, P marginal {h_marg:.4}, \
             surrogate {:.2} ms",
            fmt_params(params),
            sur_secs * 1e3
        );
        self.panel_json.push(serde_json::json!({
            "point": k,
            "params": params,
            "t": t,
            "hellinger_joint": h_joint,
            "hellinger_marginal_P": h_marg,
            "mean_P_fsp": mean_of(&pf),
            "mean_P_surrogate": mean_of(&ps),
            "fsp_mass_beyond_box": slice.outside,
            "fsp_error_bound": slice.error_bound,
            "surrogate_seconds": sur_secs,
        }));
        Ok(sur_secs)
    }
}

/// Part 1, marginals across time and parameters: `marginals.csv` and the figure; the JSON
/// of the panels and of the points.
fn marginals(ctx: &Ctx) -> anyhow::Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let points: [[f64; 4]; 3] = [
        [0.5, 0.02, 4.0, 40.0],
        [1.5, 0.08, 8.0, 90.0],
        [0.2, 0.05, 1.0, 20.0],
    ];
    let mut m = Marginals {
        csv: String::from("point,sigma_u,sigma_b,rho_u,rho_b,t,P,fsp,surrogate\n"),
        panels: Vec::new(),
        panel_json: Vec::new(),
        point_json: Vec::new(),
    };
    for (k, params) in points.iter().enumerate() {
        m.point(ctx, k, params)?;
    }
    ctx.out.write("marginals.csv", m.csv)?;
    crnkit_experiments::save_grid(&ctx.out.dir().join("marginals"), &m.panels, 3, (1500, 1050))?;
    Ok((m.panel_json, m.point_json))
}

/// The bimodality map: the surrogate's P marginal on an n × n grid of (σu, ρb).
struct Map {
    n: usize,
    sigma_b: f64,
    rho_u: f64,
    t_map: f64,
    rho_b: Vec<f64>,
    sigma_u: Vec<f64>,
    /// P marginal per cell, index [i_sigma * n + i_rho].
    marg: Vec<Vec<f64>>,
    modes: Vec<usize>,
    bc: Vec<f64>,
    query_secs: f64,
    total_secs: f64,
}

impl Map {
    /// The parameters of cell (σu index, ρb index).
    fn params_at(&self, is: usize, ir: usize) -> [f64; 4] {
        [self.sigma_u[is], self.sigma_b, self.rho_u, self.rho_b[ir]]
    }
}

/// Part 2, the bimodality map by the surrogate, and `bimodality_map.csv`.
fn bimodality_map(ctx: &Ctx) -> anyhow::Result<Map> {
    let n = ctx.args.grid;
    let mut map = Map {
        n,
        sigma_b: 0.05,
        rho_u: 2.0,
        t_map: 10.0,
        rho_b: (0..n)
            .map(|i| (i as f64 + 0.5) * 100.0 / n as f64)
            .collect(),
        sigma_u: (0..n).map(|i| (i as f64 + 0.5) * 2.0 / n as f64).collect(),
        marg: Vec::with_capacity(n * n),
        modes: Vec::new(),
        bc: Vec::new(),
        query_secs: 0.0,
        total_secs: 0.0,
    };
    let start = Instant::now();
    for is in 0..n {
        for ir in 0..n {
            let p = ctx
                .sur
                .marginal_at(ctx.ip, &map.params_at(is, ir), &ctx.x0, map.t_map)?;
            map.marg.push(p);
        }
    }
    map.query_secs = start.elapsed().as_secs_f64();
    map.modes = map.marg.iter().map(|p| modes(p).len()).collect();
    map.bc = map.marg.iter().map(|p| sarle(p)).collect();
    map.total_secs = start.elapsed().as_secs_f64();
    let mut map_csv =
        String::from("sigma_u,rho_b,modes,mode_positions,bimodality_coefficient,mean_P\n");
    for (is, su) in map.sigma_u.iter().enumerate() {
        for (ir, rb) in map.rho_b.iter().enumerate() {
            let i = is * n + ir;
            let pos: Vec<String> = modes(&map.marg[i]).iter().map(|m| m.to_string()).collect();
            map_csv += &format!(
                "{su},{rb},{},{},{},{}\n",
                map.modes[i],
                pos.join(" "),
                map.bc[i],
                mean_of(&map.marg[i])
            );
        }
    }
    ctx.out.write("bimodality_map.csv", map_csv)?;
    Ok(map)
}

/// The FSP reference on every `every`-th cell of the map.
struct SubGrid {
    sub: Vec<usize>,
    fsp_secs: f64,
    sur_secs: f64,
    agree_bi: usize,
    agree_count: usize,
    /// (ρb, σu, FSP mode count, agreement on bimodality).
    fsp_marks: Vec<(f64, f64, usize, bool)>,
    h_sub: Vec<f64>,
}

/// The FSP on the sub-grid, and `bimodality_subgrid.csv`.
fn subgrid(ctx: &Ctx, map: &Map) -> anyhow::Result<SubGrid> {
    let (n, every) = (map.n, ctx.args.every);
    let mut g = SubGrid {
        sub: (0..n).filter(|i| i % every == every / 2).collect(),
        fsp_secs: 0.0,
        sur_secs: 0.0,
        agree_bi: 0,
        agree_count: 0,
        fsp_marks: Vec::new(),
        h_sub: Vec::new(),
    };
    let mut sub_csv = String::from(
        "sigma_u,rho_b,modes_surrogate,modes_fsp,bc_surrogate,bc_fsp,hellinger_marginal_P,\
         fsp_seconds,surrogate_seconds\n",
    );
    for &is in &g.sub {
        for &ir in &g.sub {
            let params = map.params_at(is, ir);
            let (slices, secs) = ctx.fsp(&params, &[map.t_map])?;
            let t0 = Instant::now();
            let ps = ctx.sur.marginal_at(ctx.ip, &params, &ctx.x0, map.t_map)?;
            let sur_secs = t0.elapsed().as_secs_f64();
            g.fsp_secs += secs;
            g.sur_secs += sur_secs;
            let pf = &slices[0].marginal;
            let len = pf.len().max(ps.len());
            let (mut a, mut b) = (pf.clone(), ps.clone());
            a.resize(len, 0.0);
            b.resize(len, 0.0);
            let h = hellinger(&a, &b);
            g.h_sub.push(h);
            let (mf, ms) = (modes(pf).len(), map.modes[is * n + ir]);
            let agree = (mf >= 2) == (ms >= 2);
            g.agree_bi += usize::from(agree);
            g.agree_count += usize::from(mf == ms);
            g.fsp_marks
                .push((map.rho_b[ir], map.sigma_u[is], mf, agree));
            sub_csv += &format!(
                "{},{},{ms},{mf},{},{},{h},{secs},{sur_secs}\n",
                map.sigma_u[is],
                map.rho_b[ir],
                map.bc[is * n + ir],
                sarle(pf)
            );
        }
    }
    ctx.out.write("bimodality_subgrid.csv", sub_csv)?;
    Ok(g)
}

/// FSP on every cell: the agreement over the whole map and the real time (JSON), and
/// `bimodality_fsp_all.csv`; `differ` becomes the cells where FSP and the surrogate
/// disagree on bimodality.
fn fsp_all(
    ctx: &Ctx,
    map: &Map,
    differ: &mut Vec<(f64, f64)>,
) -> anyhow::Result<serde_json::Value> {
    let n = map.n;
    let mut csv =
        String::from("sigma_u,rho_b,modes_surrogate,modes_fsp,hellinger_marginal_P,fsp_seconds\n");
    let (mut secs_all, mut bi, mut count) = (0.0, 0usize, 0usize);
    let mut hs = Vec::with_capacity(n * n);
    differ.clear();
    for (is, &su) in map.sigma_u.iter().enumerate() {
        for (ir, &rb) in map.rho_b.iter().enumerate() {
            let i = is * n + ir;
            let (slices, secs) = ctx.fsp(&map.params_at(is, ir), &[map.t_map])?;
            secs_all += secs;
            let pf = &slices[0].marginal;
            let mf = modes(pf).len();
            let ms = map.modes[i];
            let len = pf.len().max(map.marg[i].len());
            let (mut a, mut b) = (pf.clone(), map.marg[i].clone());
            a.resize(len, 0.0);
            b.resize(len, 0.0);
            let h = hellinger(&a, &b);
            hs.push(h);
            if (mf >= 2) == (ms >= 2) {
                bi += 1;
            } else {
                differ.push((rb, su));
            }
            count += usize::from(mf == ms);
            csv += &format!("{su},{rb},{ms},{mf},{h},{secs}\n");
        }
    }
    ctx.out.write("bimodality_fsp_all.csv", csv)?;
    hs.sort_by(f64::total_cmp);
    let cells = (n * n) as f64;
    println!(
        "FSP on all {n}×{n} cells: {secs_all:.1} s; agreement bimodal yes/no {bi}/{} \
         ({:.1}%), mode count {count}/{} ({:.1}%); Hellinger of the P marginal median \
         {:.4}, p90 {:.4}, max {:.4}",
        n * n,
        bi as f64 / cells * 100.0,
        n * n,
        count as f64 / cells * 100.0,
        crnkit::surrogate::quantile(&hs, 0.5),
        crnkit::surrogate::quantile(&hs, 0.9),
        hs.last().copied().unwrap_or(f64::NAN)
    );
    Ok(serde_json::json!({
        "cells": n * n,
        "fsp_seconds": secs_all,
        "agreement_bimodal": bi as f64 / cells,
        "agreement_mode_count": count as f64 / cells,
        "hellinger_marginal_P_median": crnkit::surrogate::quantile(&hs, 0.5),
        "hellinger_marginal_P_p90": crnkit::surrogate::quantile(&hs, 0.9),
        "hellinger_marginal_P_max": hs.last().copied(),
    }))
}

/// The example marginals of the third panel: curves, marks on the map, JSON.
type Examples = (Vec<Curve>, Vec<(f64, f64, String)>, Vec<serde_json::Value>);

/// The example marginals ([`EXAMPLES`]) by FSP and by the surrogate.
fn examples(ctx: &Ctx, map: &Map) -> anyhow::Result<Examples> {
    let mut curves = Vec::new();
    let mut example_marks = Vec::new();
    let mut example_json = Vec::new();
    for (k, &(su, rb)) in EXAMPLES.iter().enumerate() {
        let params = [su, map.sigma_b, map.rho_u, rb];
        let (slices, _) = ctx.fsp(&params, &[map.t_map])?;
        let ps = ctx.sur.marginal_at(ctx.ip, &params, &ctx.x0, map.t_map)?;
        let pf = &slices[0].marginal;
        let tag = ["A", "B", "C"][k % 3];
        let (mf, ms) = (modes(pf).len(), modes(&ps).len());
        let label = format!("{tag}: σu = {su}, ρb = {rb}");
        let len = pf.len().max(ps.len());
        let (mut a, mut b) = (pf.clone(), ps.clone());
        a.resize(len, 0.0);
        b.resize(len, 0.0);
        example_json.push(serde_json::json!({
            "sigma_u": su, "rho_b": rb, "modes_fsp": mf, "modes_surrogate": ms,
            "hellinger_marginal_P": hellinger(&a, &b),
        }));
        let last = (0..len)
            .rev()
            .find(|&n| a[n].max(b[n]) > 1e-5)
            .unwrap_or(len - 1);
        curves.push(Curve {
            name: format!("FSP, {label} ({mf} mode{})", if mf == 1 { "" } else { "s" }),
            color: PALETTE[2 * k % PALETTE.len()],
            dashed: false,
            points: (0..=last).map(|n| (n as f64, a[n])).collect(),
        });
        curves.push(Curve {
            name: format!(
                "surrogate, {tag} ({ms} mode{})",
                if ms == 1 { "" } else { "s" }
            ),
            color: PALETTE[(2 * k + 1) % PALETTE.len()],
            dashed: true,
            points: (0..=last).map(|n| (n as f64, b[n])).collect(),
        });
        example_marks.push((rb, su, tag.to_string()));
    }
    Ok((curves, example_marks, example_json))
}

/// The sub-grid's summary numbers.
struct SubStats {
    cells_sub: usize,
    fsp_per_cell: f64,
    fsp_map_secs: f64,
    frac_bi: f64,
    frac_count: f64,
    bimodal_cells: usize,
    h_median: f64,
    h_max: f64,
}

impl SubStats {
    fn new(map: &Map, g: &SubGrid) -> SubStats {
        let n = map.n;
        let cells_sub = g.sub.len() * g.sub.len();
        let fsp_per_cell = g.fsp_secs / cells_sub as f64;
        let mut hs = g.h_sub.clone();
        hs.sort_by(f64::total_cmp);
        SubStats {
            cells_sub,
            fsp_per_cell,
            fsp_map_secs: fsp_per_cell * (n * n) as f64,
            frac_bi: g.agree_bi as f64 / cells_sub as f64,
            frac_count: g.agree_count as f64 / cells_sub as f64,
            bimodal_cells: map.modes.iter().filter(|&&m| m >= 2).count(),
            h_median: crnkit::surrogate::quantile(&hs, 0.5),
            h_max: hs.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Print the map's timings and the agreement on the sub-grid.
fn report_map(map: &Map, g: &SubGrid, st: &SubStats) {
    let (n, sigma_b, rho_u, t_map) = (map.n, map.sigma_b, map.rho_u, map.t_map);
    let (map_total_secs, map_query_secs) = (map.total_secs, map.query_secs);
    let (bimodal_cells, fsp_secs_sub, fsp_map_secs) =
        (st.bimodal_cells, g.fsp_secs, st.fsp_map_secs);
    let sur_secs_sub = g.sur_secs;
    let (agree_bi, agree_count, cells_sub) = (g.agree_bi, g.agree_count, st.cells_sub);
    let (h_median, h_max) = (st.h_median, st.h_max);
    println!(
        "bimodality map {n}×{n} (σb = {sigma_b}, ρu = {rho_u}, t = {t_map}): surrogate {map_total_secs:.2} s \
         ({:.2} ms per cell, {map_query_secs:.2} s in queries); {bimodal_cells} cells bimodal",
        map_total_secs / (n * n) as f64 * 1e3
    );
    println!(
        "FSP on the {}×{} sub-grid: {fsp_secs_sub:.2} s ({:.2} ms per cell) → {fsp_map_secs:.1} s \
         for the whole map (extrapolated); surrogate on the same cells {sur_secs_sub:.3} s",
        g.sub.len(),
        g.sub.len(),
        st.fsp_per_cell * 1e3
    );
    println!(
        "agreement on the sub-grid: bimodal yes/no {agree_bi}/{cells_sub} ({:.0}%), mode count \
         {agree_count}/{cells_sub} ({:.0}%); Hellinger of the P marginal median {h_median:.4}, \
         max {h_max:.4}",
        st.frac_bi * 100.0,
        st.frac_count * 100.0
    );
}

/// The "bimodality" part of `summary.json`.
fn bimodality_json(
    ctx: &Ctx,
    map: &Map,
    g: &SubGrid,
    full_json: serde_json::Value,
    example_json: Vec<serde_json::Value>,
) -> serde_json::Value {
    let st = SubStats::new(map, g);
    let n = map.n;
    serde_json::json!({
        "grid": n,
        "rho_b": [0.0, 100.0],
        "sigma_u": [0.0, 2.0],
        "sigma_b": map.sigma_b,
        "rho_u": map.rho_u,
        "t": map.t_map,
        "x0": ctx.x0,
        "rule": format!(
            "modes = local maxima of the P marginal with p > {MIN_PEAK}, neighbouring \
             maxima merged (the lower dropped) unless the minimum between them is below \
             {DIP} × the smaller; bimodal = at least 2 modes"
        ),
        "bimodal_cells": st.bimodal_cells,
        "surrogate_seconds": map.total_secs,
        "surrogate_query_seconds": map.query_secs,
        "surrogate_ms_per_cell": map.total_secs / (n * n) as f64 * 1e3,
        "subgrid": {
            "every": ctx.args.every,
            "cells": st.cells_sub,
            "fsp_seconds": g.fsp_secs,
            "fsp_ms_per_cell": st.fsp_per_cell * 1e3,
            "surrogate_seconds": g.sur_secs,
            "agreement_bimodal": st.frac_bi,
            "agreement_mode_count": st.frac_count,
            "hellinger_marginal_P_median": st.h_median,
            "hellinger_marginal_P_max": st.h_max,
        },
        "fsp_seconds_extrapolated": st.fsp_map_secs,
        "fsp_all": full_json,
        "examples": example_json,
        "speedup": st.fsp_map_secs / map.total_secs,
        "figure": ["bimodality.png", "bimodality.svg"],
    })
}

fn main() -> anyhow::Result<()> {
    let ctx = setup()?;
    let (panel_json, point_json) = marginals(&ctx)?;

    let map = bimodality_map(&ctx)?;
    let g = subgrid(&ctx, &map)?;
    // FSP on every cell (optional): the agreement over the whole map, and the real time.
    let mut differ: Vec<(f64, f64)> = g
        .fsp_marks
        .iter()
        .filter(|q| !q.3)
        .map(|q| (q.0, q.1))
        .collect();
    let full_json = if ctx.args.fsp_all {
        fsp_all(&ctx, &map, &mut differ)?
    } else {
        serde_json::Value::Null
    };
    let (curves, example_marks, example_json) = examples(&ctx, &map)?;
    let (n, t_map) = (map.n, map.t_map);
    let fig = MapFigure {
        n,
        modes: map.modes.clone(),
        bc: map.bc.clone(),
        fsp: g.fsp_marks.iter().map(|q| (q.0, q.1, q.2)).collect(),
        differ,
        example_marks,
        examples: CurvePanel {
            title: format!(
                "P marginal at t = {t_map} (σb = {}, ρu = {})",
                map.sigma_b, map.rho_u
            ),
            x_label: "P (molecules)".into(),
            curves,
        },
        title_modes: format!(
            "modes of P at t = {t_map}: surrogate, {n}×{n} in {:.1} s",
            map.total_secs
        ),
        title_bc: "Sarle's bimodality coefficient (surrogate)".into(),
    };
    save_map(&ctx.out.dir().join("bimodality"), &fig, (1650, 520))?;
    report_map(&map, &g, &SubStats::new(&map, &g));

    let sur = &ctx.sur;
    let summary = serde_json::json!({
        "model": ctx.args.model.display().to_string(),
        "card_metrics": {
            "hellinger_median": sur.card.metrics.hellinger_median,
            "hellinger_max": sur.card.metrics.hellinger_max,
            "val_kl": sur.card.metrics.val_kl,
        },
        "fsp_tol": FSP_TOL,
        "marginals": {
            "x0": ctx.x0,
            "times": MARGINAL_TIMES,
            "panels": panel_json,
            "points": point_json,
            "figure": ["marginals.png", "marginals.svg"],
        },
        "bimodality": bimodality_json(&ctx, &map, &g, full_json, example_json),
        "timing_note": "sequential, one process; wall-clock seconds on the machine that ran it",
    });
    ctx.out.write(
        "summary.json",
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    ctx.out.finish(summary)
}
