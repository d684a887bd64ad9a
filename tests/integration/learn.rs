//! Learning by relative entropy: exact objective, gradient and the L-BFGS baseline.

use crnkit::error::ModelError;
use crnkit::learn::{GenerativeModel, fit_exact};
use crnkit::{Network, ThermodynamicBuilder};
use rand::Rng as _;

/// A random detailed-balanced network on 4 species with one conservation class of a few
/// hundred states at most: A ⇌ B, A + B ⇌ C, 2 B ⇌ D, C ⇌ D (barriers and energies random).
fn random_network(seed: u64) -> Network {
    let mut rng = crnkit::rng::stream(seed, 0);
    let mut g = || rng.random::<f64>() * 4.0 - 2.0;
    let (ga, gb, gc, gd) = (g(), g(), g(), g());
    let (b1, b2, b3, b4) = (g(), g(), g(), g());
    ThermodynamicBuilder::new()
        .species("A", ga, 6)
        .species("B", gb, 2)
        .species("C", gc, 0)
        .species("D", gd, 1)
        .reaction(&[("A", 1)], &[("B", 1)], b1)
        .reaction(&[("A", 1), ("B", 1)], &[("C", 1)], b2)
        .reaction(&[("B", 2)], &[("D", 1)], b3)
        .reaction(&[("C", 1)], &[("D", 1)], b4)
        .build()
        .unwrap()
}

#[test]
fn exact_gradient_matches_finite_differences() {
    for seed in 0..8u64 {
        let net = random_network(seed);
        // A and C visible, B and D hidden.
        let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
        let mut rng = crnkit::rng::stream(seed, 1);
        let rows: Vec<(Vec<u32>, f64)> = model
            .visible_states()
            .iter()
            .map(|v| (v.clone(), rng.random::<f64>() + 0.05))
            .collect();
        let target = model.target(&rows).unwrap();
        let g: Vec<f64> = model
            .initial_parameters()
            .iter()
            .map(|v| v + rng.random::<f64>() - 0.5)
            .collect();
        let (d, grad) = model.objective(&target, &g).unwrap();
        assert!(d > 0.0);
        let h = 1e-5;
        for i in 0..g.len() {
            let mut gp = g.clone();
            let mut gm = g.clone();
            gp[i] += h;
            gm[i] -= h;
            let fd = (model.objective(&target, &gp).unwrap().0
                - model.objective(&target, &gm).unwrap().0)
                / (2.0 * h);
            let scale = grad.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(
                (fd - grad[i]).abs() <= 1e-6 * scale,
                "seed {seed}, G_{i}: exact {} vs finite difference {fd}",
                grad[i]
            );
        }
    }
}

#[test]
fn lbfgs_recovers_a_target_from_the_model_family() {
    let net = random_network(42);
    let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
    // Target: the model's own visible law at other free energies.
    let truth: Vec<f64> = model
        .initial_parameters()
        .iter()
        .enumerate()
        .map(|(i, g)| g + [0.7, -0.4, 0.3, -0.9][i])
        .collect();
    let p = model.visible_marginal(&truth).unwrap();
    let rows: Vec<(Vec<u32>, f64)> = model.visible_states().iter().cloned().zip(p).collect();
    let target = model.target(&rows).unwrap();
    let start = model.initial_parameters().to_vec();
    let d0 = model.objective(&target, &start).unwrap().0;
    let fit = fit_exact(&model, &target, &start, 500).unwrap();
    assert!(d0 > 1e-2, "{d0}");
    assert!(
        fit.divergence <= 1e-10,
        "D = {} after {} iterations",
        fit.divergence,
        fit.iterations
    );
}

#[test]
fn bad_learning_input_is_refused_by_name() {
    // Not detailed balanced (a driven cycle).
    let driven = Network::from_crn_str(
        "species: A = 3, B = 0, C = 0\nA <-> B @ 2, 1\nB <-> C @ 2, 1\nC <-> A @ 2, 1\n",
        "d.crn",
    )
    .unwrap();
    let e = GenerativeModel::new(&driven, &["A"], 1000).unwrap_err();
    assert!(
        matches!(e, ModelError::Unsupported { .. }) && e.to_string().contains("detailed balanced"),
        "{e}"
    );
    let net = random_network(3);
    let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
    // A target over a hidden species.
    let e = model
        .target_from_csv("A,B,probability\n1,0,1\n", "t.csv")
        .unwrap_err();
    assert!(e.to_string().contains("not a visible species"), "{e}");
    // Support the class cannot reach (A + B + 2C + 2D = 10 here, so A ≤ 10).
    let e = model.target(&[(vec![11, 0], 1.0)]).unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
    // A malformed cell: located error.
    let e = model
        .target_from_csv("C,A,count\n0,1,3\n0,x,2\n", "t.csv")
        .unwrap_err();
    let loc = e.location().expect("located");
    assert_eq!((loc.line, loc.col), (3, 3), "{e}");
    // Columns in any order.
    let t = model
        .target_from_csv("C,A,count\n0,1,3\n1,0,1\n", "t.csv")
        .unwrap();
    assert_eq!(t.states, vec![vec![1, 0], vec![0, 1]]);
    assert_eq!(t.probabilities, vec![0.75, 0.25]);
    // An unknown visible species and a constant one.
    assert!(matches!(
        GenerativeModel::new(&net, &["Q"], 100).unwrap_err(),
        ModelError::UnknownSpecies { .. }
    ));
}

#[test]
fn sampled_gradient_is_unbiased_within_its_standard_error() {
    use crate::stats::bonferroni_z;
    for seed in [5u64, 6] {
        let net = random_network(seed);
        let model = GenerativeModel::new(&net, &["A", "C"], 10_000).unwrap();
        let mut rng = crnkit::rng::stream(seed, 9);
        let rows: Vec<(Vec<u32>, f64)> = model
            .visible_states()
            .iter()
            .map(|v| (v.clone(), rng.random::<f64>()))
            .collect();
        let target = model.target(&rows).unwrap();
        let g: Vec<f64> = model
            .initial_parameters()
            .iter()
            .map(|v| v + 0.3 * (rng.random::<f64>() - 0.5))
            .collect();
        let exact = model.objective(&target, &g).unwrap().1;
        // Rates are e^(±2) at most, so a burn-in of 40 is many relaxation times.
        let s = model
            .sampled_gradient(&target, &g, 4000, 40.0, 100 + seed)
            .unwrap();
        let z = bonferroni_z(1e-3, 2 * exact.len());
        for (j, &e) in exact.iter().enumerate() {
            let (m, se) = (s.gradient[j], s.standard_error[j]);
            assert!(se > 0.0 && se < 0.2, "seed {seed}, G_{j}: se {se}");
            assert!(
                (m - e).abs() <= z * se,
                "seed {seed}, G_{j}: sampled {m} ± {se}, exact {e}"
            );
        }
    }
    // The clamped reactions must connect each clamped class. With A and D visible, every
    // reaction changes one of them, yet B + 2C is free: the hidden configurations cannot be
    // sampled, and the estimator says so.
    let net = random_network(5);
    let model = GenerativeModel::new(&net, &["A", "D"], 10_000).unwrap();
    let rows: Vec<(Vec<u32>, f64)> = model
        .visible_states()
        .iter()
        .map(|v| (v.clone(), 1.0))
        .collect();
    let target = model.target(&rows).unwrap();
    let g = model.initial_parameters().to_vec();
    let e = model.sampled_gradient(&target, &g, 10, 1.0, 0).unwrap_err();
    assert!(e.to_string().contains("clamped sampling"), "{e}");
}

use crnkit::learn::chemical::{LearningCurve, RunConfig};
use crnkit::learn::limit::LimitMode;
use crnkit::learn::{Environment, Learner, LearnerConfig, boltzmann};

/// ∅ ⇌ S with G_S = −3 and k⁻ = 1 (free mean e³ ≈ 20.1), clamped at Poisson(100).
fn birth_death_learner(delta: f64, copies: usize, p_volume: f64, cap: u32) -> Learner {
    let net = ThermodynamicBuilder::new()
        .species("S", -3.0, 20)
        .reaction(&[], &[("S", 1)], -3.0)
        .build()
        .unwrap();
    let model = GenerativeModel::with_cap(&net, &["S"], Some(cap), 10_000).unwrap();
    let cfg = LearnerConfig {
        epsilon: 1.0,
        delta,
        copies,
        p_volume,
        clamp_rate: 1.0,
        ..LearnerConfig::default()
    };
    Learner::new(&model, Environment::Poisson(vec![100.0]), &cfg).unwrap()
}

fn run_cfg(until: f64, every: f64, seed: u64) -> RunConfig {
    RunConfig::new(until, every, seed)
}

#[test]
fn chemical_learner_limit_reaches_the_predicted_steady_state() {
    // Fixed point of d[P]/dt = [P]s(ε − δ[P]) − q(ε[P] − δ) with s = m0/[P], q = μ:
    // [P]* = (m0 ε + μ δ)/(μ ε + m0 δ); there (s − q)/q = δ([P]² − 1)/([P](ε − δ[P])).
    let (m0, mu, eps) = (3f64.exp(), 100.0, 1.0);
    for dinv in [2.0, 32.0, 2048.0] {
        let delta = 1.0 / dinv;
        let l = birth_death_learner(delta, 10, 100.0, 400);
        let c = l
            .run_limit(&run_cfg(80.0, 10.0, 1), LimitMode::Auto, 10_000)
            .unwrap();
        assert_eq!(c.method, "limit-moments");
        let last = c.points.last().unwrap();
        let p = last.p[0];
        let p_star = (m0 * eps + mu * delta) / (mu * eps + m0 * delta);
        assert!(
            (p / p_star - 1.0).abs() < 1e-6,
            "1/δ = {dinv}: [P] {p} vs {p_star}"
        );
        let rel = last.free[0] / last.clamped[0] - 1.0;
        let theory = delta * (p * p - 1.0) / (p * (eps - delta * p));
        assert!(
            (rel - theory).abs() < 1e-6 * theory.abs().max(1e-3),
            "{rel} vs {theory}"
        );
    }
    // The CME representation of the same limit agrees with the moments.
    let l = birth_death_learner(1.0 / 32.0, 10, 100.0, 300);
    let a = l
        .run_limit(&run_cfg(20.0, 5.0, 1), LimitMode::Auto, 10_000)
        .unwrap();
    let b = l
        .run_limit(&run_cfg(20.0, 5.0, 1), LimitMode::Cme, 10_000)
        .unwrap();
    assert_eq!(b.method, "limit-cme");
    for (x, y) in a.points.iter().zip(&b.points) {
        assert!(
            (x.p[0] / y.p[0] - 1.0).abs() < 1e-6,
            "{} vs {}",
            x.p[0],
            y.p[0]
        );
        assert!(
            (x.sigma.learning / y.sigma.learning.max(1e-300) - 1.0).abs() < 1e-5 || x.time == 0.0
        );
    }
}

/// A chemical Boltzmann machine (two visible units, one hidden) and an XOR-like table.
fn xor_learner(copies: usize, delta: f64) -> (GenerativeModel, Learner, Vec<f64>) {
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], 0.0).unwrap();
    let model = GenerativeModel::new(&net, &["X1_0", "X1_1", "X2_0", "X2_1"], 1000).unwrap();
    let target = model
        .target(&[
            (vec![0, 1, 1, 0], 0.45),
            (vec![1, 0, 0, 1], 0.45),
            (vec![0, 1, 0, 1], 0.06),
            (vec![1, 0, 1, 0], 0.04),
        ])
        .unwrap();
    let mut rng = crnkit::rng::stream(5, 0);
    let jitter: Vec<f64> = (0..model.parameter_names().len())
        .map(|_| 0.5 * (rng.random::<f64>() - 0.5))
        .collect();
    let cfg = LearnerConfig {
        epsilon: 1.0,
        delta,
        copies,
        p_volume: 100.0,
        p_init: Some(jitter.iter().map(|j| j.exp()).collect()),
        ..LearnerConfig::default()
    };
    let l = Learner::new(&model, Environment::Table(target), &cfg).unwrap();
    (model, l, jitter)
}

#[test]
fn limit_energy_balance_closes_and_dissipation_never_decreases() {
    let (_, l, _) = xor_learner(10, 1.0 / 2048.0);
    let c = l
        .run_limit(&run_cfg(300.0, 10.0, 1), LimitMode::Auto, 10_000)
        .unwrap();
    assert_eq!(c.method, "limit-cme");
    for (k, (pt, bal)) in c.points.iter().zip(&c.balance).enumerate() {
        let scale = 1.0 + pt.sigma.iter().map(f64::abs).sum::<f64>();
        assert!(
            bal[0].abs() <= 1e-8 * scale && bal[1].abs() <= 1e-8 * scale,
            "t = {}: balance residuals {bal:?} (scale {scale})",
            pt.time
        );
        if k > 0 {
            for (s, s0) in pt.sigma.iter().zip(c.points[k - 1].sigma.iter()) {
                assert!(
                    s >= s0 - 1e-9 * scale,
                    "entropy produced decreased: {s0} -> {s}"
                );
            }
        }
    }
    let (d0, d1) = (c.points[0].kl, c.points.last().unwrap().kl);
    assert!(d1 < 0.5 * d0, "the learner did not learn: D {d0} -> {d1}");
}

#[test]
fn exact_learner_fluctuates_around_its_large_ensemble_limit() {
    // N = 20 copies, exact SSA of the learning network; after t = 10 the run is stationary.
    // Time-averaged free mean vs the limit's fixed point, with a standard error from 10
    // batch means (t quantile, 9 degrees of freedom, two-sided 0.999: 4.78).
    let l = birth_death_learner(1.0 / 32.0, 20, 50.0, 400);
    let lim = l
        .run_limit(&run_cfg(60.0, 10.0, 1), LimitMode::Auto, 10_000)
        .unwrap();
    let target_mean = lim.points.last().unwrap().free[0];
    let c = l.run_ssa(&run_cfg(60.0, 1.0, 11)).unwrap();
    let xs: Vec<f64> = c
        .points
        .iter()
        .filter(|p| p.time > 10.0)
        .map(|p| p.free[0])
        .collect();
    assert_eq!(xs.len(), 50);
    let batches: Vec<f64> = xs
        .chunks(5)
        .map(|b| b.iter().sum::<f64>() / b.len() as f64)
        .collect();
    let m = batches.iter().sum::<f64>() / 10.0;
    let v = batches.iter().map(|b| (b - m).powi(2)).sum::<f64>() / 9.0;
    let se = (v / 10.0).sqrt();
    assert!(
        (m - target_mean).abs() <= 4.78 * se,
        "SSA mean {m} ± {se} vs limit {target_mean}"
    );
    // Same seed, same curve.
    let again = l.run_ssa(&run_cfg(60.0, 1.0, 11)).unwrap();
    assert_eq!(c, again);
}

/// An SSA learning run to t = 6 stopped at t = 2.5 with its checkpoint in a fresh folder
/// named by `tag`: the learner, the run (set to go on to the end), the folder, the
/// checkpoint and the curve so far.
fn interrupted_run(
    tag: &str,
) -> (
    Learner,
    RunConfig,
    std::path::PathBuf,
    std::path::PathBuf,
    LearningCurve,
) {
    let l = birth_death_learner(1.0 / 32.0, 4, 20.0, 400);
    let dir = std::env::temp_dir().join(format!("crnkit-learn-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("checkpoint.json");
    let _ = std::fs::remove_file(&ck);
    let mut run = run_cfg(6.0, 0.5, 3);
    run.checkpoint = Some(ck.clone());
    run.stop_after = Some(2.5);
    let part = l.run_ssa(&run).unwrap();
    run.stop_after = None;
    (l, run, dir, ck, part)
}

#[test]
fn interrupted_learning_resumes_bit_identically() {
    let (l, run, dir, ck, part) = interrupted_run("resume");
    let full = l.run_ssa(&run_cfg(6.0, 0.5, 3)).unwrap();
    assert!(part.points.len() < full.points.len());
    let resumed: LearningCurve = l.run_ssa(&run).unwrap();
    assert_eq!(resumed, full);
    // A checkpoint from other settings is refused by name.
    let other = birth_death_learner(1.0 / 8.0, 4, 20.0, 400);
    let e = other.run_ssa(&run).unwrap_err();
    assert!(e.to_string().contains("other settings"), "{e}");
    // A truncated checkpoint is reported, not a panic.
    let text = std::fs::read_to_string(&ck).unwrap();
    std::fs::write(&ck, &text[..text.len() / 2]).unwrap();
    let e = l.run_ssa(&run).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sampled-gradient learning run cancelled half way (between steps, as Ctrl-C or a kill
/// after a checkpoint leaves it) resumes to the curve and free energies of an uninterrupted
/// run, bit for bit.
#[test]
fn interrupted_sampled_learning_resumes_bit_identically() {
    use crnkit::learn::{LearnMethod, LearnSettings, learn};
    use crnkit::progress::{CancelToken, Reporter};
    let net = crnkit::models::bundled("immigration_death").unwrap();
    let model = GenerativeModel::with_cap(&net, &["X"], Some(400), 1_000_000).unwrap();
    let env = || Environment::Poisson(vec![100.0]);
    let settings = LearnSettings {
        method: LearnMethod::Sampled,
        runs: 40,
        burn_in: 1.0,
        until: 0.6,
        every: 0.1,
        seed: 7,
        jitter: 0.25,
        ..LearnSettings::default()
    };
    let full = learn(&model, env(), &settings).unwrap();
    let dir = std::env::temp_dir().join(format!("crnkit-sampled-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("checkpoint.json");
    let _ = std::fs::remove_file(&ck);
    let token = CancelToken::new();
    let sink = crate::surrogate::CancelAfter {
        token: token.clone(),
        after: 500,
    };
    let cut = LearnSettings {
        checkpoint: Some(ck.clone()),
        progress: Reporter::new(sink).with_cancel(token),
        ..settings.clone()
    };
    assert!(
        learn(&model, env(), &cut).is_err(),
        "the run is cancelled half way"
    );
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    let done = f64::from_bits(saved["state"]["state"][0].as_u64().unwrap());
    assert!(done > 0.0 && done < 6.0, "stopped after {done} of 6 steps");
    let again = LearnSettings {
        checkpoint: Some(ck.clone()),
        ..settings.clone()
    };
    let resumed = learn(&model, env(), &again).unwrap();
    // Compared as written (entropy columns are NaN for sampled runs, and NaN != NaN).
    assert_eq!(resumed.curve.to_csv(), full.curve.to_csv());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed.learned), bits(&full.learned));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpoint that parses but does not fit the run (edited, or from a damaged disk) is
/// refused by name: never an index panic, a NaN curve or time running backwards.
#[test]
fn an_inconsistent_learning_checkpoint_is_refused_by_name() {
    let (l, run, dir, ck, _) = interrupted_run("bad-ck");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    let nan = f64::NAN.to_bits();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "no points",
            Box::new(|v| v["state"]["curve"]["points"] = serde_json::json!([])),
        ),
        (
            "cut state",
            Box::new(|v| {
                v["state"]["state"].as_array_mut().unwrap().truncate(2);
            }),
        ),
        (
            "NaN count",
            Box::new(move |v| v["state"]["state"][0] = nan.into()),
        ),
        (
            "NaN entropy",
            Box::new(move |v| {
                let s = v["state"]["state"].as_array_mut().unwrap();
                let last = s.len() - 1;
                s[last] = nan.into();
            }),
        ),
        (
            "repeated point",
            Box::new(|v| {
                let pts = v["state"]["curve"]["points"].as_array_mut().unwrap();
                let first = pts[0].clone();
                pts.push(first);
            }),
        ),
        (
            "other names",
            Box::new(|v| v["state"]["curve"]["names"] = serde_json::json!(["Z"])),
        ),
        (
            "short point",
            Box::new(|v| {
                v["state"]["curve"]["points"][1]["p"] = serde_json::json!([]);
            }),
        ),
        (
            "off the grid",
            Box::new(|v| v["state"]["curve"]["points"][1]["time"] = 0.7.into()),
        ),
    ];
    for (what, edit) in edits {
        let mut v = good.clone();
        edit(&mut v);
        std::fs::write(&ck, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = l.run_ssa(&run).expect_err(what).to_string();
        assert!(
            e.contains("checkpoint") && e.contains(ck.to_str().unwrap()),
            "{what}: {e}"
        );
    }
    // The untouched checkpoint still resumes.
    std::fs::write(&ck, serde_json::to_vec(&good).unwrap()).unwrap();
    assert_eq!(
        l.run_ssa(&run).unwrap(),
        l.run_ssa(&run_cfg(6.0, 0.5, 3)).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn boltzmann_machine_has_the_boltzmann_distribution() {
    // Two units with an edge: p(a, b) ∝ exp(−h_a a − h_b b − w a b) with
    // h_u = G(u_1) − G(u_0) and w = G(e_1) − G(e_0).
    let net = boltzmann::machine(&["A", "B"], &[(0, 1)], 0.5).unwrap();
    let model = GenerativeModel::new(&net, &["A_1", "B_1"], 100).unwrap();
    assert_eq!(model.space().len(), 4);
    let names = model.parameter_names();
    let mut g = vec![0.0; names.len()];
    let set = |g: &mut Vec<f64>, n: &str, v: f64| {
        let i = names.iter().position(|m| *m == n).unwrap();
        g[i] = v;
    };
    set(&mut g, "A_1", 0.7);
    set(&mut g, "B_0", 0.4);
    set(&mut g, "A_B_1", -1.3);
    let p = model.visible_marginal(&g).unwrap();
    let (ha, hb, w) = (0.7, -0.4, -1.3);
    let z: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)]
        .iter()
        .map(|&(a, b): &(i32, i32)| (-ha * a as f64 - hb * b as f64 - w * (a * b) as f64).exp())
        .sum();
    for (v, q) in model.visible_states().iter().zip(&p) {
        let (a, b) = (v[0] as f64, v[1] as f64);
        let want = (-ha * a - hb * b - w * a * b).exp() / z;
        assert!((q - want).abs() < 1e-12, "{v:?}: {q} vs {want}");
    }
    assert!(boltzmann::machine(&["A"], &[(0, 0)], 0.0).is_err());
}

#[test]
fn learning_jobs_refuse_bad_input_by_name() {
    use crnkit::learn::job;
    let dir = std::env::temp_dir().join(format!("crnkit-learn-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |toml: &str| -> Result<job::JobSummary, ModelError> {
        let cfg = job::parse(toml, "job.toml")?;
        job::run_config(&cfg, &dir, false)
    };
    let base = format!(
        "[model]\nboltzmann = {{ units = [\"X1\", \"X2\", \"H\"], edges = [[0, 2], [1, 2]] }}\nvisible = [\"X1_1\", \"X2_1\"]\n[output]\ndir = \"{}\"\nfigures = false\n",
        dir.join("out").display()
    );
    // Irreversible learning reactions with a finite cost asked for.
    std::fs::write(
        dir.join("t.csv"),
        "X1_1,X2_1,probability\n1,0,0.5\n0,1,0.5\n",
    )
    .unwrap();
    let e = run(&format!(
        "{base}[target]\ntable = \"t.csv\"\n[learn]\ndelta = 0.0\n"
    ))
    .unwrap_err();
    assert!(matches!(e, ModelError::Irreversible { .. }), "{e}");
    // A target over a hidden species.
    std::fs::write(dir.join("h.csv"), "X1_1,H_1,probability\n1,0,1\n").unwrap();
    let e = run(&format!("{base}[target]\ntable = \"h.csv\"\n")).unwrap_err();
    assert!(e.to_string().contains("not a visible species"), "{e}");
    // Support the model cannot show (a unit count of 2).
    std::fs::write(dir.join("s.csv"), "X1_1,X2_1,probability\n2,0,1\n").unwrap();
    let e = run(&format!("{base}[target]\ntable = \"s.csv\"\n")).unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
    // A model that is not detailed balanced.
    std::fs::write(
        dir.join("driven.crn"),
        "species: A = 3, B = 0, C = 0\nA <-> B @ 2, 1\nB <-> C @ 2, 1\nC <-> A @ 2, 1\n",
    )
    .unwrap();
    let e = run("[model]\nfile = \"driven.crn\"\nvisible = [\"A\"]\n[target]\npoisson = [2.0]\n")
        .unwrap_err();
    assert!(e.to_string().contains("detailed balanced"), "{e}");
    // Malformed TOML and unknown keys: the file is named.
    let e = run("[model\n").unwrap_err();
    assert!(e.to_string().contains("job.toml"), "{e}");
    let e = run(&format!(
        "{base}[target]\ntable = \"t.csv\"\n[learn]\nepsilonn = 1\n"
    ))
    .unwrap_err();
    assert!(e.to_string().contains("epsilonn"), "{e}");
    // A Poisson environment for a unit bounded by its conservation law.
    let e = run(&format!("{base}[target]\npoisson = [0.5, 0.5]\n")).unwrap_err();
    assert!(e.to_string().contains("conservation law"), "{e}");
    // Two target sources.
    let e = run(&format!(
        "{base}[target]\ntable = \"t.csv\"\npoisson = [1.0, 1.0]\n"
    ))
    .unwrap_err();
    assert!(e.to_string().contains("exactly one"), "{e}");
    // A working exact job writes its outputs.
    let s = run(&format!(
        "{base}[target]\ntable = \"t.csv\"\n[learn]\nmethod = \"exact\"\njitter = 0.2\n"
    ))
    .unwrap();
    assert!(s.final_kl < 1e-3 && s.initial_kl > 0.5, "{s:?}");
    assert!(dir.join("out/curve.csv").exists() && dir.join("out/learned.crn").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gradient_flow_limit_reaches_the_baseline_optimum() {
    // δ = 0: the large-ensemble limit is gradient descent on D in ln[P]; with token hops
    // slow against the hidden relaxation it must end at the L-BFGS optimum. Compared on
    // the visible law (the optimum's parameters are not unique: conservation laws).
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], -3.0).unwrap();
    let model = GenerativeModel::new(&net, &["X1_0", "X1_1", "X2_0", "X2_1"], 1000).unwrap();
    let target = model
        .target(&[
            (vec![0, 1, 1, 0], 0.45),
            (vec![1, 0, 0, 1], 0.40),
            (vec![0, 1, 0, 1], 0.10),
            (vec![1, 0, 1, 0], 0.05),
        ])
        .unwrap();
    let mut rng = crnkit::rng::stream(9, 0);
    let jitter: Vec<f64> = (0..model.parameter_names().len())
        .map(|_| 0.5 * (rng.random::<f64>() - 0.5))
        .collect();
    let start: Vec<f64> = jitter.clone();
    let fit = fit_exact(&model, &target, &start, 2000).unwrap();
    assert!(fit.divergence < 1e-10, "{}", fit.divergence);
    let cfg = LearnerConfig {
        epsilon: 1.0,
        delta: 0.0,
        copies: 1,
        p_init: Some(jitter.iter().map(|j| j.exp()).collect()),
        token_rate: 0.02,
        ..LearnerConfig::default()
    };
    let l = Learner::new(&model, Environment::Table(target.clone()), &cfg).unwrap();
    assert!(matches!(
        l.require_finite_cost(),
        Err(ModelError::Irreversible { .. })
    ));
    let c = l
        .run_limit(&run_cfg(20_000.0, 1000.0, 1), LimitMode::Auto, 10_000)
        .unwrap();
    assert!(c.points.iter().all(|p| p.sigma.learning.is_nan()));
    let p_flow = model
        .visible_marginal(&c.effective(c.points.len() - 1))
        .unwrap();
    let p_base = model.visible_marginal(&fit.parameters).unwrap();
    for (a, b) in p_flow.iter().zip(&p_base) {
        assert!(((a - b) / b).abs() < 0.01, "{p_flow:?} vs {p_base:?}");
    }
    // D decreases along the flow.
    for w in c.points.windows(2) {
        assert!(
            w[1].kl <= w[0].kl + 1e-9,
            "D increased: {} -> {}",
            w[0].kl,
            w[1].kl
        );
    }
}

#[test]
fn the_thermodynamics_module_pairs_the_learning_network_as_the_compiler_does() {
    // The learning network is an ordinary network of one-way reactions; the thermodynamics
    // module must find the same reverse for every reaction as the compiler records (the
    // parameter species act as catalysts on one direction only).
    for l in [
        birth_death_learner(1.0 / 32.0, 3, 10.0, 400),
        xor_learner(3, 1.0 / 64.0).1,
    ] {
        let ln = l.learning_network(1).unwrap();
        let c = ln.network.compile();
        // Strict pairing refuses them (their reverses carry other catalysts) ...
        assert!(crnkit::thermo::reverse_pairs(&ln.network).is_err());
        // ... and the catalysed pairing finds the compiler's.
        let pairs =
            crnkit::thermo::ReversePairs::with_catalysed(&c, &|r| ln.network.reaction_name(r))
                .unwrap();
        for (r, &rev) in ln.reverse.iter().enumerate() {
            assert_eq!(
                pairs.reverse(r),
                rev,
                "{}: {}",
                ln.network.reaction_name(r),
                ln.network.equation(r)
            );
        }
    }
}

#[test]
fn bundled_learning_jobs_parse_and_the_mean_job_runs() {
    use crnkit::learn::job;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/jobs");
    for name in ["xor.toml", "mean.toml"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        job::parse(&text, name).unwrap();
    }
    let text = std::fs::read_to_string(root.join("mean.toml")).unwrap();
    let mut cfg = job::parse(&text, "mean.toml").unwrap();
    let out = std::env::temp_dir().join(format!("crnkit-mean-job-{}", std::process::id()));
    cfg.output.dir = out.display().to_string();
    cfg.output.figures = true;
    let s = job::run_config(&cfg, &root, false).unwrap();
    // Immigration–death (mean 10) learns a Poisson(100) target: D from 140 to the bias of
    // 1/δ = 2048.
    assert!(s.initial_kl > 100.0 && s.final_kl < 0.01, "{s:?}");
    for f in [
        "curve.csv",
        "learned.crn",
        "summary.json",
        "learning.svg",
        "target.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// The `[learn]` section of a job for immigration–death learning a Poisson(100) target,
/// with `extra` settings, and the same settings for the library.
fn mean_job(method: &str, extra: &str, dir: &std::path::Path) -> String {
    format!(
        "[model]\nbuiltin = \"immigration_death\"\nvisible = [\"X\"]\ncap = 400\n\
         [target]\npoisson = [100.0]\n\
         [learn]\nmethod = \"{method}\"\nseed = 7\njitter = 0.25\n{extra}\n\
         [output]\ndir = \"{}\"\nfigures = false\n",
        dir.display()
    )
}

#[test]
fn the_entry_point_gives_the_job_curve_bit_for_bit() {
    use crnkit::learn::{LearnMethod, LearnSettings, job, learn};
    let dir = std::env::temp_dir().join(format!("crnkit-learn-entry-{}", std::process::id()));
    let net = crnkit::models::bundled("immigration_death").unwrap();
    let model = GenerativeModel::with_cap(&net, &["X"], Some(400), 1_000_000).unwrap();
    let common = LearnSettings {
        seed: 7,
        jitter: 0.25,
        ..LearnSettings::default()
    };
    let cases = [
        (
            "chemical",
            "limit = true\nclamp_rate = 1.0\nuntil = 20\nevery = 5",
            LearnSettings {
                method: LearnMethod::ChemicalLimit,
                clamp_rate: 1.0,
                until: 20.0,
                every: 5.0,
                ..common.clone()
            },
        ),
        (
            "chemical",
            "copies = 4\np_volume = 20\nuntil = 2\nevery = 0.5",
            LearnSettings {
                method: LearnMethod::Chemical,
                copies: 4,
                p_volume: 20.0,
                until: 2.0,
                every: 0.5,
                ..common.clone()
            },
        ),
        (
            "exact",
            "max_iters = 20",
            LearnSettings {
                method: LearnMethod::Exact,
                max_iters: 20,
                ..common.clone()
            },
        ),
        (
            "sampled",
            "runs = 40\nburn_in = 1\nlearning_rate = 0.1\nuntil = 0.3\nevery = 0.1",
            LearnSettings {
                method: LearnMethod::Sampled,
                runs: 40,
                burn_in: 1.0,
                until: 0.3,
                every: 0.1,
                ..common.clone()
            },
        ),
    ];
    for (method, extra, settings) in cases {
        let out = dir.join(format!("{method}-{}", settings.until));
        let cfg = job::parse(&mean_job(method, extra, &out), "job.toml").unwrap();
        assert_eq!(cfg.learn.settings(cfg.model.max_states), settings);
        let summary = job::run_config(&cfg, &dir, false).unwrap();
        let outcome = learn(&model, Environment::Poisson(vec![100.0]), &settings).unwrap();
        let csv = std::fs::read_to_string(out.join("curve.csv")).unwrap();
        assert_eq!(outcome.curve.to_csv(), csv, "{method}: curves differ");
        assert_eq!(
            outcome.final_divergence().to_bits(),
            summary.final_kl.to_bits()
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&outcome.learned), bits(&summary.final_g), "{method}");
        assert!(!out.join("checkpoint.json").exists(), "{method}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_jittered_start_is_reproducible_by_seed() {
    use crnkit::learn::{LearnMethod, LearnSettings, learn};
    let net = boltzmann::machine(&["X1", "X2", "H"], &[(0, 2), (1, 2)], 0.0).unwrap();
    let model = GenerativeModel::new(&net, &["X1_0", "X1_1", "X2_0", "X2_1"], 1000).unwrap();
    let target = model
        .target(&[(vec![0, 1, 1, 0], 0.5), (vec![1, 0, 0, 1], 0.5)])
        .unwrap();
    let settings = |seed: u64| LearnSettings {
        method: LearnMethod::Exact,
        seed,
        jitter: 0.25,
        max_iters: 5,
        ..LearnSettings::default()
    };
    // The start: the model's free energies plus uniform(−0.25, 0.25) from stream
    // (seed, u64::MAX − 1), for every method; the chemical learner's [P] = e^jitter.
    let mut rng = crnkit::rng::stream(3, u64::MAX - 1);
    let jitter: Vec<f64> = model
        .initial_parameters()
        .iter()
        .map(|_| 0.25 * (2.0 * rng.random::<f64>() - 1.0))
        .collect();
    let start = settings(3).start_parameters(&model).unwrap();
    for ((s, g), j) in start.iter().zip(model.initial_parameters()).zip(&jitter) {
        assert_eq!(*s, g + j);
        assert!(j.abs() <= 0.25);
    }
    let p_init = settings(3).learner_config(&model).unwrap().p_init.unwrap();
    assert_eq!(p_init, jitter.iter().map(|j| j.exp()).collect::<Vec<_>>());
    assert_eq!(start, settings(3).start_parameters(&model).unwrap());
    assert_ne!(start, settings(4).start_parameters(&model).unwrap());
    // The same seed learns the same curve from there.
    let env = || Environment::Table(target.clone());
    let a = learn(&model, env(), &settings(3)).unwrap();
    let b = learn(&model, env(), &settings(3)).unwrap();
    assert_eq!(a.start, start);
    // (Compared as CSV, which is exact: the exact method's entropy accounts are NaN.)
    assert_eq!(a.curve.to_csv(), b.curve.to_csv());
    let other = learn(&model, env(), &settings(4)).unwrap();
    assert_ne!(a.curve.to_csv(), other.curve.to_csv());
    for (e, s) in a.curve.effective(0).iter().zip(&start) {
        assert!((e - s).abs() < 1e-12, "{e} vs {s}");
    }
    // A bad jitter is refused by the setting's name.
    let bad = LearnSettings {
        jitter: f64::NAN,
        ..settings(3)
    };
    let e = learn(&model, env(), &bad).unwrap_err();
    assert!(e.to_string().contains("jitter"), "{e}");
}

#[test]
fn every_method_stops_when_its_token_is_cancelled() {
    use crnkit::learn::{LearnMethod, LearnSettings, job, learn};
    use crnkit::progress::{CancelToken, Reporter};
    // The job file's parser in the library, with a reader that refuses every file: the
    // bundled model and Poisson target read none.
    let cfg = job::parse(
        &mean_job("chemical", "", std::path::Path::new("out")),
        "j.toml",
    )
    .unwrap();
    let no_files = |p: &std::path::Path| -> crnkit::error::ModelResult<Network> {
        Err(ModelError::UnknownFormat {
            path: p.display().to_string(),
        })
    };
    let (model, environment) = cfg.inputs(std::path::Path::new(""), &no_files).unwrap();
    let token = CancelToken::new();
    token.cancel();
    for method in [
        LearnMethod::Exact,
        LearnMethod::Sampled,
        LearnMethod::Chemical,
        LearnMethod::ChemicalLimit,
    ] {
        let settings = LearnSettings {
            method,
            until: 2.0,
            every: 0.5,
            runs: 10,
            progress: Reporter::none().with_cancel(token.clone()),
            ..cfg.settings()
        };
        let e = learn(&model, environment.clone(), &settings).unwrap_err();
        assert!(matches!(e, ModelError::Cancelled), "{method:?}: {e}");
    }
    // A file model goes through the reader, relative to the base.
    let file = job::parse(
        "[model]\nfile = \"m.crn\"\nvisible = [\"X\"]\n[target]\npoisson = [1.0]\n",
        "j.toml",
    )
    .unwrap();
    let e = file
        .inputs(std::path::Path::new("base"), &no_files)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        ModelError::UnknownFormat {
            path: "base/m.crn".into()
        }
        .to_string()
    );
}
