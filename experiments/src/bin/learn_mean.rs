//! Study (i) of Poole, Ouldridge & Gopalkrishnan: ∅ ⇌ S with G_S = −3 (free mean e³ ≈ 20)
//! learns a target mean of 100 (clamped copies held at Poisson(100)).
//!
//! For every δ⁻¹ ∈ {2, 8, 32, 128, 512, 2048} (ε = 1):
//! * the large-ensemble limit (exact moments) is integrated to its fixed point and its
//!   relative error (⟨s⟩ − ⟨q⟩)/⟨q⟩ compared with the steady-state formula
//!   δ(\[P\]² − 1)/(\[P\](ε − δ\[P\])) at the reached \[P\];
//! * the learning network is simulated exactly (SSA, N = 50 copies, ω = 100) and the
//!   time-averaged error after convergence compared with the formula at the averaged
//!   \[P\], with a batch-means standard error.
//!
//! Then the spread of the finite-N learner around the limit: sd over time of ln\[P\] for
//! N ∈ {10, 40, 160} (δ⁻¹ = 32), which should shrink like 1/√N.
//!
//! Writes `<out>/learn_mean/{sweep.csv, spread.csv, curves.csv, learn_mean.{png,svg}}`.

use std::fmt::Write as _;

use crnkit::ThermodynamicBuilder;
use crnkit::learn::chemical::{LearningCurve, RunConfig};
use crnkit::learn::limit::LimitMode;
use crnkit::learn::{Environment, GenerativeModel, Learner, LearnerConfig};
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Line, PALETTE, Panel, save};

const EPS: f64 = 1.0;
const TARGET: f64 = 100.0;

fn learner(delta: f64, copies: usize) -> anyhow::Result<Learner> {
    let net = ThermodynamicBuilder::new()
        .species("S", -3.0, 20)
        .reaction(&[], &[("S", 1)], -3.0)
        .build()?;
    let model = GenerativeModel::with_cap(&net, &["S"], Some(400), 10_000)?;
    let cfg = LearnerConfig {
        epsilon: EPS,
        delta,
        copies,
        p_volume: 100.0,
        clamp_rate: 1.0,
        ..LearnerConfig::default()
    };
    Ok(Learner::new(
        &model,
        Environment::Poisson(vec![TARGET]),
        &cfg,
    )?)
}

fn run(until: f64, every: f64, seed: u64) -> RunConfig {
    RunConfig::new(until, every, seed)
}

fn theory(delta: f64, p: f64) -> f64 {
    delta * (p * p - 1.0) / (p * (EPS - delta * p))
}

/// Mean and batch-means standard error (10 batches) of `xs`.
fn batch_mean(xs: &[f64]) -> (f64, f64) {
    let b = 10;
    let size = xs.len() / b;
    let means: Vec<f64> = xs
        .chunks(size)
        .take(b)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let m = means.iter().sum::<f64>() / b as f64;
    let v = means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (b - 1) as f64;
    (m, (v / b as f64).sqrt())
}

/// Time after which the learners are taken to have converged.
const BURN: f64 = 20.0;
/// Length of the SSA runs of the sweep.
const UNTIL: f64 = 120.0;

/// The sweep over δ: CSVs, figure points and JSON.
struct Sweep {
    csv: String,
    curves: String,
    pts_theory: Vec<(f64, f64)>,
    pts_limit: Vec<(f64, f64)>,
    pts_ssa: Vec<(f64, f64)>,
    curve_lines: Vec<Line>,
    results: Vec<serde_json::Value>,
}

/// Point `k` of the sweep, 1/δ = `dinv`: the large-ensemble limit and the SSA.
fn sweep_point(study: &Study, k: usize, dinv: f64, s: &mut Sweep) -> anyhow::Result<()> {
    let delta = 1.0 / dinv;
    let l = learner(delta, 50)?;
    let lim = l.run_limit(&run(200.0, 1.0, 1), LimitMode::Auto, 10_000)?;
    let last = lim
        .points
        .last()
        .ok_or_else(|| anyhow::anyhow!("empty curve"))?;
    let (lp, lerr) = (last.p[0], last.free[0] / last.clamped[0] - 1.0);
    let lth = theory(delta, lp);
    let ts = std::time::Instant::now();
    let ssa: LearningCurve = l.run_ssa(&run(UNTIL, 0.1, study.seed() + k as u64))?;
    let secs = ts.elapsed().as_secs_f64();
    let after: Vec<_> = ssa.points.iter().filter(|p| p.time > BURN).collect();
    // Error of the time-averaged means, its batch standard error (delta method).
    let (ms, ses) = batch_mean(&after.iter().map(|p| p.free[0]).collect::<Vec<_>>());
    let (mq, seq) = batch_mean(&after.iter().map(|p| p.clamped[0]).collect::<Vec<_>>());
    let (mp, _) = batch_mean(&after.iter().map(|p| p.p[0]).collect::<Vec<_>>());
    let err = ms / mq - 1.0;
    let se = (ms / mq) * ((ses / ms).powi(2) + (seq / mq).powi(2)).sqrt();
    let th = theory(delta, mp);
    let z = (err - th) / se;
    eprintln!(
        "1/δ = {dinv}: limit [P] {lp:.6} error {lerr:.6} (theory {lth:.6}); SSA [P] {mp:.4} error {err:.4} ± {se:.4} (theory {th:.4}, z = {z:.2}), {secs:.1} s"
    );
    let _ = writeln!(
        s.csv,
        "{dinv},{lp},{lerr},{lth},{mp},{err},{se},{th},{z},{secs}"
    );
    for (name, c) in [("limit", &lim), ("ssa", &ssa)] {
        for p in c.points.iter().step_by(if name == "ssa" { 10 } else { 1 }) {
            let _ = writeln!(
                s.curves,
                "{dinv},{name},{},{},{}",
                p.time, p.p[0], p.free[0]
            );
        }
    }
    s.pts_theory.push((dinv.log2(), lth.abs().log10()));
    s.pts_limit.push((dinv.log2(), lerr.abs().log10()));
    if err.abs() > 2.0 * se {
        s.pts_ssa.push((dinv.log2(), err.abs().log10()));
    }
    if [2.0, 32.0, 2048.0].contains(&dinv) {
        s.curve_lines.push(Line {
            name: format!("SSA 1/δ = {dinv}"),
            color: PALETTE[s.curve_lines.len() % PALETTE.len()],
            points: ssa
                .points
                .iter()
                .filter(|p| p.time <= 40.0)
                .map(|p| (p.time, p.free[0]))
                .collect(),
        });
        s.curve_lines.push(Line {
            name: format!("limit 1/δ = {dinv}"),
            color: PALETTE[s.curve_lines.len() % PALETTE.len()],
            points: lim
                .points
                .iter()
                .filter(|p| p.time <= 40.0)
                .map(|p| (p.time, p.free[0]))
                .collect(),
        });
    }
    s.results.push(serde_json::json!({
        "delta_inverse": dinv, "limit_error": lerr, "limit_theory": lth,
        "ssa_error": err, "ssa_se": se, "ssa_theory": th, "ssa_z": z,
        "limit_vs_theory_relative": (lerr / lth - 1.0).abs(),
    }));
    Ok(())
}

/// Figure points and JSON of the spread.
type Spread = (Vec<(f64, f64)>, Vec<serde_json::Value>);

/// The spread of the finite-N learner around the limit: the figure points (log10 N,
/// log10 sd) and JSON; writes `spread.csv`.
fn spread(study: &Study) -> anyhow::Result<Spread> {
    // Spread around the limit vs N.
    let mut spread = String::from(
        "copies,sd_lnP,mean_lnP,limit_lnP,learning_entropy_rate,limit_learning_entropy_rate\n",
    );
    let l = learner(1.0 / 32.0, 10)?;
    let lim = l.run_limit(&run(200.0, 1.0, 1), LimitMode::Auto, 10_000)?;
    let lim_ln = lim.points.last().map_or(f64::NAN, |p| p.p[0].ln());
    // Entropy produced by the learning reactions per copy and unit time at steady state.
    let rate = |c: &LearningCurve, from: f64| -> f64 {
        let a = c.points.iter().find(|p| p.time >= from);
        let b = c.points.last();
        match (a, b) {
            (Some(a), Some(b)) => (b.sigma.learning - a.sigma.learning) / (b.time - a.time),
            _ => f64::NAN,
        }
    };
    let lim_rate = rate(&lim, 150.0);
    let mut pts_spread = Vec::new();
    let mut spread_json = Vec::new();
    for (k, n) in [10usize, 40, 160].into_iter().enumerate() {
        let l = learner(1.0 / 32.0, n)?;
        let c = l.run_ssa(&run(60.0, 0.05, study.seed() + 100 + k as u64))?;
        let xs: Vec<f64> = c
            .points
            .iter()
            .filter(|p| p.time > BURN)
            .map(|p| p.p[0].ln())
            .collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt();
        let r = rate(&c, BURN);
        eprintln!(
            "N = {n}: sd ln[P] = {sd:.5}, mean {m:.5} (limit {lim_ln:.5}); learning entropy {r:.1} per copy per unit time (limit {lim_rate:.1})"
        );
        let _ = writeln!(spread, "{n},{sd},{m},{lim_ln},{r},{lim_rate}");
        pts_spread.push(((n as f64).log10(), sd.log10()));
        spread_json.push(serde_json::json!({"copies": n, "sd_lnP": sd, "mean_lnP": m, "learning_entropy_rate": r, "limit_rate": lim_rate}));
    }
    study.write("spread.csv", &spread)?;
    Ok((pts_spread, spread_json))
}

/// The figure: learning curves, error against 1/δ, spread against N.
fn plot(study: &Study, s: Sweep, pts_spread: &[(f64, f64)]) -> anyhow::Result<()> {
    let x0 = pts_spread[0];
    save(
        &study.dir().join("learn_mean"),
        &[
            Panel {
                title: "free mean while learning (target 100)".into(),
                x_label: "time".into(),
                y_label: "mean count per free copy".into(),
                lines: s.curve_lines,
                bands: vec![],
            },
            Panel {
                title: "steady-state error vs 1/δ".into(),
                x_label: "log2(1/δ)".into(),
                y_label: "log10 |relative error|".into(),
                lines: vec![
                    Line {
                        name: "theory δ(1−P²)/(P(ε−δP))".into(),
                        color: PALETTE[0],
                        points: s.pts_theory,
                    },
                    Line {
                        name: "large-ensemble limit".into(),
                        color: PALETTE[1],
                        points: s.pts_limit,
                    },
                    Line {
                        name: "SSA, N = 50".into(),
                        color: PALETTE[2],
                        points: s.pts_ssa,
                    },
                ],
                bands: vec![],
            },
            Panel {
                title: "spread of ln[P] around the limit".into(),
                x_label: "log10 N".into(),
                y_label: "log10 sd(ln[P])".into(),
                lines: vec![
                    Line {
                        name: "SSA".into(),
                        color: PALETTE[1],
                        points: pts_spread.to_vec(),
                    },
                    Line {
                        name: "slope −1/2".into(),
                        color: PALETTE[0],
                        points: pts_spread
                            .iter()
                            .map(|&(x, _)| (x, x0.1 - 0.5 * (x - x0.0)))
                            .collect(),
                    },
                ],
                bands: vec![],
            },
        ],
        (1500, 450),
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let study = Study::start("learn_mean")?;
    let t0 = std::time::Instant::now();
    let mut s = Sweep {
        csv: String::from(
            "delta_inverse,limit_p,limit_error,limit_theory,ssa_p,ssa_error,ssa_error_se,ssa_theory,ssa_z,ssa_events_s\n",
        ),
        curves: String::from("delta_inverse,method,time,P,free_mean\n"),
        pts_theory: Vec::new(),
        pts_limit: Vec::new(),
        pts_ssa: Vec::new(),
        curve_lines: Vec::new(),
        results: Vec::new(),
    };
    for (k, dinv) in [2.0, 8.0, 32.0, 128.0, 512.0, 2048.0]
        .into_iter()
        .enumerate()
    {
        sweep_point(&study, k, dinv, &mut s)?;
    }
    study.write("sweep.csv", &s.csv)?;
    study.write("curves.csv", &s.curves)?;
    let results = std::mem::take(&mut s.results);
    let (pts_spread, spread_json) = spread(&study)?;
    let slope = (pts_spread[2].1 - pts_spread[0].1) / (pts_spread[2].0 - pts_spread[0].0);
    eprintln!("spread slope in log-log: {slope:.3} (1/√N: −0.5)");
    plot(&study, s, &pts_spread)?;
    study.finish(serde_json::json!({
        "sweep": results, "spread": spread_json, "spread_slope": slope,
        "seconds": t0.elapsed().as_secs_f64(),
    }))?;
    Ok(())
}
