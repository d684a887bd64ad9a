//! Chained trajectory ensembles from a surrogate (Liu & Wang, PNAS 121:e2317422121, 2024)
//! and batched per-row sampling: chained time-marginals against the exact CME, path
//! log-probabilities against one-step ones, reproducibility, exactness of `sample_rows`,
//! and the domain checks.

use std::sync::OnceLock;

use super::surrogate::birth_death;
use crnkit::cme::{FspOptions, solve_transient_with};
use crnkit::error::SurrogateError;
use crnkit::ssa::TimeGrid;
use crnkit::surrogate::{
    Activation, Architecture, Card, ChainConfig, DistillConfig, InitialBox, Model, ParamBox,
    PromptSpec, Surrogate, chain, distill, hellinger, path_log_prob,
};

use super::stats::{chi_square, chi2_quantile};

/// The chain's time step (inside the trained times 0.25..=1).
const DT: f64 = 0.5;
/// Transitions per path: 0, 0.5, …, 5.
const STEPS: usize = 10;
/// Query point: k = 5, g = 1 (stationary mean 5), started far from it at x0 = 20.
const PARAMS: [f64; 2] = [5.0, 1.0];
const X0: u64 = 20;

/// `fast_config` of the distillation tests, trained over initial states 0..=30 and times
/// 0.25..=1 so that it can serve as a transition kernel for Δt = 0.5.
fn chain_config() -> DistillConfig {
    let mut cfg = super::surrogate::fast_config();
    cfg.initial = Some(InitialBox {
        lo: vec![0],
        hi: vec![30],
    });
    cfg.teacher.times = vec![0.25, 0.5, 0.75, 1.0];
    cfg.train_points = 96;
    cfg
}

/// The trained kernel, shared by the tests (trained once).
fn kernel() -> &'static Surrogate {
    static S: OnceLock<Surrogate> = OnceLock::new();
    S.get_or_init(|| {
        let t = std::time::Instant::now();
        let d = distill(&birth_death(), &chain_config()).unwrap();
        let m = &d.surrogate.card.metrics;
        eprintln!(
            "chain kernel: trained in {:.2} s, caps {:?}, val KL {:.3e}, one-step Hellinger median {:.4} p90 {:.4} max {:.4}",
            t.elapsed().as_secs_f64(),
            d.surrogate.card.arch.caps,
            m.val_kl,
            m.hellinger_median,
            m.hellinger_p90,
            m.hellinger_max
        );
        d.surrogate
    })
}

/// The exact CME marginal of X at t = k Δt, k = 0..=STEPS, from X0, on 0..=cap (FSP to
/// 1e-10; the mass beyond the cap is below the teacher's 1e-10 threshold).
fn exact_marginals(cap: u32) -> Vec<Vec<f64>> {
    let mut net = birth_death();
    net.set_parameter("k", PARAMS[0]).unwrap();
    net.set_parameter("g", PARAMS[1]).unwrap();
    net.set_initial(0, X0).unwrap();
    let grid = TimeGrid::new(STEPS as f64 * DT, DT).unwrap();
    let opts = FspOptions {
        tol: 1e-10,
        ..FspOptions::default()
    };
    let mut out = Vec::new();
    solve_transient_with(&net.compile(), &grid, &opts, |s| {
        let mut m = vec![0.0; cap as usize + 1];
        for (x, &p) in s.space.iter().zip(s.p) {
            if let Some(v) = m.get_mut(x[0] as usize) {
                *v += p;
            }
        }
        out.push(m);
    })
    .unwrap();
    assert_eq!(out.len(), STEPS + 1);
    out
}

/// The exact law of the surrogate chain: p_{k+1} = p_k T with T[x][y] = q(y | θ, x, Δt)
/// on 0..=cap (one species).
fn surrogate_chain_marginals(s: &Surrogate, cap: u32) -> Vec<Vec<f64>> {
    let w = cap as usize + 1;
    let t: Vec<Vec<f64>> = (0..w)
        .map(|x| s.joint_at(&PARAMS, &[x as u64], DT).unwrap().1)
        .collect();
    let mut p = vec![0.0; w];
    p[X0 as usize] = 1.0;
    let mut out = vec![p.clone()];
    for _ in 0..STEPS {
        let mut next = vec![0.0; w];
        for (x, &px) in p.iter().enumerate() {
            for (y, &q) in t[x].iter().enumerate() {
                next[y] += px * q;
            }
        }
        p = next;
        out.push(p.clone());
    }
    out
}

fn counts(h: &[f64], n: usize) -> Vec<u64> {
    h.iter().map(|&f| (f * n as f64).round() as u64).collect()
}

#[test]
fn chained_marginals_match_the_cme_at_every_step() {
    let s = kernel();
    let cap = s.card.arch.caps[0];
    let n = 20_000;
    let t = std::time::Instant::now();
    let tr = chain(
        s,
        &PARAMS,
        &[X0],
        &ChainConfig {
            dt: DT,
            steps: STEPS,
            runs: n,
            seed: 7,
            strict: true,
        },
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(tr.times.len(), STEPS + 1);
    assert_eq!(tr.states.len(), n * (STEPS + 1));
    assert!(tr.warnings.is_empty(), "{:?}", tr.warnings);
    assert_eq!((tr.at_cap, tr.left_domain), (0, 0));
    let exact = exact_marginals(cap);
    let law = surrogate_chain_marginals(s, cap);
    // Sampling test: the empirical marginals follow the chain's exact law (Pearson
    // chi-square, family-wise level 1e-3 over the steps, Bonferroni).
    let alpha = 1e-3 / STEPS as f64;
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for k in 1..=STEPS {
        let h = tr.histogram(k, 0).unwrap();
        let (stat, df) = chi_square(&counts(&h, n), &law[k], n as u64);
        assert!(
            stat <= chi2_quantile(df, alpha),
            "step {k}: chi-square {stat:.1} on {df} df"
        );
        // Model error alone: the chain's exact law against the CME, H ≤ 0.05.
        let h_law = hellinger(&law[k], &exact[k]);
        assert!(
            h_law <= 0.05,
            "step {k}: Hellinger(chain law, CME) = {h_law}"
        );
        // The empirical marginal against the CME: H² ≈ H²_model + χ²_{K−1}/(8N) for K
        // occupied bins (8N H² of an N-draw histogram is asymptotically χ²_{K−1}); allow
        // the χ² upper 1e-3/STEPS point.
        let occupied = h.iter().filter(|&&f| f > 0.0).count() as f64;
        let noise2 = chi2_quantile((occupied - 1.0).max(1.0), alpha) / (8.0 * n as f64);
        let h_emp = hellinger(&h, &exact[k]);
        assert!(
            h_emp <= (0.05f64.powi(2) + noise2).sqrt(),
            "step {k}: Hellinger(empirical, CME) = {h_emp}, allowed {}",
            (0.05f64.powi(2) + noise2).sqrt()
        );
        if h_law > worst.0 {
            worst = (h_law, h_emp, (occupied - 1.0) / (8.0 * n as f64));
        }
    }
    eprintln!(
        "chain of {n} runs × {STEPS} steps in {secs:.3} s; worst step: Hellinger(law, CME) {:.4}, \
         Hellinger(empirical, CME) {:.4}, expected finite-sample H² {:.2e}",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn trajectory_log_prob_is_the_sum_of_one_step_log_probs() {
    let s = kernel();
    let cfg = ChainConfig {
        dt: DT,
        steps: STEPS,
        runs: 200,
        seed: 11,
        strict: true,
    };
    let tr = chain(s, &PARAMS, &[X0], &cfg).unwrap();
    let (lp, lines) = path_log_prob(s, &PARAMS, &tr.states, STEPS, DT, true).unwrap();
    assert!(lines.is_empty());
    assert_eq!(lp.len(), 200);
    // f32 weights: a batch evaluated through candle's gemm (more than 32 distinct rows)
    // rounds differently from the direct pass, by ≈ 1e-6 per step; allow 1e-4 per path.
    let mut worst = 0.0f64;
    for (r, (&l, &sampled)) in lp.iter().zip(&tr.log_prob).enumerate() {
        assert!(sampled.is_finite() && sampled < 0.0);
        worst = worst.max((l - sampled).abs());
        if r < 20 {
            let by_step: f64 = (0..STEPS)
                .map(|k| {
                    let x = tr.state(r, k)[0] as u64;
                    s.log_prob_at(tr.state(r, k + 1), &PARAMS, &[x], DT)
                        .unwrap()[0]
                })
                .sum();
            worst = worst.max((by_step - l).abs());
        }
    }
    eprintln!("path log-prob: largest difference between evaluations {worst:.2e}");
    assert!(worst < 1e-4, "{worst}");
    // A next state beyond the cap has probability 0.
    let cap = s.card.arch.caps[0];
    let mut bad = tr.path(0).to_vec();
    bad[STEPS] = cap + 1;
    let (lp, _) = path_log_prob(s, &PARAMS, &bad, STEPS, DT, false).unwrap();
    assert_eq!(lp[0], f64::NEG_INFINITY);
}

#[test]
fn chains_are_reproducible_from_their_seed() {
    let s = kernel();
    let mut cfg = ChainConfig {
        dt: DT,
        steps: 6,
        runs: 500,
        seed: 3,
        strict: false,
    };
    let a = chain(s, &PARAMS, &[X0], &cfg).unwrap();
    let b = chain(s, &PARAMS, &[X0], &cfg).unwrap();
    assert_eq!(a.states, b.states);
    assert_eq!(
        a.log_prob.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.log_prob.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    cfg.seed = 4;
    let c = chain(s, &PARAMS, &[X0], &cfg).unwrap();
    assert_ne!(a.states, c.states);
    // Per-run initial states: run r starts at r mod 25.
    let x0: Vec<u64> = (0..500).map(|r| r % 25).collect();
    let d = chain(s, &PARAMS, &x0, &cfg).unwrap();
    assert!((0..500).all(|r| d.state(r, 0)[0] as u64 == r as u64 % 25));
    // CSV: header and one line per run and time.
    let csv = a.to_csv();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("run,time,X"));
    assert_eq!(lines.count(), 500 * 7);
    assert!(csv.contains(&format!("\n0,0,{X0}\n")));
    let hs = a.histograms();
    assert_eq!(hs.len(), 7);
    assert!(
        hs.iter()
            .all(|h| (h[0].iter().sum::<f64>() - 1.0).abs() < 1e-9)
    );
}

/// Observed counts of each state of `states` (flat rows of `ns`) among `draws`.
fn tally(draws: &[u32], ns: usize, states: &[u32]) -> Vec<u64> {
    let mut c = vec![0u64; states.len() / ns];
    for d in draws.chunks_exact(ns) {
        if let Some(k) = states.chunks_exact(ns).position(|s| s == d) {
            c[k] += 1;
        }
    }
    c
}

#[test]
fn sample_rows_draws_each_rows_own_distribution() {
    // An untrained two-species model (the test is of the sampler, exact for any weights):
    // three prompts interleaved row by row, 10,000 rows each; each group's draws against
    // its joint and its marginal of species 1, Pearson chi-square at family-wise level
    // 1e-3 (Bonferroni over the 6 tests).
    let arch = Architecture {
        prompt_dim: 3,
        caps: vec![3, 5],
        hidden: 16,
        activation: Activation::Silu,
    };
    let model = Model::new(arch, 5).unwrap();
    let cs = [[0.3, -0.2, 0.9], [-1.0, 0.5, 0.0], [1.5, 1.5, -1.5]];
    let per = 10_000;
    let prompts: Vec<f64> = (0..3 * per).flat_map(|r| cs[r % 3]).collect();
    let (draws, lp) = model.sample_rows(&prompts, 9, 0).unwrap();
    assert_eq!(draws.len(), 3 * per * 2);
    let alpha = 1e-3 / 6.0;
    for (g, c) in cs.iter().enumerate() {
        let mine: Vec<u32> = draws
            .chunks_exact(2)
            .skip(g)
            .step_by(3)
            .flatten()
            .copied()
            .collect();
        let (states, q) = model.joint(c).unwrap();
        let (stat, df) = chi_square(&tally(&mine, 2, &states), &q, per as u64);
        assert!(
            stat <= chi2_quantile(df, alpha),
            "prompt {g}: joint chi-square {stat:.1} on {df} df"
        );
        let m = model.marginal(1, c).unwrap();
        let mut obs = vec![0u64; m.len()];
        for x in mine.chunks_exact(2) {
            obs[x[1] as usize] += 1;
        }
        let (stat, df) = chi_square(&obs, &m, per as u64);
        assert!(
            stat <= chi2_quantile(df, alpha),
            "prompt {g}: marginal chi-square {stat:.1} on {df} df"
        );
    }
    // The returned log-probabilities are the model's.
    let exact = model.log_prob(&draws[..600], &prompts[..900]).unwrap();
    for (a, b) in exact.iter().zip(&lp) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    // Same seed and stream: same draws; another stream: others.
    assert_eq!(model.sample_rows(&prompts, 9, 0).unwrap().0, draws);
    assert_ne!(model.sample_rows(&prompts, 9, 1).unwrap().0, draws);
    // Lengths.
    assert!(model.sample_rows(&prompts[..4], 9, 0).is_err());
    assert!(model.sample_rows(&[f64::NAN, 0.0, 0.0], 9, 0).is_err());
    assert!(model.sample_rows(&[], 9, 0).unwrap().0.is_empty());
}

#[test]
fn sample_rows_of_the_kernel_match_marginal_at() {
    // The trained kernel, rows conditioned on three initial states: each group's draws
    // against `marginal_at`, chi-square at family-wise level 1e-3.
    let s = kernel();
    let x0s = [0u64, 10, 25];
    let per = 10_000;
    let mut prompts = Vec::new();
    for r in 0..3 * per {
        prompts.extend(s.card.prompt.prompt_at(&PARAMS, &[x0s[r % 3]], DT).unwrap());
    }
    let (draws, _) = s.model.sample_rows(&prompts, 1, 2).unwrap();
    for (g, &x0) in x0s.iter().enumerate() {
        let m = s.marginal_at(0, &PARAMS, &[x0], DT).unwrap();
        let mut obs = vec![0u64; m.len()];
        for &x in draws.iter().skip(g).step_by(3) {
            obs[x as usize] += 1;
        }
        let (stat, df) = chi_square(&obs, &m, per as u64);
        assert!(
            stat <= chi2_quantile(df, 1e-3 / 3.0),
            "x0 = {x0}: chi-square {stat:.1} on {df} df"
        );
    }
}

/// An untrained one-species surrogate with cap 12 and initial range 0..=6: its random
/// kernel spreads over 0..=12, so chains reach the cap and leave the initial range.
fn wide_surrogate() -> Surrogate {
    let net = birth_death();
    let spec = PromptSpec {
        params: ParamBox::new(
            vec!["k".into(), "g".into()],
            vec![1.0, 0.5],
            vec![10.0, 2.0],
            vec![true, true],
        )
        .unwrap(),
        t_min: 0.5,
        t_max: 1.0,
        initial: vec![0],
        initial_box: Some(InitialBox {
            lo: vec![0],
            hi: vec![6],
        }),
        caps: vec![12],
    };
    let arch = Architecture {
        prompt_dim: spec.dim(),
        caps: vec![12],
        hidden: 8,
        activation: Activation::Tanh,
    };
    Surrogate {
        card: Card {
            format: crnkit::surrogate::CARD_FORMAT.into(),
            network: net.to_crn_string(),
            species: vec!["X".into()],
            prompt: spec,
            arch: arch.clone(),
            metrics: Default::default(),
            weights_sha256: None,
        },
        model: Model::new(arch, 9).unwrap(),
    }
}

/// The message of an error of the surrogate's own (panics on success or on an error of a
/// lower layer).
fn err<T>(r: crnkit::surrogate::Result<T>) -> String {
    match r {
        Err(SurrogateError::Model(e)) => panic!("unexpected lower-layer error {e}"),
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn chain_domain_errors() {
    let s = wide_surrogate();
    let cfg = ChainConfig {
        dt: 0.75,
        steps: 5,
        runs: 200,
        seed: 1,
        strict: false,
    };
    // Δt not finite or ≤ 0: always refused.
    for dt in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let c = ChainConfig { dt, ..cfg.clone() };
        assert!(
            err(chain(&s, &PARAMS, &[0], &c)).contains("time step"),
            "{dt}"
        );
        assert!(matches!(
            chain(&s, &PARAMS, &[0], &c),
            Err(SurrogateError::InvalidSetting { name: "dt", .. })
        ));
        assert!(path_log_prob(&s, &PARAMS, &[0, 1], 1, dt, false).is_err());
    }
    // Lengths: parameters, initial states, runs, paths.
    assert!(chain(&s, &[5.0], &[0], &cfg).is_err());
    assert!(err(chain(&s, &PARAMS, &[0, 0, 0], &cfg)).contains("initial states"));
    let none = ChainConfig {
        runs: 0,
        ..cfg.clone()
    };
    assert!(err(chain(&s, &PARAMS, &[0], &none)).contains("at least one run"));
    assert!(matches!(
        chain(&s, &PARAMS, &[0], &none),
        Err(SurrogateError::InvalidSetting { name: "runs", .. })
    ));
    assert!(err(path_log_prob(&s, &PARAMS, &[0, 1, 2], 1, 0.75, false)).contains("paths"));
    assert!(path_log_prob(&s, &PARAMS, &[], 1, 0.75, false).is_err());
    // An initial count beyond the cap, or a conditioning state beyond it.
    assert!(err(chain(&s, &PARAMS, &[13], &cfg)).contains("cap"));
    assert!(path_log_prob(&s, &PARAMS, &[13, 0], 1, 0.75, false).is_err());
    // Δt outside the trained times: refused when strict, reported otherwise.
    let out = ChainConfig {
        dt: 2.0,
        ..cfg.clone()
    };
    let strict = ChainConfig {
        strict: true,
        ..out.clone()
    };
    assert!(err(chain(&s, &PARAMS, &[0], &strict)).contains("time 2 is outside"));
    assert!(matches!(
        chain(&s, &PARAMS, &[0], &strict),
        Err(SurrogateError::OutsideDomain { .. })
    ));
    let tr = chain(&s, &PARAMS, &[0], &out).unwrap();
    assert!(
        tr.warnings.iter().any(|l| l.contains("time 2 is outside")),
        "{:?}",
        tr.warnings
    );
    let (_, lines) = path_log_prob(&s, &PARAMS, tr.path(0), 5, 2.0, false).unwrap();
    assert!(lines.iter().any(|l| l.contains("time 2 is outside")));
    assert!(path_log_prob(&s, &PARAMS, tr.path(0), 5, 2.0, true).is_err());
    // Parameters or initial states outside the box.
    let strict = ChainConfig {
        strict: true,
        ..cfg.clone()
    };
    assert!(err(chain(&s, &[20.0, 1.0], &[0], &strict)).contains("parameter `k`"));
    assert!(err(chain(&s, &PARAMS, &[9], &strict)).contains("initial count 9"));
    // Reaching the cap and leaving the initial range: counted and reported, or refused.
    let tr = chain(&s, &PARAMS, &[0], &cfg).unwrap();
    assert!(tr.at_cap > 0 && tr.at_cap <= 200);
    assert!(tr.left_domain > 0);
    let capped = (0..200)
        .filter(|&r| (1..=5).any(|k| tr.state(r, k)[0] == 12))
        .count();
    assert_eq!(tr.at_cap, capped);
    assert!(
        tr.warnings
            .iter()
            .any(|l| l.contains(&format!("{capped} of 200 trajectories reached a cap")))
    );
    assert!(
        tr.warnings
            .iter()
            .any(|l| l.contains("left the trained initial range"))
    );
    // A cap the exact teacher never exceeded is a natural bound: sitting there is no warning.
    let mut bounded = wide_surrogate();
    bounded.card.metrics.closed_caps = vec![true];
    let tb = chain(&bounded, &PARAMS, &[0], &cfg).unwrap();
    assert_eq!(tb.states, tr.states);
    assert_eq!(tb.at_cap, 0);
    assert!(!tb.warnings.iter().any(|l| l.contains("reached a cap")));
    let reason = err(chain(&s, &PARAMS, &[0], &strict));
    assert!(matches!(
        chain(&s, &PARAMS, &[0], &strict),
        Err(SurrogateError::OutsideDomain { .. })
    ));
    assert!(
        reason.contains("reached a cap") || reason.contains("left the trained initial range"),
        "{reason}"
    );
    // Histogram indices.
    assert!(tr.histogram(6, 0).is_err());
    assert!(tr.histogram(0, 1).is_err());
}
