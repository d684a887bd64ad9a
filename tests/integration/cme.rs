//! The CME solver against exact answers.

use crnkit::CompiledNetwork;
use crnkit::Network;
use crnkit::cme::{self, FspOptions};
use crnkit::error::ModelError;
use crnkit::ssa::{EnsembleConfig, Method, TimeGrid};

use crate::stats::chi2_quantile;

fn compile(text: &str) -> CompiledNetwork {
    Network::from_crn_str(text, "test.crn").unwrap().compile()
}

fn ln_fact(n: usize) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

fn poisson_pmf(mean: f64, len: usize) -> Vec<f64> {
    (0..len)
        .map(|k| {
            if mean == 0.0 {
                if k == 0 { 1.0 } else { 0.0 }
            } else {
                (-mean + k as f64 * mean.ln() - ln_fact(k)).exp()
            }
        })
        .collect()
}

fn binomial_pmf(n: usize, p: f64) -> Vec<f64> {
    (0..=n)
        .map(|k| {
            if p == 0.0 {
                return if k == 0 { 1.0 } else { 0.0 };
            }
            if p == 1.0 {
                return if k == n { 1.0 } else { 0.0 };
            }
            (ln_fact(n) - ln_fact(k) - ln_fact(n - k)
                + k as f64 * p.ln()
                + (n - k) as f64 * (1.0 - p).ln())
            .exp()
        })
        .collect()
}

fn convolve(a: &[f64], b: &[f64], len: usize) -> Vec<f64> {
    let mut c = vec![0.0; len];
    for (i, &x) in a.iter().enumerate() {
        if x == 0.0 {
            continue;
        }
        for (j, &y) in b.iter().enumerate() {
            if i + j < len {
                c[i + j] += x * y;
            }
        }
    }
    c
}

/// Immigration–death (∅ → X at α, X → ∅ at μ) from x0: Binomial(x0, e^(−μt)) convolved
/// with Poisson(α/μ (1 − e^(−μt))).
fn immigration_death_exact(alpha: f64, mu: f64, x0: usize, t: f64, len: usize) -> Vec<f64> {
    let s = (-mu * t).exp();
    convolve(
        &binomial_pmf(x0, s),
        &poisson_pmf(alpha / mu * (1.0 - s), len),
        len,
    )
}

/// Linear birth–death (X → 2X at λ, X → ∅ at μ) from x0: the x0-fold convolution of the
/// one-ancestor law P(0) = α, P(n) = (1 − α)(1 − β) β^(n−1) (Kendall 1948).
fn birth_death_exact(lambda: f64, mu: f64, x0: usize, t: f64, len: usize) -> Vec<f64> {
    let e = ((lambda - mu) * t).exp();
    let a = mu * (e - 1.0) / (lambda * e - mu);
    let b = lambda * (e - 1.0) / (lambda * e - mu);
    let one: Vec<f64> = (0..len)
        .map(|n| {
            if n == 0 {
                a
            } else {
                (1.0 - a) * (1.0 - b) * b.powi(n as i32 - 1)
            }
        })
        .collect();
    // Convolution power by squaring.
    let mut result = vec![0.0; len];
    result[0] = 1.0;
    let mut base = one;
    let mut k = x0;
    while k > 0 {
        if k & 1 == 1 {
            result = convolve(&result, &base, len);
        }
        base = convolve(&base, &base, len);
        k >>= 1;
    }
    result
}

/// L1 distance over all counts between a 1-species FSP distribution and an exact pmf whose
/// mass beyond `exact.len()` is negligible.
fn l1_1d(d: &cme::Distribution, exact: &[f64]) -> f64 {
    let mut l1 = 0.0;
    for (n, &q) in exact.iter().enumerate() {
        l1 += (d.probability(&[n as u32]) - q).abs();
    }
    for (s, &p) in d.space().iter().zip(d.probabilities()) {
        if s[0] as usize >= exact.len() {
            l1 += p;
        }
    }
    l1
}

/// A model, a bound (or initial count) and its exact law at time t.
type Case = (&'static str, u32, Box<dyn Fn(f64) -> Vec<f64>>);

fn grid(until: f64, every: f64) -> TimeGrid {
    TimeGrid::new(until, every).unwrap()
}

#[test]
fn immigration_death_transient_matches_analytic() {
    let net = compile("species: X = 100\n0 -> X @ 1\nX -> 0 @ 0.1\n");
    let opts = FspOptions {
        tol: 1e-8,
        ..FspOptions::default()
    };
    let g = grid(40.0, 4.0);
    let mut checked = 0;
    cme::solve_transient_with(&net, &g, &opts, |s| {
        let d = cme::Distribution::new(s.space.clone(), s.p.to_vec());
        let exact = immigration_death_exact(1.0, 0.1, 100, s.time, 400);
        let l1 = l1_1d(&d, &exact);
        assert!(
            l1 <= s.error_bound,
            "t = {}: L1 {l1:e} > bound {:e}",
            s.time,
            s.error_bound
        );
        assert!(
            s.error_bound <= 1e-8 * s.time / 40.0 + 1e-12,
            "t = {}: {:e}",
            s.time,
            s.error_bound
        );
        checked += 1;
    })
    .unwrap();
    assert_eq!(checked, 11);
}

/// The smallest box [0, N] whose fixed projection meets `tol` at every grid time.
fn smallest_box(net: &CompiledNetwork, g: &TimeGrid, tol: f64, lo: u32) -> usize {
    let mut n = lo;
    loop {
        let opts = FspOptions {
            tol: tol * 1e-3,
            adaptive: false,
            bounds: vec![Some(n)],
            ..FspOptions::default()
        };
        let sol = cme::solve_transient(net, g, &opts).unwrap();
        if sol.error_bound.iter().all(|&e| e <= tol) {
            return n as usize + 1;
        }
        n += 1;
    }
}

#[test]
fn adaptive_projection_needs_no_bounds_and_stays_small() {
    // Immigration–death started at 100 (bulk at 10) and subcritical birth–death from 100:
    // both far from where their mass goes.
    let cases: [Case; 2] = [
        (
            "species: X = 100\n0 -> X @ 1\nX -> 0 @ 0.1\n",
            100,
            Box::new(|t| immigration_death_exact(1.0, 0.1, 100, t, 600)),
        ),
        (
            "species: X = 100\nX -> 2 X @ 0.1\nX -> 0 @ 0.11\n",
            100,
            Box::new(|t| birth_death_exact(0.1, 0.11, 100, t, 1500)),
        ),
    ];
    for (text, x0, exact) in cases {
        let net = compile(text);
        let g = grid(30.0, 5.0);
        let tol = 1e-6;
        let opts = FspOptions {
            tol,
            ..FspOptions::default()
        };
        let mut max_states = 0;
        cme::solve_transient_with(&net, &g, &opts, |s| {
            let d = cme::Distribution::new(s.space.clone(), s.p.to_vec());
            let l1 = l1_1d(&d, &exact(s.time));
            assert!(
                l1 <= s.error_bound,
                "{text} t = {}: {l1:e} > {:e}",
                s.time,
                s.error_bound
            );
            assert!(
                s.error_bound <= tol,
                "{text} t = {}: {:e}",
                s.time,
                s.error_bound
            );
            max_states = max_states.max(s.space.len());
        })
        .unwrap();
        let stats = cme::solve_transient(&net, &g, &opts).unwrap().stats;
        let best = smallest_box(&net, &g, tol, x0);
        eprintln!(
            "{text}: adaptive max {} states, smallest box {best}",
            stats.max_states
        );
        assert!(
            stats.max_states <= 2 * best,
            "{text}: adaptive used {} states, the smallest box {best}",
            stats.max_states
        );
    }
}

/// The Yule process X -> 2X from X = 1 keeps growing for the whole horizon: its law at t is
/// geometric, P(n) = e^(-t) (1 - e^(-t))^(n-1). The adaptive projection must follow it to
/// the certified error and stay within twice the smallest sufficient range (growth by
/// layers remembered across steps, not a few states per redone step).
#[test]
fn a_projection_that_keeps_growing_follows_the_yule_process() {
    let net = compile("species: X = 1\nX -> 2 X @ 1\n");
    let (until, tol) = (4.0, 1e-8);
    let g = grid(until, 1.0);
    let opts = FspOptions {
        tol,
        ..FspOptions::default()
    };
    let geometric = |t: f64, len: usize| -> Vec<f64> {
        let q = 1.0 - (-t).exp();
        (0..len)
            .map(|n| {
                if n == 0 {
                    0.0
                } else {
                    (-t).exp() * q.powi(n as i32 - 1)
                }
            })
            .collect()
    };
    cme::solve_transient_with(&net, &g, &opts, |s| {
        let d = cme::Distribution::new(s.space.clone(), s.p.to_vec());
        let l1 = l1_1d(&d, &geometric(s.time, 20_000));
        assert!(
            l1 <= s.error_bound && s.error_bound <= tol,
            "t = {}: {l1:e}",
            s.time
        );
    })
    .unwrap();
    let stats = cme::solve_transient(&net, &g, &opts).unwrap().stats;
    // The smallest range holding 1 - tol of the mass at the end: P(X > n) = q^n.
    let q: f64 = 1.0 - (-until).exp();
    let needed = (tol.ln() / q.ln()).ceil() as usize;
    assert!(
        stats.max_states <= 2 * needed,
        "adaptive used {} states, {needed} suffice",
        stats.max_states
    );
}

#[test]
fn isomerisation_is_binomial() {
    let (k1, k2, n) = (2.0, 1.0, 60usize);
    let net = compile(&format!(
        "species: A = {n}, B = 0\nA -> B @ {k1}\nB -> A @ {k2}\n"
    ));
    let g = grid(2.0, 0.25);
    let opts = FspOptions {
        tol: 1e-10,
        ..FspOptions::default()
    };
    cme::solve_transient_with(&net, &g, &opts, |s| {
        assert!(
            s.space.len() <= n + 1,
            "states stay in the conservation class"
        );
        let pa = k2 / (k1 + k2) + k1 / (k1 + k2) * (-(k1 + k2) * s.time).exp();
        let exact = binomial_pmf(n, pa);
        let mut l1 = 0.0;
        for (a, &q) in exact.iter().enumerate() {
            let i = s.space.index_of(&[a as u32, (n - a) as u32]);
            l1 += (i.map_or(0.0, |i| s.p[i]) - q).abs();
        }
        assert!(
            l1 <= s.error_bound + 1e-13,
            "t = {}: {l1:e} vs {:e}",
            s.time,
            s.error_bound
        );
        assert!(s.error_bound <= 1e-10, "{:e}", s.error_bound);
    })
    .unwrap();
}

#[test]
fn truncation_bound_is_never_exceeded() {
    // A deliberately tight box: the bound is large, and the true error stays below it.
    let cases: [Case; 2] = [
        (
            "species: X = 0\n0 -> X @ 10\nX -> 0 @ 1\n",
            14,
            Box::new(|t| immigration_death_exact(10.0, 1.0, 0, t, 200)),
        ),
        (
            "species: X = 20\nX -> 2 X @ 0.1\nX -> 0 @ 0.11\n",
            30,
            Box::new(|t| birth_death_exact(0.1, 0.11, 20, t, 800)),
        ),
    ];
    for (text, bound, exact) in cases {
        let net = compile(text);
        for adaptive in [false, true] {
            let opts = FspOptions {
                tol: 1e-9,
                adaptive,
                bounds: vec![Some(bound)],
                ..FspOptions::default()
            };
            let mut largest = 0.0f64;
            cme::solve_transient_with(&net, &grid(10.0, 0.5), &opts, |s| {
                let d = cme::Distribution::new(s.space.clone(), s.p.to_vec());
                let l1 = l1_1d(&d, &exact(s.time));
                assert!(
                    l1 <= s.error_bound,
                    "{text} t = {}: {l1:e} > {:e}",
                    s.time,
                    s.error_bound
                );
                largest = largest.max(s.error_bound);
            })
            .unwrap();
            assert!(
                largest > 1e-3,
                "{text}: the box was meant to be tight ({largest:e})"
            );
        }
    }
}

#[test]
fn stationary_solves_match_the_product_form() {
    for (text, max_states) in [
        // Dimerisation (closed class of 51 states).
        (
            "species: P = 100, P2 = 0\n2 P <-> P2 @ 0.0005, 0.01\n",
            1000,
        ),
        // A detailed-balanced closed network with 11,476 states, started in its most
        // improbable corner (π(x0) ~ 1e-45 of the mode: the first pinned solve is singular).
        (
            "species: A = 150, B = 0, C = 0\nA <-> B @ 1, 2\nB <-> C @ 1, 1\nC <-> A @ 2, 1\n",
            100_000,
        ),
        // A complex-balanced but not detailed-balanced cycle (deficiency zero).
        (
            "species: A = 30, B = 0, C = 0\nA -> B @ 1\nB -> C @ 2\nC -> A @ 3\n",
            1000,
        ),
        // An open, detailed-balanced network: the projection grows until the boundary
        // mass is below the tolerance; reflecting truncation keeps detailed balance.
        (
            "species: A = 0, B = 0, C = 0\n0 <-> A @ 4, 1\n0 <-> B @ 3, 1\nA + B <-> C @ 0.5, 2\n",
            2_000_000,
        ),
    ] {
        let net = compile(text);
        let opts = FspOptions {
            tol: 1e-12,
            max_states,
            ..FspOptions::default()
        };
        let st = cme::stationary(&net, &opts).unwrap();
        assert!(st.boundary_mass <= 1e-12, "{text}: {:e}", st.boundary_mass);
        assert!(st.residual < 1e-10, "{text}: residual {:e}", st.residual);
        let pf = cme::product_form(&net, st.distribution.space()).unwrap();
        let diff = st.distribution.max_abs_difference(&pf.distribution);
        assert!(diff <= 1e-10, "{text}: max |Δπ| = {diff:e}");
    }
}

#[test]
fn product_form_of_first_order_network_is_multinomial() {
    // A ⇌ B ⇌ C with one molecule's stationary law (1, 1/2, 1/2)/2 → multinomial.
    let net = compile("species: A = 12, B = 0, C = 0\nA <-> B @ 1, 2\nB <-> C @ 1, 1\n");
    let space = cme::enumerate(&net, net.initial_state(), &[], 1000).unwrap();
    let pf = cme::product_form(&net, &space).unwrap();
    let q: [f64; 3] = [0.5, 0.25, 0.25];
    for (s, &p) in space.iter().zip(pf.distribution.probabilities()) {
        let (a, b, c) = (s[0] as usize, s[1] as usize, s[2] as usize);
        let exact = (ln_fact(12) - ln_fact(a) - ln_fact(b) - ln_fact(c)
            + a as f64 * q[0].ln()
            + b as f64 * q[1].ln()
            + c as f64 * q[2].ln())
        .exp();
        assert!((p - exact).abs() < 1e-14, "{s:?}");
    }
    // Not complex balanced: refused by name.
    let schlogl = crnkit::io::read_network(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/models/autoregulated_gene.crn"
    ))
    .unwrap()
    .compile();
    let space = cme::enumerate(
        &schlogl,
        schlogl.initial_state(),
        &[None, None, Some(50)],
        10_000,
    )
    .unwrap();
    let e = cme::product_form(&schlogl, &space).unwrap_err();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
}

/// Hellinger distance² between an empirical histogram and a distribution.
fn hellinger2(
    counts: &std::collections::HashMap<Vec<u32>, u64>,
    n: u64,
    d: &cme::Distribution,
) -> f64 {
    let mut bc = 0.0;
    for (s, &c) in counts {
        bc += (c as f64 / n as f64 * d.probability(s)).sqrt();
    }
    1.0 - bc
}

#[test]
fn fsp_agrees_with_a_large_ssa_ensemble() {
    // The autoregulated gene (3 species, open in P), joint law of (G, Goff, P) at t = 1, 3.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/models/autoregulated_gene.crn"
    ))
    .unwrap();
    let network = Network::from_crn_str(&text, "autoregulated_gene.crn").unwrap();
    let net = network.compile();
    let runs = 20_000u64;
    let cfg = EnsembleConfig {
        until: 3.0,
        every: 1.0,
        runs,
        seed: 2024,
        method: Method::Direct,
        keep_trajectories: runs as usize,
        ..EnsembleConfig::default()
    };
    let ens = cfg.run(&network).unwrap();
    let g = grid(3.0, 1.0);
    let opts = FspOptions {
        tol: 1e-8,
        ..FspOptions::default()
    };
    let ns = net.num_species();
    let mut tested = 0;
    cme::solve_transient_with(&net, &g, &opts, |s| {
        let k = (s.time.round()) as usize;
        if k == 0 {
            return;
        }
        let mut counts = std::collections::HashMap::new();
        for tr in &ens.trajectories {
            let st: Vec<u32> = tr[k * ns..(k + 1) * ns].iter().map(|&v| v as u32).collect();
            *counts.entry(st).or_insert(0u64) += 1;
        }
        let d = cme::Distribution::new(s.space.clone(), s.p.to_vec());
        let h2 = hellinger2(&counts, runs, &d);
        // 8 N H² is asymptotically χ² with (support − 1) degrees of freedom (Freeman–
        // Tukey); the support is the states holding FSP mass above 1e-12.
        let support = s.p.iter().filter(|&&p| p > 1e-12).count();
        let limit = chi2_quantile((support - 1) as f64, 1.0 - 1e-4) / (8.0 * runs as f64);
        assert!(
            h2 <= limit,
            "t = {}: H² = {h2:e} > {limit:e} (support {support})",
            s.time
        );
        tested += 1;
    })
    .unwrap();
    assert_eq!(tested, 3);
    // The test has power: a model with a 10 % larger expression rate is rejected.
    let mut wrong = network.clone();
    wrong.set_parameter("kp", 22.0).unwrap();
    let sol = cme::solve_transient(&wrong.compile(), &g, &opts).unwrap();
    let mut counts = std::collections::HashMap::new();
    for tr in &ens.trajectories {
        let st: Vec<u32> = tr[3 * ns..4 * ns].iter().map(|&v| v as u32).collect();
        *counts.entry(st).or_insert(0u64) += 1;
    }
    let h2 = hellinger2(&counts, runs, &sol.last);
    let support = sol
        .last
        .probabilities()
        .iter()
        .filter(|&&p| p > 1e-12)
        .count();
    let limit = chi2_quantile((support - 1) as f64, 1.0 - 1e-4) / (8.0 * runs as f64);
    assert!(
        h2 > limit,
        "kp = 22 not rejected: H² = {h2:e}, limit {limit:e}"
    );
}

#[test]
fn bad_input_gives_named_errors() {
    // An explosive network: the projection would pass --max-states.
    let net = compile("species: X = 10\nX -> 2 X @ 1\n");
    let opts = FspOptions {
        max_states: 500,
        ..FspOptions::default()
    };
    let e = cme::solve_transient(&net, &grid(100.0, 10.0), &opts).unwrap_err();
    assert!(
        matches!(e, ModelError::TooManyStates { limit: 500, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("max_states") && !e.to_string().contains("--"),
        "{e}"
    );
    for tol in [0.0, -1e-3, 1.0, f64::NAN] {
        let opts = FspOptions {
            tol,
            ..FspOptions::default()
        };
        let e = cme::solve_transient(&net, &grid(1.0, 1.0), &opts).unwrap_err();
        assert!(
            matches!(e, ModelError::InvalidSetting { name: "tol", .. }),
            "{e}"
        );
        let e = cme::stationary(&net, &opts).unwrap_err();
        assert!(
            matches!(e, ModelError::InvalidSetting { name: "tol", .. }),
            "{e}"
        );
    }
    let e = Network::from_crn_str("species: X = 2.5\nX -> 0 @ 1\n", "m.crn").unwrap_err();
    assert!(matches!(e.kind(), ModelError::InvalidCount { .. }), "{e}");
    // A bound below the initial count.
    let opts = FspOptions {
        bounds: vec![Some(5)],
        ..FspOptions::default()
    };
    let e = cme::solve_transient(&net, &grid(1.0, 1.0), &opts).unwrap_err();
    assert!(
        matches!(e, ModelError::InvalidSetting { name: "bound", .. }),
        "{e}"
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let net = compile(
        "species: U = 0, V = 0\n0 -> U @ 50\n0 -> V @ 50\nU -> 0 @ 1\nV -> 0 @ 1\nU + V -> 0 @ 0.01\n",
    );
    let g = grid(2.0, 1.0);
    let opts = FspOptions::default();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| cme::solve_transient(&net, &g, &opts).unwrap())
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.last.probabilities(), b.last.probabilities());
    assert_eq!(a.error_bound, b.error_bound);
    assert!(
        a.last.space().len() > 4096,
        "several row blocks are exercised"
    );
}
