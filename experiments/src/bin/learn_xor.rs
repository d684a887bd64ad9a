//! Study (ii): a chemical Boltzmann machine (visible units X1, X2 as species pairs
//! X_0/X_1, one hidden unit H, edge species X1–H and X2–H) learns the XOR-like law of a
//! stochastic genetic toggle switch binarised at 10 molecules (X1 = [U ≥ 10],
//! X2 = [V ≥ 10]; the target is the switch's stationary CME law, binned).
//!
//! * baseline: L-BFGS (argmin) on the exact D(Q‖P) from a slightly perturbed uniform
//!   start (the perturbation breaks the symmetry of the hidden unit);
//! * the chemical learner (ε = 1, δ⁻¹ = 2048) in its large-ensemble limit, and with
//!   δ = 0 (pure gradient flow, which must approach the baseline's optimum);
//! * the chemical learner simulated exactly: N = 100 free and 100 clamped copies,
//!   ω = 100, the learning network as one reaction network (SSA, RSSA-CR).
//!
//! Every flip has barrier −3 (rate e³ at the start) and the data tokens hop at 0.05.
//!
//! Writes `<out>/learn_xor/{curves.csv, distributions.csv, learning_network.crn,
//! learn_xor.{png,svg}}`.

use std::fmt::Write as _;

use crnkit::learn::chemical::{LearningCurve, RunConfig};
use crnkit::learn::limit::LimitMode;
use crnkit::learn::{
    ChannelKind, Environment, Fit, GenerativeModel, Learner, LearnerConfig, Target, boltzmann,
    fit_exact,
};
use crnkit_experiments::Study;
use crnkit_experiments::plot::{Line, PALETTE, Panel, save};
use rand::Rng as _;

fn run(until: f64, every: f64, seed: u64) -> RunConfig {
    RunConfig {
        progress: crnkit::bars::bars(true),
        ..RunConfig::new(until, every, seed)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The target: the toggle switch's stationary CME law binned at 10 molecules, and the
/// seconds since `t0`.
fn toggle_target(model: &GenerativeModel, t0: std::time::Instant) -> anyhow::Result<(Target, f64)> {
    let env = crnkit::models::bundled("toggle_switch")?;
    let bins: Vec<String> = [
        "X1_1 = U >= 10",
        "X1_0 = U < 10",
        "X2_1 = V >= 10",
        "X2_0 = V < 10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rules = model.parse_bin_rules(&env, &bins)?;
    let (target, boundary) =
        model.target_from_environment(&env, &rules, &crnkit::cme::FspOptions::default())?;
    let t_target = t0.elapsed().as_secs_f64();
    eprintln!(
        "target from the toggle switch (CME boundary mass {boundary:.1e}, {t_target:.1} s): {:?} {:?}",
        target.states, target.probabilities
    );
    Ok((target, t_target))
}

/// Over the final 20 % of the exact run: the mean D, the parameters at the time-averaged
/// ln\[P\], and D there.
fn tail_average(
    model: &GenerativeModel,
    target: &Target,
    ssa: &LearningCurve,
    ssa_until: f64,
) -> anyhow::Result<(f64, Vec<f64>, f64)> {
    // Final 20 % of the exact run: D at each output, and D at the time-averaged ln[P].
    let tail: Vec<_> = ssa
        .points
        .iter()
        .filter(|p| p.time >= 0.8 * ssa_until)
        .collect();
    let tail_kl: Vec<f64> = tail.iter().map(|p| p.kl).collect();
    let mean_kl = tail_kl.iter().sum::<f64>() / tail_kl.len() as f64;
    let np = model.parameter_names().len();
    let avg_lnp: Vec<f64> = (0..np)
        .map(|j| tail.iter().map(|p| p.p[j].ln()).sum::<f64>() / tail.len() as f64)
        .collect();
    let g_avg: Vec<f64> = model
        .initial_parameters()
        .iter()
        .zip(&avg_lnp)
        .map(|(g, l)| g + l)
        .collect();
    let d_avg = model.objective(target, &g_avg)?.0;
    Ok((mean_kl, g_avg, d_avg))
}

/// The target's law of the visible configurations (in the model's order).
fn target_law(model: &GenerativeModel, target: &Target) -> Vec<f64> {
    model
        .visible_states()
        .iter()
        .map(|v| {
            target
                .states
                .iter()
                .zip(&target.probabilities)
                .filter(|(s, _)| *s == v)
                .map(|(_, q)| *q)
                .sum()
        })
        .collect()
}

/// The three learning curves.
struct Runs {
    lim: LearningCurve,
    flow: LearningCurve,
    ssa: LearningCurve,
}

/// Laws of the visible configurations: target, baseline, limit, gradient flow, SSA at the
/// averaged parameters.
struct Laws {
    q: Vec<f64>,
    p_base: Vec<f64>,
    p_lim: Vec<f64>,
    p_flow: Vec<f64>,
    p_ssa: Vec<f64>,
}

/// `distributions.csv` and `curves.csv`.
fn write_tables(
    study: &Study,
    model: &GenerativeModel,
    laws: &Laws,
    runs: &Runs,
    fit: &Fit,
) -> anyhow::Result<()> {
    let Laws {
        q,
        p_base,
        p_lim,
        p_flow,
        p_ssa,
    } = laws;
    let (lim, flow, ssa) = (&runs.lim, &runs.flow, &runs.ssa);
    let mut dist =
        String::from("X1_0,X1_1,X2_0,X2_1,target,baseline,limit,gradient_flow,ssa_averaged\n");
    for (k, v) in model.visible_states().iter().enumerate() {
        let _ = writeln!(
            dist,
            "{},{},{},{},{},{},{},{},{}",
            v[0], v[1], v[2], v[3], q[k], p_base[k], p_lim[k], p_flow[k], p_ssa[k]
        );
    }
    study.write("distributions.csv", &dist)?;
    let mut curves = String::from(
        "method,time,kl,sigma_learning,sigma_clamping,sigma_environment,sigma_model\n",
    );
    for (name, c) in [("limit", lim), ("gradient_flow", flow), ("ssa", ssa)] {
        for p in &c.points {
            let _ = writeln!(
                curves,
                "{name},{},{},{},{},{},{}",
                p.time,
                p.kl,
                p.sigma.learning,
                p.sigma.clamping,
                p.sigma.environment,
                p.sigma.model
            );
        }
    }
    for (k, (_, d, _)) in fit.history.iter().enumerate() {
        let _ = writeln!(curves, "baseline,{k},{d},,,,");
    }
    study.write("curves.csv", &curves)?;
    Ok(())
}

/// The figure: learning curves, laws, entropy production.
fn plot(study: &Study, runs: &Runs, laws: &Laws, until: f64, ssa_until: f64) -> anyhow::Result<()> {
    let Laws {
        q,
        p_base,
        p_lim,
        p_ssa,
        ..
    } = laws;
    let (lim, flow, ssa) = (&runs.lim, &runs.flow, &runs.ssa);
    let kl_line = |name: &str, c: usize, curve: &LearningCurve, upto: f64| Line {
        name: name.into(),
        color: PALETTE[c],
        points: curve
            .points
            .iter()
            .filter(|p| p.time <= upto && p.kl.is_finite())
            .map(|p| (p.time, p.kl))
            .collect(),
    };
    let bars = |name: &str, c: usize, ys: &[f64]| Line {
        name: name.into(),
        color: PALETTE[c],
        points: ys.iter().enumerate().map(|(k, &y)| (k as f64, y)).collect(),
    };
    let sig = |name: &str, c: usize, curve: &LearningCurve, k: ChannelKind| Line {
        name: name.into(),
        color: PALETTE[c],
        points: curve
            .points
            .iter()
            .filter(|p| p.time <= ssa_until && p.sigma[k] > 0.0)
            .map(|p| (p.time, p.sigma[k].log10()))
            .collect(),
    };
    save(
        &study.dir().join("learn_xor"),
        &[
            Panel {
                title: "learning curves".into(),
                x_label: "time".into(),
                y_label: "D(Q||P) (nats)".into(),
                lines: vec![
                    kl_line("limit, 1/δ = 2048", 0, lim, until),
                    kl_line("limit, δ = 0", 1, flow, until),
                    kl_line("SSA, N = 100", 2, ssa, until),
                ],
                bands: vec![],
            },
            Panel {
                title: "target vs learned (configurations in class order)".into(),
                x_label: "visible configuration".into(),
                y_label: "probability".into(),
                lines: vec![
                    bars("target", 0, q),
                    bars("baseline", 1, p_base),
                    bars("limit 1/δ = 2048", 2, p_lim),
                    bars("SSA (averaged)", 3, p_ssa),
                ],
                bands: vec![],
            },
            Panel {
                title: "entropy produced per copy".into(),
                x_label: "time".into(),
                y_label: "log10 k_B".into(),
                lines: vec![
                    sig("learning (limit)", 0, lim, ChannelKind::Learning),
                    sig("learning (SSA)", 1, ssa, ChannelKind::Learning),
                    sig("clamping (limit)", 2, lim, ChannelKind::Clamping),
                    sig("clamping (SSA)", 3, ssa, ChannelKind::Clamping),
                    sig("environment (limit)", 4, lim, ChannelKind::Environment),
                    sig("model (limit)", 5, lim, ChannelKind::Model),
                ],
                bands: vec![],
            },
        ],
        (1500, 450),
    )?;
    Ok(())
}

/// The baseline: L-BFGS on the exact D(Q‖P) from a jittered uniform start; (the jitter,
/// D at the start, the fit, seconds).
fn baseline(
    study: &Study,
    model: &GenerativeModel,
    target: &Target,
) -> anyhow::Result<(Vec<f64>, f64, Fit, f64)> {
    let np = model.parameter_names().len();
    let mut rng = crnkit::rng::stream(study.seed(), 0);
    let jitter: Vec<f64> = (0..np)
        .map(|_| 0.25 * (2.0 * rng.random::<f64>() - 1.0))
        .collect();
    let g_start: Vec<f64> = model
        .initial_parameters()
        .iter()
        .zip(&jitter)
        .map(|(g, j)| g + j)
        .collect();
    let d0 = model.objective(target, &g_start)?.0;
    let tb = std::time::Instant::now();
    let fit = fit_exact(model, target, &g_start, 2000)?;
    let t_base = tb.elapsed().as_secs_f64();
    eprintln!(
        "baseline: D {d0:.4} -> {:.3e} in {} iterations ({t_base:.3} s)",
        fit.divergence, fit.iterations
    );
    Ok((jitter, d0, fit, t_base))
}

fn main() -> anyhow::Result<()> {
    let study = Study::start("learn_xor")?;
    let t0 = std::time::Instant::now();
    let barrier: f64 = env_or("XOR_BARRIER", -3.0);
    let token_rate: f64 = env_or("XOR_TOKEN_RATE", 0.2);
    let ssa_copies: usize = env_or("XOR_COPIES", 100);
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], barrier)?;
    let visible = ["X1_0", "X1_1", "X2_0", "X2_1"];
    let model = GenerativeModel::new(&net, &visible, 1000)?;
    let (target, t_target) = toggle_target(&model, t0)?;
    let (jitter, d0, fit, t_base) = baseline(&study, &model, &target)?;
    let cfg = |delta: f64, copies: usize| LearnerConfig {
        epsilon: 1.0,
        delta,
        copies,
        p_volume: 100.0,
        p_init: Some(jitter.iter().map(|j| j.exp()).collect()),
        token_rate,
        ..LearnerConfig::default()
    };
    let learner = Learner::new(
        &model,
        Environment::Table(target.clone()),
        &cfg(1.0 / 2048.0, ssa_copies),
    )?;
    let irreversible = Learner::new(&model, Environment::Table(target.clone()), &cfg(0.0, 100))?;
    let (until, every) = (2000.0, 10.0);
    let tl = std::time::Instant::now();
    let lim = learner.run_limit(&run(until, every, 1), LimitMode::Auto, 100_000)?;
    let flow = irreversible.run_limit(&run(20_000.0, 100.0, 1), LimitMode::Auto, 100_000)?;
    let t_lim = tl.elapsed().as_secs_f64();
    {
        let last = |c: &LearningCurve| c.points.last().map_or(f64::NAN, |p| p.kl);
        let pf = model.visible_marginal(&flow.effective(flow.points.len() - 1))?;
        let pb = model.visible_marginal(&fit.parameters)?;
        eprintln!(
            "limits: D (1/δ = 2048) {:.4}, D (δ = 0) {:.3e}, P(v) gradient flow {pf:?} vs baseline {pb:?}",
            last(&lim),
            last(&flow)
        );
    }
    let ln = learner.learning_network(study.seed())?;
    study.write("learning_network.crn", ln.network.to_crn_string())?;
    eprintln!(
        "learning network: {} species, {} reactions",
        ln.network.num_species(),
        ln.network.num_reactions()
    );
    let ts = std::time::Instant::now();
    let ssa_until = 1000.0;
    let ssa: LearningCurve = learner.run_ssa(&run(ssa_until, 5.0, study.seed()))?;
    let t_ssa = ts.elapsed().as_secs_f64();
    let (mean_kl, g_avg, d_avg) = tail_average(&model, &target, &ssa, ssa_until)?;
    let last = |c: &LearningCurve| c.points.last().map_or(f64::NAN, |p| p.kl);
    let (d_lim, d_flow, d_ssa) = (last(&lim), last(&flow), last(&ssa));
    // Visible laws.
    let p_base = model.visible_marginal(&fit.parameters)?;
    let p_lim = model.visible_marginal(&lim.effective(lim.points.len() - 1))?;
    let p_flow = model.visible_marginal(&flow.effective(flow.points.len() - 1))?;
    let p_ssa = model.visible_marginal(&g_avg)?;
    let q = target_law(&model, &target);
    let max_rel = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| ((x - y) / y).abs())
            .fold(0.0, f64::max)
    };
    let flow_vs_base = max_rel(&p_flow, &p_base);
    eprintln!(
        "D: start {d0:.4}; baseline {:.3e}; limit (1/δ = 2048) {d_lim:.4}; gradient-flow limit (δ = 0) {d_flow:.3e}; SSA final {d_ssa:.4}, mean over the last 20 % {mean_kl:.4}, at averaged parameters {d_avg:.4}",
        fit.divergence
    );
    eprintln!(
        "gradient-flow limit vs baseline: max relative difference of P(v) {flow_vs_base:.2e}; times: target {t_target:.1} s, baseline {t_base:.2} s, limits {t_lim:.2} s, SSA {t_ssa:.1} s"
    );
    let laws = Laws {
        q,
        p_base,
        p_lim,
        p_flow,
        p_ssa,
    };
    let runs = Runs { lim, flow, ssa };
    write_tables(&study, &model, &laws, &runs, &fit)?;
    plot(&study, &runs, &laws, until, ssa_until)?;
    study.finish(serde_json::json!({
        "target": target.probabilities, "target_states": target.states,
        "d_start": d0, "d_baseline": fit.divergence, "d_limit": d_lim,
        "d_gradient_flow": d_flow, "d_ssa_final": d_ssa, "d_ssa_tail_mean": mean_kl,
        "d_ssa_averaged_parameters": d_avg, "gradient_flow_vs_baseline_max_rel": flow_vs_base,
        "seconds": {"target": t_target, "baseline": t_base, "limits": t_lim, "ssa": t_ssa,
                     "total": t0.elapsed().as_secs_f64()},
        "learning_network": {"species": ln.network.num_species(), "reactions": ln.network.num_reactions()},
    }))?;
    Ok(())
}
