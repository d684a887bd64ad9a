//! Events and general propensity laws in every exact simulator, validated against exact
//! answers: the CME for a law, closed-form distributions for a timed reset and for a
//! state-triggered reset (a renewal process). Tolerances come from the sample size with a
//! Bonferroni correction over all checks of a test (family-wise error 1e-3).

use crnkit::cme::{FspOptions, solve_transient};
use crnkit::error::ModelError;
use crnkit::network::{Condition, Expr, Network};
use crnkit::rng::stream;
use crnkit::ssa::{
    AnySimulator, EnsembleConfig, EnsembleResult, GridRecorder, Method, Simulator, TimeGrid,
};

use super::stats::{bonferroni_z, chi_square, chi2_quantile};

const FAMILY_ALPHA: f64 = 1e-3;

fn run(
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
        histograms: true,
        ..EnsembleConfig::default()
    }
    .run(net)
    .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// Counts of column `c` at grid index `k`, as a vector indexed by count (length `len`; counts
/// at or above `len - 1` pooled into the last entry).
fn histogram(r: &EnsembleResult, k: usize, c: usize, len: usize) -> Vec<u64> {
    let cols = r.columns.len();
    let h = &r.histograms.as_ref().expect("histograms")[k * cols + c];
    let mut out = vec![0u64; len];
    for (&v, &n) in h {
        out[(v as usize).min(len - 1)] += n;
    }
    out
}

/// Pool a pmf and observed counts so every expected count is at least 5 (adjacent bins from
/// the tails), then chi-square: returns (statistic, degrees of freedom).
fn pooled_chi_square(obs: &[u64], p: &[f64], n: u64) -> (f64, f64) {
    let mut o: Vec<u64> = Vec::new();
    let mut e: Vec<f64> = Vec::new();
    let (mut oa, mut pa) = (0u64, 0.0);
    for (k, (&ok, &pk)) in obs.iter().zip(p).enumerate() {
        oa += ok;
        pa += pk;
        if pa * n as f64 >= 5.0 || k == obs.len() - 1 {
            o.push(oa);
            e.push(pa);
            oa = 0;
            pa = 0.0;
        }
    }
    // Merge a small last bin into the previous one.
    if e.len() > 1 && *e.last().unwrap() * (n as f64) < 5.0 {
        let (ol, el) = (o.pop().unwrap(), e.pop().unwrap());
        *o.last_mut().unwrap() += ol;
        *e.last_mut().unwrap() += el;
    }
    let (stat, df) = chi_square(&o, &e, n);
    (stat, df)
}

/// 00034 of the DSMTS: dimerisation with the monomer eliminated, P = 100 − 2 P2, so the
/// propensity of forming a dimer is 0.5 k1 (100 − 2 P2)(99 − 2 P2) — not mass action.
fn dimer_law() -> Network {
    Network::builder()
        .parameter("k1", 0.001)
        .parameter("k2", 0.01)
        .species("P2", 0)
        .reaction_with_propensity(
            &[],
            &[("P2", 1)],
            Expr::parse("0.5 * k1 * (100 - 2 * P2) * (99 - 2 * P2)").unwrap(),
        )
        .reaction(&[("P2", 1)], &[], Expr::var("k2"))
        .build()
        .unwrap()
}

#[test]
fn propensity_law_matches_the_cme_and_the_mass_action_form() {
    let net = dimer_law();
    assert!(net.has_propensity_laws());
    let grid = TimeGrid::new(40.0, 10.0).unwrap();
    let law = solve_transient(&net.compile(), &grid, &FspOptions::default()).unwrap();
    // The same chain written with mass action: 2 P -> P2 at k1/2 (no 1/2! in crnkit).
    let mass = Network::from_crn_str(
        "species: P = 100, P2 = 0\n2 P -> P2 @ 0.0005\nP2 -> 2 P @ 0.01\n",
        "dimer.crn",
    )
    .unwrap();
    let ma = solve_transient(&mass.compile(), &grid, &FspOptions::default()).unwrap();
    for k in 0..grid.len() {
        let (a, b) = (&law.marginals[k][0], &ma.marginals[k][1]);
        let tv: f64 = (0..a.len().max(b.len()))
            .map(|n| (a.get(n).unwrap_or(&0.0) - b.get(n).unwrap_or(&0.0)).abs())
            .sum::<f64>()
            / 2.0;
        assert!(
            tv < 1e-7,
            "t = {}: law vs mass action TV {tv:e}",
            grid.times()[k]
        );
    }
    let runs = 4000;
    let checks = 3 * 2;
    let alpha = FAMILY_ALPHA / checks as f64;
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let r = run(&net, method, 40.0, 10.0, runs, 11 + m as u64);
        for k in [1, 4] {
            let p = &law.marginals[k][0];
            let obs = histogram(&r, k, 0, p.len());
            let (stat, df) = pooled_chi_square(&obs, p, runs);
            let crit = chi2_quantile(df, alpha);
            assert!(
                stat < crit,
                "{method} t = {}: chi-square {stat:.1} > {crit:.1} (df {df})",
                grid.times()[k]
            );
        }
    }
}

/// Poisson pmf with mean `lambda` on 0..len.
fn poisson(lambda: f64, len: usize) -> Vec<f64> {
    let mut p = vec![0.0; len];
    let mut v = (-lambda).exp();
    for (n, pn) in p.iter_mut().enumerate() {
        if n > 0 {
            v *= lambda / n as f64;
        }
        *pn = v;
    }
    p
}

/// Binomial(n, q) pmf.
fn binomial(n: usize, q: f64) -> Vec<f64> {
    let mut p = vec![0.0; n + 1];
    let mut c = 1.0f64;
    for (k, pk) in p.iter_mut().enumerate() {
        if k > 0 {
            c *= (n + 1 - k) as f64 / k as f64;
        }
        *pk = c * q.powi(k as i32) * (1.0 - q).powi((n - k) as i32);
    }
    p
}

fn moments(p: &[f64]) -> (f64, f64, f64) {
    let mean: f64 = p.iter().enumerate().map(|(k, v)| k as f64 * v).sum();
    let var: f64 = p
        .iter()
        .enumerate()
        .map(|(k, v)| (k as f64 - mean).powi(2) * v)
        .sum();
    let mu4: f64 = p
        .iter()
        .enumerate()
        .map(|(k, v)| (k as f64 - mean).powi(4) * v)
        .sum();
    (mean, var, mu4)
}

/// 00028 of the DSMTS: immigration-death (α = 1, μ = 0.1) from 0 with the event
/// `time >= 25 → X = 50`. Before 25, X(t) ~ Poisson(α/μ (1 − e^(−μt))); after, the 50 reset
/// molecules survive independently: X ~ Binomial(50, e^(−μs)) + Poisson(α/μ (1 − e^(−μs))),
/// s = t − 25.
fn timed_reset_pmf(t: f64) -> Vec<f64> {
    let (alpha, mu) = (1.0, 0.1);
    if t < 25.0 {
        return poisson(alpha / mu * (1.0 - (-mu * t).exp()), 80);
    }
    let s = t - 25.0;
    let b = binomial(50, (-mu * s).exp());
    let q = poisson(alpha / mu * (1.0 - (-mu * s).exp()), 80);
    let mut out = vec![0.0; 130];
    for (i, bi) in b.iter().enumerate() {
        for (j, qj) in q.iter().enumerate() {
            out[i + j] += bi * qj;
        }
    }
    out
}

#[test]
fn timed_event_fires_at_its_instant_in_every_method() {
    let net = Network::from_crn_str(
        "parameters: alpha = 1, mu = 0.1, t_reset = 25\nspecies: X = 0\n\
         0 -> X @ alpha\nX -> 0 @ mu\n",
        "immigration.crn",
    )
    .unwrap();
    let mut spec = net.to_spec();
    spec.events.push(crnkit::network::EventSpec {
        name: "reset".into(),
        trigger: Condition::parse("time >= t_reset").unwrap(),
        initial_value: true,
        assign: crnkit::network::Assignments(vec![("X".into(), Expr::Num(50.0))]),
    });
    let net = spec.build().unwrap();
    let runs = 3000;
    let times: Vec<usize> = (1..=50).collect();
    let z = bonferroni_z(FAMILY_ALPHA, 3 * 2 * times.len());
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let r = run(&net, method, 50.0, 1.0, runs, 100 + m as u64);
        let n = runs as f64;
        for &k in &times {
            let t = r.grid.times()[k];
            let mean = r.mean(k, 0);
            if k == 25 {
                // Sample-and-hold at the event's instant reads the state after it.
                assert_eq!((mean, r.sd(k, 0)), (50.0, 0.0), "{method} at t = 25");
                continue;
            }
            let (mu, var, mu4) = moments(&timed_reset_pmf(t));
            let zm = n.sqrt() * (mean - mu) / var.sqrt();
            let s2 = r.variance(k, 0) * (n - 1.0) / n + (mean - mu).powi(2);
            let zv = (s2 - var) / ((mu4 - var * var) / n).sqrt();
            assert!(
                zm.abs() < z,
                "{method} t = {t}: mean z = {zm:.2} (limit {z:.2})"
            );
            assert!(
                zv.abs() < z,
                "{method} t = {t}: variance z = {zv:.2} (limit {z:.2})"
            );
        }
    }
}

/// Pure birth at rate λ with the event `X >= 10 → X = 0`: X(t) = N(t) mod 10 with
/// N(t) ~ Poisson(λt), so P(X = j) = Σ_k P(N = 10k + j).
#[test]
fn state_triggered_event_gives_the_renewal_distribution() {
    let net = Network::from_crn_str(
        "species: X = 0\n0 -> X @ 3\nevent wrap: when X >= 10 then X = 0\n",
        "wrap.crn",
    );
    let net = match net {
        Ok(n) => n,
        // Built without the `.crn` event syntax.
        Err(_) => {
            let base = Network::from_crn_str("species: X = 0\n0 -> X @ 3\n", "wrap.crn").unwrap();
            let mut spec = base.to_spec();
            spec.events.push(crnkit::network::EventSpec {
                name: "wrap".into(),
                trigger: Condition::parse("X >= 10").unwrap(),
                initial_value: true,
                assign: crnkit::network::Assignments(vec![("X".into(), Expr::Num(0.0))]),
            });
            spec.build().unwrap()
        }
    };
    let runs = 4000;
    let alpha = FAMILY_ALPHA / 6.0;
    for (m, method) in Method::ALL.into_iter().enumerate() {
        let r = run(&net, method, 7.0, 3.5, runs, 200 + m as u64);
        for k in [1, 2] {
            let t = r.grid.times()[k];
            let pn = poisson(3.0 * t, 200);
            let mut p = vec![0.0; 10];
            for (n, v) in pn.iter().enumerate() {
                p[n % 10] += v;
            }
            let obs = histogram(&r, k, 0, 11);
            assert_eq!(obs[10], 0, "{method}: a count of 10 or more was recorded");
            let (stat, df) = pooled_chi_square(&obs[..10], &p, runs);
            let crit = chi2_quantile(df, alpha);
            assert!(
                stat < crit,
                "{method} t = {t}: chi-square {stat:.1} > {crit:.1}"
            );
        }
    }
}

/// (name, trigger, assignments, initial value).
type EventText<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], bool);

fn with_events(crn: &str, events: &[EventText<'_>]) -> Network {
    let base = Network::from_crn_str(crn, "test.crn").unwrap();
    let mut spec = base.to_spec();
    for (name, trigger, assign, initial) in events {
        spec.events.push(crnkit::network::EventSpec {
            name: name.to_string(),
            trigger: Condition::parse(trigger).unwrap(),
            initial_value: *initial,
            assign: crnkit::network::Assignments(
                assign
                    .iter()
                    .map(|(s, e)| (s.to_string(), Expr::parse(e).unwrap()))
                    .collect(),
            ),
        });
    }
    spec.build().unwrap()
}

fn final_state(net: &Network, method: Method, until: f64) -> crnkit::error::ModelResult<Vec<u64>> {
    let c = net.compile();
    let mut sim = AnySimulator::new(&c, method)?;
    let mut rng = stream(5, 0);
    sim.reset(c.initial_state(), 0.0)?;
    let grid = TimeGrid::new(until, until).unwrap();
    let mut rec = GridRecorder::new(&grid);
    sim.advance_until(until, &mut rng, &mut rec)?;
    Ok(sim.state().to_vec())
}

#[test]
fn initial_value_cascades_and_event_errors() {
    // `initially false` with a trigger that holds at the start fires at t = 0; its
    // assignment sets off a second event at the same instant (a cascade); assignments use
    // the state before the round.
    let net = with_events(
        "species: X = 0, Y = 0, Z = 0\nX -> 0 @ 0\n",
        &[
            ("boot", "X >= 0", &[("X", "X + 3"), ("Y", "X + 1")], false),
            ("chain", "Y > 0", &[("Z", "Y * 7"), ("Y", "0")], true),
        ],
    );
    for method in Method::ALL {
        assert_eq!(
            final_state(&net, method, 1.0).unwrap(),
            vec![3, 0, 7],
            "{method}"
        );
    }
    // Default initial value (true): no firing at the start.
    let quiet = with_events(
        "species: X = 0, Y = 0\nX -> 0 @ 0\n",
        &[("boot", "X >= 0", &[("Y", "5")], true)],
    );
    assert_eq!(
        final_state(&quiet, Method::Direct, 1.0).unwrap(),
        vec![0, 0]
    );

    // Two events that undo each other: a cascade without end is an error, not a hang.
    let ping = with_events(
        "species: X = 0\n0 -> X @ 1\n",
        &[
            ("up", "X == 1", &[("X", "2")], true),
            ("down", "X == 2", &[("X", "1")], true),
        ],
    );
    for method in Method::ALL {
        let e = final_state(&ping, method, 10.0).unwrap_err();
        assert!(
            matches!(e, ModelError::InvalidEvent { .. }),
            "{method}: {e}"
        );
        assert!(e.to_string().contains("cascade"), "{e}");
    }
    // A non-integer count.
    let half = with_events(
        "species: X = 0\n0 -> X @ 1\n",
        &[("halve", "time >= 1", &[("X", "2.5")], true)],
    );
    let e = final_state(&half, Method::NextReaction, 2.0).unwrap_err();
    assert!(
        matches!(e, ModelError::InvalidEvent { ref event, .. } if event == "halve"),
        "{e}"
    );
}

#[test]
fn law_errors_are_named() {
    // A law that turns negative in a reached state stops the run with the reaction named.
    let net = Network::builder()
        .species("X", 0)
        .reaction(&[], &[("X", 1)], 1.0)
        .reaction_with_propensity(&[], &[("X", 1)], Expr::parse("10 - X").unwrap())
        .label("capped")
        .build()
        .unwrap();
    for method in Method::ALL {
        let e = final_state(&net, method, 50.0).unwrap_err();
        assert!(
            matches!(e, ModelError::InvalidPropensity { .. }),
            "{method}: {e}"
        );
    }
    // A law the rejection method cannot bound on its fluctuation box.
    let net = Network::builder()
        .species("X", 4)
        .reaction(&[], &[("X", 1)], 1.0)
        .reaction_with_propensity(&[("X", 1)], &[], Expr::parse("1 / (X - 4.5)^2").unwrap())
        .build()
        .unwrap();
    let e = final_state(&net, Method::Rejection, 1.0).unwrap_err();
    assert!(
        matches!(e, ModelError::Unsupported { ref feature } if feature.contains("rejection")),
        "{e}"
    );
    // Analyses that need mass action or no events refuse by name.
    let law = dimer_law();
    let e = crnkit::thermo::reverse_pairs(&law).unwrap_err();
    assert!(e.to_string().contains("propensity law"), "{e}");
    let ev = with_events(
        "species: X = 0\n0 -> X @ 1\nX -> 0 @ 1\n",
        &[("reset", "time >= 1", &[("X", "0")], true)],
    );
    let grid = TimeGrid::new(2.0, 1.0).unwrap();
    let e = solve_transient(&ev.compile(), &grid, &FspOptions::default()).unwrap_err();
    assert!(e.to_string().contains("events"), "{e}");
}

#[test]
fn event_ensembles_are_bit_identical_across_threads() {
    let net = with_events(
        "species: X = 0\n0 -> X @ 2\nX -> 0 @ 0.1\n",
        &[
            ("cut", "X > 12", &[("X", "3")], true),
            ("late", "time >= 3.3", &[("X", "40")], true),
        ],
    );
    for method in Method::ALL {
        let cfg = EnsembleConfig {
            until: 6.0,
            every: 0.5,
            runs: 70,
            seed: 3,
            method,
            histograms: true,
            ..EnsembleConfig::default()
        };
        let one = cfg.run_with_threads(&net, Some(1)).unwrap();
        let two = cfg.run_with_threads(&net, Some(2)).unwrap();
        assert_eq!(one, two, "{method}");
        // The late reset is seen at t = 3.5 in every run, X stays ≤ 12 before it.
        let k = one.grid.times().iter().position(|&t| t == 3.0).unwrap();
        assert!(histogram(&one, k, 0, 14)[13] == 0, "{method}");
    }
}
