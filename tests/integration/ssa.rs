//! Statistical validation of the exact simulators against analytic answers, the product
//! form, and each other. Every tolerance comes from the sample size: z-scores with a
//! Bonferroni correction over all the checks of a test (family-wise error 1e-3), chi-square
//! and Kolmogorov–Smirnov critical values at the corrected level. Seeds are fixed.

use crnkit::error::ModelError;
use crnkit::io::results::{ToCsv, histograms_csv, trajectories_csv};
use crnkit::models::bundled;
use crnkit::network::Network;
use crnkit::rng::stream;
use crnkit::ssa::{
    AnySimulator, EnsembleConfig, EnsembleResult, EventLog, GridRecorder, Method, Simulator,
    TimeGrid,
};

use super::stats::{bonferroni_z, chi_square, chi2_quantile, ks_critical, ks_distance};

const FAMILY_ALPHA: f64 = 1e-3;

/// Moments of X(t): mean, variance, fourth central moment.
struct Exact {
    mean: f64,
    var: f64,
    mu4: f64,
}

/// Check mean and variance of column 0 at every t > 0 against exact moments. The variance
/// test uses S² = (1/n) Σ (X − μ)² (known mean, as in DSMTS) with its exact standard error
/// sqrt((μ4 − σ⁴)/n). Returns the number of DSMTS-rule failures (|Z| ≥ 3, |Y| ≥ 5) too.
fn check_moments(r: &EnsembleResult, exact: impl Fn(f64) -> Exact, z_crit: f64) -> (usize, usize) {
    let n = r.runs() as f64;
    let (mut dsmts_mean, mut dsmts_sd) = (0, 0);
    for (k, &t) in r.grid.times().iter().enumerate().skip(1) {
        let e = exact(t);
        let mean = r.mean(k, 0);
        let s2 = r.variance(k, 0) * (n - 1.0) / n + (mean - e.mean).powi(2);
        let z = n.sqrt() * (mean - e.mean) / e.var.sqrt();
        let zv = (s2 - e.var) / ((e.mu4 - e.var * e.var) / n).sqrt();
        assert!(
            z.abs() < z_crit,
            "{}: mean at t={t}: z = {z:.2} (limit {z_crit:.2})",
            r.method
        );
        assert!(
            zv.abs() < z_crit,
            "{}: variance at t={t}: z = {zv:.2} (limit {z_crit:.2})",
            r.method
        );
        let y = (n / 2.0).sqrt() * (s2 / e.var - 1.0);
        dsmts_mean += usize::from(z.abs() >= 3.0);
        dsmts_sd += usize::from(y.abs() >= 5.0);
    }
    (dsmts_mean, dsmts_sd)
}

/// Birth-death from one ancestor (Bailey 1964): P(0) = α, P(n) = (1 − α)(1 − β) β^(n−1).
fn birth_death_exact(lambda: f64, mu: f64, x0: f64, t: f64) -> Exact {
    let e = ((lambda - mu) * t).exp();
    let alpha = mu * (e - 1.0) / (lambda * e - mu);
    let beta = lambda * (e - 1.0) / (lambda * e - mu);
    let mut m = [0.0f64; 5];
    let mut p_n = (1.0 - alpha) * (1.0 - beta);
    let mut n = 1.0f64;
    while p_n > 1e-300 && n < 1e6 {
        let mut pow = 1.0;
        for mk in m.iter_mut().skip(1) {
            pow *= n;
            *mk += p_n * pow;
        }
        p_n *= beta;
        n += 1.0;
    }
    let m1 = m[1];
    assert!(
        (m1 - e).abs() < 1e-9 * e,
        "single-ancestor mean {m1} vs {e}"
    );
    let c2 = m[2] - m1 * m1;
    let c4 = m[4] - 4.0 * m1 * m[3] + 6.0 * m1 * m1 * m[2] - 3.0 * m1.powi(4);
    let (k2, k4) = (x0 * c2, x0 * (c4 - 3.0 * c2 * c2));
    Exact {
        mean: x0 * m1,
        var: k2,
        mu4: k4 + 3.0 * k2 * k2,
    }
}

fn ensemble(
    net: &Network,
    method: Method,
    until: f64,
    every: f64,
    runs: u64,
    seed: u64,
) -> EnsembleResult {
    EnsembleConfig {
        until,
        every,
        runs,
        seed,
        method,
        keep_trajectories: runs as usize,
        ..EnsembleConfig::default()
    }
    .run(net)
    .unwrap_or_else(|e| panic!("{method}: {e}"))
}

#[test]
fn birth_death_matches_analytic_moments() {
    let net = bundled("birth_death").unwrap();
    let z = bonferroni_z(FAMILY_ALPHA, 2 * 50 * 3);
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let r = ensemble(&net, method, 50.0, 1.0, 4000, 11 + m as u64);
        let (fm, fs) = check_moments(&r, |t| birth_death_exact(0.1, 0.11, 100.0, t), z);
        eprintln!("birth-death {method}: DSMTS-rule failures mean {fm}, sd {fs} of 50 each");
    }
}

#[test]
fn immigration_death_matches_poisson() {
    let net = bundled("immigration_death").unwrap();
    let z = bonferroni_z(FAMILY_ALPHA, 2 * 50 * 3);
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let r = ensemble(&net, method, 50.0, 1.0, 4000, 21 + m as u64);
        let (fm, fs) = check_moments(
            &r,
            |t| {
                let m = 10.0 * (1.0 - (-0.1 * t).exp());
                Exact {
                    mean: m,
                    var: m,
                    mu4: m + 3.0 * m * m,
                }
            },
            z,
        );
        eprintln!("immigration-death {method}: DSMTS-rule failures mean {fm}, sd {fs} of 50 each");
    }
}

/// Final states of `runs` independent trajectories at time `t`.
fn final_states(net: &Network, method: Method, t: f64, runs: u64, seed: u64) -> Vec<Vec<u64>> {
    let compiled = net.compile();
    let grid = TimeGrid::from_times(vec![t]).unwrap();
    let mut sim = AnySimulator::new(&compiled, method).unwrap();
    (0..runs)
        .map(|i| {
            let mut rng = stream(seed, i);
            sim.reset(compiled.initial_state(), 0.0).unwrap();
            let mut rec = GridRecorder::new(&grid);
            sim.advance_until(t, &mut rng, &mut rec).unwrap();
            rec.states
        })
        .collect()
}

fn ln_factorial(n: u64) -> f64 {
    (1..=n).map(|k| (k as f64).ln()).sum()
}

/// Product form π(x) ∝ Π (Ω c_i)^x_i / x_i! with c_i = e^(−G_i), over the listed states.
fn product_form(states: &[Vec<u64>], g: &[f64], omega: f64) -> Vec<f64> {
    let logw: Vec<f64> = states
        .iter()
        .map(|x| {
            x.iter()
                .zip(g)
                .map(|(&n, &gi)| n as f64 * (omega.ln() - gi) - ln_factorial(n))
                .sum()
        })
        .collect();
    let max = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logw.iter().map(|l| (l - max).exp()).collect();
    let z: f64 = w.iter().sum();
    w.iter().map(|v| v / z).collect()
}

fn stationary_test(net: &Network, states: &[Vec<u64>], t: f64, runs: u64) {
    let analysis = net.analyze().unwrap();
    let g: Vec<f64> = analysis
        .detailed_balance
        .free_energies
        .expect("detailed balanced")
        .into_iter()
        .map(|g| g.unwrap())
        .collect();
    let pi = product_form(states, &g, net.volume());
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let samples = final_states(net, method, t, runs, 31 + m as u64);
        let counts: Vec<u64> = states
            .iter()
            .map(|s| samples.iter().filter(|x| *x == s).count() as u64)
            .collect();
        assert_eq!(
            counts.iter().sum::<u64>(),
            runs,
            "a sample left the conservation class"
        );
        let (stat, df) = chi_square(&counts, &pi, runs);
        let crit = chi2_quantile(df, FAMILY_ALPHA / 3.0);
        eprintln!("stationary {method}: chi2 = {stat:.1} on {df} df (limit {crit:.1})");
        assert!(
            stat < crit,
            "{method}: chi-square {stat:.1} ≥ {crit:.1} ({df} df)"
        );
    }
}

#[test]
fn detailed_balanced_triangle_reaches_the_product_form() {
    // A + B + C = 10: the product form on the class is multinomial(10; 1/2, 1/4, 1/4).
    let net = bundled("triangle").unwrap();
    let mut states = Vec::new();
    for a in 0..=10u64 {
        for b in 0..=10 - a {
            states.push(vec![a, b, 10 - a - b]);
        }
    }
    stationary_test(&net, &states, 20.0, 20_000);
}

#[test]
fn dimerisation_reaches_the_product_form() {
    // P + 2 P2 = 100.
    let net = bundled("dimerisation").unwrap();
    let states: Vec<Vec<u64>> = (0..=50u64).map(|d| vec![100 - 2 * d, d]).collect();
    stationary_test(&net, &states, 400.0, 20_000);
}

/// Every pair of methods: two-sample Kolmogorov–Smirnov on every species at every grid time
/// after 0, and Welch z on the means.
fn cross_method(net: &Network, until: f64, every: f64, runs: u64) {
    let results: Vec<EnsembleResult> = Method::ALL
        .into_iter()
        .enumerate()
        .map(|(m, method)| ensemble(net, method, until, every, runs, 41 + m as u64))
        .collect();
    let ns = net.num_species();
    let points = results[0].grid.len();
    let tests = 3 * (points - 1) * ns;
    let alpha = FAMILY_ALPHA / (2 * tests) as f64;
    let z = bonferroni_z(FAMILY_ALPHA / 2.0, tests);
    let crit = ks_critical(runs as usize, runs as usize, alpha);
    let mut worst: f64 = 0.0;
    for a in 0..3 {
        for b in a + 1..3 {
            let (ra, rb) = (&results[a], &results[b]);
            for k in 1..points {
                for i in 0..ns {
                    let col = |r: &EnsembleResult| -> Vec<u64> {
                        r.trajectories.iter().map(|s| s[k * ns + i]).collect()
                    };
                    let d = ks_distance(&col(ra), &col(rb));
                    worst = worst.max(d / crit);
                    assert!(
                        d < crit,
                        "{} vs {}: KS distance {d:.4} ≥ {crit:.4} for {} at t = {}",
                        ra.method,
                        rb.method,
                        ra.columns[i],
                        ra.grid.times()[k]
                    );
                    let se = ((ra.variance(k, i) + rb.variance(k, i)) / runs as f64).sqrt();
                    if se > 0.0 {
                        let zz = (ra.mean(k, i) - rb.mean(k, i)) / se;
                        assert!(
                            zz.abs() < z,
                            "{} vs {}: mean z = {zz:.2}",
                            ra.method,
                            rb.method
                        );
                    }
                }
            }
        }
    }
    eprintln!(
        "cross-method: largest KS distance {:.2} of its limit",
        worst
    );
}

#[test]
fn methods_agree_on_vilar() {
    cross_method(&bundled("vilar").unwrap(), 30.0, 3.0, 400);
}

#[test]
fn methods_agree_on_dimerisation() {
    cross_method(&bundled("dimerisation").unwrap(), 20.0, 1.0, 2000);
}

#[test]
fn methods_agree_on_schlogl_with_chemostats() {
    // Bistable, driven, constant species in propensities: a demanding case for RSSA bounds.
    cross_method(&bundled("schlogl").unwrap(), 2.0, 0.5, 400);
}

#[test]
fn results_are_bit_identical_across_thread_counts() {
    let net = bundled("vilar").unwrap();
    for method in Method::ALL {
        let cfg = EnsembleConfig {
            until: 20.0,
            every: 1.0,
            runs: 70,
            seed: 7,
            method,
            keep_trajectories: 5,
            histograms: true,
            ..EnsembleConfig::default()
        };
        let one = cfg.run_with_threads(&net, Some(1)).unwrap();
        let two = cfg.run_with_threads(&net, Some(2)).unwrap();
        let three = cfg.run_with_threads(&net, Some(3)).unwrap();
        assert_eq!(one.to_csv(), two.to_csv(), "{method}");
        assert_eq!(one.to_csv(), three.to_csv(), "{method}");
        assert_eq!(one, two, "{method}");
        assert_eq!(trajectories_csv(&one), trajectories_csv(&three));
        assert_eq!(histograms_csv(&one), histograms_csv(&two));
        // Another seed gives other numbers.
        let other = EnsembleConfig { seed: 8, ..cfg }.run(&net).unwrap();
        assert_ne!(one.to_csv(), other.to_csv());
    }
}

#[test]
fn sample_and_hold_matches_the_event_log() {
    let net = bundled("vilar").unwrap();
    let compiled = net.compile();
    let grid = TimeGrid::new(5.0, 0.25).unwrap();
    for method in Method::ALL {
        let mut sim = AnySimulator::new(&compiled, method).unwrap();
        let mut rec = GridRecorder::new(&grid);
        sim.advance_until(5.0, &mut stream(3, 0), &mut rec).unwrap();
        let mut log = EventLog::default();
        sim.reset(compiled.initial_state(), 0.0).unwrap();
        sim.advance_until(5.0, &mut stream(3, 0), &mut log).unwrap();
        assert_eq!(rec.samples(), grid.len());
        // Replay: the state at t is the state after the last event at or before t.
        let mut x = compiled.initial_state().to_vec();
        let mut e = 0;
        for (k, &t) in grid.times().iter().enumerate() {
            while e < log.events.len() && log.events[e].0 <= t {
                compiled.apply(log.events[e].1 as usize, &mut x).unwrap();
                e += 1;
            }
            assert_eq!(
                &rec.states[k * x.len()..(k + 1) * x.len()],
                &x[..],
                "{method} t = {t}"
            );
        }
        assert_eq!(sim.state(), &x[..]);
        assert!(log.events.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}

#[test]
fn absorbing_states_and_continuation() {
    let net = Network::from_crn_str("species: X = 5\nX -> 0 @ 1", "t.crn").unwrap();
    for method in Method::ALL {
        let r = ensemble(&net, method, 100.0, 50.0, 50, 1);
        assert_eq!(r.absorbed, 50);
        assert_eq!(r.mean(2, 0), 0.0);
        assert_eq!(r.events, 250);
    }
    // Simulating to t1 then t2 is the same process as simulating to t2 (memorylessness):
    // check the mean of an immigration-death process continued in pieces.
    let net = bundled("immigration_death").unwrap();
    let compiled = net.compile();
    for method in Method::ALL {
        let mut sim = AnySimulator::new(&compiled, method).unwrap();
        let (runs, mut sum) = (4000u64, 0.0);
        for i in 0..runs {
            sim.reset(compiled.initial_state(), 0.0).unwrap();
            let mut rng = stream(5, i);
            for piece in 1..=10 {
                let mut none = EventLog::default();
                sim.advance_until(piece as f64, &mut rng, &mut none)
                    .unwrap();
            }
            assert_eq!(sim.time(), 10.0);
            sum += sim.state()[0] as f64;
        }
        let m = 10.0 * (1.0 - (-1.0f64).exp());
        let z = (sum / runs as f64 - m) / (m / runs as f64).sqrt();
        assert!(z.abs() < bonferroni_z(FAMILY_ALPHA, 3), "{method}: z = {z}");
    }
}

#[test]
fn bad_runs_give_clear_errors() {
    let net = bundled("birth_death").unwrap();
    let bad = |cfg: EnsembleConfig| cfg.run(&net).unwrap_err();
    assert!(matches!(
        bad(EnsembleConfig {
            every: 0.0,
            ..EnsembleConfig::default()
        }),
        ModelError::InvalidSetting { name: "every", .. }
    ));
    assert!(matches!(
        bad(EnsembleConfig {
            every: -1.0,
            ..EnsembleConfig::default()
        }),
        ModelError::InvalidSetting { name: "every", .. }
    ));
    assert!(matches!(
        bad(EnsembleConfig {
            until: -1.0,
            ..EnsembleConfig::default()
        }),
        ModelError::InvalidSetting { name: "until", .. }
    ));
    assert!(matches!(
        bad(EnsembleConfig {
            runs: 0,
            ..EnsembleConfig::default()
        }),
        ModelError::InvalidSetting { name: "runs", .. }
    ));
    // The error every method gives for one run of `crn` to t = 1.
    let run_err = |crn: &str, method: Method| {
        let net = Network::from_crn_str(crn, "t.crn").unwrap();
        EnsembleConfig {
            until: 1.0,
            runs: 1,
            method,
            ..EnsembleConfig::default()
        }
        .run(&net)
        .unwrap_err()
    };
    for method in Method::ALL {
        // A count that would reach 2^53 at once, and one that reaches it thousands of events
        // into the run (the direct method skips the per-event test while counts are far
        // from the limit; it must still stop exactly there).
        for x0 in ["9007199254740980", "9007199254735991"] {
            let e = run_err(&format!("species: X = {x0}\n0 -> X @ 1e6"), method);
            assert!(
                matches!(e, ModelError::CountOutOfRange { ref species, .. } if species == "X"),
                "{method}: {e}"
            );
        }
        // Propensities that overflow: at once, and after ~13,000 events of autocatalytic
        // growth (1e300 · Y · (Y − 1) passes f64::MAX near Y = 13,400).
        for crn in [
            "species: X = 9007199254740991\n30 X -> 0 @ 1e300",
            "species: Y = 2\n2 Y -> 3 Y @ 1e300",
        ] {
            let e = run_err(crn, method);
            assert!(
                matches!(e, ModelError::PropensityOverflow { .. }),
                "{method}: {e}"
            );
        }
    }
    // NaN or negative rates after parameter substitution are refused before simulation.
    let mut net =
        Network::from_crn_str("parameters: k = 1\nspecies: X = 1\nX -> 0 @ k", "t.crn").unwrap();
    assert!(matches!(
        net.set_parameter("k", f64::NAN).unwrap_err(),
        ModelError::InvalidParameter { .. }
    ));
    assert!(matches!(
        net.set_parameter("k", -2.0).unwrap_err(),
        ModelError::InvalidRate { .. }
    ));
    assert!("gillespie".parse::<Method>().is_err());
}

/// Results are read by name and time with checks, the same way for SSA ensembles and CME
/// solutions; an out-of-range cell is an error (or, through the raw index, a panic), never
/// another cell's value.
#[test]
fn results_read_by_name_and_time_with_checks() {
    use crnkit::grid::Series;
    let net = Network::from_crn_str(
        "species: X = 0, Y = 3\n0 -> X @ 2\nX -> 0 @ 1\nY <-> 0 @ 1, 1",
        "m.crn",
    )
    .unwrap();
    let cfg = EnsembleConfig {
        until: 2.0,
        every: 1.0,
        runs: 50,
        seed: 3,
        ..EnsembleConfig::default()
    };
    let r = cfg.run(&net).unwrap();
    assert_eq!(r.mean_of("X", 2).unwrap(), r.mean(2, 0));
    assert_eq!(r.sd_of("Y", 1).unwrap(), r.sd(1, 1));
    assert_eq!(r.means_of("Y").unwrap().len(), 3);
    assert!(r.mean_of("Z", 0).unwrap_err().to_string().contains("`Z`"));
    let e = r.mean_of("X", 3).unwrap_err().to_string();
    assert!(e.contains("time index 3 out of range (there are 3)"), "{e}");
    let raw = std::panic::catch_unwind(|| r.mean(0, 2));
    assert!(
        raw.is_err(),
        "column 2 of a 2-column result must not read another cell"
    );
    let sol = crnkit::cme::solve_transient(
        &net.compile(),
        &crnkit::ssa::TimeGrid::new(2.0, 1.0).unwrap(),
        &crnkit::cme::FspOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.columns(), r.columns());
    assert_eq!(sol.times(), r.times());
    // E[X](t) = 2 (1 − e^{−t}) from X = 0.
    let exact = 2.0 * (1.0 - (-2.0f64).exp());
    assert!((sol.mean_of("X", 2).unwrap() - exact).abs() < 1e-7);
    assert!(sol.sd_of("X", 5).is_err());
}
