//! Study (iii): what learning costs. ∅ ⇌ S learns a target mean of 100 (clamped copies at
//! Poisson(100)) in the large-ensemble limit (exact moments), over
//! δ⁻¹ ∈ {2, 8, 32, 128, 512, 2048}, G_S ∈ {0, −2, −4, −6, −8} (ε = 1) and, at G_S = −3,
//! ε ∈ {0.25, 1, 4}. For each point:
//!
//! * steady-state relative error of the learned mean, and the formula
//!   δ(\[P\]² − 1)/(\[P\](ε − δ\[P\])) at the reached \[P\];
//! * entropy produced by the learning reactions per copy and per unit ω: the steady
//!   (maintenance) rate, the total, and the excess over maintenance
//!   (the transient cost of getting there), totals over the first 100 time units, errors
//!   and rates at T = 1000 (every point has converged by then);
//! * the time to come within 1 % of the final mean;
//! * the largest energy-balance residual |W − ΔF − Σ| of the copies.
//!
//! Writes `<out>/learn_cost/{cost.csv, learn_cost.{png,svg}}`.

use std::fmt::Write as _;

use crnkit::ThermodynamicBuilder;
use crnkit::learn::chemical::RunConfig;
use crnkit::learn::limit::LimitMode;
use crnkit::learn::{Environment, GenerativeModel, Learner, LearnerConfig};
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Line, PALETTE, Panel, save};

struct Row {
    g: f64,
    eps: f64,
    dinv: f64,
    error: f64,
    theory: f64,
    rate: f64,
    total: f64,
    excess: f64,
    t_conv: f64,
    balance: f64,
}

fn point(g: f64, eps: f64, dinv: f64) -> anyhow::Result<Row> {
    let mean0 = (-g).exp();
    let cap = (1.3 * mean0 + 300.0).ceil() as u32;
    let net = ThermodynamicBuilder::new()
        .species("S", g, mean0.round() as u64)
        .reaction(&[], &[("S", 1)], g)
        .build()?;
    let model = GenerativeModel::with_cap(&net, &["S"], Some(cap), 100_000)?;
    let delta = 1.0 / dinv;
    let cfg = LearnerConfig {
        epsilon: eps,
        delta,
        copies: 1,
        p_volume: 1.0,
        clamp_rate: 1.0,
        ..LearnerConfig::default()
    };
    let l = Learner::new(&model, Environment::Poisson(vec![100.0]), &cfg)?;
    let (until, every) = (1000.0, 0.5);
    let c = l.run_limit(&RunConfig::new(until, every, 1), LimitMode::Auto, 100_000)?;
    let n = c.points.len();
    let last = &c.points[n - 1];
    let p = last.p[0];
    let error = last.free[0] / last.clamped[0] - 1.0;
    let theory = delta * (p * p - 1.0) / (p * (eps - delta * p));
    let back = &c.points[n - 1 - 20]; // 10 time units earlier
    let rate = (last.sigma.learning - back.sigma.learning) / (last.time - back.time);
    // Totals over the first 100 time units.
    let at100 = c.points.iter().find(|q| q.time >= 100.0).unwrap_or(last);
    let total = at100.sigma.learning;
    let excess = total - rate * at100.time;
    let fin = last.free[0];
    let t_conv = c
        .points
        .iter()
        .rev()
        .find(|q| (q.free[0] / fin - 1.0).abs() > 0.01)
        .map_or(0.0, |q| q.time + every);
    let balance = c
        .balance
        .iter()
        .flat_map(|b| b.iter().map(|v| v.abs()))
        .fold(0.0, f64::max);
    Ok(Row {
        g,
        eps,
        dinv,
        error,
        theory,
        rate,
        total,
        excess,
        t_conv,
        balance,
    })
}

fn main() -> anyhow::Result<()> {
    let study = Study::start("learn_cost")?;
    let t0 = std::time::Instant::now();
    let dinvs = [2.0, 8.0, 32.0, 128.0, 512.0, 2048.0];
    let mut rows = Vec::new();
    for g in [0.0, -2.0, -4.0, -6.0, -8.0] {
        for &d in &dinvs {
            rows.push(point(g, 1.0, d)?);
        }
    }
    for eps in [0.25, 1.0, 4.0] {
        for &d in &dinvs {
            rows.push(point(-3.0, eps, d)?);
        }
    }
    let mut csv = String::from(
        "G_S,epsilon,delta_inverse,relative_error,theory,maintenance_rate,total_entropy,excess_entropy,time_to_1pct,max_balance_residual\n",
    );
    let mut worst_theory: f64 = 0.0;
    let mut worst_balance: f64 = 0.0;
    for r in &rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            r.g, r.eps, r.dinv, r.error, r.theory, r.rate, r.total, r.excess, r.t_conv, r.balance
        );
        worst_theory = worst_theory.max((r.error / r.theory - 1.0).abs());
        worst_balance = worst_balance.max(r.balance / r.total.max(1.0));
        eprintln!(
            "G = {:>4}, ε = {:>4}, 1/δ = {:>6}: error {:+.5e} (theory {:+.5e}), maintenance {:.4e}/t, total {:.4e}, excess {:.4e}, t(1%) {:.2}",
            r.g, r.eps, r.dinv, r.error, r.theory, r.rate, r.total, r.excess, r.t_conv
        );
    }
    study.write("cost.csv", &csv)?;
    let by_g = |f: &dyn Fn(&Row) -> (f64, f64)| -> Vec<Line> {
        [0.0, -2.0, -4.0, -6.0, -8.0]
            .iter()
            .enumerate()
            .map(|(k, &g)| Line {
                name: format!("G_S = {g}"),
                color: PALETTE[k % PALETTE.len()],
                points: rows
                    .iter()
                    .filter(|r| r.g == g && r.eps == 1.0)
                    .map(f)
                    .collect(),
            })
            .collect()
    };
    save(
        &study.dir().join("learn_cost"),
        &[
            Panel {
                title: "steady-state error".into(),
                x_label: "log2(1/δ)".into(),
                y_label: "log10 |relative error|".into(),
                lines: by_g(&|r| (r.dinv.log2(), r.error.abs().log10())),
                bands: vec![],
            },
            Panel {
                title: "dissipation of learning over T = 100".into(),
                x_label: "log2(1/δ)".into(),
                y_label: "log10 entropy produced (k_B per copy per ω)".into(),
                lines: by_g(&|r| (r.dinv.log2(), r.total.log10())),
                bands: vec![],
            },
            Panel {
                title: "trade-off".into(),
                x_label: "log10 maintenance rate".into(),
                y_label: "log10 |relative error|".into(),
                lines: by_g(&|r| (r.rate.log10(), r.error.abs().log10())),
                bands: vec![],
            },
        ],
        (1500, 450),
    )?;
    eprintln!(
        "worst |error/theory − 1| = {worst_theory:.3e}; worst balance residual / total = {worst_balance:.3e}; {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    study.finish(serde_json::json!({
        "points": rows.len(),
        "worst_relative_deviation_from_theory": worst_theory,
        "worst_balance_residual_relative": worst_balance,
        "seconds": t0.elapsed().as_secs_f64(),
    }))?;
    Ok(())
}
